package auction

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// benchLogs is a market of sellers' logs: opens, then accepted bids, built once per process.
type benchLogs struct {
	sellers []*tpeer
	order   [][2]int // (seller, index) in application order
}

// benchCache holds built benchLogs by shape: signing 100,000 bids takes seconds.
var benchCache sync.Map

// makeBenchLogs builds sellers×perSeller auctions and bids in total accepted bids (each bid
// raises its auction by one USDt), interleaving the sellers' logs round-robin.
func makeBenchLogs(sellers, perSeller, bids int) *benchLogs {
	key := fmt.Sprint(sellers, perSeller, bids)
	if v, ok := benchCache.Load(key); ok {
		return v.(*benchLogs)
	}
	l := &benchLogs{}
	bidders := make([]*tpeer, 50)
	for i := range bidders {
		bidders[i] = newPeer(byte(100 + i))
	}
	type auc struct {
		seller int
		id     wire.AuctionID
		next   wire.Amount
	}
	var aucs []auc
	now := t0
	for s := range sellers {
		p := newPeer(byte(1 + s))
		l.sellers = append(l.sellers, p)
		p.add(now, &wire.Profile{Name: fmt.Sprintf("seller %d", s)})
		l.order = append(l.order, [2]int{s, 0})
	}
	for i := range perSeller {
		for s, p := range l.sellers {
			now++
			idx := p.add(now, &wire.Open{Item: fmt.Sprintf("item %d/%d", s, i), Price: usdt(10), Currency: wire.Currency})
			l.order = append(l.order, [2]int{s, int(idx)})
			aucs = append(aucs, auc{seller: s, id: wire.DeriveAuctionID(p.key, idx), next: usdt(10)})
		}
	}
	for i := range bids {
		now++
		a := &aucs[i%len(aucs)]
		p := l.sellers[a.seller]
		sb := bidders[i%len(bidders)].bid(a.id, a.next, now)
		a.next += usdt(1)
		idx := p.add(now, &wire.BidAccepted{Bid: sb})
		l.order = append(l.order, [2]int{a.seller, int(idx)})
	}
	benchCache.Store(key, l)
	return l
}

// replay applies every entry to b.
func (l *benchLogs) replay(tb testing.TB, b *Book) {
	for _, o := range l.order {
		p := l.sellers[o[0]]
		if _, err := b.Apply(p.key, uint64(o[1]), p.log[o[1]]); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkApply replays 100,000 accepted bids (after 10 profiles and 1,000 opens) into a new
// book: every signature verified. ns/entry is per applied entry. "book" calls Apply per entry in
// an interleaving of the 10 logs; "applylog" calls ApplyLog once per log (parallel signature
// verification); "rules-only" applies with every signature taken as verified (internal hook: the
// book's own cost); "verify-only" verifies the same 100,000 signatures one by one and nothing else:
// the book's own cost is the difference between "book" and it.
func BenchmarkApply(b *testing.B) {
	const bids = 100_000
	l := makeBenchLogs(10, 100, bids)
	b.Run("book", func(b *testing.B) {
		for b.Loop() {
			l.replay(b, NewBook())
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(l.order)), "ns/entry")
	})
	b.Run("applylog", func(b *testing.B) {
		for b.Loop() {
			book := NewBook()
			for _, p := range l.sellers {
				for _, r := range book.ApplyLog(p.key, 0, p.log) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(l.order)), "ns/entry")
	})
	b.Run("rules-only", func(b *testing.B) {
		for b.Loop() {
			book := NewBook()
			for _, o := range l.order {
				p := l.sellers[o[0]]
				if _, err := book.apply(p.key, uint64(o[1]), p.log[o[1]], sigGood); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(l.order)), "ns/entry")
	})
	b.Run("verify-only", func(b *testing.B) {
		for b.Loop() {
			for _, p := range l.sellers {
				for _, e := range p.log {
					if ba, ok := e.Event.(*wire.BidAccepted); ok && ba.Bid.Verify() != nil {
						b.Fatal("bad signature")
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bids), "ns/entry")
	})
}

// BenchmarkAuctions measures Auctions() on a book of 1,000 auctions with 10 bids each, and with
// 100 each when -bench selects it (its setup signs 100,000 bids unless BenchmarkApply ran first):
// the cost must not grow with the bids.
func BenchmarkAuctions(b *testing.B) {
	for _, bids := range []int{10, 100} {
		b.Run(fmt.Sprintf("bids=%d", bids), func(b *testing.B) {
			l := makeBenchLogs(10, 100, 1000*bids)
			book := NewBook()
			l.replay(b, book)
			if n := len(book.Auctions()); n != 1000 {
				b.Fatalf("%d auctions", n)
			}
			b.ReportAllocs()
			for b.Loop() {
				book.Auctions()
			}
		})
	}
}

// BenchmarkFind measures a prefix lookup among 1,000 auctions.
func BenchmarkFind(b *testing.B) {
	l := makeBenchLogs(10, 100, 10_000)
	book := NewBook()
	l.replay(b, book)
	id := book.Auctions()[500].ID.String()[:8]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := book.Find(id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckBid measures the seller's pre-append check of one bid (signature included).
func BenchmarkCheckBid(b *testing.B) {
	m := newMarket(b)
	s, bidder := newPeer(1), newPeer(2)
	id := m.open(s, "Pic#1", usdt(10), t0, 0)
	sb := bidder.bid(id, usdt(10), t0)
	now := time.UnixMilli(t0)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.book.CheckBid(s.key, sb, now); err != nil {
			b.Fatal(err)
		}
	}
}
