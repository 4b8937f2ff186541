package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// TestSequencerCloseAndBidInOneBatch drives the sequencer's batch step directly with a close and
// a bid of one auction in the same batch, in both orders. A bid after the close must be refused
// (acknowledging it would promise a bid every peer then ignores); a close after a bid goes to the
// next batch and names that bid as the winner.
func TestSequencerCloseAndBidInOneBatch(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	bid := func(a auction.Auction, amount string) *seqReq {
		sb := wire.SignBid(bidder.priv, wire.Bid{Auction: a.ID, Amount: amt(t, amount), Bidder: bidder.Key(), Time: time.Now().UnixMilli()})
		return &seqReq{kind: seqBid, bid: sb, done: make(chan seqResult, 1)}
	}
	closeReq := func(a auction.Auction) *seqReq {
		return &seqReq{kind: seqClose, close: a.ID, done: make(chan seqResult, 1)}
	}

	t.Run("bid after close", func(t *testing.T) {
		a, err := seller.Open(ctx, "Clock", amt(t, "5"), 0)
		if err != nil {
			t.Fatal(err)
		}
		before := seller.store.Own().Len()
		c, b := closeReq(a), bid(a, "6")
		if d := seller.commitBatch([]*seqReq{c, b}); len(d) != 0 {
			t.Fatalf("%d requests deferred, want none", len(d))
		}
		if r := <-c.done; r.err != nil {
			t.Fatalf("close: %v", r.err)
		}
		if r := <-b.done; !errors.Is(r.err, auction.ErrAuctionClosed) {
			t.Fatalf("bid after the close in one batch: %v, want ErrAuctionClosed", r.err)
		}
		if got := seller.store.Own().Len(); got != before+1 {
			t.Fatalf("log grew by %d entries, want 1 (the close)", got-before)
		}
		got, _ := seller.Auction(a.ID.String())
		if got.Status != auction.StatusClosed || len(got.Bids) != 0 || got.Winner != nil {
			t.Fatalf("auction after the batch: %+v", got)
		}
	})
	t.Run("close after bid", func(t *testing.T) {
		a, err := seller.Open(ctx, "Chair", amt(t, "5"), 0)
		if err != nil {
			t.Fatal(err)
		}
		b, c := bid(a, "7"), closeReq(a)
		d := seller.commitBatch([]*seqReq{b, c})
		if len(d) != 1 || d[0] != c {
			t.Fatalf("deferred %d requests, want the close", len(d))
		}
		if r := <-b.done; r.err != nil {
			t.Fatalf("bid: %v", r.err)
		}
		if d := seller.commitBatch(d); len(d) != 0 {
			t.Fatalf("close deferred again")
		}
		if r := <-c.done; r.err != nil {
			t.Fatalf("close: %v", r.err)
		}
		got, _ := seller.Auction(a.ID.String())
		if got.Status != auction.StatusClosed || got.Winner == nil || got.Winner.Amount != amt(t, "7") {
			t.Fatalf("auction after close: %+v, want closed with the bid of 7 as winner", got)
		}
	})
	t.Run("the same bid twice", func(t *testing.T) {
		a, err := seller.Open(ctx, "Desk", amt(t, "5"), 0)
		if err != nil {
			t.Fatal(err)
		}
		first := bid(a, "6")
		again := &seqReq{kind: seqBid, bid: first.bid, done: make(chan seqResult, 1)}
		before := seller.store.Own().Len()
		seller.commitBatch([]*seqReq{first, again})
		r1, r2 := <-first.done, <-again.done
		if r1.err != nil || r2.err != nil || r1.index != r2.index {
			t.Fatalf("in one batch: %+v / %+v, want both accepted at one index", r1, r2)
		}
		later := &seqReq{kind: seqBid, bid: first.bid, done: make(chan seqResult, 1)}
		seller.commitBatch([]*seqReq{later})
		if r3 := <-later.done; r3.err != nil || r3.index != r1.index || r3.head.Length <= r1.index {
			t.Fatalf("in a later batch: %+v, want the receipt of index %d", r3, r1.index)
		}
		if got := seller.store.Own().Len(); got != before+1 {
			t.Fatalf("log grew by %d entries, want 1", got-before)
		}
	})
}
