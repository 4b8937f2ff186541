package auction

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// TestSampleScenario plays the brief's sample: Client#1 opens Pic#1 at 75, Client#2 opens Pic#2
// at 60, Client#2 bids 75 on Pic#1, Client#3 bids 75.5, Client#2 bids 80, Client#1 closes: Client#2
// wins at 80, and Pic#2 stays open with no bids.
func TestSampleScenario(t *testing.T) {
	m := newMarket(t)
	c1, c2, c3 := newPeer(1), newPeer(2), newPeer(3)
	for i, p := range []*tpeer{c1, c2, c3} {
		m.profile(p, fmt.Sprintf("Client#%d", i+1))
	}
	pic1 := m.open(c1, "Pic#1", usdt(75), t0+1000, 0)
	pic2 := m.open(c2, "Pic#2", usdt(60), t0+2000, 0)

	steps := []struct {
		bidder *tpeer
		amount wire.Amount
	}{{c2, usdt(75)}, {c3, usdt(75.5)}, {c2, usdt(80)}}
	for i, s := range steps {
		at := t0 + 3000 + int64(i)*1000
		sb := s.bidder.bid(pic1, s.amount, at-200)
		if err := m.book.CheckBid(c1.key, sb, time.UnixMilli(at)); err != nil {
			t.Fatalf("CheckBid %s: %v", s.amount, err)
		}
		ch := m.must(c1, at, &wire.BidAccepted{Bid: sb})
		if ch.Kind != ChangeBid || ch.Bid == nil || ch.Bid.Amount != s.amount || len(ch.Auction.Bids) != i+1 {
			t.Fatalf("bid change %+v", ch)
		}
	}
	// A bid of 75 now (below the highest) is refused before and after appending.
	low := c3.bid(pic1, usdt(75), t0+6000)
	err := m.book.CheckBid(c1.key, low, time.UnixMilli(t0+6000))
	wantRule(t, err, ErrNotAboveHighest)
	if got, want := err.Error(), "bid 75 is not above the highest bid 80 USDt"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}

	winner, err := m.book.CheckClose(c1.key, pic1)
	if err != nil || winner == nil || winner.Bidder != c2.key || winner.Amount != usdt(80) {
		t.Fatalf("CheckClose = %+v, %v", winner, err)
	}
	ch := m.must(c1, t0+7000, &wire.Close{Auction: pic1, Winner: winner})
	if ch.Kind != ChangeClosed || ch.Bid == nil || ch.Bid.BidderName != "Client#2" {
		t.Fatalf("close change %+v", ch)
	}

	a, ok := m.book.Auction(pic1)
	if !ok || a.Status != StatusClosed || a.Winner == nil || a.Winner.Bidder != c2.key ||
		a.Winner.Amount != usdt(80) || a.Winner.BidderName != "Client#2" || a.SellerName != "Client#1" {
		t.Fatalf("Pic#1 = %+v", a)
	}
	var got []string
	for _, b := range a.Bids {
		got = append(got, b.BidderName+"@"+b.Amount.String())
	}
	if s := strings.Join(got, " "); s != "Client#2@75 Client#3@75.5 Client#2@80" {
		t.Errorf("bids %s", s)
	}
	b, ok := m.book.Auction(pic2)
	if !ok || b.Status != StatusOpen || len(b.Bids) != 0 || b.Winner != nil || b.Highest() != nil || b.MinNextBid() != usdt(60) {
		t.Fatalf("Pic#2 = %+v", b)
	}
	all := m.book.Auctions()
	if len(all) != 2 || all[0].ID != pic1 || all[1].ID != pic2 {
		t.Fatalf("Auctions() order %v", all)
	}
}

// fixture is a book with a few auctions in known states.
type fixture struct {
	m                *market
	s, b1, b2, x     *tpeer
	timed, done, new wire.AuctionID // timed: 60 USDt, ends t0+10min, B1 bid 70; done: closed; new: 50 USDt, no bids
	other            wire.AuctionID // opened by x
	b1bid            wire.SignedBid
	now              int64
}

func newFixture(t *testing.T) *fixture {
	m := newMarket(t)
	f := &fixture{m: m, s: newPeer(10), b1: newPeer(11), b2: newPeer(12), x: newPeer(13), now: t0 + 60_000}
	m.profile(f.s, "seller")
	f.timed = m.open(f.s, "Pic#1", usdt(60), t0, t0+ms(10*time.Minute))
	f.b1bid = f.b1.bid(f.timed, usdt(70), t0+1000)
	m.must(f.s, t0+1000, &wire.BidAccepted{Bid: f.b1bid})
	f.done = m.open(f.s, "Lamp", usdt(10), t0+2000, 0)
	m.must(f.s, t0+3000, &wire.Close{Auction: f.done})
	f.new = m.open(f.s, "Vase", usdt(50), t0+4000, 0)
	f.other = m.open(f.x, "Chair", usdt(5), t0+5000, 0)
	return f
}

func (f *fixture) state() state { return stateOf(f.m.book, f.s, f.b1, f.b2, f.x) }

// TestRulesBroken breaks every rule once: each entry returns its sentinel, changes nothing, and
// still consumes its index.
func TestRulesBroken(t *testing.T) {
	type tc struct {
		name   string
		writer func(*fixture) *tpeer
		time   func(*fixture) int64
		event  func(*fixture) wire.Event
		want   error
	}
	seller := func(f *fixture) *tpeer { return f.s }
	other := func(f *fixture) *tpeer { return f.x }
	now := func(f *fixture) int64 { return f.now }
	accept := func(sb func(*fixture) wire.SignedBid) func(*fixture) wire.Event {
		return func(f *fixture) wire.Event { return &wire.BidAccepted{Bid: sb(f)} }
	}
	open := func(o wire.Open) func(*fixture) wire.Event {
		return func(*fixture) wire.Event { return &o }
	}
	closeWith := func(id func(*fixture) wire.AuctionID, w func(*fixture) *wire.SignedBid) func(*fixture) wire.Event {
		return func(f *fixture) wire.Event { return &wire.Close{Auction: id(f), Winner: w(f)} }
	}
	timed := func(f *fixture) wire.AuctionID { return f.timed }
	noWinner := func(*fixture) *wire.SignedBid { return nil }
	b1Winner := func(f *fixture) *wire.SignedBid { w := f.b1bid; return &w }
	item := func(s string) wire.Open { return wire.Open{Item: s, Price: usdt(1), Currency: wire.Currency} }

	cases := []tc{
		{"bid on unknown auction", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(wire.AuctionID{1, 2, 3}, usdt(80), f.now)
		}), ErrUnknownAuction},
		{"bid accepted by someone other than the seller", other, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.timed, usdt(80), f.now)
		}), ErrNotSeller},
		{"bidder field changed after signing", seller, now, accept(func(f *fixture) wire.SignedBid {
			sb := f.b2.bid(f.timed, usdt(80), f.now)
			sb.Bidder = f.b1.key
			return sb
		}), ErrBadBidSignature},
		{"amount raised after signing", seller, now, accept(func(f *fixture) wire.SignedBid {
			sb := f.b2.bid(f.timed, usdt(80), f.now)
			sb.Amount = usdt(90)
			return sb
		}), ErrBadBidSignature},
		{"bid signed for another auction moved here", seller, now, accept(func(f *fixture) wire.SignedBid {
			sb := f.b2.bid(f.other, usdt(80), f.now)
			sb.Auction = f.new
			return sb
		}), ErrBadBidSignature},
		{"seller bids on its own auction", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.s.bid(f.timed, usdt(80), f.now)
		}), ErrOwnAuction},
		{"bid on closed auction", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.done, usdt(20), f.now)
		}), ErrAuctionClosed},
		{"bid after deadline", seller, func(*fixture) int64 { return t0 + ms(10*time.Minute) + 1 }, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.timed, usdt(80), t0+ms(10*time.Minute)+1)
		}), ErrPastDeadline},
		{"first bid below start", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.new, usdt(50)-1, f.now)
		}), ErrBelowStart},
		{"bid equal to highest", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.timed, usdt(70), f.now)
		}), ErrNotAboveHighest},
		{"bid below highest", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.timed, usdt(65), f.now)
		}), ErrNotAboveHighest},
		{"zero bid", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.new, 0, f.now)
		}), ErrBadAmount},
		{"bid above maximum", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.new, wire.MaxAmount+1, f.now)
		}), ErrBadAmount},
		{"bid signed too long before acceptance", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.new, usdt(80), f.now-ms(MaxBidSkew)-1)
		}), ErrStaleBid},
		{"bid signed too far in the future", seller, now, accept(func(f *fixture) wire.SignedBid {
			return f.b2.bid(f.new, usdt(80), f.now+ms(MaxBidSkew)+1)
		}), ErrStaleBid},
		{"open in another currency", seller, now, open(wire.Open{Item: "x", Price: usdt(1), Currency: "USD"}), ErrWrongCurrency},
		{"open at price zero", seller, now, open(wire.Open{Item: "x", Currency: wire.Currency}), ErrBadAmount},
		{"open above maximum price", seller, now, open(wire.Open{Item: "x", Price: wire.MaxAmount + 1, Currency: wire.Currency}), ErrBadAmount},
		{"open without item", seller, now, open(item("")), ErrBadOpen},
		{"open with control character in item", seller, now, open(item("Pic\x1b[2J")), ErrBadOpen},
		{"open with over-long item", seller, now, open(item(strings.Repeat("x", wire.MaxItemLen+1))), ErrBadOpen},
		{"open ending at its own time", seller, now, func(f *fixture) wire.Event {
			return &wire.Open{Item: "x", Price: usdt(1), Currency: wire.Currency, EndsAt: f.now}
		}, ErrBadOpen},
		{"open with negative end", seller, now, open(wire.Open{Item: "x", Price: usdt(1), Currency: wire.Currency, EndsAt: -5}), ErrBadOpen},
		{"close by someone other than the seller", other, now, closeWith(timed, b1Winner), ErrNotSeller},
		{"close of closed auction", seller, now, closeWith(func(f *fixture) wire.AuctionID { return f.done }, noWinner), ErrAuctionClosed},
		{"close of unknown auction", seller, now, closeWith(func(*fixture) wire.AuctionID { return wire.AuctionID{9} }, noWinner), ErrUnknownAuction},
		{"close naming no winner despite bids", seller, now, closeWith(timed, noWinner), ErrWrongWinner},
		{"close naming a lower, never accepted bid", seller, now, closeWith(timed, func(f *fixture) *wire.SignedBid {
			w := f.b2.bid(f.timed, usdt(65), f.now)
			return &w
		}), ErrWrongWinner},
		{"close naming a higher, never accepted bid", seller, now, closeWith(timed, func(f *fixture) *wire.SignedBid {
			w := f.b2.bid(f.timed, usdt(99), f.now)
			return &w
		}), ErrWrongWinner},
		{"close naming the winner with a forged signature", seller, now, closeWith(timed, func(f *fixture) *wire.SignedBid {
			w := f.b1bid
			w.Sig[0] ^= 1
			return &w
		}), ErrWrongWinner},
		{"close naming a winner on an auction without bids", seller, now, closeWith(func(f *fixture) wire.AuctionID { return f.new }, func(f *fixture) *wire.SignedBid {
			w := f.b1.bid(f.new, usdt(55), f.now)
			return &w
		}), ErrWrongWinner},
		{"profile with empty name", other, now, func(*fixture) wire.Event { return &wire.Profile{} }, ErrBadEntry},
		{"profile with negative time", other, func(*fixture) int64 { return -1 }, func(*fixture) wire.Event { return &wire.Profile{Name: "n"} }, ErrBadEntry},
		{"no event", seller, now, func(*fixture) wire.Event { return nil }, ErrBadEntry},
		{"nil profile", seller, now, func(*fixture) wire.Event { return (*wire.Profile)(nil) }, ErrBadEntry},
		{"nil bid", seller, now, func(*fixture) wire.Event { return (*wire.BidAccepted)(nil) }, ErrBadEntry},
		{"nil open", seller, now, func(*fixture) wire.Event { return (*wire.Open)(nil) }, ErrBadEntry},
		{"nil close", seller, now, func(*fixture) wire.Event { return (*wire.Close)(nil) }, ErrBadEntry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.state()
			w := c.writer(f)
			idx := w.add(c.time(f), c.event(f))
			ch, err := f.m.book.Apply(w.key, idx, w.log[idx])
			wantRule(t, err, c.want)
			if !reflect.DeepEqual(ch, Change{}) {
				t.Errorf("rejected entry reported change %+v", ch)
			}
			sameState(t, f.state(), before)
			if got := f.m.book.Applied(w.key); got != idx+1 {
				t.Errorf("Applied = %d, want %d: a rejected entry still consumes its index", got, idx+1)
			}
			// The log goes on: the next entry applies.
			f.m.must(w, f.now, &wire.Profile{Name: "next"})
		})
	}
}

// TestRuleBoundaries checks that the limits are inclusive where the rules say so.
func TestRuleBoundaries(t *testing.T) {
	cases := []struct {
		name   string
		id     func(*fixture) wire.AuctionID
		amount wire.Amount
		signed func(*fixture) int64
		at     func(*fixture) int64
	}{
		{"first bid exactly the start price", func(f *fixture) wire.AuctionID { return f.new }, usdt(50), nil, nil},
		{"one micro-USDt above the highest", func(f *fixture) wire.AuctionID { return f.timed }, usdt(70) + 1, nil, nil},
		{"signed exactly MaxBidSkew before", func(f *fixture) wire.AuctionID { return f.new }, usdt(50),
			func(f *fixture) int64 { return f.now - ms(MaxBidSkew) }, nil},
		{"signed exactly MaxBidSkew after", func(f *fixture) wire.AuctionID { return f.new }, usdt(50),
			func(f *fixture) int64 { return f.now + ms(MaxBidSkew) }, nil},
		{"accepted exactly at the deadline", func(f *fixture) wire.AuctionID { return f.timed }, usdt(71),
			nil, func(*fixture) int64 { return t0 + ms(10*time.Minute) }},
		{"maximum amount", func(f *fixture) wire.AuctionID { return f.new }, wire.MaxAmount, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			at := f.now
			if c.at != nil {
				at = c.at(f)
			}
			signed := at
			if c.signed != nil {
				signed = c.signed(f)
			}
			sb := f.b2.bid(c.id(f), c.amount, signed)
			if err := f.m.book.CheckBid(f.s.key, sb, time.UnixMilli(at)); err != nil {
				t.Fatalf("CheckBid: %v", err)
			}
			ch := f.m.must(f.s, at, &wire.BidAccepted{Bid: sb})
			if h := ch.Auction.Highest(); h == nil || h.Signed != sb {
				t.Fatalf("highest %+v, want the new bid", h)
			}
		})
	}
}

// TestCheckMatchesApply checks that the seller's pre-append checks refuse what replay refuses,
// with the same sentinels.
func TestCheckMatchesApply(t *testing.T) {
	f := newFixture(t)
	now := time.UnixMilli(f.now)
	cases := []struct {
		name   string
		seller *tpeer
		sb     wire.SignedBid
		want   error
	}{
		{"unknown", f.s, f.b2.bid(wire.AuctionID{7}, usdt(80), f.now), ErrUnknownAuction},
		{"not mine", f.x, f.b2.bid(f.timed, usdt(80), f.now), ErrNotSeller},
		{"own", f.s, f.s.bid(f.timed, usdt(80), f.now), ErrOwnAuction},
		{"closed", f.s, f.b2.bid(f.done, usdt(80), f.now), ErrAuctionClosed},
		{"below start", f.s, f.b2.bid(f.new, usdt(1), f.now), ErrBelowStart},
		{"not above", f.s, f.b2.bid(f.timed, usdt(70), f.now), ErrNotAboveHighest},
		{"stale", f.s, f.b2.bid(f.timed, usdt(80), f.now-ms(3*time.Minute)), ErrStaleBid},
		{"zero", f.s, f.b2.bid(f.timed, 0, f.now), ErrBadAmount},
		{"forged", f.s, func() wire.SignedBid { sb := f.b2.bid(f.timed, usdt(80), f.now); sb.Bidder = f.b1.key; return sb }(), ErrBadBidSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.state()
			wantRule(t, f.m.book.CheckBid(c.seller.key, c.sb, now), c.want)
			sameState(t, f.state(), before)
		})
	}
	if err := f.m.book.CheckBid(f.s.key, f.b2.bid(f.timed, usdt(80), f.now), time.UnixMilli(t0+ms(11*time.Minute))); !errors.Is(err, ErrPastDeadline) {
		t.Errorf("CheckBid after deadline: %v", err)
	}
	if _, err := f.m.book.CheckClose(f.x.key, f.timed); !errors.Is(err, ErrNotSeller) {
		t.Errorf("CheckClose by other: %v", err)
	}
	if _, err := f.m.book.CheckClose(f.s.key, f.done); !errors.Is(err, ErrAuctionClosed) {
		t.Errorf("CheckClose closed: %v", err)
	}
	if _, err := f.m.book.CheckClose(f.s.key, wire.AuctionID{5}); !errors.Is(err, ErrUnknownAuction) {
		t.Errorf("CheckClose unknown: %v", err)
	}
	if w, err := f.m.book.CheckClose(f.s.key, f.new); w != nil || err != nil {
		t.Errorf("CheckClose no bids = %v, %v", w, err)
	}
	if w, err := f.m.book.CheckClose(f.s.key, f.timed); err != nil || w == nil || *w != f.b1bid {
		t.Errorf("CheckClose = %v, %v, want the 70 bid", w, err)
	}
	for _, c := range []struct {
		o    wire.Open
		want error
	}{
		{wire.Open{Item: "x", Price: usdt(1), Currency: "EUR"}, ErrWrongCurrency},
		{wire.Open{Item: "x", Currency: wire.Currency}, ErrBadAmount},
		{wire.Open{Item: " x", Price: usdt(1), Currency: wire.Currency}, ErrBadOpen},
		{wire.Open{Item: "x", Price: usdt(1), Currency: wire.Currency, EndsAt: f.now - 1}, ErrBadOpen},
	} {
		wantRule(t, f.m.book.CheckOpen(c.o, now), c.want)
	}
	if err := f.m.book.CheckOpen(wire.Open{Item: "Pic#9", Price: usdt(1), Currency: wire.Currency, EndsAt: f.now + 1}, now); err != nil {
		t.Errorf("CheckOpen valid: %v", err)
	}
}

// TestReasons pins the user-facing wording of the most common refusals.
func TestReasons(t *testing.T) {
	f := newFixture(t)
	now := time.UnixMilli(f.now)
	for _, c := range []struct {
		sb   wire.SignedBid
		want string
	}{
		{f.b2.bid(f.new, usdt(49.5), f.now), "the first bid must be at least 50 USDt"},
		{f.b2.bid(f.timed, usdt(69.25), f.now), "bid 69.25 is not above the highest bid 70 USDt"},
		{f.s.bid(f.timed, usdt(80), f.now), "the seller cannot bid on its own auction"},
		{f.b2.bid(f.done, usdt(80), f.now), "auction " + f.done.String() + " is closed"},
	} {
		if err := f.m.book.CheckBid(f.s.key, c.sb, now); err == nil || err.Error() != c.want {
			t.Errorf("reason %v, want %q", err, c.want)
		}
	}
}

// TestHostile covers a seller or a relay misusing signed bids.
func TestHostile(t *testing.T) {
	t.Run("same signed bid accepted twice", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.m.apply(f.s, f.now, &wire.BidAccepted{Bid: f.b1bid})
		wantRule(t, err, ErrNotAboveHighest)
	})
	t.Run("captured bid accepted much later", func(t *testing.T) {
		f := newFixture(t)
		sb := f.b2.bid(f.new, usdt(60), f.now)
		_, err := f.m.apply(f.s, f.now+ms(MaxBidSkew)+1, &wire.BidAccepted{Bid: sb})
		wantRule(t, err, ErrStaleBid)
		// Backdating the acceptance instead is the seller's own clock: allowed within the skew.
		f.m.must(f.s, f.now+ms(MaxBidSkew), &wire.BidAccepted{Bid: sb})
	})
	t.Run("bid for one seller accepted by another", func(t *testing.T) {
		f := newFixture(t)
		sb := f.b2.bid(f.timed, usdt(80), f.now)
		_, err := f.m.apply(f.x, f.now, &wire.BidAccepted{Bid: sb})
		wantRule(t, err, ErrNotSeller)
		// The real seller can still accept it: the other log's misuse changed nothing.
		f.m.must(f.s, f.now, &wire.BidAccepted{Bid: sb})
	})
	t.Run("bid re-addressed to the seller's other auction", func(t *testing.T) {
		f := newFixture(t)
		sb := f.b2.bid(f.timed, usdt(80), f.now)
		sb.Auction = f.new
		_, err := f.m.apply(f.s, f.now, &wire.BidAccepted{Bid: sb})
		wantRule(t, err, ErrBadBidSignature)
	})
	t.Run("bid signed by one key claimed for another", func(t *testing.T) {
		f := newFixture(t)
		sb := f.b2.bid(f.timed, usdt(80), f.now)
		sb.Bidder = f.b1.key
		_, err := f.m.apply(f.s, f.now, &wire.BidAccepted{Bid: sb})
		wantRule(t, err, ErrBadBidSignature)
	})
	t.Run("close by non-seller naming the true winner", func(t *testing.T) {
		f := newFixture(t)
		w := f.b1bid
		_, err := f.m.apply(f.b1, f.now, &wire.Close{Auction: f.timed, Winner: &w})
		wantRule(t, err, ErrNotSeller)
		if a, _ := f.m.book.Auction(f.timed); a.Status != StatusOpen {
			t.Fatal("auction closed by a non-seller")
		}
	})
	t.Run("second close", func(t *testing.T) {
		f := newFixture(t)
		w := f.b1bid
		f.m.must(f.s, f.now, &wire.Close{Auction: f.timed, Winner: &w})
		_, err := f.m.apply(f.s, f.now, &wire.Close{Auction: f.timed, Winner: &w})
		wantRule(t, err, ErrAuctionClosed)
	})
}

// TestSoftClose checks that late bids move the deadline and that Due and NextDeadline follow.
func TestSoftClose(t *testing.T) {
	m := newMarket(t)
	s, b := newPeer(1), newPeer(2)
	end := t0 + 60_000
	id := m.open(s, "Pic#1", usdt(10), t0, end)
	other := m.open(s, "Pic#2", usdt(10), t0, t0+90_000)
	m.open(s, "by hand", usdt(10), t0, 0)

	if d, ok := m.book.NextDeadline(s.key); !ok || d.UnixMilli() != end {
		t.Fatalf("NextDeadline = %v, %v", d, ok)
	}
	// 50 s before the deadline: no extension.
	ch, err := m.bid(s, b, id, usdt(10), t0+10_000)
	if err != nil || ch.Auction.EndsAt.UnixMilli() != end {
		t.Fatalf("early bid: %v, ends %v", err, ch.Auction.EndsAt)
	}
	// 20 s before: extended to acceptance + 30 s.
	ch, err = m.bid(s, b, id, usdt(11), t0+40_000)
	if err != nil || ch.Auction.EndsAt.UnixMilli() != t0+70_000 {
		t.Fatalf("late bid: %v, ends %v", err, ch.Auction.EndsAt)
	}
	// Past the original deadline but within the extension: accepted, extended again.
	ch, err = m.bid(s, b, id, usdt(12), t0+65_000)
	if err != nil || ch.Auction.EndsAt.UnixMilli() != t0+95_000 {
		t.Fatalf("extension bid: %v, ends %v", err, ch.Auction.EndsAt)
	}
	if due := m.book.Due(time.UnixMilli(end), s.key); len(due) != 0 {
		t.Fatalf("Due at the original deadline = %v, want none", due)
	}
	if due := m.book.Due(time.UnixMilli(t0+95_000), s.key); len(due) != 2 || due[0] != other || due[1] != id {
		t.Fatalf("Due = %v, want [%s %s] by deadline", due, other, id)
	}
	if due := m.book.Due(time.UnixMilli(t0+95_000), b.key); len(due) != 0 {
		t.Fatalf("Due for a peer that sells nothing = %v", due)
	}
	_, err = m.bid(s, b, id, usdt(13), t0+95_001)
	wantRule(t, err, ErrPastDeadline)

	w, err := m.book.CheckClose(s.key, id)
	if err != nil {
		t.Fatal(err)
	}
	m.must(s, t0+95_001, &wire.Close{Auction: id, Winner: w})
	m.must(s, t0+95_001, &wire.Close{Auction: other})
	if d, ok := m.book.NextDeadline(s.key); ok {
		t.Fatalf("NextDeadline after closing = %v", d)
	}
	if due := m.book.Due(time.UnixMilli(t0+200_000), s.key); len(due) != 0 {
		t.Fatalf("Due after closing = %v", due)
	}
}

// TestOutOfOrder checks per-log ordering: gaps and repeats are refused without consuming.
func TestOutOfOrder(t *testing.T) {
	b := NewBook()
	p, q := newPeer(1), newPeer(2)
	p.add(t0, &wire.Profile{Name: "p0"})
	p.add(t0, &wire.Profile{Name: "p1"})
	q.add(t0, &wire.Profile{Name: "q0"})
	_, err := b.Apply(p.key, 1, p.log[1])
	wantRule(t, err, ErrOutOfOrder)
	if b.Applied(p.key) != 0 || b.Name(p.key) != "" {
		t.Fatal("out-of-order entry consumed or applied")
	}
	for _, s := range []struct {
		w *tpeer
		i uint64
	}{{p, 0}, {q, 0}, {p, 1}} {
		ch, err := b.Apply(s.w.key, s.i, s.w.log[s.i])
		if err != nil || ch.Kind != ChangeProfile || ch.Writer != s.w.key || ch.Index != s.i {
			t.Fatalf("Apply(%d) = %+v, %v", s.i, ch, err)
		}
	}
	_, err = b.Apply(p.key, 0, p.log[0])
	wantRule(t, err, ErrOutOfOrder)
	if b.Name(p.key) != "p1" || b.Name(q.key) != "q0" || b.Applied(p.key) != 2 {
		t.Fatalf("names %q %q applied %d", b.Name(p.key), b.Name(q.key), b.Applied(p.key))
	}
}

// TestLateProfile checks that names arriving after the bids show in later snapshots, and that
// earlier snapshots do not change under the caller.
func TestLateProfile(t *testing.T) {
	m := newMarket(t)
	s, b := newPeer(1), newPeer(2)
	id := m.open(s, "Pic#1", usdt(10), t0, 0)
	m.bid(s, b, id, usdt(10), t0+1)
	sb := b.bid(id, usdt(11), t0+2)
	m.must(s, t0+2, &wire.BidAccepted{Bid: sb})
	m.must(s, t0+3, &wire.Close{Auction: id, Winner: &sb})
	before, _ := m.book.Auction(id)
	if before.SellerName != "" || before.Bids[0].BidderName != "" || before.Winner.BidderName != "" {
		t.Fatalf("names before any profile: %+v", before)
	}
	m.profile(b, "Bob")
	m.profile(s, "Sam")
	after, _ := m.book.Auction(id)
	if after.SellerName != "Sam" || after.Bids[0].BidderName != "Bob" || after.Bids[1].BidderName != "Bob" || after.Winner.BidderName != "Bob" {
		t.Fatalf("names after profiles: %+v", after)
	}
	if before.Bids[0].BidderName != "" || before.Winner.BidderName != "" {
		t.Fatal("a snapshot changed under its holder")
	}
	m.profile(b, "Bobby")
	if a, _ := m.book.Find(id.String()[:6]); a.Winner.BidderName != "Bobby" {
		t.Fatalf("renamed winner %q", a.Winner.BidderName)
	}
	if m.book.Name(b.key) != "Bobby" {
		t.Fatal("Name")
	}
}

// TestSnapshotsAreCopies checks that appending to or editing a snapshot never reaches the book,
// and that later bids never reach an earlier snapshot.
func TestSnapshotsAreCopies(t *testing.T) {
	m := newMarket(t)
	s, b := newPeer(1), newPeer(2)
	id := m.open(s, "Pic#1", usdt(10), t0, 0)
	m.bid(s, b, id, usdt(10), t0+1)
	snap, _ := m.book.Auction(id)
	snap.Bids = append(snap.Bids, Bid{Amount: 1})
	snap.Item = "changed"
	m.bid(s, b, id, usdt(11), t0+2)
	if snap.Bids[1].Amount != 1 {
		t.Fatal("a later bid overwrote a snapshot's appended element")
	}
	a, _ := m.book.Auction(id)
	if a.Item != "Pic#1" || len(a.Bids) != 2 || a.Bids[1].Amount != usdt(11) {
		t.Fatalf("book changed through a snapshot: %+v", a)
	}
	all := m.book.Auctions()
	all[0].Bids = append(all[0].Bids, Bid{Amount: 2})
	m.bid(s, b, id, usdt(12), t0+3)
	if all[0].Bids[2].Amount != 2 {
		t.Fatal("a later bid overwrote an Auctions() snapshot's appended element")
	}
}

// TestFind checks prefix lookup against a brute-force count.
func TestFind(t *testing.T) {
	m := newMarket(t)
	s := newPeer(1)
	var ids []wire.AuctionID
	for i := range 40 {
		ids = append(ids, m.open(s, fmt.Sprintf("item %d", i), usdt(1), t0+int64(i), 0))
	}
	count := func(p string) int {
		n := 0
		for _, id := range ids {
			if strings.HasPrefix(id.String(), p) {
				n++
			}
		}
		return n
	}
	for _, id := range ids {
		full := id.String()
		if a, err := m.book.Find(full); err != nil || a.ID != id {
			t.Fatalf("Find(full) = %v, %v", a.ID, err)
		}
		if a, err := m.book.Find(strings.ToUpper(full[:8])); err != nil || a.ID != id {
			t.Fatalf("Find(upper) = %v, %v", a.ID, err)
		}
		for n := 1; n <= 3; n++ {
			p := full[:n]
			a, err := m.book.Find(p)
			switch c := count(p); {
			case c == 1 && (err != nil || a.ID != id):
				t.Fatalf("Find(%q) = %v, %v", p, a.ID, err)
			case c > 1 && (!errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), fmt.Sprintf("%d auction ids", c))):
				t.Fatalf("Find(%q) = %v, want ambiguous among %d", p, err, c)
			}
		}
	}
	for _, c := range []struct {
		p    string
		want error
	}{
		{"", ErrBadPrefix}, {"xyz", ErrBadPrefix}, {"0g", ErrBadPrefix}, {"-1", ErrBadPrefix},
		{strings.Repeat("0", 33), ErrBadPrefix}, {strings.Repeat("0", 32), ErrNotFound},
	} {
		if _, err := m.book.Find(c.p); !errors.Is(err, c.want) {
			t.Errorf("Find(%q) = %v, want %v", c.p, err, c.want)
		}
	}
}

// TestAuctionsOrder checks the order of Auctions when opens arrive out of time order.
func TestAuctionsOrder(t *testing.T) {
	m := newMarket(t)
	p, q := newPeer(1), newPeer(2)
	a3 := m.open(p, "c", usdt(1), t0+3, 0)
	a1 := m.open(q, "a", usdt(1), t0+1, 0)
	a2 := m.open(p, "b", usdt(1), t0+2, 0)
	b2 := m.open(q, "b'", usdt(1), t0+2, 0)
	want := []wire.AuctionID{a1, a2, b2, a3}
	if strings.Compare(a2.String(), b2.String()) > 0 {
		want[1], want[2] = b2, a2
	}
	for range 2 {
		all := m.book.Auctions()
		if len(all) != 4 || m.book.Len() != 4 {
			t.Fatalf("%d auctions", len(all))
		}
		for i, a := range all {
			if a.ID != want[i] {
				t.Fatalf("position %d: %s (%s), want %s", i, a.ID, a.Item, want[i])
			}
		}
	}
}

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{ChangeProfile: "profile", ChangeOpened: "opened", ChangeBid: "bid", ChangeClosed: "closed", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}

// TestApplyLog checks that ApplyLog, which verifies signatures in parallel, gives exactly the
// results of Apply entry by entry, forged bids included, and refuses a range that does not start
// where the log stands.
func TestApplyLog(t *testing.T) {
	s := newPeer(1)
	bidders := []*tpeer{newPeer(2), newPeer(3), newPeer(4)}
	id := wire.DeriveAuctionID(s.key, s.add(t0, &wire.Open{Item: "Pic#1", Price: usdt(1), Currency: wire.Currency}))
	amount := usdt(1)
	for i := range 400 {
		sb := bidders[i%3].bid(id, amount, t0+int64(i))
		switch i % 37 {
		case 5:
			sb.Amount += 7 // forged: the signature no longer verifies
		case 11:
			sb.Bidder = bidders[(i+1)%3].key
		default:
			amount += 1000
		}
		s.add(t0+int64(i), &wire.BidAccepted{Bid: sb})
	}
	s.add(t0+500, &wire.Close{Auction: id})

	one := NewBook()
	var want []Result
	for i, e := range s.log {
		ch, err := one.Apply(s.key, uint64(i), e)
		want = append(want, Result{ch, err})
	}
	many := NewBook()
	// In two ranges, the second not starting at 0.
	got := append(many.ApplyLog(s.key, 0, s.log[:150]), many.ApplyLog(s.key, 150, s.log[150:])...)
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("entry %d: ApplyLog %+v, Apply %+v", i, got[i], want[i])
			}
		}
	}
	forged := 0
	for _, r := range got {
		if errors.Is(r.Err, ErrBadBidSignature) {
			forged++
		}
	}
	if forged != 22 {
		t.Fatalf("%d forged bids refused, want 22", forged)
	}
	sameState(t, stateOf(many, s), stateOf(one, s))

	for _, r := range NewBook().ApplyLog(s.key, 1, s.log[1:3]) {
		wantRule(t, r.Err, ErrOutOfOrder)
	}
}

// TestClosedKept: a book keeps every open auction and only the most recently closed ones, by
// closing time; a dropped auction answers as unknown, its bidders' lists forget it, and an entry
// naming it is rejected and still consumed.
func TestClosedKept(t *testing.T) {
	seller, bidder := newPeer(1), newPeer(2)
	m := &market{t: t, book: NewBook(WithClosedKept(2))}
	var ids []wire.AuctionID
	for i := range 5 {
		id := m.open(seller, fmt.Sprintf("item %d", i), usdt(10), t0+int64(i), 0)
		m.bid(seller, bidder, id, usdt(11), t0+10+int64(i))
		ids = append(ids, id)
	}
	// Close them out of order of opening: 3, 0, 4, 1 (2 stays open).
	for k, i := range []int{3, 0, 4, 1} {
		winner, err := m.book.CheckClose(seller.key, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		ch := m.must(seller, t0+1000+int64(k), &wire.Close{Auction: ids[i], Winner: winner})
		if ch.Kind != ChangeClosed || ch.Auction.Status != StatusClosed || ch.Auction.Winner == nil {
			t.Fatalf("close of %d: change %+v", i, ch)
		}
	}
	// Kept: open 2, closed 4 and 1 (the two closed last). Dropped: 3 and 0.
	held := map[wire.AuctionID]bool{}
	for _, a := range m.book.Auctions() {
		held[a.ID] = true
	}
	for i, want := range []bool{false, true, true, false, true} {
		if held[ids[i]] != want {
			t.Errorf("auction %d held = %v, want %v", i, held[ids[i]], want)
		}
		_, ok := m.book.Auction(ids[i])
		_, err := m.book.Find(ids[i].String())
		if ok != want || (err == nil) != want {
			t.Errorf("auction %d: Auction ok %v, Find err %v; want held %v", i, ok, err, want)
		}
		if !want && (!errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "2 most recently closed")) {
			t.Errorf("auction %d: Find error %q does not say that old closed auctions are not held", i, err)
		}
	}
	if m.book.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.book.Len())
	}
	if got := len(m.book.bidderOf[bidder.key]); got != 3 {
		t.Errorf("bidder is listed in %d auctions, want the 3 held", got)
	}
	checkInvariants(t, m.book, true)
	// A bid entry and a close naming a dropped auction are rejected and consumed.
	before := m.book.Applied(seller.key)
	_, err := m.apply(seller, t0+2000, &wire.BidAccepted{Bid: bidder.bid(ids[3], usdt(50), t0+2000)})
	wantRule(t, err, ErrUnknownAuction)
	_, err = m.apply(seller, t0+2001, &wire.Close{Auction: ids[0]})
	wantRule(t, err, ErrUnknownAuction)
	if m.book.Applied(seller.key) != before+2 {
		t.Fatalf("rejected entries not consumed")
	}
	// A close applied late with an older time than every kept one is dropped at once, but
	// its change still carries the final state.
	winner, _ := m.book.CheckClose(seller.key, ids[2])
	ch := m.must(seller, t0+500, &wire.Close{Auction: ids[2], Winner: winner})
	if ch.Auction.Status != StatusClosed || ch.Auction.Winner == nil {
		t.Fatalf("late close change %+v", ch)
	}
	if _, ok := m.book.Auction(ids[2]); ok {
		t.Fatal("a close older than every kept one was kept")
	}
}

// TestClosedKeptBoundsMemory: a book fed an endless market (open, bid, close, again) keeps the
// same number of auctions and about the same live heap, however many it has seen.
func TestClosedKeptBoundsMemory(t *testing.T) {
	seller, bidder := newPeer(1), newPeer(2)
	b := NewBook(WithClosedKept(100))
	var index uint64 // the seller's log, applied without keeping it
	now := t0
	apply := func(ev wire.Event) Change {
		t.Helper()
		ch, err := b.Apply(seller.key, index, wire.Entry{Time: now, Event: ev})
		if err != nil {
			t.Fatalf("entry %d: %v", index, err)
		}
		index++
		return ch
	}
	round := func(n int) {
		for range n {
			now += 10
			id := apply(&wire.Open{Item: "lamp", Price: usdt(10), Currency: wire.Currency}).Auction.ID
			apply(&wire.BidAccepted{Bid: bidder.bid(id, usdt(11), now)})
			apply(&wire.BidAccepted{Bid: bidder.bid(id, usdt(12), now)})
			winner, _ := b.CheckClose(seller.key, id)
			apply(&wire.Close{Auction: id, Winner: winner})
		}
	}
	round(1000)
	h1 := liveHeap()
	round(10_000)
	h2 := liveHeap()
	if b.Len() != 100 || len(b.auctions) != 100 || len(b.closed) != 100 || len(b.order) > 2*100+1 || len(b.bidderOf[bidder.key]) != 100 {
		t.Fatalf("after 11,000 auctions: Len %d, index %d, closed %d, order %d, bidder's list %d",
			b.Len(), len(b.auctions), len(b.closed), len(b.order), len(b.bidderOf[bidder.key]))
	}
	// 10,000 more auctions of about 1 KiB each would be about 10 MiB if kept.
	if grew := h2 - h1; grew > 1<<20 {
		t.Fatalf("heap grew %d bytes over 10,000 auctions", grew)
	}
	runtime.KeepAlive(b)
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
