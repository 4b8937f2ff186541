package dht

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

func startTestnet(t *testing.T, n int, opts ...Option) *Testnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tn, err := StartTestnet(ctx, n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	return tn
}

func addrs(port uint16) []netip.AddrPort {
	return []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
}

func TestAnnounceLookupSmall(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		tn := startTestnet(t, 20)
		ctx := t.Context()
		topic := TopicOf("main")
		if err := tn.Nodes[3].Announce(ctx, topic, addrs(1003)); err != nil {
			t.Fatal(err)
		}
		for i, n := range tn.Nodes {
			recs, err := n.Lookup(ctx, topic)
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			if len(recs) != 1 || recs[0].Key != tn.Nodes[3].Key() || recs[0].Addrs[0].Port() != 1003 {
				t.Fatalf("node %d: records %+v", i, recs)
			}
			if n.Size() == 0 {
				t.Fatalf("node %d: empty table", i)
			}
		}
		// Findable by key.
		if err := tn.Nodes[5].AnnounceSelf(ctx, addrs(1005)); err != nil {
			t.Fatal(err)
		}
		got, err := tn.Nodes[9].FindPeer(ctx, tn.Nodes[5].Key())
		if err != nil || len(got) != 1 || got[0].Port() != 1005 {
			t.Fatalf("FindPeer = %v, %v", got, err)
		}
		if _, err := tn.Nodes[9].FindPeer(ctx, wire.PeerKey{1}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("FindPeer(unknown) err = %v", err)
		}
		obs, ok := tn.Nodes[7].ObservedAddr()
		local, _ := tn.Nodes[7].LocalAddr()
		if !ok || obs != local {
			t.Fatalf("ObservedAddr = %v %v, want %v", obs, ok, local)
		}
		tn.Close()
	}()
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling a counter with a deadline, not synchronisation
	}
}
