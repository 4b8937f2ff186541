package peer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/wire"
)

// market is an in-process test market: a bootstrap DHT node and peers on loopback, each with its
// own data folder on disk.
type market struct {
	t     testing.TB
	boot  string
	dir   string
	nodes []*Node
}

func newMarket(t testing.TB) *market {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(nil)
	b, err := dht.ListenBootstrap("127.0.0.1:0", priv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr, _ := b.LocalAddr()
	return &market{t: t, boot: addr.String(), dir: t.TempDir()}
}

// start starts (or restarts, on the same folder) the peer called name.
func (m *market) start(name string, opts ...Option) *Node {
	m.t.Helper()
	base := []Option{WithDataDir(filepath.Join(m.dir, name)), WithName(name), WithListen("127.0.0.1:0"),
		WithBootstrap(m.boot), WithMarket("test"), WithAntiEntropy(300 * time.Millisecond),
		WithLookupInterval(500 * time.Millisecond)}
	n, err := New(context.Background(), append(base, opts...)...)
	if err != nil {
		m.t.Fatalf("start %s: %v", name, err)
	}
	m.t.Cleanup(func() { n.Close() })
	m.nodes = append(m.nodes, n)
	return n
}

// eventually polls cond on engine events (or every 50 ms) until it holds, failing after 20 s.
func eventually(t testing.TB, n *Node, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, n, what, cond)
}

// eventuallyWithin is eventually with a deadline of d.
func eventuallyWithin(t testing.TB, d time.Duration, n *Node, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	events := n.Subscribe(ctx)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %s never happened", n.Name(), what)
		}
	}
}

func connectedTo(n *Node, k int) func() bool {
	return func() bool { return n.Stats().Connected >= k }
}

func findItem(n *Node, item string) (auction.Auction, bool) {
	for _, a := range n.Auctions() {
		if a.Item == item {
			return a, true
		}
	}
	return auction.Auction{}, false
}

func amt(t testing.TB, s string) wire.Amount {
	t.Helper()
	a, err := wire.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// history renders an auction's bids as "name=amount,..." for comparisons across peers.
func history(a auction.Auction) string {
	s := ""
	for i, b := range a.Bids {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%s=%s", b.BidderName, b.Amount)
	}
	if a.Winner != nil {
		s += fmt.Sprintf(" winner=%s@%s", a.Winner.BidderName, a.Winner.Amount)
	}
	return s + " " + string(a.Status)
}

func TestSampleScenarioInProcess(t *testing.T) {
	m := newMarket(t)
	c1, c2, c3 := m.start("Client#1"), m.start("Client#2"), m.start("Client#3")
	ctx := context.Background()
	for _, n := range m.nodes {
		eventually(t, n, "connected to both others", connectedTo(n, 2))
	}
	pic1, err := c1.Open(ctx, "Pic#1", amt(t, "75"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Open(ctx, "Pic#2", amt(t, "60"), 0); err != nil {
		t.Fatal(err)
	}
	id := pic1.ID.String()
	eventually(t, c2, "sees Pic#1", func() bool { _, ok := findItem(c2, "Pic#1"); return ok })
	eventually(t, c3, "sees Pic#1", func() bool { _, ok := findItem(c3, "Pic#1"); return ok })
	if _, err := c2.Bid(ctx, id[:6], amt(t, "75")); err != nil {
		t.Fatal(err)
	}
	if _, err := c3.Bid(ctx, id, amt(t, "75.5")); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Bid(ctx, id, amt(t, "80")); err != nil {
		t.Fatal(err)
	}
	closed, err := c1.CloseAuction(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Winner == nil || closed.Winner.Bidder != c2.Key() || closed.Winner.Amount != amt(t, "80") {
		t.Fatalf("winner %+v, want Client#2 at 80", closed.Winner)
	}
	want := "Client#2=75,Client#3=75.5,Client#2=80 winner=Client#2@80 closed"
	for _, n := range m.nodes {
		eventually(t, n, "agrees on Pic#1", func() bool { a, _ := findItem(n, "Pic#1"); return history(a) == want })
		// Pic#2 is in another log, which travels on its own.
		eventually(t, n, "sees Pic#2", func() bool { _, ok := findItem(n, "Pic#2"); return ok })
		p2, _ := findItem(n, "Pic#2")
		if p2.Status != auction.StatusOpen || len(p2.Bids) != 0 {
			t.Fatalf("%s: Pic#2 = %+v, want open with no bids", n.Name(), p2)
		}
	}
}

func TestBidRules(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	eventually(t, bidder, "connected", connectedTo(bidder, 1))
	a, err := seller.Open(ctx, "Lamp", amt(t, "10"), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID.String()
	eventually(t, bidder, "sees Lamp", func() bool { _, ok := findItem(bidder, "Lamp"); return ok })
	if _, err := bidder.Bid(ctx, id, amt(t, "12")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		by     *Node
		amount string
		want   error
	}{
		{"below start", bidder, "9", nil},
		// 11, not 12: a second bid of 12 signed in the same millisecond as the first is the
		// very same signed bid, which the seller answers with the first one's receipt.
		{"not above highest", bidder, "11", auction.ErrNotAboveHighest},
		{"own auction", seller, "20", auction.ErrOwnAuction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := seller.Auction(id)
			_, err := tc.by.Bid(ctx, id, amt(t, tc.amount))
			var re *RejectedError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("err = %v, want a RejectedError with a reason", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) && tc.by == seller {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			after, _ := seller.Auction(id)
			if len(after.Bids) != len(before.Bids) {
				t.Fatalf("rejected bid changed the auction: %d -> %d bids", len(before.Bids), len(after.Bids))
			}
		})
	}
	if _, err := bidder.CloseAuction(ctx, id); !errors.Is(err, auction.ErrNotSeller) {
		t.Fatalf("close by non-seller: %v, want ErrNotSeller", err)
	}
	if _, err := bidder.Bid(ctx, "zz", amt(t, "50")); err == nil {
		t.Fatal("bid on a non-hex id succeeded")
	}
	if _, err := seller.CloseAuction(ctx, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, bidder, "sees the close", func() bool { a, _ := bidder.Auction(id); return a.Status == auction.StatusClosed })
	if _, err := bidder.Bid(ctx, id, amt(t, "100")); !errors.Is(err, auction.ErrAuctionClosed) {
		t.Fatalf("bid after close: %v, want ErrAuctionClosed", err)
	}
}

func TestRestartCatchesUp(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	eventually(t, bidder, "connected", connectedTo(bidder, 1))
	a, err := seller.Open(ctx, "Vase", amt(t, "5"), 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, bidder, "sees Vase", func() bool { _, ok := findItem(bidder, "Vase"); return ok })
	key := bidder.Key()
	bidder.Close()

	// The market changes while the bidder is down.
	if _, err := seller.Open(ctx, "Kite", amt(t, "7"), 0); err != nil {
		t.Fatal(err)
	}
	other := m.start("other")
	eventually(t, other, "sees Vase", func() bool { _, ok := findItem(other, "Vase"); return ok })
	if _, err := other.Bid(ctx, a.ID.String(), amt(t, "6")); err != nil {
		t.Fatal(err)
	}

	again := m.start("bidder")
	if again.Key() != key {
		t.Fatal("restart changed the peer key")
	}
	eventually(t, again, "missed events arrive", func() bool {
		v, _ := findItem(again, "Vase")
		_, kite := findItem(again, "Kite")
		return kite && len(v.Bids) == 1
	})
	if _, err := again.Bid(ctx, a.ID.String(), amt(t, "8")); err != nil {
		t.Fatalf("bid after restart: %v", err)
	}
}

func TestLateJoinSeesHistory(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	eventually(t, bidder, "connected", connectedTo(bidder, 1))
	for i := range 5 {
		a, err := seller.Open(ctx, fmt.Sprintf("Item%d", i), amt(t, "1"), 0)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, bidder, "sees item", func() bool { _, err := bidder.Auction(a.ID.String()); return err == nil })
		if _, err := bidder.Bid(ctx, a.ID.String(), amt(t, "2")); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := seller.CloseAuction(ctx, a.ID.String()); err != nil {
				t.Fatal(err)
			}
		}
	}
	late := m.start("late")
	eventually(t, late, "whole history", func() bool {
		got := late.Auctions()
		if len(got) != 5 {
			return false
		}
		want := seller.Auctions()
		for i := range got {
			if history(got[i]) != history(want[i]) {
				return false
			}
		}
		return true
	})
}

func TestTimedAuctionClosesItself(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	eventually(t, bidder, "connected", connectedTo(bidder, 1))
	a, err := seller.Open(ctx, "Clock", amt(t, "3"), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if a.EndsAt.IsZero() {
		t.Fatal("timed auction has no end time")
	}
	eventually(t, bidder, "sees Clock", func() bool { _, ok := findItem(bidder, "Clock"); return ok })
	if _, err := bidder.Bid(ctx, a.ID.String(), amt(t, "4")); err != nil {
		t.Fatal(err)
	}
	// The bid came in the last 30 s: soft close moves the deadline to 30 s after it.
	got, _ := seller.Auction(a.ID.String())
	if !got.EndsAt.After(a.EndsAt) {
		t.Fatalf("soft close did not extend the deadline: %v -> %v", a.EndsAt, got.EndsAt)
	}
}

func TestTimedAuctionWithoutBidsClosesAtDeadline(t *testing.T) {
	m := newMarket(t)
	seller, watcher := m.start("seller"), m.start("watcher")
	eventually(t, watcher, "connected", connectedTo(watcher, 1))
	a, err := seller.Open(context.Background(), "Stamp", amt(t, "3"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, watcher, "sees Stamp closed", func() bool {
		got, err := watcher.Auction(a.ID.String())
		return err == nil && got.Status == auction.StatusClosed && got.Winner == nil
	})
	got, _ := seller.Auction(a.ID.String())
	if got.ClosedAt.Before(a.EndsAt) {
		t.Fatalf("closed at %v, before its deadline %v", got.ClosedAt, a.EndsAt)
	}
}
