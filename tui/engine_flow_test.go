package tui_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/tui"
	"github.com/auction-tui/auction-tui/wire"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
)

// The tests in this file drive the TUI of a real in-process peer.Node with teatest: a bootstrap
// DHT node and peers on loopback QUIC, each with its own nutsdb folder on disk. Nothing is faked.

// flowTimeout bounds each wait on the screen or on an engine.
const flowTimeout = 20 * time.Second

// market is an in-process market: a bootstrap node and the folder holding the peers' data.
type market struct {
	t    *testing.T
	boot string
	dir  string
}

func newMarket(t *testing.T) *market {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dht.ListenBootstrap("127.0.0.1:0", priv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr, ok := b.LocalAddr()
	if !ok {
		t.Fatal("the bootstrap node has no local address")
	}
	return &market{t: t, boot: addr.String(), dir: t.TempDir()}
}

// start starts (or restarts, on the same folder) the peer called name. Close runs at cleanup and
// may run earlier.
func (m *market) start(name string, opts ...peer.Option) *peer.Node {
	m.t.Helper()
	base := []peer.Option{peer.WithDataDir(filepath.Join(m.dir, name)), peer.WithName(name),
		peer.WithListen("127.0.0.1:0"), peer.WithBootstrap(m.boot), peer.WithMarket("t"),
		peer.WithAntiEntropy(300 * time.Millisecond), peer.WithLookupInterval(500 * time.Millisecond)}
	n, err := peer.New(context.Background(), append(base, opts...)...)
	if err != nil {
		m.t.Fatalf("start %s: %v", name, err)
	}
	m.t.Cleanup(func() { n.Close() })
	return n
}

// eventually waits until cond holds, re-checking it on every engine event of n and at least
// every 50 ms, and fails the test after flowTimeout.
func eventually(t *testing.T, n *peer.Node, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	events := n.Subscribe(ctx)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %s did not happen within %s", n.Name(), what, flowTimeout)
		}
	}
}

func connected(n *peer.Node, k int) func() bool {
	return func() bool { return n.Stats().Connected >= k }
}

// find returns the auction of n selling item.
func find(n *peer.Node, item string) (auction.Auction, bool) {
	for _, a := range n.Auctions() {
		if a.Item == item {
			return a, true
		}
	}
	return auction.Auction{}, false
}

func amount(t *testing.T, s string) wire.Amount {
	t.Helper()
	a, err := wire.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// screen reads a teatest program's output and keeps all of it, so that a wait never loses text
// that a previous wait read past: each wait looks for its text after the end of the previous
// match, in the output with escape sequences stripped. Bubbletea redraws only the lines that
// changed, so text shows up in the stream when its line is (re)drawn.
type screen struct {
	t    *testing.T
	tm   *teatest.TestModel
	mu   sync.Mutex
	all  []byte // every byte written
	mark int    // matches start here, in the stripped text: the end of the previous match
}

func newScreen(t *testing.T, tm *teatest.TestModel) *screen { return &screen{t: t, tm: tm} }

// Read records what teatest.WaitFor reads from the program's output.
func (s *screen) Read(p []byte) (int, error) {
	n, err := s.tm.Output().Read(p)
	s.mu.Lock()
	s.all = append(s.all, p[:n]...)
	s.mu.Unlock()
	return n, err
}

var _ io.Reader = (*screen)(nil)

// wait waits until re appears in the output after the previous match, and returns the match.
func (s *screen) wait(re string) string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	var got string
	teatest.WaitFor(s.t, s, func([]byte) bool {
		text := s.text()
		if s.mark > len(text) {
			return false
		}
		loc := rx.FindStringIndex(text[s.mark:])
		if loc == nil {
			return false
		}
		got = text[s.mark+loc[0] : s.mark+loc[1]]
		s.mark += loc[1]
		return true
	}, teatest.WithDuration(flowTimeout), teatest.WithCheckInterval(10*time.Millisecond))
	return got
}

// text returns every line drawn so far, escape sequences stripped.
func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansi.Strip(string(s.all))
}

func (s *screen) keys(ks ...tea.KeyType) {
	for _, k := range ks {
		s.tm.Send(tea.KeyMsg{Type: k})
	}
}

// typeText sends s one rune per key message, as a user types.
func (s *screen) typeText(text string) { s.tm.Type(text) }

// runTUI starts the dashboard of n under teatest, 120x36, and returns its screen. The program is
// quit at cleanup if the test did not quit it.
func runTUI(t *testing.T, n *peer.Node, opts ...tui.Option) *screen {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := tui.New(n, append([]tui.Option{tui.WithContext(ctx)}, opts...)...)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 36))
	t.Cleanup(func() { tm.Quit() })
	return newScreen(t, tm)
}

// quit presses q and waits for the program to end.
func (s *screen) quit() {
	s.t.Helper()
	s.typeText("q")
	s.tm.WaitFinished(s.t, teatest.WithFinalTimeout(flowTimeout))
}

// TestEngineFlowOpenBidClose: the TUI's user opens an auction with the keys of the design, a
// second peer bids on it through the engine API, the TUI shows the bid, its user closes the
// auction (with confirmation), and the bidder's peer sees the close with itself as the winner.
func TestEngineFlowOpenBidClose(t *testing.T) {
	mk := newMarket(t)
	alice, bob := mk.start("alice"), mk.start("bob")
	eventually(t, alice, "connected to bob", connected(alice, 1))
	eventually(t, bob, "connected to alice", connected(bob, 1))

	s := runTUI(t, alice)
	s.wait(`alice [0-9a-f]{8} │ market t`)
	s.typeText("o")
	s.wait(`Open an auction`)
	s.typeText("Pic#1")
	s.keys(tea.KeyTab)
	s.typeText("75")
	s.wait(`price +75`)
	s.keys(tea.KeyEnter)
	s.wait(`opened Pic#1 \([0-9a-f]{8}\) at 75 USDt`)

	var pic auction.Auction
	eventually(t, bob, "sees Pic#1", func() (ok bool) { pic, ok = find(bob, "Pic#1"); return ok })
	if pic.Seller != alice.Key() || pic.Price != amount(t, "75") {
		t.Fatalf("bob sees Pic#1 sold by %s at %s, want alice at 75", pic.Seller.Short(), pic.Price)
	}
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	if _, err := bob.Bid(ctx, pic.ID.String(), amount(t, "80")); err != nil {
		t.Fatalf("bob's bid: %v", err)
	}
	// The bid stream of the selected auction shows it, marked as the highest.
	s.wait(`bob +` + bob.Key().Short() + ` +80 USDt top`)

	s.typeText("c")
	s.wait(`Close Pic#1 \(` + pic.ID.Short() + `\)\?`)
	s.wait(`it sells to bob for 80 USDt`)
	s.typeText("y")
	s.wait(`sold Pic#1 to bob for 80 USDt`)

	eventually(t, bob, "sees Pic#1 closed", func() bool {
		a, err := bob.Auction(pic.ID.String())
		return err == nil && a.Status == auction.StatusClosed
	})
	a, _ := bob.Auction(pic.ID.String())
	if a.Winner == nil || a.Winner.Bidder != bob.Key() || a.Winner.Amount != amount(t, "80") {
		t.Fatalf("bob sees winner %+v, want bob at 80", a.Winner)
	}
	s.quit()
}

// TestEngineFlowBidWithKeys: a second peer opens an auction through the engine API; the TUI
// shows it, its user bids with b (typing the amount, enter), the seller's engine holds the bid,
// the seller closes, and the TUI announces the win.
func TestEngineFlowBidWithKeys(t *testing.T) {
	mk := newMarket(t)
	alice, bob := mk.start("alice"), mk.start("bob")
	eventually(t, alice, "connected to bob", connected(alice, 1))

	s := runTUI(t, alice)
	s.wait(`alice [0-9a-f]{8} │ market t`)
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	lamp, err := bob.Open(ctx, "Lamp", amount(t, "10"), 0)
	if err != nil {
		t.Fatal(err)
	}
	s.wait(`> Lamp +bob +10 USDt`) // the only auction: selected

	s.typeText("b")
	s.wait(`Bid on Lamp \(` + lamp.ID.Short() + `\) · minimum 10 USDt`)
	s.wait(`amount at least 10 USDt`)
	s.typeText("12")
	s.wait(`amount 12`)
	s.keys(tea.KeyEnter)
	s.wait(`your bid of 12 USDt on Lamp was accepted`)

	eventually(t, bob, "holds alice's bid", func() bool {
		a, err := bob.Auction(lamp.ID.String())
		return err == nil && len(a.Bids) == 1 && a.Bids[0].Bidder == alice.Key() && a.Bids[0].Amount == amount(t, "12")
	})
	if _, err := bob.CloseAuction(ctx, lamp.ID.String()); err != nil {
		t.Fatal(err)
	}
	s.wait(`you won Lamp for 12 USDt from bob`)
	s.quit()
}

// TestEngineFlowBidErrorShowsOnScreen: a bid the engine cannot place (its seller went offline)
// keeps the form open with the engine's reason; the program goes on running and quits cleanly.
func TestEngineFlowBidErrorShowsOnScreen(t *testing.T) {
	mk := newMarket(t)
	alice, bob := mk.start("alice", peer.WithBidTimeout(2*time.Second)), mk.start("bob")
	eventually(t, alice, "connected to bob", connected(alice, 1))
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	if _, err := bob.Open(ctx, "Vase", amount(t, "5"), 0); err != nil {
		t.Fatal(err)
	}
	s := runTUI(t, alice)
	s.wait(`> Vase +bob +5 USDt`)
	s.typeText("b")
	s.wait(`amount at least 5 USDt`)
	s.typeText("6")
	s.wait(`amount 6`)
	bob.Close()
	s.keys(tea.KeyEnter)
	// No wait for the transient "sending to the seller" line: with the connection already gone
	// the engine can answer before that frame is ever drawn.
	s.wait(`rejected: peer: seller unreachable`)
	s.keys(tea.KeyEsc)
	s.wait(`Bids · Vase`) // back to the panes
	s.quit()
}

// TestEngineCatchUpIsSummarised restarts the TUI's peer after history happened without it: it
// was outbid on one auction and won another while away, and a third closed. The engine replays
// its own folder before the TUI subscribes, then fetches the rest from the seller, emitting an
// event per entry fetched. The sellers' clocks run 90 s behind (within the bid clock skew the
// rules allow, beyond NotifyWindow), so the caught-up entries are older than NotifyWindow by the
// TUI's clock: the list shows the outcome but no "outbid" or "you won" line of their own.
func TestEngineCatchUpIsSummarised(t *testing.T) {
	mk := newMarket(t)
	behind := func() time.Time { return time.Now().Add(-90 * time.Second) }
	alice := mk.start("alice")
	bob, carol := mk.start("bob", peer.WithClock(behind)), mk.start("carol", peer.WithClock(behind))
	eventually(t, alice, "connected to bob and carol", connected(alice, 2))
	eventually(t, carol, "connected to bob", connected(carol, 1))

	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	vase, err := bob.Open(ctx, "Vase", amount(t, "5"), 0)
	if err != nil {
		t.Fatal(err)
	}
	chair, err := bob.Open(ctx, "Chair", amount(t, "5"), 0)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := bob.Open(ctx, "Desk", amount(t, "5"), 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, alice, "sees bob's auctions", func() bool { return len(alice.Auctions()) == 3 })
	for _, id := range []wire.AuctionID{vase.ID, chair.ID} {
		if _, err := alice.Bid(ctx, id.String(), amount(t, "6")); err != nil {
			t.Fatal(err)
		}
	}
	alice.Close()
	eventually(t, carol, "sees alice's bid on Vase", func() bool {
		a, err := carol.Auction(vase.ID.String())
		return err == nil && len(a.Bids) == 1
	})
	if _, err := carol.Bid(ctx, vase.ID.String(), amount(t, "7")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []wire.AuctionID{vase.ID, chair.ID, desk.ID} {
		if _, err := bob.CloseAuction(ctx, id.String()); err != nil {
			t.Fatal(err)
		}
	}

	alice = mk.start("alice")
	s := runTUI(t, alice)
	eventually(t, alice, "caught up on the closes", func() bool {
		for _, a := range alice.Auctions() {
			if a.Status != auction.StatusClosed {
				return false
			}
		}
		return len(alice.Auctions()) == 3
	})
	// The list shows the outcome: three closed auctions, Vase with carol's 7 on top.
	s.wait(`Vase +bob +5 USDt +7 USDt +2 closed`)
	s.typeText("q")
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(flowTimeout))
	out := s.text()
	for _, bad := range []string{"outbid on Vase", "you won Chair", "closed Desk", "closed Vase"} {
		if strings.Contains(out, bad) {
			t.Errorf("caught-up history raised %q:\n%s", bad, lastFrame(out))
		}
	}
	// Whatever arrived after the TUI subscribed is counted in the caught-up line; whatever the
	// engine applied before shows only in the list.
	if i := strings.LastIndex(out, "caught up on older history:"); i >= 0 {
		t.Logf("summary: %s", strings.TrimSpace(strings.SplitN(out[i:], "\n", 2)[0]))
	} else {
		t.Log("the engine caught up before the TUI subscribed: nothing to summarise")
	}
}

// lastFrame returns the tail of the output, for failure messages.
func lastFrame(s string) string {
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return string(bytes.ToValidUTF8([]byte(s), []byte("?")))
}
