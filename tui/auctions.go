package tui

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// entry is one auction as the list keeps it, with the cleaned texts it prints and filters on.
type entry struct {
	a      auction.Auction
	item   string // a.Item, cleaned for the screen
	seller string // seller's name or short key, cleaned
	lower  string // lowercase item, seller label and seller key, for the filter
}

func newEntry(a auction.Auction) *entry {
	e := &entry{a: a, item: clean(a.Item), seller: peerLabel(a.SellerName, a.Seller)}
	e.lower = strings.ToLower(e.item + "\x00" + e.seller + "\x00" + a.Seller.String())
	return e
}

// fresher reports whether b is a later state of the same auction than a. An auction's state only
// moves forward: open to closed, and bids are only appended. A snapshot taken before an event
// may arrive after it; this keeps it from winding the list back.
func fresher(a, b *auction.Auction) bool {
	if a.Status == auction.StatusClosed && b.Status != auction.StatusClosed {
		return false
	}
	if a.Status != auction.StatusClosed && b.Status == auction.StatusClosed {
		return true
	}
	return len(b.Bids) >= len(a.Bids)
}

// auctionsPane is the auctions list: every open auction known and the most recently closed ones
// (as many as the engine's book keeps, auction.DefaultClosedKept), filtered and sorted (open
// first, then newest first), with a selection that follows its auction across re-sorts.
type auctionsPane struct {
	byID   map[wire.AuctionID]*entry
	closed int      // closed auctions in byID
	keep   int      // closed auctions kept in byID; the oldest closed beyond it are dropped
	rows   []*entry // filtered and sorted; rebuilt by rebuild
	sel    wire.AuctionID
	hasSel bool
	cursor int // index of sel in rows
	offset int // first row shown
	filter string
	flash  map[wire.AuctionID]time.Time // closed auctions highlighted until the time given
	dirty  bool                         // byID changed since the last rebuild
}

func newAuctionsPane() auctionsPane {
	return auctionsPane{byID: make(map[wire.AuctionID]*entry), flash: make(map[wire.AuctionID]time.Time), keep: auction.DefaultClosedKept}
}

// put stores a, unless a state at least as fresh is held already. It returns the state held
// before (nil if none) and whether a was stored.
func (p *auctionsPane) put(a auction.Auction) (prev *auction.Auction, stored bool) {
	old, ok := p.byID[a.ID]
	if ok {
		prev = &old.a
		if !fresher(&old.a, &a) {
			return prev, false
		}
	}
	if a.Status == auction.StatusClosed && (!ok || old.a.Status != auction.StatusClosed) {
		p.closed++
	}
	if ok && old.a.Item == a.Item && old.a.SellerName == a.SellerName {
		p.byID[a.ID] = &entry{a: a, item: old.item, seller: old.seller, lower: old.lower}
	} else {
		p.byID[a.ID] = newEntry(a)
	}
	p.dirty = true
	p.trimClosed()
	return prev, true
}

// trimClosed drops the closed auctions that closed longest ago, beyond p.keep, as the engine's
// book does; the selected auction stays.
func (p *auctionsPane) trimClosed() {
	for p.closed > p.keep {
		var oldest *entry
		for _, e := range p.byID {
			if e.a.Status != auction.StatusClosed || (p.hasSel && e.a.ID == p.sel) {
				continue
			}
			if oldest == nil || e.a.ClosedAt.Before(oldest.a.ClosedAt) ||
				(e.a.ClosedAt.Equal(oldest.a.ClosedAt) && e.a.ID.String() < oldest.a.ID.String()) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		delete(p.byID, oldest.a.ID)
		delete(p.flash, oldest.a.ID)
		p.closed--
	}
}

// get returns the entry of id, or nil.
func (p *auctionsPane) get(id wire.AuctionID) *entry { return p.byID[id] }

// selected returns the selected auction's entry, or nil when the list is empty.
func (p *auctionsPane) selected() *entry {
	if !p.hasSel {
		return nil
	}
	return p.byID[p.sel]
}

// rebuild re-filters and re-sorts the rows and finds the selection again.
func (p *auctionsPane) rebuild() {
	p.dirty = false
	p.rows = p.rows[:0]
	f := strings.ToLower(p.filter)
	for _, e := range p.byID {
		if f == "" || strings.Contains(e.lower, f) {
			p.rows = append(p.rows, e)
		}
	}
	slices.SortFunc(p.rows, func(x, y *entry) int {
		xo, yo := x.a.Status != auction.StatusClosed, y.a.Status != auction.StatusClosed
		if xo != yo {
			if xo {
				return -1
			}
			return 1
		}
		if c := y.a.OpenedAt.Compare(x.a.OpenedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.a.ID.String(), y.a.ID.String())
	})
	if p.hasSel {
		for i, e := range p.rows {
			if e.a.ID == p.sel {
				p.cursor = i
				return
			}
		}
	}
	p.selectRow(p.cursor)
}

// selectRow selects row i, clamped to the rows.
func (p *auctionsPane) selectRow(i int) {
	if len(p.rows) == 0 {
		p.hasSel, p.cursor, p.offset = false, 0, 0
		return
	}
	i = max(0, min(i, len(p.rows)-1))
	p.cursor, p.sel, p.hasSel = i, p.rows[i].a.ID, true
}

// selectID selects the auction id if it is among the rows.
func (p *auctionsPane) selectID(id wire.AuctionID) {
	for i, e := range p.rows {
		if e.a.ID == id {
			p.selectRow(i)
			return
		}
	}
}

// scrollTo moves the window of visible rows so that the cursor is in it.
func (p *auctionsPane) scrollTo(visible int) {
	if visible <= 0 {
		return
	}
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+visible {
		p.offset = p.cursor - visible + 1
	}
	p.offset = max(0, min(p.offset, len(p.rows)-visible))
}

// auctionColumns are the widths of the list's columns at a screen width.
type auctionColumns struct{ item, seller, price, high, bids, status, left int }

func columnsFor(width int) auctionColumns {
	c := auctionColumns{seller: 10, price: 14, high: 14, bids: 5, status: 6, left: 6}
	fixed := 2 + c.seller + c.price + c.high + c.bids + c.status + c.left + 6
	c.item = width - fixed
	if c.item > 30 { // give part of a wide screen to the seller column
		extra := min((c.item-30)/2, 14)
		c.seller += extra
		c.item -= extra
	}
	c.item = max(c.item, 4)
	return c
}

// view draws the pane: a title, a header and rows, height lines of width cells.
func (p *auctionsPane) view(b *strings.Builder, m *Model, width, height int, focused bool, filterLine string) {
	st := m.st
	title := "Auctions " + itoa(len(p.rows))
	if len(p.rows) != len(p.byID) {
		title += "/" + itoa(len(p.byID))
	}
	if filterLine != "" {
		title += "  " + filterLine
	} else if p.filter != "" {
		title += "  filter: " + clean(p.filter)
	}
	writeTitle(b, st, title, width, focused)
	if height <= 1 {
		return
	}
	c := columnsFor(width)
	header := "  " + fit("Item", c.item) + " " + fit("Seller", c.seller) + " " + fitRight("Price", c.price) + " " +
		fitRight("Highest", c.high) + " " + fitRight("Bids", c.bids) + " " + fit("Status", c.status) + " " + fitRight("Left", c.left)
	writeLine(b, st.Header.Render(fit(header, width)))
	visible := height - 2
	if len(p.rows) == 0 {
		hint := "  no auctions yet: press o to open one"
		if p.filter != "" {
			hint = "  no auction matches the filter: esc clears it"
		}
		writeLine(b, st.Muted.Render(fit(hint, width)))
		for i := 1; i < visible; i++ {
			writeLine(b, fit("", width))
		}
		return
	}
	off := max(0, min(p.offset, len(p.rows)-visible))
	for i := 0; i < visible; i++ {
		r := off + i
		if r >= len(p.rows) {
			writeLine(b, fit("", width))
			continue
		}
		e := p.rows[r]
		writeLine(b, p.row(m, e, r == p.cursor && p.hasSel, c, width))
	}
}

func (p *auctionsPane) row(m *Model, e *entry, selected bool, c auctionColumns, width int) string {
	st, a := m.st, &e.a
	seller := e.seller
	own := a.Seller == m.me
	if own {
		seller = "you"
	}
	high, left, status := "-", "", string(a.Status)
	if h := a.Highest(); h != nil {
		high = usdt(h.Amount)
	}
	style := st.Row
	flashing := false
	if a.Status == auction.StatusClosed {
		style = st.RowClosed
		if until, ok := p.flash[a.ID]; ok && m.t.Before(until) {
			status, style, flashing = "CLOSED", st.RowFlash, true
		}
	} else {
		left = timeLeft(a, m.t)
		if own {
			style = st.Own
		}
	}
	marker := "  "
	if selected {
		marker, style = "> ", st.RowSelected
	} else if flashing {
		marker = "! "
	}
	line := marker + fit(e.item, c.item) + " " + fit(seller, c.seller) + " " + fitRight(usdt(a.Price), c.price) + " " +
		fitRight(high, c.high) + " " + fitRight(itoa(len(a.Bids)), c.bids) + " " + fit(status, c.status) + " " + fitRight(left, c.left)
	return style.Render(fit(line, width))
}
