package tui

import (
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
)

// TestAuctionsPaneKeepsRecentClosed: the list keeps every open auction and the most recently
// closed ones, dropping the one that closed longest ago, never the selected one, as auctions
// are opened, closed again (a stale state is ignored) and selected.
func TestAuctionsPaneKeepsRecentClosed(t *testing.T) {
	p := newAuctionsPane()
	p.keep = 2
	seller := keyOf(1)
	var as []auction.Auction
	for i := range 6 {
		as = append(as, mkAuction(seller, uint64(i), "item", "10", time.Duration(10-i)*time.Minute, 0))
		p.put(as[i])
	}
	// Auction 0 is selected; 0..4 close in order 0, 1, 2, 3, 4 (5 stays open).
	p.sel, p.hasSel = as[0].ID, true
	for i := range 5 {
		p.put(closeIt(as[i], t0.Add(time.Duration(i)*time.Second)))
		// A stale open state of a closed auction neither reopens nor counts it.
		p.put(as[i])
	}
	// Two closed are kept: the selected one (never dropped) and the latest; 5 is open.
	want := map[int]bool{0: true, 4: true, 5: true}
	for i, a := range as {
		if got := p.get(a.ID) != nil; got != want[i] {
			t.Errorf("auction %d held = %v, want %v", i, got, want[i])
		}
	}
	if p.closed != 2 || len(p.byID) != 3 {
		t.Fatalf("closed %d, held %d; want 2 and 3", p.closed, len(p.byID))
	}
	p.rebuild()
	if len(p.rows) != 3 || p.selected() == nil {
		t.Fatalf("rows %d, selected %v", len(p.rows), p.selected())
	}
}
