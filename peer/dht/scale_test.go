package dht

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// TestTestnet200 announces a topic from a few of 200 nodes, looks it up from every node, kills a
// quarter of the nodes without notice and looks it up again from every live node.
func TestTestnet200(t *testing.T) {
	const size = 200
	tn := startTestnet(t, size)
	ctx := t.Context()
	topic := TopicOf("scale")
	announcers := []int{17, 101, 150}
	for _, i := range announcers {
		if err := tn.Nodes[i].Announce(ctx, topic, addrs(uint16(1000+i))); err != nil {
			t.Fatalf("announce from %d: %v", i, err)
		}
	}
	want := map[wire.PeerKey]bool{}
	for _, i := range announcers {
		want[tn.Nodes[i].Key()] = true
	}
	// lookupAll looks the topic up from every live node, 8 at a time, and returns the number of
	// lookups that found every announcer, the number of lookups, and the longest wait beyond a
	// request's timeout.
	lookupAll := func(alive func(int) bool) (ok, total int, maxWait, maxLate time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, n := range tn.Nodes {
			if !alive(i) {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				res, err := n.lookup(ctx, wire.DHTGetRecords, ID(topic), nil, RecordQuorum)
				found := 0
				for k := range res.records {
					if want[k] {
						found++
					}
				}
				mu.Lock()
				defer mu.Unlock()
				total++
				if err == nil && found == len(want) {
					ok++
				} else {
					t.Logf("node %d: found %d of %d, err %v, stats %+v", i, found, len(want), err, res.stats)
				}
				maxWait = max(maxWait, res.stats.maxWait)
				maxLate = max(maxLate, res.stats.maxLate)
			}()
		}
		wg.Wait()
		return ok, total, maxWait, maxLate
	}
	ok, total, _, _ := lookupAll(func(int) bool { return true })
	if ok != total {
		t.Fatalf("before the kill: %d of %d lookups found every announcer", ok, total)
	}

	// Kill a quarter of the nodes (never the announcers), without notice.
	rng := rand.New(rand.NewPCG(1, 2))
	killed := 0
	for _, i := range rng.Perm(size) {
		if killed == size/4 {
			break
		}
		if i == 0 || i == 17 || i == 101 || i == 150 {
			continue
		}
		tn.Kill(i)
		killed++
	}
	ok, total, maxWait, maxLate := lookupAll(tn.Alive)
	t.Logf("after killing %d: %d of %d lookups found every announcer; longest wait beyond a timeout %v (timer fired up to %v late)", killed, ok, total, maxWait, maxLate)
	if ok*100 < total*99 {
		t.Fatalf("after the kill: %d of %d lookups succeeded, want >= 99%%", ok, total)
	}
	// A lookup moves on from a dead node at its request timeout. The wait is measured from the
	// moment the lookup's timer fired, so a loaded host's scheduling delay does not count.
	if maxWait > 50*time.Millisecond {
		t.Fatalf("a request waited %v beyond its timeout", maxWait)
	}
	_ = context.Background
}
