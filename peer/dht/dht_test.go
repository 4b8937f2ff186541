package dht

import (
	"context"
	"errors"
	"net"
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

// TestLookupShrinksGuessedTimeouts starts a node that has measured no round trip from two seeds:
// a live bootstrap node and an address that never answers (a saved contact that is gone). Both
// requests go out on the initial guess (InitialRequestTimeout); the live node's reply measures a
// loopback round trip, so the dead one must time out on that estimate, not wait the whole guess.
func TestLookupShrinksGuessedTimeouts(t *testing.T) {
	tn := startTestnet(t, 4)
	dead, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) // bound, never read
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() })
	n, err := tn.newNode()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if got := n.timeoutFor(false, ID{}); got != InitialRequestTimeout {
		t.Fatalf("a new node's request timeout is %v, want the initial guess %v", got, InitialRequestTimeout)
	}
	seeds := []seed{{addr: dead.LocalAddr().(*net.UDPAddr).AddrPort()}, {addr: tn.Bootstrap()[0]}}
	res, err := n.lookup(t.Context(), wire.DHTFindNode, n.id, seeds, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.stats.replies == 0 || res.stats.timeouts == 0 {
		t.Fatalf("want replies and a timeout, got %+v", res.stats)
	}
	if res.stats.maxTimeout >= InitialRequestTimeout {
		t.Fatalf("the dead seed timed out on %v, the initial guess; want the measured estimate (stats %+v)", res.stats.maxTimeout, res.stats)
	}
}
