package chaos

import (
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// TestFingerprint: the convergence polls' fingerprint tells two states apart exactly when their
// text digests differ, whatever the order the peer lists its auctions in.
func TestFingerprint(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	bid := func(i uint64, who byte, amt wire.Amount) auction.Bid {
		b := auction.Bid{Index: i, Amount: amt, AcceptedAt: at.Add(time.Duration(i) * time.Millisecond)}
		b.Signed.Bidder = wire.PeerKey{who}
		return b
	}
	base := func() []auction.Auction {
		w := bid(5, 2, 90)
		return []auction.Auction{
			{ID: wire.AuctionID{1}, Status: auction.StatusOpen, Price: 75, Bids: []auction.Bid{bid(3, 1, 80)}},
			{ID: wire.AuctionID{2}, Status: auction.StatusClosed, Price: 10, ClosedAt: at,
				Bids: []auction.Bid{bid(4, 1, 20), w}, Winner: &w},
		}
	}
	cases := []struct {
		name string
		edit func([]auction.Auction) []auction.Auction
	}{
		{"same", func(as []auction.Auction) []auction.Auction { return as }},
		{"listed in another order", func(as []auction.Auction) []auction.Auction { return []auction.Auction{as[1], as[0]} }},
		{"status", func(as []auction.Auction) []auction.Auction { as[0].Status = auction.StatusClosed; return as }},
		{"price", func(as []auction.Auction) []auction.Auction { as[0].Price = 76; return as }},
		{"closed at", func(as []auction.Auction) []auction.Auction { as[1].ClosedAt = at.Add(time.Second); return as }},
		{"one bid fewer", func(as []auction.Auction) []auction.Auction { as[0].Bids = nil; return as }},
		{"bid index", func(as []auction.Auction) []auction.Auction { as[0].Bids = []auction.Bid{bid(9, 1, 80)}; return as }},
		{"bidder", func(as []auction.Auction) []auction.Auction { as[0].Bids = []auction.Bid{bid(3, 7, 80)}; return as }},
		{"bid amount", func(as []auction.Auction) []auction.Auction { as[0].Bids = []auction.Bid{bid(3, 1, 81)}; return as }},
		{"winner", func(as []auction.Auction) []auction.Auction { as[1].Winner = &as[1].Bids[0]; return as }},
		{"no winner", func(as []auction.Auction) []auction.Auction { as[1].Winner = nil; return as }},
		{"an auction fewer", func(as []auction.Auction) []auction.Auction { return as[:1] }},
	}
	want := fingerprint(base())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := c.edit(base())
			sameText := digest(as) == digest(base())
			if got := fingerprint(as) == want; got != sameText {
				t.Errorf("fingerprints equal: %v; text digests equal: %v", got, sameText)
			}
		})
	}
	if fingerprint(nil) == want {
		t.Error("no auctions has the fingerprint of two")
	}
}
