package tui

import (
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// benchMarket returns a model of 1,000 auctions whose selected one carries a 10,000-bid stream,
// and that auction.
func benchMarket(b *testing.B, w, h int) (Model, auction.Auction) {
	const auctions, bids = 1000, 10000
	f := newFakeEngine(me, "me", fixedClock)
	sellers := []wire.PeerKey{alice, bob, carol, dave}
	for i := range auctions {
		a := mkAuction(sellers[i%len(sellers)], uint64(i), "Item #"+itoa(i), "10", time.Duration(i)*time.Second, time.Hour)
		if i%5 == 0 {
			a = closeIt(a, t0)
		}
		f.add(a)
	}
	busy := mkAuction(alice, 5000, "Busy", "1", 0, time.Hour)
	busy.Bids = make([]auction.Bid, 0, bids+1)
	for i := range bids {
		k := []wire.PeerKey{bob, carol, me}[i%3]
		busy.Bids = append(busy.Bids, auction.Bid{Bidder: k, BidderName: names[k], Amount: usd("1") + wire.Amount(i),
			AcceptedAt: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	f.add(busy)
	f.peers = fixturePeers()
	m := New(f, WithClock(fixedClock), WithSize(w, h))
	m = send(b, m, m.snapshotCmd(true)())
	if m.auctions.sel != busy.ID {
		b.Fatalf("the busy auction is not selected")
	}
	return m, busy
}

// BenchmarkView measures one full frame: 1,000 auctions, selected auction with 10,000 bids.
func BenchmarkView(b *testing.B) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		b.Run(itoa(size[0])+"x"+itoa(size[1]), func(b *testing.B) {
			m, _ := benchMarket(b, size[0], size[1])
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
		b.Run(itoa(size[0])+"x"+itoa(size[1])+"/details", func(b *testing.B) {
			m, _ := benchMarket(b, size[0], size[1])
			m = send(b, m, keys("enter")...)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkUpdateBidEvent measures Update for one bid event on the selected 10,000-bid auction,
// without and with the flush that follows at most every RefreshInterval.
func BenchmarkUpdateBidEvent(b *testing.B) {
	m, busy := benchMarket(b, 120, 40)
	next := busy
	next.Bids = append(next.Bids, auction.Bid{Bidder: bob, BidderName: "bob", Amount: usd("1000000"), AcceptedAt: t0})
	ev := event(peer.Event{Kind: peer.EventBidAccepted, Auction: next, Bid: next.Bids[len(next.Bids)-1]})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nm, _ := m.Update(ev)
			m = nm.(Model)
		}
	})
	b.Run("event+flush", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nm, _ := m.Update(ev)
			nm, _ = nm.(Model).Update(flushMsg{})
			m = nm.(Model)
		}
	})
}
