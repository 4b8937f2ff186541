package peer

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Engine benchmarks (issue 4). Run:
//
//	go test -run '^$' -bench . -benchtime 1x ./peer
//
// Every figure is reported with b.ReportMetric; latencies are medians (p50) and p99 over the
// samples of one run.

// benchMarket is newMarket for benchmarks: quiet logs, fast anti-entropy.
func benchMarket(b *testing.B, n int) (*market, []*Node) {
	b.Helper()
	m := newMarket(b)
	nodes := make([]*Node, n)
	for i := range n {
		// Production settings: the tests' 300 ms anti-entropy would have every one of N peers
		// exchange heads with N-1 others three times a second, all on this machine's 2 cores.
		nodes[i] = m.start(fmt.Sprintf("p%02d", i), WithAntiEntropy(DefaultAntiEntropy), WithLookupInterval(10*time.Second))
	}
	// A full mesh of 100 peers is 4,950 QUIC handshakes on 2 cores, formed through the DHT and
	// peer exchange: about 90 s here.
	for _, nd := range nodes {
		eventuallyWithin(b, 2*time.Minute+time.Duration(n)*2*time.Second, nd, "connected to all", func() bool { return nd.Stats().Connected >= n-1 })
	}
	return m, nodes
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// cpuTime returns the CPU time (user and system) this process has used. CPU per operation is
// the figure to compare between runs on a shared machine: other load stretches wall time, not
// the work this process does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBidRoundTrip measures a bid from the bidder's call until the seller's durable
// acceptance is back at the bidder (and verified there).
func BenchmarkBidRoundTrip(b *testing.B) {
	_, nodes := benchMarket(b, 2)
	seller, bidder := nodes[0], nodes[1]
	ctx := context.Background()
	a, err := seller.Open(ctx, "Lamp", 1*wire.MicroPerUSDt, 0)
	if err != nil {
		b.Fatal(err)
	}
	eventually(b, nodes[0], "bidder sees the auction", func() bool { _, err := bidder.Auction(a.ID.String()); return err == nil })
	const warm, samples = 200, 2000
	var lat []time.Duration
	amount := wire.Amount(wire.MicroPerUSDt)
	b.ResetTimer()
	for range b.N {
		lat = lat[:0]
		for i := range warm + samples {
			amount += 1000
			t0 := time.Now()
			if _, err := bidder.Bid(ctx, a.ID.String(), amount); err != nil {
				b.Fatal(err)
			}
			if i >= warm {
				lat = append(lat, time.Since(t0))
			}
		}
	}
	b.ReportMetric(us(percentile(lat, 0.5)), "p50-us")
	b.ReportMetric(us(percentile(lat, 0.99)), "p99-us")
	b.ReportMetric(0, "ns/op")
}

// propagation subscribes to every receiver and reports, per bid, when the last one applied it.
type propagation struct {
	mu      sync.Mutex
	seen    map[uint64]int       // bid amount -> receivers that applied it
	done    map[uint64]time.Time // bid amount -> when the last receiver applied it
	want    int
	arrived chan uint64
}

func watchBids(ctx context.Context, receivers []*Node) *propagation {
	p := &propagation{seen: map[uint64]int{}, done: map[uint64]time.Time{}, want: len(receivers), arrived: make(chan uint64, 1<<16)}
	for _, r := range receivers {
		ch := r.Subscribe(ctx)
		go func() {
			for e := range ch {
				if e.Kind != EventBidAccepted {
					continue
				}
				at := time.Now()
				k := uint64(e.Bid.Amount)
				p.mu.Lock()
				p.seen[k]++
				if p.seen[k] == p.want {
					p.done[k] = at
					p.mu.Unlock()
					p.arrived <- k
					continue
				}
				p.mu.Unlock()
			}
		}()
	}
	return p
}

// BenchmarkPropagation measures the time from the seller's durable acceptance of a bid until all
// N-1 other peers hold, verify and apply it, and the push messages sent per bid. All peers run in
// this process.
func BenchmarkPropagation(b *testing.B) {
	for _, n := range []int{10, 30, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n == 100 && testing.Short() {
				b.Skip("N=100 skipped in -short")
			}
			_, nodes := benchMarket(b, n)
			seller, bidder := nodes[0], nodes[1]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, err := seller.Open(ctx, "Pic", 1*wire.MicroPerUSDt, 0)
			if err != nil {
				b.Fatal(err)
			}
			for _, nd := range nodes {
				eventually(b, nodes[0], "auction everywhere", func() bool { _, err := nd.Auction(a.ID.String()); return err == nil })
			}
			// Receivers: everyone but the seller (the bidder included: it verifies the seller's entry too).
			p := watchBids(ctx, nodes[1:])
			sellerAccepted := map[uint64]time.Time{}
			var smu sync.Mutex
			sch := seller.Subscribe(ctx)
			go func() {
				for e := range sch {
					if e.Kind == EventBidAccepted {
						smu.Lock()
						sellerAccepted[uint64(e.Bid.Amount)] = time.Now()
						smu.Unlock()
					}
				}
			}()
			const warm, samples = 50, 200
			amount := wire.Amount(wire.MicroPerUSDt)
			var lat []time.Duration
			pushes0 := seller.pushesSent.Load()
			for i := range warm + samples {
				amount += 1000
				if _, err := bidder.Bid(ctx, a.ID.String(), amount); err != nil {
					b.Fatal(err)
				}
				select {
				case k := <-p.arrived:
					if k != uint64(amount) {
						b.Fatalf("bid %d arrived, expected %d", k, amount)
					}
				case <-time.After(10 * time.Second):
					b.Fatalf("bid %s did not reach all %d receivers", amount, n-1)
				}
				if i < warm {
					continue
				}
				smu.Lock()
				t0 := sellerAccepted[uint64(amount)]
				smu.Unlock()
				p.mu.Lock()
				t1 := p.done[uint64(amount)]
				p.mu.Unlock()
				if !t0.IsZero() {
					lat = append(lat, t1.Sub(t0))
				}
			}
			perBid := float64(seller.pushesSent.Load()-pushes0) / float64(warm+samples)
			b.ReportMetric(us(percentile(lat, 0.5)), "p50-us")
			b.ReportMetric(us(percentile(lat, 0.99)), "p99-us")
			b.ReportMetric(perBid, "pushes/bid")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkSustained measures bids per second that all N=10 peers hold, verified, under a
// continuous load from several bidders on several auctions: 4 bidder peers each keep 16 bids in
// flight (64 in all, the anchor's window), one auction per bid loop.
func BenchmarkSustained(b *testing.B) {
	const n, bidderPeers, loops, window = 10, 4, 16, 5 * time.Second
	const bidders = bidderPeers * loops
	_, nodes := benchMarket(b, n)
	seller := nodes[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ids []string
	for i := range bidders {
		a, err := seller.Open(ctx, fmt.Sprintf("Lot%d", i), 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID.String())
	}
	for _, nd := range nodes {
		eventually(b, nodes[0], "auctions everywhere", func() bool { return len(nd.Auctions()) == bidders })
	}
	var fully atomic.Int64
	p := watchBids(ctx, nodes[1:])
	go func() {
		for range p.arrived {
			fully.Add(1)
		}
	}()
	var wg sync.WaitGroup
	stop := time.Now().Add(window)
	cpu0 := cpuTime()
	for i := range bidders {
		wg.Go(func() {
			bidder := nodes[1+i%bidderPeers]
			amount := wire.Amount(uint64(i+1) * 1e12) // distinct amounts across bidders
			for time.Now().Before(stop) {
				amount++
				if _, err := bidder.Bid(ctx, ids[i], amount); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	start := time.Now()
	wg.Wait()
	sent := time.Since(start)
	held := fully.Load()
	b.ReportMetric(float64(held)/sent.Seconds(), "bids/s-all-peers")
	b.ReportMetric(us(cpuTime()-cpu0)/float64(max(held, 1)), "cpu-us/bid")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSellerThroughput measures durable accepted bids per second at one seller from many
// bidders at once (bidder peers each run several concurrent bid loops on their own auctions).
func BenchmarkSellerThroughput(b *testing.B) {
	const bidderPeers, loops, window = 4, 16, 3 * time.Second
	_, nodes := benchMarket(b, 1+bidderPeers)
	seller := nodes[0]
	ctx := context.Background()
	ids := make([]string, bidderPeers*loops)
	for i := range ids {
		a, err := seller.Open(ctx, fmt.Sprintf("Lot%d", i), 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID.String()
	}
	for _, nd := range nodes {
		eventually(b, nodes[0], "auctions everywhere", func() bool { return len(nd.Auctions()) == len(ids) })
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(window)
	start := time.Now()
	cpu0 := cpuTime()
	for i := range ids {
		wg.Go(func() {
			bidder := nodes[1+i%bidderPeers]
			amount := wire.Amount(1)
			for time.Now().Before(stop) {
				amount++
				if _, err := bidder.Bid(ctx, ids[i], amount); err != nil {
					b.Error(err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(accepted.Load())/time.Since(start).Seconds(), "accepted-bids/s")
	b.ReportMetric(us(cpuTime()-cpu0)/float64(max(accepted.Load(), 1)), "cpu-us/bid")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCatchUp measures how long a fresh peer takes to hold, verify (every head, Merkle root
// and bid signature) and apply a log of 100,000 entries it is missing.
func BenchmarkCatchUp(b *testing.B) {
	const entries = 100_000
	m := newMarket(b)
	seller := m.start("seller")
	ctx := context.Background()
	a, err := seller.Open(ctx, "Big", 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	// Signed bids from 8 bidder keys, appended in batches of 256 as the sequencer would.
	var keys []ed25519.PrivateKey
	for range 8 {
		_, k, _ := ed25519.GenerateKey(nil)
		keys = append(keys, k)
	}
	now := time.Now().UnixMilli()
	batch := make([][]byte, 0, 256)
	for i := range entries - 2 {
		k := keys[i%len(keys)]
		sb := wire.SignBid(k, wire.Bid{Auction: a.ID, Amount: wire.Amount(2 + i), Bidder: wire.KeyOf(k), Time: now})
		e, err := wire.Entry{Time: now, Event: &wire.BidAccepted{Bid: sb}}.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == entries-3 {
			if _, _, err := seller.store.Own().Append(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	total := seller.store.Own().Len()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		late := m.start(fmt.Sprintf("late%d", i))
		eventually(b, late, "caught up", func() bool {
			late.mu.Lock()
			defer late.mu.Unlock()
			return late.applied[seller.Key()] == total
		})
		el := time.Since(t0)
		got, _ := late.Auction(a.ID.String())
		if len(got.Bids) != entries-2 {
			b.Fatalf("caught-up peer has %d bids, want %d", len(got.Bids), entries-2)
		}
		b.ReportMetric(el.Seconds(), "s-to-current")
		b.ReportMetric(float64(total)/el.Seconds(), "entries/s")
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkHeadsExchange measures one anti-entropy exchange between two peers of a market of 32
// at rest, each holding the same 32 logs: the digest exchange that every period now starts with
// (a 36-byte digest, an empty answer), against the full exchange of both sides' signed heads
// that was every exchange before. CPU per exchange counts both sides (one process). The caller
// takes its 31 peers in turn, so no peer's per-caller rate limit (rpc.DefaultCallerRate) engages.
func BenchmarkHeadsExchange(b *testing.B) {
	const peers = 32
	m := newMarket(b)
	nodes := make([]*Node, peers)
	for i := range peers {
		// No periodic exchanges: only the benchmark's own run.
		nodes[i] = m.start(fmt.Sprintf("p%02d", i), WithAntiEntropy(time.Hour), WithLookupInterval(10*time.Second))
	}
	a := nodes[0]
	for _, nd := range nodes {
		eventuallyWithin(b, 2*time.Minute, nd, "connected to all", func() bool { return nd.Stats().Connected >= peers-1 })
	}
	for _, nd := range nodes {
		eventuallyWithin(b, time.Minute, nd, "the same heads as the caller", func() bool {
			return len(nd.heads().heads) == peers && nd.heads().digest == a.heads().digest
		})
	}
	for _, tc := range []struct {
		name    string
		run     func(ctx context.Context, p wire.PeerKey)
		payload int // request and answer payload bytes
	}{
		{"digest", a.exchangeHeads, wire.HeadsDigestSize},
		{"full", a.fullExchange, 2 * (4 + peers*wire.SignedHeadSize)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			before := exchanges(a)
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				i++
				tc.run(b.Context(), nodes[1+i%(peers-1)].key)
			}
			b.ReportMetric(us(cpuTime()-cpu0)/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(tc.payload), "payload-B/op")
			if got := exchanges(a); tc.name == "digest" && got.same-before.same != uint64(b.N) {
				b.Fatalf("%d of %d digest exchanges found the same heads", got.same-before.same, b.N)
			}
		})
	}
}
