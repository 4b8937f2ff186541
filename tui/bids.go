package tui

import (
	"strings"

	"github.com/auction-tui/auction-tui/peer/auction"
)

// bidsPane is the live bid stream of the selected auction, newest at the bottom. It draws only
// the bids on screen, so a stream of any length costs the same to show.
type bidsPane struct {
	back int // bids scrolled back from the newest; 0 follows the stream as bids arrive
}

// scroll moves the window by delta bids (positive: back in time), kept within n bids of which
// visible are shown.
func (p *bidsPane) scroll(delta, n, visible int) {
	p.back = max(0, min(p.back+delta, n-visible))
}

// view draws the pane: a title and the stream, height lines of width cells.
func (p *bidsPane) view(b *strings.Builder, m *Model, e *entry, width, height int, focused bool) {
	st := m.st
	if e == nil {
		writeTitle(b, st, "Bids", width, focused)
		if height > 1 {
			writeLine(b, st.Muted.Render(fit("  select an auction to follow its bids", width)))
		}
		for i := 2; i < height; i++ {
			writeLine(b, fit("", width))
		}
		return
	}
	a := &e.a
	n := len(a.Bids)
	title := "Bids · " + e.item + " · " + itoa(n)
	if p.back > 0 {
		title += " · scrolled back " + itoa(p.back)
	}
	writeTitle(b, st, title, width, focused)
	visible := height - 1
	if visible <= 0 {
		return
	}
	if n == 0 {
		writeLine(b, st.Muted.Render(fit("  no bids yet: minimum "+usdt(a.MinNextBid()), width)))
		for i := 1; i < visible; i++ {
			writeLine(b, fit("", width))
		}
		return
	}
	back := max(0, min(p.back, n-visible))
	end := n - back
	start := max(0, end-visible)
	for i := start; i < end; i++ {
		writeLine(b, bidLine(m, a, i, width))
	}
	for i := end - start; i < visible; i++ {
		writeLine(b, fit("", width))
	}
}

// bidLine draws bid i of a: time accepted, bidder, bidder key, amount and a mark for the highest
// or winning bid.
func bidLine(m *Model, a *auction.Auction, i, width int) string {
	st, bid := m.st, &a.Bids[i]
	who := m.who(bid.BidderName, bid.Bidder)
	own := bid.Bidder == m.me
	mark := ""
	if i == len(a.Bids)-1 {
		mark = "top"
		if a.Status == auction.StatusClosed {
			mark = "won"
			if a.Winner == nil {
				mark = ""
			}
		}
	}
	const fixed = 8 + 2 + 12 + 1 + 8 + 1 + 1 + 3
	amountW := max(width-fixed-2, 8)
	line := "  " + clock(bid.AcceptedAt, m.loc()) + "  " + fit(who, 12) + " " + bid.Bidder.Short() + " " +
		fitRight(usdt(bid.Amount), amountW) + " " + fit(mark, 3)
	style := st.Row
	if own {
		style = st.Own
	}
	return style.Render(fit(line, width))
}
