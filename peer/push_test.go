package peer

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/wire"
)

// TestPushWindow: the window of own batches kept for pushing holds at most pushWindow entries
// and nothing older than pushWindowAge (but always the latest batch), so a quiet market keeps
// next to nothing in memory and a busy one a bounded amount.
func TestPushWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &Node{pushers: map[wire.PeerKey]*pusher{}}
		var length uint64
		batch := func(k int) {
			r := wire.Range{Start: length, Entries: make([][]byte, k)}
			length += uint64(k)
			r.Head.Length = length
			n.push(r)
		}
		// A burst: 3 x 4,000 entries at once keeps whole batches up to pushWindow entries.
		for range 3 {
			batch(4000)
		}
		if n.recentEntries != 8000 || len(n.recent) != 2 {
			t.Fatalf("after a burst: %d entries in %d batches, want 8000 in 2", n.recentEntries, len(n.recent))
		}
		// Within the age: kept.
		time.Sleep(pushWindowAge / 2)
		batch(1)
		if len(n.recent) != 3 {
			t.Fatalf("batches younger than %v dropped: %d left", pushWindowAge, len(n.recent))
		}
		// Past the age: only what is younger stays.
		time.Sleep(pushWindowAge/2 + time.Second)
		batch(1)
		if n.recentEntries != 2 || len(n.recent) != 2 {
			t.Fatalf("after %v: %d entries in %d batches, want 2 in 2", pushWindowAge, n.recentEntries, len(n.recent))
		}
		time.Sleep(time.Hour)
		batch(1)
		if n.recentEntries != 1 || len(n.recent) != 1 || n.recent[0].head.Length != length {
			t.Fatalf("after an hour: %d entries in %d batches, want the latest one", n.recentEntries, len(n.recent))
		}
	})
}

// TestPushStoredAfterCallerGone: a push whose call context has ended by the time it is handled
// (its connection replaced after a restart, drained as a duplicate, or the pusher gave up) is
// still stored: the entries are in hand, and dropping them would leave them to the next heads
// exchange.
func TestPushStoredAfterCallerGone(t *testing.T) {
	writer := newMarket(t).start("writer")
	reader := newMarket(t).start("reader") // another market: it never hears of writer otherwise
	r := appendQuiet(t, writer, &wire.Open{Item: "lamp", Price: amt(t, "5"), Currency: wire.Currency})
	all, err := writer.store.Log(writer.Key()).Range(0, r.End()) // from the start: no gap to fetch
	if err != nil {
		t.Fatal(err)
	}
	r = wire.Range{Head: r.Head, Start: 0, Entries: all}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := reader.handlePush(ctx, &rpc.Request{Caller: writer.Key(), Method: methodPush, Payload: r.Marshal()}); err != nil {
		t.Fatal(err)
	}
	if got := reader.store.Log(writer.Key()).Len(); got != r.End() {
		t.Fatalf("reader holds %d entries of the writer's log, want %d", got, r.End())
	}
	if _, ok := findItem(reader, "lamp"); !ok {
		t.Fatal("the pushed auction is not in the reader's book")
	}
}
