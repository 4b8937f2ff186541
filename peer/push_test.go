package peer

import (
	"testing"
	"testing/synctest"
	"time"

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
