package peer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/faultnet"
	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/wire"
)

// exchangeCount is a snapshot of a node's exchange counters.
type exchangeCount struct{ same, differ, full uint64 }

func exchanges(n *Node) exchangeCount {
	return exchangeCount{n.exch.same.Load(), n.exch.differ.Load(), n.exch.full.Load()}
}

// TestDigestExchange: an exchange between peers that hold the same heads is a digest and an
// empty answer; one where they differ still brings each side what the other holds, in that one
// exchange: the caller fetches what it lacks, and sends its heads when the peer lacks something.
func TestDigestExchange(t *testing.T) {
	m := newMarket(t)
	// No periodic exchanges: the test runs each one itself.
	a := m.start("a", WithAntiEntropy(time.Hour))
	b := m.start("b", WithAntiEntropy(time.Hour))
	for _, n := range m.nodes {
		eventually(t, n, "connected", connectedTo(n, 1))
	}
	same := func() bool { return a.heads().digest == b.heads().digest }
	eventually(t, a, "the same heads on both peers", same)
	holds := func(n *Node, k wire.PeerKey, l uint64) func() bool {
		return func() bool { return n.store.Log(k).Len() >= l }
	}

	for _, tc := range []struct {
		name     string
		writer   *Node // appends one entry that it pushes to nobody
		caller   *Node // runs the exchange
		want     exchangeCount
		learner  *Node // the peer that must fetch the entry
		learnLen uint64
	}{
		{name: "same heads", caller: a, want: exchangeCount{same: 1}},
		{name: "caller lacks an entry", writer: b, caller: a, want: exchangeCount{differ: 1}, learner: a},
		{name: "peer lacks an entry", writer: a, caller: a, want: exchangeCount{differ: 1, full: 1}, learner: b},
		{name: "peer lacks an entry, reverse", writer: b, caller: b, want: exchangeCount{differ: 1, full: 1}, learner: a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := b
			if tc.caller == b {
				peer = a
			}
			var r wire.Range
			if tc.writer != nil {
				r = appendQuiet(t, tc.writer, &wire.Profile{Name: tc.name})
				if same() {
					t.Fatal("an unpushed entry left the digests equal")
				}
			}
			before := exchanges(tc.caller)
			tc.caller.exchangeHeads(t.Context(), peer.key)
			got := exchanges(tc.caller)
			got = exchangeCount{got.same - before.same, got.differ - before.differ, got.full - before.full}
			if got != tc.want {
				t.Fatalf("exchange went %+v, want %+v", got, tc.want)
			}
			if tc.learner != nil {
				eventually(t, tc.learner, "the unpushed entry fetched", holds(tc.learner, tc.writer.key, r.Head.Length))
			}
			eventually(t, a, "the same heads on both peers", same)
		})
	}
}

// TestDigestExchangeOlderPeer: a peer that does not answer digests (one from before them) gets a
// full exchange instead.
func TestDigestExchangeOlderPeer(t *testing.T) {
	m := newMarket(t)
	a := m.start("a", WithAntiEntropy(time.Hour))
	_, priv, _ := ed25519.GenerateKey(nil)
	old, err := rpc.Listen(t.Context(), "127.0.0.1:0", priv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	gotHeads := make(chan wire.Heads, 4)
	old.Respond(methodHeads, func(_ context.Context, req *rpc.Request) ([]byte, error) {
		hs, err := wire.UnmarshalHeads(req.Payload)
		if err != nil {
			return nil, err
		}
		gotHeads <- hs
		return wire.Heads{}.Marshal(), nil
	})
	if err := old.Connect(t.Context(), a.key, netip.MustParseAddrPort(a.Addr())); err != nil {
		t.Fatal(err)
	}
	oldKey := wire.KeyOf(priv)
	eventually(t, a, "the older peer connected", func() bool { return a.ep.Connected(oldKey) })
	eventually(t, a, "the exchange started on connect over", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.exch.full.Load() == 1 && !a.busy[busyKey{oldKey, busyExchange}]
	})
	<-gotHeads
	appendQuiet(t, a, &wire.Profile{Name: "a"})
	before := exchanges(a)
	a.exchangeHeads(t.Context(), oldKey)
	if got := exchanges(a); got.full != before.full+1 || got.same != before.same || got.differ != before.differ {
		t.Fatalf("exchange with an older peer went %+v (before %+v), want one full exchange", got, before)
	}
	select {
	case hs := <-gotHeads:
		if len(hs.Heads) != 1 || hs.Heads[0].Key != a.key {
			t.Fatalf("older peer got heads %v, want a's own head", hs.Heads)
		}
	default:
		t.Fatal("the older peer was sent no heads")
	}
}

// TestLacks: a peer lacks something when it misses a log, holds a shorter head, or another head
// of the same length; several heads of one key (proof of equivocation) count by the longest.
func TestLacks(t *testing.T) {
	h := func(key byte, l uint64, sig byte) wire.SignedHead {
		return wire.SignedHead{Head: wire.Head{Key: wire.PeerKey{key}, Length: l}, Sig: wire.Signature{sig}}
	}
	for _, tc := range []struct {
		name         string
		theirs, ours []wire.SignedHead
		want         bool
	}{
		{"both empty", nil, nil, false},
		{"same", []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, false},
		{"theirs longer", []wire.SignedHead{h(1, 9, 0), h(2, 3, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, false},
		{"they hold more logs", []wire.SignedHead{h(1, 5, 0), h(2, 3, 0), h(3, 1, 0)}, []wire.SignedHead{h(2, 3, 0)}, false},
		{"a log missing", []wire.SignedHead{h(1, 5, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, true},
		{"first log missing", []wire.SignedHead{h(2, 3, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, true},
		{"shorter", []wire.SignedHead{h(1, 5, 0), h(2, 2, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 3, 0)}, true},
		{"same length, other head", []wire.SignedHead{h(1, 5, 1)}, []wire.SignedHead{h(1, 5, 0)}, true},
		{"two heads of a key, the longest covers", []wire.SignedHead{h(1, 2, 0), h(1, 7, 0)}, []wire.SignedHead{h(1, 5, 0)}, false},
		{"two heads of a key, neither covers", []wire.SignedHead{h(1, 2, 0), h(1, 4, 0), h(2, 9, 0)}, []wire.SignedHead{h(1, 5, 0), h(2, 9, 0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lacks(tc.theirs, tc.ours); got != tc.want {
				t.Fatalf("lacks = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExchangeOncePerPeriod: both ends of a connection tick every anti-entropy period, but an
// exchange either of them ran in the last half period stands for both, so a pair exchanges about
// once per period (1.08 in a simulation of the jittered ticks), not twice.
func TestExchangeOncePerPeriod(t *testing.T) {
	const period = 50 * time.Millisecond
	m := newMarket(t)
	a := m.start("a", WithAntiEntropy(period))
	b := m.start("b", WithAntiEntropy(period))
	for _, n := range m.nodes {
		eventually(t, n, "connected", connectedTo(n, 1))
	}
	total := func() uint64 {
		x, y := exchanges(a), exchanges(b)
		return x.same + x.differ + y.same + y.differ
	}
	eventually(t, a, "the exchanges on connect recorded", func() bool { return a.syncedWithin(b.key, time.Minute) })
	if a.syncedWithin(b.key, 0) {
		t.Fatal("syncedWithin(0) holds")
	}
	start, e0 := time.Now(), total()
	const want = 40
	eventually(t, a, fmt.Sprintf("%d exchanges", want), func() bool { return total()-e0 >= want })
	// Ticks delayed by a loaded machine only lower the rate; without the skip it is 2 per period.
	periods := float64(time.Since(start)) / float64(period)
	if rate := float64(total()-e0) / periods; rate > 1.6 {
		t.Fatalf("%d exchanges in %.0f periods: %.2f per period, want about 1", total()-e0, periods, rate)
	}
	if !b.syncedWithin(a.key, time.Minute) {
		t.Fatal("b recorded no exchange with a")
	}
}

// TestDigestRetriedAfterHeal: a digest sent into a cut link is given up after one attempt and
// sent again on a fresh stream; once the link is back, the exchange completes on a later attempt
// and brings the entry the caller lacked, without waiting for QUIC to retransmit the first one.
func TestDigestRetriedAfterHeal(t *testing.T) {
	fn := faultnet.New(1)
	t.Cleanup(func() { fn.Close() })
	m := newMarket(t)
	// No periodic exchanges: the test runs the one exchange itself.
	a := m.start("a", WithPacketConnWrapper(fn.Wrap), WithAntiEntropy(time.Hour))
	b := m.start("b", WithPacketConnWrapper(fn.Wrap), WithAntiEntropy(time.Hour))
	for _, n := range m.nodes {
		eventually(t, n, "connected", connectedTo(n, 1))
	}
	eventually(t, a, "the same heads on both peers", func() bool { return a.heads().digest == b.heads().digest })
	r := appendQuiet(t, b, &wire.Profile{Name: "written while cut off"})
	want := r.Start + uint64(len(r.Entries))
	setLinkLoss(t, fn, a, b, 1)
	before := exchanges(a)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.exchangeHeads(ctx, b.key)
	}()
	eventually(t, a, "the digest sent again after an unanswered attempt", func() bool { return a.exch.retried.Load() >= 1 })
	retried := a.exch.retried.Load()
	setLinkLoss(t, fn, a, b, 0)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the exchange did not end after the link came back")
	}
	if ctx.Err() != nil {
		t.Fatalf("the exchange ran to its deadline: %v", ctx.Err())
	}
	if got := exchanges(a); got.differ != before.differ+1 {
		t.Fatalf("exchanges %+v, before %+v: want one more that differed", got, before)
	}
	eventually(t, a, "b's entry at a", func() bool { return a.store.Log(b.key).Len() >= want })
	if st := a.Stats(); st.DigestRetries < retried {
		t.Fatalf("Stats.DigestRetries = %d, want at least %d", st.DigestRetries, retried)
	}
}

// lapsedCtx is a context whose deadline has passed but which does not report it yet: the moment
// between a timer context's deadline and its timer firing, which a loaded process can stretch.
type lapsedCtx struct{ context.Context }

func (lapsedCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }
func (lapsedCtx) Done() <-chan struct{}       { return nil }
func (lapsedCtx) Err() error                  { return nil }

// TestDigestRequestPastDeadline: a digest asked for on a context whose deadline has passed, but
// which has not reported it yet, is tried once and fails with a timeout; it is not retried in a
// loop until the context catches up (an earlier version sent tens of thousands of digests a
// second in that moment).
func TestDigestRequestPastDeadline(t *testing.T) {
	m := newMarket(t)
	a := m.start("a", WithAntiEntropy(time.Hour))
	b := m.start("b", WithAntiEntropy(time.Hour))
	eventually(t, a, "connected", connectedTo(a, 1))
	errc := make(chan error, 1)
	go func() {
		_, err := a.digestRequest(lapsedCtx{context.Background()}, b.key, a.heads().digest.Marshal())
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("digestRequest past its deadline: %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("digestRequest past its deadline did not return (%d retries)", a.exch.retried.Load())
	}
	if n := a.exch.retried.Load(); n != 0 {
		t.Fatalf("%d retries past the deadline, want 0", n)
	}
}
