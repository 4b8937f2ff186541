// Package chaos is a seeded fault-injection harness for the auction-tui engine. It runs a whole
// market in one process (a bootstrap node and 8 to 32 real peer.Node instances on loopback, each
// with its own nutsdb data folder) over a faultnet.Network, drives a random bidding workload,
// injects delay, loss, reordering, duplication, partitions, isolations and crashes (Close, then
// peer.New again on the same data folder), and checks the market's invariants:
//
//   - every closed auction has the same winner on every peer, and that winner is its highest bid;
//   - no bid is accepted after its auction's close, and every peer holds the same accepted bids
//     in the same order for every auction;
//   - no acknowledged operation is lost: every Open, Bid and CloseAuction that returned no error
//     is visible on every peer, and no bid the seller rejected appears anywhere;
//   - after a partition or an isolation heals, every peer converges (the same auctions, bids and
//     closes everywhere) and the time it takes is measured.
//
// Everything the harness decides (the number of peers, the link faults, which operation runs
// when, on which peer, with which amount, when a partition starts and ends, which peer crashes)
// is a pure function of the seed: a failing seed replays the same workload and fault schedule.
// Packet timing is not deterministic (see faultnet), so a replay exercises the same scenario,
// not the same interleaving.
package chaos

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/internal/cputime"
	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/peer/faultnet"
	"github.com/auction-tui/auction-tui/wire"
)

// Limits and defaults of a run.
const (
	// MinPeers and MaxPeers bound the market size a seed picks when Config.Peers is zero.
	MinPeers = 8
	MaxPeers = 32
	// DefaultRounds is the number of workload rounds when Config.Rounds is zero.
	DefaultRounds = 16
	// DefaultAntiEntropy is the peers' heads-exchange period when Config.AntiEntropy is zero.
	DefaultAntiEntropy = 300 * time.Millisecond
	// DefaultConvergeTimeout bounds each wait for convergence when Config.ConvergeTimeout is zero.
	DefaultConvergeTimeout = 60 * time.Second
	// DefaultStartTimeout bounds the wait for the initial full mesh.
	DefaultStartTimeout = 60 * time.Second
	// DefaultBidTimeout bounds one bid round trip to a seller when Config.BidTimeout is zero. A
	// bid to a seller across a partition waits this long; it is most of a seed's run time.
	DefaultBidTimeout = 750 * time.Millisecond
	// DefaultLookupEvery is the peers' market lookup period when Config.LookupEvery is zero:
	// five anti-entropy periods, as in production (10 s lookups, 2 s anti-entropy). It was
	// 250 ms until the ninth session; the DHT work that drove (lookups, their signed replies)
	// was an eighth of a 32-peer market's CPU (RELIABILITY.md §2).
	DefaultLookupEvery = 1500 * time.Millisecond
	// maxBidErrKinds bounds Report.BidErrs.
	maxBidErrKinds = 8
	// pollEvery is the resolution of convergence measurements.
	pollEvery = 10 * time.Millisecond
)

// ErrNotWrapped reports a run in which no packet went through the fault model: the engine did
// not route its socket through peer.WithPacketConnWrapper, so no fault was injected.
var ErrNotWrapped = errors.New("chaos: no packet went through the fault injector; peer.WithPacketConnWrapper is not wired to the socket")

// Config is one chaos run.
type Config struct {
	// Seed decides everything the harness chooses.
	Seed uint64
	// Dir is the folder holding the peers' data folders. Required.
	Dir string
	// Peers is the market size; zero lets the seed pick one in [MinPeers, MaxPeers].
	Peers int
	// Rounds is the number of workload rounds; zero means DefaultRounds.
	Rounds int
	// AntiEntropy is the peers' heads-exchange period; zero means DefaultAntiEntropy.
	AntiEntropy time.Duration
	// LookupEvery is the peers' market lookup period (peer.WithLookupInterval); zero means
	// DefaultLookupEvery.
	LookupEvery time.Duration
	// BidTimeout bounds one bid round trip (peer.WithBidTimeout); zero means DefaultBidTimeout.
	BidTimeout time.Duration
	// ConvergeTimeout bounds each wait for convergence; zero means DefaultConvergeTimeout.
	ConvergeTimeout time.Duration
	// NoFaults runs the workload on a perfect network with no partitions or crashes (a baseline).
	NoFaults bool
	// Logger receives the engine's and the harness's diagnostics. Default: discard.
	Logger *slog.Logger
	// Duration, when positive, makes a soak run: workload rounds go on until it has passed
	// (Rounds is then ignored).
	Duration time.Duration
	// SampleEvery, when positive, samples the process's heap and goroutines at that period
	// (after a forced GC) into Report.Samples, and at most once per period right after a
	// measured convergence (Sample.AtRest).
	SampleEvery time.Duration
	// NoCrashes, in a run with faults, keeps the partitions, isolations and link faults but
	// crashes no peer (a soak diagnostic: it tells growth from churn apart from growth from
	// in-process restarts).
	NoCrashes bool
	// MaxOpen, when positive, caps the auctions the workload keeps open: an open it would make
	// beyond that is a close instead (drawn the same way, so the schedule of faults does not
	// change). Without it, opens (a quarter of the operations) outnumber closes and the live
	// market grows without end; a soak sets it to run a market in steady state, so memory
	// measures history, not a growing live market.
	MaxOpen int
	// AfterWorkload, when set, is called once the workload ends, before the final heal, with
	// every peer still running (for example to write heap and goroutine profiles).
	AfterWorkload func()
	// OnHeal, when set, is called as the harness starts to measure a convergence (after a heal
	// or a restart), with the heal's kind; the function it returns is called once the market
	// has converged. It brackets the heal windows, for example to profile only them.
	OnHeal func(kind string) (done func())
}

// Sample is one measurement of the whole process (the market and the harness) during a run.
type Sample struct {
	At         time.Duration // since the workload started
	HeapInuse  uint64        // runtime.MemStats.HeapInuse after runtime.GC, bytes: spans in use, fragmentation included
	HeapAlloc  uint64        // runtime.MemStats.HeapAlloc after runtime.GC, bytes: the live objects
	Goroutines int           // runtime.NumGoroutine
	Entries    uint64        // log entries held by the first live peer (all logs)
	Live       int           // peers running at the time
	// NutsdbWriters counts goroutines parked in nutsdb's (*DB).doWrites: two per running peer
	// (a peer opens two databases). nutsdb v1.1.0's Close does not stop that goroutine
	// (github.com/nutsdb/nutsdb/issues/586); the patched copy in third_party/nutsdb does, so
	// more than two per peer means closed databases leak again.
	// Goroutines-NutsdbWriters is the count that says whether the engine itself leaks.
	NutsdbWriters int
	// Crashes is the number of crashes so far.
	Crashes int
	// AtRest marks a sample taken right after the market converged on a heal (see
	// harness.restSample), with no operation, fetch or push in flight: the least noisy measure
	// of what the market keeps. The periodic samples land anywhere in the churn. At most one
	// sample at rest is taken per Config.SampleEvery.
	AtRest bool
}

// Heal is one measured convergence: what healed and how long every peer took to agree.
type Heal struct {
	Kind     string        // "partition", "isolate", "restart" or "final"
	Duration time.Duration // from the heal to the first moment every live peer held the same state
	// Late, for a convergence that took longer than one anti-entropy period plus lateAfter (the
	// design target), says what still differed at that moment: which peers held which state, and
	// how many market peers each was connected to. Empty for a convergence within the target.
	Late string
	// RTT is the median of the smoothed QUIC round trips over every connected pair of live
	// peers when the market converged: the round trip of the design target as the loaded
	// market measures it (on two cores shared by 32 peers it is far above loopback's).
	RTT time.Duration
	// Frontier is the time from the heal to the first moment every live peer held everything
	// some live peer held at the heal (every auction, at least as many accepted bids, closed if
	// closed): the divergence the fault left, caught up. Duration also waits for writes made
	// after the heal (a bid that crossed the partition and was accepted once it healed) to reach
	// every peer, so Frontier <= Duration.
	Frontier time.Duration
	// LastWrite is the time from the heal to the newest write (open, accepted bid or close) in
	// the converged state; positive when writes made after the heal were part of the wait, zero
	// when the state holds no auction.
	LastWrite time.Duration
	// CPU is the process's CPU time over the heal's wall time (from the heal to convergence):
	// how many cores the market and the harness kept busy while it healed (at most
	// runtime.NumCPU; zero where the platform does not report CPU time).
	CPU float64
}

// lateAfter is the round-trip allowance of the design target for convergence after a heal (one
// anti-entropy period plus a round trip): faultnet's links add at most 2 ms of delay and 3 ms of
// jitter each way, and the harness observes convergence every pollEvery.
const lateAfter = 10*time.Millisecond + pollEvery

// Report is what a run did and found.
type Report struct {
	Seed   uint64
	Peers  int
	Faults faultnet.Faults // the link faults the seed chose

	Opens, OpensAcked                      int
	Bids, BidsAcked, BidsRejected, BidsErr int
	Closes, ClosesAcked                    int
	Crashes, Partitions, Isolations        int

	Heals []Heal
	Net   faultnet.Stats
	// Fetch sums the fetch requests of every peer the run started, crashed ones included.
	Fetch peer.FetchStats
	// DialRestarts sums the dials of every peer the run started that started their handshake
	// over when a partition healed (peer.Stats.DialRestarts).
	DialRestarts uint64
	// DigestRetries sums the heads-exchange digests of every peer the run started that were sent
	// again after an unanswered attempt (peer.Stats.DigestRetries).
	DigestRetries uint64
	// MaxGoroutines is the most goroutines the process had at any convergence poll: the whole
	// market runs in this process, so a backlog in any peer shows here.
	MaxGoroutines int

	// Start, Workload and Final are the wall time of the three phases: starting the market and
	// forming the mesh, the workload rounds (with their convergence waits), and the final heal
	// and check.
	Start, Workload, Final time.Duration

	// BidErrs counts the bids that failed without a rejection, by kind: "unknown auction" (the
	// open had not reached the bidder yet), "seller unreachable: ..." with the transport's
	// reason, or the error text (the first maxBidErrKinds distinct kinds; the rest count under
	// "other").
	BidErrs map[string]int

	// Samples are the heap and goroutine measurements, when Config.SampleEvery is set.
	Samples []Sample
	// RoundsRun is the number of workload rounds run.
	RoundsRun int

	// Schedule lists the faults as they were applied, one line each ("round 3: crash p02"): the
	// last maxSchedule of them (a soak applies thousands; the seed replays them all anyway).
	Schedule []string
	// ScheduleDropped counts the oldest schedule lines dropped beyond maxSchedule.
	ScheduleDropped int
	// Settled counts the auctions checked closed on every live peer during the run, whose
	// records the harness then released (see harness.settle).
	Settled int
	// LateChanges counts the times the market's state changed after the final convergence,
	// before it stayed the same for quietPeriods anti-entropy periods (see harness.quiesce): an
	// operation whose caller gave up (a bid that timed out across a partition) may still be
	// applied by the seller after the heal.
	LateChanges int

	// Violations lists every broken invariant, one sentence each; empty when the run passed.
	Violations []string
}

// slot is one auction the workload tried to open. Choices index slots, never engine state, so
// that the workload is a function of the seed alone.
type slot struct {
	seller  int
	id      string // empty until the open is acknowledged
	next    int64  // the next bid amount the workload will try, micro-USDt
	closing bool   // the workload has asked to close it
	closed  bool   // a close was acknowledged
}

type ackBid struct {
	slot int
	bid  auction.Bid
}

type rejBid struct {
	slot   int
	amount wire.Amount
}

// harness is one run's state.
type harness struct {
	cfg  Config
	rng  *rand.Rand
	log  *slog.Logger
	net  *faultnet.Network
	boot *dht.Node

	nodes []*peer.Node // nil while crashed
	addrs []string
	names []string

	mu       sync.Mutex // guards the outcome records below, written by concurrent operations
	slots    []*slot
	acked    []ackBid // acknowledged bids not settled yet
	rejected []rejBid // rejected bids not settled yet
	settled  *slot    // stands in h.slots for every settled slot (see settle)

	sampleStart time.Time // when the workload started, for Sample.At (set before the sampler runs)
	lastRest    time.Time // when the last sample at rest was taken
	rep         Report
}

// Run runs one chaos scenario and reports what it found. An error means the harness itself could
// not run (a peer did not start, the mesh never formed); broken invariants are in
// Report.Violations.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Dir == "" {
		return Report{}, errors.New("chaos: Config.Dir is required")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x63686173)) // "chas"
	if cfg.Peers == 0 {
		cfg.Peers = MinPeers + rng.IntN(MaxPeers-MinPeers+1)
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = DefaultRounds
	}
	if cfg.LookupEvery == 0 {
		cfg.LookupEvery = DefaultLookupEvery
	}
	if cfg.AntiEntropy == 0 {
		cfg.AntiEntropy = DefaultAntiEntropy
	}
	if cfg.BidTimeout == 0 {
		cfg.BidTimeout = DefaultBidTimeout
	}
	if cfg.ConvergeTimeout == 0 {
		cfg.ConvergeTimeout = DefaultConvergeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &harness{cfg: cfg, rng: rng, log: cfg.Logger, rep: Report{Seed: cfg.Seed, Peers: cfg.Peers}, settled: &slot{closing: true, closed: true}}
	if !cfg.NoFaults {
		h.rep.Faults = faultnet.Faults{
			Delay:        time.Duration(rng.IntN(3)) * time.Millisecond,
			Jitter:       time.Duration(rng.IntN(4)) * time.Millisecond,
			Loss:         float64(rng.IntN(8)) / 100,
			Duplicate:    float64(rng.IntN(4)) / 100,
			Reorder:      float64(rng.IntN(10)) / 100,
			ReorderDelay: time.Duration(1+rng.IntN(10)) * time.Millisecond,
		}
	}
	h.net = faultnet.New(cfg.Seed, faultnet.WithLogger(cfg.Logger))
	defer h.net.Close()
	defer h.closeAll()
	t0 := time.Now()
	if err := h.start(ctx); err != nil {
		return h.rep, err
	}
	h.rep.Start = time.Since(t0)
	if err := h.net.SetDefault(h.rep.Faults); err != nil {
		return h.rep, err
	}
	t1 := time.Now()
	if err := h.workload(ctx); err != nil {
		return h.rep, err
	}
	t2 := time.Now()
	h.rep.Workload = t2.Sub(t1)
	if cfg.AfterWorkload != nil {
		cfg.AfterWorkload()
	}
	if err := h.finish(ctx); err != nil {
		return h.rep, err
	}
	h.rep.Final = time.Since(t2)
	h.rep.Net = h.net.Stats()
	for _, n := range h.nodes {
		h.retire(n)
	}
	if !cfg.NoFaults && h.rep.Net.Sent == 0 {
		return h.rep, ErrNotWrapped
	}
	return h.rep, nil
}

// start starts the bootstrap and the peers, in order, and waits for the full mesh.
func (h *harness) start(ctx context.Context) error {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(h.rng.Uint32())
	}
	b, err := dht.ListenBootstrap("127.0.0.1:0", ed25519.NewKeyFromSeed(seed), dht.WithLogger(h.log))
	if err != nil {
		return fmt.Errorf("chaos: bootstrap: %w", err)
	}
	h.boot = b
	h.nodes = make([]*peer.Node, h.cfg.Peers)
	h.addrs = make([]string, h.cfg.Peers)
	h.names = make([]string, h.cfg.Peers)
	for i := range h.cfg.Peers {
		h.names[i] = fmt.Sprintf("p%02d", i)
		h.addrs[i] = "127.0.0.1:0"
		if err := h.startPeer(ctx, i); err != nil {
			return err
		}
	}
	return h.waitMesh(ctx, DefaultStartTimeout)
}

func (h *harness) bootAddr() string {
	a, _ := h.boot.LocalAddr()
	return a.String()
}

// startPeer starts (or restarts, on its data folder and, when free, its old port) peer i.
func (h *harness) startPeer(ctx context.Context, i int) error {
	opts := func(listen string) []peer.Option {
		return []peer.Option{
			peer.WithDataDir(filepath.Join(h.cfg.Dir, h.names[i])), peer.WithName(h.names[i]),
			peer.WithListen(listen), peer.WithBootstrap(h.bootAddr()), peer.WithMarket("chaos"),
			peer.WithAntiEntropy(h.cfg.AntiEntropy), peer.WithLookupInterval(h.cfg.LookupEvery),
			peer.WithBidTimeout(h.cfg.BidTimeout), peer.WithLogger(h.log.With("peer", h.names[i])),
			peer.WithPacketConnWrapper(h.net.Wrap),
		}
	}
	n, err := peer.New(ctx, opts(h.addrs[i])...)
	if err != nil && h.addrs[i] != "127.0.0.1:0" {
		n, err = peer.New(ctx, opts("127.0.0.1:0")...) // the old port was taken meanwhile
	}
	if err != nil {
		return fmt.Errorf("chaos: start %s: %w", h.names[i], err)
	}
	h.mu.Lock() // the sampler reads h.nodes
	h.nodes[i] = n
	h.mu.Unlock()
	h.addrs[i] = n.Addr()
	return nil
}

// retire adds the fetch counts of n, which is about to stop, to the report.
func (h *harness) retire(n *peer.Node) {
	if n == nil {
		return
	}
	st := n.Stats()
	f := st.Fetch
	h.rep.DialRestarts += st.DialRestarts
	h.rep.DigestRetries += st.DigestRetries
	h.rep.Fetch.Requests += f.Requests
	h.rep.Fetch.Hedged += f.Hedged
	h.rep.Fetch.Nudged += f.Nudged
}

func (h *harness) closeAll() {
	for i, n := range h.nodes {
		if n != nil {
			n.Close()
			h.nodes[i] = nil
		}
	}
	if h.boot != nil {
		h.boot.Close()
	}
}

// live returns the indexes of the peers running now.
func (h *harness) live() []int {
	var out []int
	for i, n := range h.nodes {
		if n != nil {
			out = append(out, i)
		}
	}
	return out
}

// waitMesh waits until every live peer is connected to every other live peer.
func (h *harness) waitMesh(ctx context.Context, timeout time.Duration) error {
	want := len(h.live()) - 1
	return h.poll(ctx, timeout, func() bool {
		for _, i := range h.live() {
			if h.nodes[i].Stats().Connected < want {
				return false
			}
		}
		return true
	}, func() string {
		var b strings.Builder
		for _, i := range h.live() {
			fmt.Fprintf(&b, " %s:%d", h.names[i], h.nodes[i].Stats().Connected)
		}
		return fmt.Sprintf("mesh never formed (want %d connections each):%s", want, b.String())
	})
}

// poll checks cond every pollEvery until it holds or timeout passes.
func (h *harness) poll(ctx context.Context, timeout time.Duration, cond func() bool, why func() string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("chaos: seed %d: %s", h.cfg.Seed, why())
		}
	}
	return nil
}

// fault is an ongoing partition or isolation.
type fault struct {
	kind   string
	groups [][]int // partition groups of peer indexes; isolate: one group of one peer
	until  int     // the round at whose start it heals
}

type restart struct {
	peer  int
	round int
}

// workload runs the rounds. Each round may start or heal a fault and crash or restart a peer,
// then runs a few operations concurrently and waits for them all.
func (h *harness) workload(ctx context.Context) error {
	var active *fault
	var restarts []restart
	start := time.Now()
	if h.cfg.SampleEvery > 0 {
		stop := h.sample(start)
		defer stop()
	}
	for r := 0; h.more(r, start); r++ {
		h.rep.RoundsRun = r + 1
		// Heal first, then measure convergence with no operation in flight.
		if active != nil && r >= active.until {
			h.net.Heal()
			kind := active.kind
			active = nil
			if err := h.measure(ctx, kind); err != nil {
				return err
			}
		}
		for len(restarts) > 0 && restarts[0].round <= r {
			rs := restarts[0]
			restarts = restarts[1:]
			if err := h.startPeer(ctx, rs.peer); err != nil {
				return err
			}
			h.note(r, "restart %s", h.names[rs.peer])
			if active != nil {
				h.apply(active)
			}
			if active == nil {
				if err := h.measure(ctx, "restart"); err != nil {
					return err
				}
			}
		}
		var crash = -1
		if !h.cfg.NoFaults {
			switch x := h.rng.IntN(100); {
			case x < 12 && active == nil:
				active = h.partition(r)
				h.apply(active)
				h.note(r, "partition %v until round %d", active.groups, active.until)
				h.rep.Partitions++
			case x < 20 && active == nil:
				p := h.rng.IntN(h.cfg.Peers)
				active = &fault{kind: "isolate", groups: [][]int{{p}}, until: r + 1 + h.rng.IntN(3)}
				h.apply(active)
				h.note(r, "isolate p%02d until round %d", p, active.until)
				h.rep.Isolations++
			case x < 30 && len(h.live()) > 2 && !h.cfg.NoCrashes:
				crash = h.pickLive(-1)
				restarts = append(restarts, restart{peer: crash, round: r + 1 + h.rng.IntN(3)})
				slices.SortStableFunc(restarts, func(a, b restart) int { return a.round - b.round })
				h.note(r, "crash %s during the round's operations", h.names[crash])
				h.mu.Lock() // the sampler reads it
				h.rep.Crashes++
				h.mu.Unlock()
			}
		}
		if err := h.round(ctx, crash); err != nil {
			return err
		}
	}
	if active != nil {
		h.net.Heal()
		if err := h.measure(ctx, active.kind); err != nil {
			return err
		}
	}
	for _, rs := range restarts {
		if err := h.startPeer(ctx, rs.peer); err != nil {
			return err
		}
	}
	return nil
}

// more reports whether round r runs: r < Rounds, or, in a soak run, the duration not yet over.
func (h *harness) more(r int, start time.Time) bool {
	if h.cfg.Duration > 0 {
		return time.Since(start) < h.cfg.Duration
	}
	return r < h.cfg.Rounds
}

// sample starts the sampler goroutine; the returned function stops it and waits for it.
func (h *harness) sample(start time.Time) func() {
	h.sampleStart = start
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(h.cfg.SampleEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			h.takeSample(false)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// takeSample measures the process after a forced GC and appends the sample to the report.
func (h *harness) takeSample(atRest bool) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Sample{At: time.Since(h.sampleStart), HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(),
		NutsdbWriters: nutsdbWriters(), AtRest: atRest}
	h.mu.Lock()
	s.Crashes = h.rep.Crashes
	for _, n := range h.nodes {
		if n != nil {
			s.Live++
			if s.Entries == 0 {
				st := n.Stats()
				s.Entries = st.Sync.Have
			}
		}
	}
	h.rep.Samples = append(h.rep.Samples, s)
	h.mu.Unlock()
}

// restSample takes a sample at rest (Sample.AtRest) if the last one is at least SampleEvery old.
// measure calls it once the market converged: every live peer holds the same state and the
// workload waits, so what the heap holds then is what the market keeps, not work in flight.
func (h *harness) restSample() {
	if h.cfg.SampleEvery <= 0 || h.sampleStart.IsZero() || time.Since(h.lastRest) < h.cfg.SampleEvery {
		return
	}
	h.lastRest = time.Now()
	h.takeSample(true)
}

// nutsdbWriters counts the goroutines whose stack is in nutsdb's (*DB).doWrites.
func nutsdbWriters() int {
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return -1
	}
	n := 0
	// debug=1 format: blocks of "<count> @ <pcs>" followed by "#\t<frame>" lines.
	for _, block := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(block, "nutsdb.(*DB).doWrites") {
			continue
		}
		for _, line := range strings.Split(block, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "@" {
				if k, err := strconv.Atoi(f[0]); err == nil {
					n += k
				}
				break
			}
		}
	}
	return n
}

// partition draws a split of all peers into two or three non-empty groups.
func (h *harness) partition(r int) *fault {
	k := 2 + h.rng.IntN(2)
	perm := h.rng.Perm(h.cfg.Peers)
	groups := make([][]int, k)
	for i, p := range perm {
		g := i % k
		if i >= k {
			g = h.rng.IntN(k)
		}
		groups[g] = append(groups[g], p)
	}
	return &fault{kind: "partition", groups: groups, until: r + 1 + h.rng.IntN(4)}
}

// apply enforces f with the peers' current addresses.
func (h *harness) apply(f *fault) {
	addr := func(p int) netip.AddrPort { return netip.MustParseAddrPort(h.addrs[p]) }
	if f.kind == "isolate" {
		h.net.Isolate(addr(f.groups[0][0]))
		return
	}
	groups := make([][]netip.AddrPort, len(f.groups))
	for g, ps := range f.groups {
		for _, p := range ps {
			groups[g] = append(groups[g], addr(p))
		}
	}
	h.net.Partition(groups...)
}

// pickLive draws a live peer other than not. The draw consumes the same randomness whatever the
// liveness, so the rest of the workload does not shift.
func (h *harness) pickLive(not int) int {
	x := h.rng.IntN(h.cfg.Peers)
	for k := range h.cfg.Peers {
		p := (x + k) % h.cfg.Peers
		if p != not && h.nodes[p] != nil {
			return p
		}
	}
	return -1
}

// op is one workload operation, decided before the round runs.
type op struct {
	kind   int // opOpen, opBid, opClose
	peer   int
	slot   int
	amount int64
	item   string
}

const (
	opOpen = iota
	opBid
	opClose
)

// round draws the round's operations, runs them (and a crash, when crash >= 0) concurrently, and
// waits for them.
func (h *harness) round(ctx context.Context, crash int) error {
	k := 1 + h.rng.IntN(max(2, h.cfg.Peers/2))
	var ops []op
	for range k {
		x := h.rng.IntN(100)
		var open []int
		for i, s := range h.slots {
			if !s.closing {
				open = append(open, i)
			}
		}
		if h.cfg.MaxOpen > 0 && x < 25 && len(open) >= h.cfg.MaxOpen {
			x = 85 // a close instead of an open
		}
		switch {
		case x < 25 || len(open) == 0:
			p := h.pickLive(crash)
			if p < 0 {
				continue
			}
			price := int64(1+h.rng.IntN(100)) * 1_000_000
			h.slots = append(h.slots, &slot{seller: p, next: price})
			ops = append(ops, op{kind: opOpen, peer: p, slot: len(h.slots) - 1, amount: price,
				item: fmt.Sprintf("item-%d", len(h.slots)-1)})
		case x < 85:
			si := open[h.rng.IntN(len(open))]
			s := h.slots[si]
			p := h.pickLive(s.seller)
			amount := s.next
			s.next += int64(1+h.rng.IntN(5)) * 500_000
			if p < 0 || p == crash {
				continue
			}
			ops = append(ops, op{kind: opBid, peer: p, slot: si, amount: amount})
		default:
			si := open[h.rng.IntN(len(open))]
			s := h.slots[si]
			s.closing = true
			if h.nodes[s.seller] == nil || s.seller == crash {
				s.closing = false // the seller is down: try again in a later round
				continue
			}
			ops = append(ops, op{kind: opClose, peer: s.seller, slot: si})
		}
	}
	var wg sync.WaitGroup
	for _, o := range ops {
		n := h.nodes[o.peer]
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); h.do(ctx, n, o) }()
	}
	if crash >= 0 {
		n := h.nodes[crash]
		h.mu.Lock()
		h.nodes[crash] = nil
		h.mu.Unlock()
		h.retire(n)
		wg.Add(1)
		go func() { defer wg.Done(); n.Close() }()
	}
	wg.Wait()
	return ctx.Err()
}

// do runs one operation and records its outcome.
func (h *harness) do(ctx context.Context, n *peer.Node, o op) {
	switch o.kind {
	case opOpen:
		a, err := n.Open(ctx, o.item, wire.Amount(o.amount), 0)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.rep.Opens++
		if err == nil {
			h.rep.OpensAcked++
			h.slots[o.slot].id = a.ID.String()
		}
	case opBid:
		h.mu.Lock()
		id := h.slots[o.slot].id
		h.mu.Unlock()
		if id == "" {
			return // the open has not been acknowledged (yet): nothing to bid on
		}
		b, err := n.Bid(ctx, id, wire.Amount(o.amount))
		h.mu.Lock()
		defer h.mu.Unlock()
		h.rep.Bids++
		var re *peer.RejectedError
		switch {
		case err == nil:
			h.rep.BidsAcked++
			h.acked = append(h.acked, ackBid{slot: o.slot, bid: b})
		case errors.As(err, &re):
			// Rejected by the seller, or refused locally before it was sent: either way it must
			// never be accepted. Amounts are unique per slot, so (slot, amount) names the attempt.
			h.rep.BidsRejected++
			h.rejected = append(h.rejected, rejBid{slot: o.slot, amount: wire.Amount(o.amount)})
		default:
			h.rep.BidsErr++
			if h.rep.BidErrs == nil {
				h.rep.BidErrs = make(map[string]int)
			}
			k := bidErrKind(err)
			if _, ok := h.rep.BidErrs[k]; !ok && len(h.rep.BidErrs) >= maxBidErrKinds {
				k = "other"
			}
			h.rep.BidErrs[k]++
		}
	case opClose:
		h.mu.Lock()
		id := h.slots[o.slot].id
		h.mu.Unlock()
		if id == "" {
			h.mu.Lock()
			h.slots[o.slot].closing = false
			h.mu.Unlock()
			return
		}
		_, err := n.CloseAuction(ctx, id)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.rep.Closes++
		if err == nil {
			h.rep.ClosesAcked++
			h.slots[o.slot].closed = true
		}
	}
}

// measure waits until every live peer holds the same state and records how long it took.
func (h *harness) measure(ctx context.Context, kind string) error {
	if h.cfg.OnHeal != nil {
		done := h.cfg.OnHeal(kind)
		defer done()
	}
	start, cpu0 := time.Now(), cputime.Process()
	front := h.frontier()
	h.log.Info("chaos: measuring convergence", "after", kind)
	defer func() { h.log.Info("chaos: measured", "after", kind, "took", time.Since(start)) }()
	late := ""
	var caught time.Duration
	var final []auction.Auction
	cond := func() bool {
		first, _, same, holdAll := h.pass(front)
		if caught == 0 && holdAll {
			caught = max(time.Since(start), time.Nanosecond)
		}
		if same {
			final = first
			return true
		}
		if late == "" && time.Since(start) > h.cfg.AntiEntropy+lateAfter {
			late = h.lateness()
		}
		return false
	}
	if err := h.poll(ctx, h.cfg.ConvergeTimeout, cond, h.divergence); err != nil {
		return fmt.Errorf("after %s heal: %w", kind, err)
	}
	took := time.Since(start)
	var cores float64
	if c := cputime.Process(); c > 0 && took > 0 {
		cores = float64(c-cpu0) / float64(took)
	}
	if caught == 0 || caught > took {
		caught = took
	}
	var newest time.Duration
	if t := lastWrite(final); !t.IsZero() {
		newest = t.Sub(start)
	}
	h.rep.Heals = append(h.rep.Heals, Heal{Kind: kind, Duration: took, Late: late, RTT: h.marketRTT(),
		Frontier: caught, LastWrite: newest, CPU: cores})
	h.settle()
	h.restSample()
	return nil
}

// settle checks, on the converged market, the auctions that every live peer holds as closed:
// their acknowledged bids are present and their rejected bids absent (else a violation), and
// they never change again, so their records are released: a slot is replaced by h.settled and
// its bids leave h.acked and h.rejected. A peer's book keeps only its most recently closed
// auctions (auction.DefaultClosedKept), so a long soak must check a closed auction while it is
// still held; settling also keeps the harness's own memory flat. check covers what is left.
func (h *harness) settle() {
	live := h.live()
	if len(live) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	done := map[int]auction.Auction{}
	for si, s := range h.slots {
		if s == h.settled || s.id == "" || !s.closing {
			continue
		}
		a, err := h.nodes[live[0]].Auction(s.id)
		if err != nil || a.Status != auction.StatusClosed {
			continue
		}
		done[si] = a
	}
	if len(done) == 0 {
		return
	}
	h.acked = slices.DeleteFunc(h.acked, func(ab ackBid) bool {
		a, ok := done[ab.slot]
		if ok && !slices.ContainsFunc(a.Bids, func(b auction.Bid) bool { return b.Signed == ab.bid.Signed }) {
			h.violate("acknowledged bid %s by %s on %s (seller %s, closed) lost on every live peer",
				ab.bid.Amount, h.nameOf(ab.bid.Bidder), a.ID.Short(), h.nameOf(a.Seller))
		}
		return ok
	})
	h.rejected = slices.DeleteFunc(h.rejected, func(rb rejBid) bool {
		a, ok := done[rb.slot]
		if ok && slices.ContainsFunc(a.Bids, func(b auction.Bid) bool { return b.Amount == rb.amount }) {
			h.violate("rejected bid %s on %s appears on every live peer", rb.amount, a.ID.Short())
		}
		return ok
	})
	for si := range done {
		h.slots[si] = h.settled
		h.rep.Settled++
	}
}

// digest renders everything a peer knows about the auctions, canonically.
func digest(as []auction.Auction) string {
	var b strings.Builder
	sorted := slices.Clone(as)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID.String() < sorted[j].ID.String() })
	for _, a := range sorted {
		fmt.Fprintf(&b, "%s %s %s %d", a.ID, a.Status, a.Price, a.ClosedAt.UnixMilli())
		for _, bid := range a.Bids {
			fmt.Fprintf(&b, " [%d %x %s %d]", bid.Index, bid.Signed.Bidder[:4], bid.Amount, bid.AcceptedAt.UnixMilli())
		}
		if a.Winner != nil {
			fmt.Fprintf(&b, " winner=%d", a.Winner.Index)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// fingerprint is digest's equality without its text: the SHA-256 of the same fields in binary,
// for the convergence polls, which compare every peer's state every pollEvery while a heal
// converges. Rendering the text there was a tenth of the harness process's allocations in a
// 32-peer market, garbage collected while the engines healed.
func fingerprint(as []auction.Auction) [sha256.Size]byte {
	sorted := slices.Clone(as)
	slices.SortFunc(sorted, func(x, y auction.Auction) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	h := sha256.New()
	var b []byte
	for _, a := range sorted {
		b = append(b[:0], a.ID[:]...)
		b = append(b, a.Status...)
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Price))
		b = binary.BigEndian.AppendUint64(b, uint64(a.ClosedAt.UnixMilli()))
		b = binary.BigEndian.AppendUint32(b, uint32(len(a.Bids)))
		for _, bid := range a.Bids {
			b = binary.BigEndian.AppendUint64(b, bid.Index)
			b = append(b, bid.Signed.Bidder[:4]...)
			b = binary.BigEndian.AppendUint64(b, uint64(bid.Amount))
			b = binary.BigEndian.AppendUint64(b, uint64(bid.AcceptedAt.UnixMilli()))
		}
		if a.Winner != nil {
			b = append(b, 1)
			b = binary.BigEndian.AppendUint64(b, a.Winner.Index)
		} else {
			b = append(b, 0)
		}
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// held is what a peer holds of one auction, for the frontier of a heal.
type held struct {
	bids   int
	closed bool
}

// frontier returns the union of what the live peers hold now: every auction, with the most
// accepted bids any peer holds and closed if any peer holds it closed.
func (h *harness) frontier() map[wire.AuctionID]held {
	f := map[wire.AuctionID]held{}
	for _, i := range h.live() {
		for _, a := range h.nodes[i].Auctions() {
			x := f[a.ID]
			x.bids = max(x.bids, len(a.Bids))
			x.closed = x.closed || a.Status == auction.StatusClosed
			f[a.ID] = x
		}
	}
	return f
}

// pass reads every live peer's auctions once: the first peer's auctions and digest, whether
// every peer renders the same, and whether every peer holds front (false when front is nil:
// not asked). It stops reading once neither answer can change.
func (h *harness) pass(front map[wire.AuctionID]held) (first []auction.Auction, d0 [sha256.Size]byte, same, holdAll bool) {
	h.rep.MaxGoroutines = max(h.rep.MaxGoroutines, runtime.NumGoroutine())
	same, holdAll = true, front != nil
	for k, i := range h.live() {
		if !same && !holdAll {
			break
		}
		as := h.nodes[i].Auctions()
		if holdAll {
			holdAll = holds(as, front)
		}
		if !same {
			continue
		}
		if d := fingerprint(as); k == 0 {
			first, d0 = as, d
		} else if d != d0 {
			same = false
		}
	}
	return first, d0, same, holdAll
}

// holds reports whether as holds everything in front.
func holds(as []auction.Auction, front map[wire.AuctionID]held) bool {
	n := 0
	for _, a := range as {
		x, ok := front[a.ID]
		if !ok {
			continue
		}
		if len(a.Bids) < x.bids || x.closed && a.Status != auction.StatusClosed {
			return false
		}
		n++
	}
	return n == len(front)
}

// lastWrite returns the time of the newest write in as: an auction's opening, an accepted bid
// or a close.
func lastWrite(as []auction.Auction) time.Time {
	var t time.Time
	for _, a := range as {
		t = latest(t, a.OpenedAt, a.ClosedAt)
		for _, b := range a.Bids {
			t = latest(t, b.AcceptedAt)
		}
	}
	return t
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, x := range ts {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// state returns the first live peer's digest and whether every live peer renders the same.
func (h *harness) state() ([sha256.Size]byte, bool) {
	_, d, same, _ := h.pass(nil)
	return d, same
}

// marketRTT returns the median smoothed round trip over the connected pairs of live peers (each
// pair counted from both ends), or zero when none is connected.
func (h *harness) marketRTT() time.Duration {
	var rtts []time.Duration
	for _, i := range h.live() {
		for _, p := range h.nodes[i].Peers() {
			if p.Connected && p.RTT > 0 {
				rtts = append(rtts, p.RTT)
			}
		}
	}
	if len(rtts) == 0 {
		return 0
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}

// lateness describes a market that has not converged yet: the groups of live peers that hold the
// same state, with each peer's auction count and market connections, and for every group but
// the largest how its state differs from the largest group's: the auctions it renders otherwise
// (each as "id status bids", at most three shown).
func (h *harness) lateness() string {
	groups := map[string][]string{}
	for _, i := range h.live() {
		n := h.nodes[i]
		d := digest(n.Auctions())
		groups[d] = append(groups[d], fmt.Sprintf("%s(%d auctions, %d conns)", h.names[i], strings.Count(d, "\n"), n.Stats().Connected))
	}
	var major string
	for d, g := range groups {
		if len(g) > len(groups[major]) || (len(g) == len(groups[major]) && d < major) {
			major = d
		}
	}
	parts := make([]string, 0, len(groups))
	for d, g := range groups {
		part := "[" + strings.Join(g, " ") + "]"
		if d != major {
			part += " differs on " + digestDiff(major, d)
		}
		parts = append(parts, part)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// digestDiff describes the auctions that digest d renders otherwise than major, or lacks.
func digestDiff(major, d string) string {
	byID := func(dg string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSuffix(dg, "\n"), "\n") {
			if id, _, ok := strings.Cut(l, " "); ok {
				m[id] = l
			}
		}
		return m
	}
	short := func(l string) string {
		f := strings.Fields(l)
		if len(f) < 2 {
			return l
		}
		return fmt.Sprintf("%s %s %d bids", f[0][:8], f[1], strings.Count(l, "["))
	}
	mm, dm := byID(major), byID(d)
	var out []string
	for id, l := range mm {
		switch dl, ok := dm[id]; {
		case !ok:
			out = append(out, "lacks "+short(l))
		case dl != l:
			out = append(out, fmt.Sprintf("%s (majority: %s)", short(dl), short(l)))
		}
	}
	for id, l := range dm {
		if _, ok := mm[id]; !ok {
			out = append(out, "extra "+short(l))
		}
	}
	sort.Strings(out)
	n := len(out)
	if n > 3 {
		out = append(out[:3], fmt.Sprintf("and %d more", n-3))
	}
	return fmt.Sprintf("%d auctions: %s", n, strings.Join(out, "; "))
}

func (h *harness) divergence() string {
	counts := map[string][]string{}
	for _, i := range h.live() {
		d := digest(h.nodes[i].Auctions())
		counts[d] = append(counts[d], h.names[i])
	}
	var parts []string
	for d, names := range counts {
		parts = append(parts, fmt.Sprintf("%v hold %d auctions (%d bytes of state)", names, strings.Count(d, "\n"), len(d)))
	}
	sort.Strings(parts)
	return "peers never converged: " + strings.Join(parts, "; ")
}

// finish heals everything, restarts nothing more, waits for convergence and checks invariants.
func (h *harness) finish(ctx context.Context) error {
	h.net.Heal()
	if err := h.measure(ctx, "final"); err != nil {
		return err
	}
	// The views checked must be one state of the market at rest: when a late change lands
	// while they are taken (they differ), wait for rest again.
	for {
		if err := h.quiesce(ctx); err != nil {
			return err
		}
		if views, same := h.views(); same {
			h.check(views)
			return nil
		}
		h.rep.LateChanges++
	}
}

// quietPeriods is how many anti-entropy periods the converged state must stay the same before
// the final check.
const quietPeriods = 3

// quiesce waits until every live peer holds the same state and that state has not changed for
// quietPeriods anti-entropy periods. The final check needs a market at rest: the workload has
// ended, but a seller may still apply a bid whose bidder gave up (it timed out across a partition
// and its request arrived, or was let through by a restarted seller's recovery wait, after the
// heal). Every change counts in Report.LateChanges.
func (h *harness) quiesce(ctx context.Context) error {
	quiet := quietPeriods * h.cfg.AntiEntropy
	var last [sha256.Size]byte
	seen, since := false, time.Now()
	return h.poll(ctx, h.cfg.ConvergeTimeout, func() bool {
		d, same := h.state()
		if !same {
			return false
		}
		switch {
		case !seen:
			seen, last, since = true, d, time.Now()
		case d != last:
			h.rep.LateChanges++
			h.log.Info("chaos: the market changed after the final convergence")
			last, since = d, time.Now()
		}
		return time.Since(since) >= quiet
	}, func() string { return "the market never came to rest after the final heal: " + h.divergence() })
}

// maxSchedule is how many schedule lines a Report keeps, the most recent.
const maxSchedule = 2000

func (h *harness) note(round int, format string, args ...any) {
	if len(h.rep.Schedule) == maxSchedule {
		n := copy(h.rep.Schedule, h.rep.Schedule[maxSchedule/2:])
		clear(h.rep.Schedule[n:])
		h.rep.Schedule = h.rep.Schedule[:n]
		h.rep.ScheduleDropped += maxSchedule - n
	}
	h.rep.Schedule = append(h.rep.Schedule, fmt.Sprintf("round %d: ", round)+fmt.Sprintf(format, args...))
}

func (h *harness) violate(format string, args ...any) {
	h.rep.Violations = append(h.rep.Violations, fmt.Sprintf(format, args...))
}

// views returns every live peer's auctions by id, and whether all of them rendered the same
// (digest): false when the market changed while they were taken.
func (h *harness) views() ([]map[wire.AuctionID]auction.Auction, bool) {
	views := make([]map[wire.AuctionID]auction.Auction, len(h.nodes))
	same, first := true, ""
	for k, i := range h.live() {
		as := h.nodes[i].Auctions()
		if d := digest(as); k == 0 {
			first = d
		} else if d != first {
			same = false
		}
		views[i] = make(map[wire.AuctionID]auction.Auction, len(as))
		for _, a := range as {
			views[i][a.ID] = a
		}
	}
	return views, same
}

// check verifies the invariants on views of the market at rest (see finish).
func (h *harness) check(views []map[wire.AuctionID]auction.Auction) {
	live := h.live()
	if len(live) != h.cfg.Peers {
		h.violate("%d of %d peers running at the end", len(live), h.cfg.Peers)
	}
	ref := views[live[0]]
	// Same winner and same bids everywhere; no bid after the close; the winner is the highest.
	for id, a := range ref {
		for _, i := range live[1:] {
			b, ok := views[i][id]
			switch {
			case !ok:
				h.violate("auction %s missing on %s", id.Short(), h.names[i])
			case a.Status != b.Status:
				h.violate("auction %s is %s on %s but %s on %s", id.Short(), a.Status, h.names[live[0]], b.Status, h.names[i])
			case winnerKey(a) != winnerKey(b):
				h.violate("auction %s: winner %s on %s but %s on %s", id.Short(), winnerKey(a), h.names[live[0]], winnerKey(b), h.names[i])
			case bidsKey(a) != bidsKey(b):
				h.violate("auction %s: accepted bids differ between %s (%s) and %s (%s)", id.Short(), h.names[live[0]], bidsKey(a), h.names[i], bidsKey(b))
			}
		}
		if a.Status == auction.StatusClosed {
			for _, b := range a.Bids {
				if b.AcceptedAt.After(a.ClosedAt) {
					h.violate("auction %s: bid %s accepted at %v, after the close at %v", id.Short(), b.Amount, b.AcceptedAt, a.ClosedAt)
				}
			}
			if hi := a.Highest(); winnerKey(a) != bidKey(hi) {
				h.violate("auction %s: winner %s is not the highest bid %s", id.Short(), winnerKey(a), bidKey(hi))
			}
		}
		for k := 1; k < len(a.Bids); k++ {
			if a.Bids[k].Amount <= a.Bids[k-1].Amount {
				h.violate("auction %s: bid %d (%s) not above the one before (%s)", id.Short(), k, a.Bids[k].Amount, a.Bids[k-1].Amount)
			}
		}
	}
	// No acknowledged operation lost.
	for si, s := range h.slots {
		if s == h.settled || s.id == "" {
			continue
		}
		for _, i := range live {
			a, err := h.nodes[i].Auction(s.id)
			if err != nil {
				h.violate("acknowledged open of slot %d (%s) missing on %s: %v", si, s.id[:8], h.names[i], err)
				continue
			}
			if s.closed && a.Status != auction.StatusClosed {
				h.violate("acknowledged close of %s not seen on %s", s.id[:8], h.names[i])
			}
		}
	}
	for _, ab := range h.acked {
		id := h.slots[ab.slot].id
		for _, i := range live {
			a, err := h.nodes[i].Auction(id)
			if err != nil {
				continue // reported above
			}
			if !slices.ContainsFunc(a.Bids, func(b auction.Bid) bool { return b.Signed == ab.bid.Signed }) {
				var have []string
				for _, b := range a.Bids {
					have = append(have, fmt.Sprintf("%s@%d", b.Amount, b.Index))
				}
				h.violate("acknowledged bid %s by %s on %s (seller %s, %s, accepted bids %v) lost on %s",
					ab.bid.Amount, h.nameOf(ab.bid.Bidder), id[:8], h.nameOf(a.Seller), a.Status, have, h.names[i])
			}
		}
	}
	h.checkRejected(live)
}

func (h *harness) checkRejected(live []int) {
	for _, rb := range h.rejected {
		id := h.slots[rb.slot].id
		for _, i := range live {
			a, err := h.nodes[i].Auction(id)
			if err != nil {
				continue
			}
			if slices.ContainsFunc(a.Bids, func(b auction.Bid) bool { return b.Amount == rb.amount }) {
				h.violate("rejected bid %s on %s appears on %s", rb.amount, id[:8], h.names[i])
			}
		}
	}
}

func (h *harness) nameOf(k wire.PeerKey) string {
	for i, n := range h.nodes {
		if n != nil && n.Key() == k {
			return h.names[i]
		}
	}
	return k.Short()
}

// bidErrKind names the kind of a failed bid without the auction id, so that kinds aggregate.
func bidErrKind(err error) string {
	switch {
	case errors.Is(err, auction.ErrNotFound):
		return "unknown auction"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context: " + err.Error()
	case errors.Is(err, peer.ErrClosed):
		return "node closed"
	}
	return err.Error()
}

func bidKey(b *auction.Bid) string {
	if b == nil {
		return "none"
	}
	return fmt.Sprintf("%s@%d", b.Amount, b.Index)
}

func winnerKey(a auction.Auction) string { return bidKey(a.Winner) }

func bidsKey(a auction.Auction) string {
	var b strings.Builder
	for _, bid := range a.Bids {
		fmt.Fprintf(&b, "%d:%x;", bid.Index, bid.Signed.Sig[:8])
	}
	return b.String()
}

// Trend is the summary of a soak's samples: first and last values, and the least-squares slope
// of the heap and goroutine counts over the second half of the run (per minute), which is what
// "flat" is judged on (the first half includes warm-up).
type Trend struct {
	Samples                    int
	HalfSpan                   time.Duration // length of the second half
	HeapFirst, HeapLast        uint64        // bytes, first and last sample
	HeapMin, HeapMax           uint64        // bytes, over the second half
	HeapSlope                  float64       // bytes per minute, over the second half
	LiveFirst, LiveLast        uint64        // HeapAlloc (live objects), bytes, first and last sample
	LiveMin, LiveMax           uint64        // HeapAlloc, bytes, over the second half
	LiveSlope                  float64       // HeapAlloc, bytes per minute, over the second half
	GoroutinesFirst, GorLast   int
	GoroutinesMin, GorMax      int     // over the second half
	GoroutineSlope             float64 // goroutines per minute, over the second half
	EngineGoroutineSlope       float64 // Goroutines-NutsdbWriters per minute, over the second half
	NutsdbWritersLast          int     // nutsdb writer goroutines at the last sample (two per open database)
	CrashesLast                int     // crashes at the last sample
	EntriesAdded               uint64  // log entries the first live peer gained in the second half
	HeapPerEntrySecondHalf     float64 // HeapSlope*HalfSpan / EntriesAdded, bytes; 0 without entries
	EntriesFirst, EntriesFinal uint64
	// RestSamples, RestLiveMin, RestLiveMax, RestLiveSlope and RestLiveSlopeSE are the live heap
	// of the samples at rest (Sample.AtRest) over the second half: how many, their range (bytes),
	// their least-squares slope and its standard error (bytes per minute). Zero without samples
	// at rest. The other fields count only the periodic samples.
	RestSamples              int
	RestLiveMin, RestLiveMax uint64
	RestLiveSlope            float64
	RestLiveSlopeSE          float64
}

func (tr Trend) String() string {
	mib := func(b float64) float64 { return b / (1 << 20) }
	return fmt.Sprintf("%d samples; heap in use %.1f -> %.1f MiB (second half %.1f..%.1f MiB, slope %+.3f MiB/min); live heap %.1f -> %.1f MiB (second half %.1f..%.1f MiB, slope %+.3f MiB/min); goroutines %d -> %d (second half %d..%d, slope %+.2f/min; without nutsdb's writers %+.2f/min; %d nutsdb writers at the end (two per open database, any more leaked) after %d crashes); entries %d -> %d (+%d in the second half, heap slope %.0f bytes per entry)",
		tr.Samples, mib(float64(tr.HeapFirst)), mib(float64(tr.HeapLast)), mib(float64(tr.HeapMin)), mib(float64(tr.HeapMax)), mib(tr.HeapSlope),
		mib(float64(tr.LiveFirst)), mib(float64(tr.LiveLast)), mib(float64(tr.LiveMin)), mib(float64(tr.LiveMax)), mib(tr.LiveSlope),
		tr.GoroutinesFirst, tr.GorLast, tr.GoroutinesMin, tr.GorMax, tr.GoroutineSlope, tr.EngineGoroutineSlope, tr.NutsdbWritersLast, tr.CrashesLast,
		tr.EntriesFirst, tr.EntriesFinal, tr.EntriesAdded, tr.HeapPerEntrySecondHalf) +
		fmt.Sprintf("; at rest: %d samples in the second half, live heap %.1f..%.1f MiB, slope %+.3f ± %.3f MiB/min",
			tr.RestSamples, mib(float64(tr.RestLiveMin)), mib(float64(tr.RestLiveMax)), mib(tr.RestLiveSlope), mib(tr.RestLiveSlopeSE))
}

// Summarize computes the Trend of samples (in time order). It needs at least 4 periodic samples;
// the samples at rest are summarised apart (Trend.RestLiveSlope), over the same second half.
func Summarize(all []Sample) Trend {
	var tr Trend
	var samples, rest []Sample
	for _, s := range all {
		if s.AtRest {
			rest = append(rest, s)
		} else {
			samples = append(samples, s)
		}
	}
	tr.Samples = len(samples)
	if len(samples) < 4 {
		return tr
	}
	halfStart := samples[len(samples)/2].At
	var rx, ry []float64
	for _, s := range rest {
		if s.At < halfStart {
			continue
		}
		if len(rx) == 0 {
			tr.RestLiveMin, tr.RestLiveMax = s.HeapAlloc, s.HeapAlloc
		}
		rx, ry = append(rx, s.At.Minutes()), append(ry, float64(s.HeapAlloc))
		tr.RestLiveMin, tr.RestLiveMax = min(tr.RestLiveMin, s.HeapAlloc), max(tr.RestLiveMax, s.HeapAlloc)
	}
	if tr.RestSamples = len(rx); tr.RestSamples >= 3 {
		tr.RestLiveSlope, tr.RestLiveSlopeSE = slopeSE(rx, ry)
	}
	first, last := samples[0], samples[len(samples)-1]
	tr.HeapFirst, tr.HeapLast = first.HeapInuse, last.HeapInuse
	tr.LiveFirst, tr.LiveLast = first.HeapAlloc, last.HeapAlloc
	tr.GoroutinesFirst, tr.GorLast = first.Goroutines, last.Goroutines
	tr.EntriesFirst, tr.EntriesFinal = first.Entries, last.Entries
	half := samples[len(samples)/2:]
	tr.HalfSpan = half[len(half)-1].At - half[0].At
	tr.HeapMin, tr.HeapMax = half[0].HeapInuse, half[0].HeapInuse
	tr.LiveMin, tr.LiveMax = half[0].HeapAlloc, half[0].HeapAlloc
	ls := make([]float64, len(half))
	tr.GoroutinesMin, tr.GorMax = half[0].Goroutines, half[0].Goroutines
	xs := make([]float64, len(half))
	hs := make([]float64, len(half))
	gs := make([]float64, len(half))
	for i, s := range half {
		xs[i] = s.At.Minutes()
		hs[i] = float64(s.HeapInuse)
		ls[i] = float64(s.HeapAlloc)
		tr.LiveMin, tr.LiveMax = min(tr.LiveMin, s.HeapAlloc), max(tr.LiveMax, s.HeapAlloc)
		gs[i] = float64(s.Goroutines)
		tr.HeapMin, tr.HeapMax = min(tr.HeapMin, s.HeapInuse), max(tr.HeapMax, s.HeapInuse)
		tr.GoroutinesMin, tr.GorMax = min(tr.GoroutinesMin, s.Goroutines), max(tr.GorMax, s.Goroutines)
	}
	tr.HeapSlope = slope(xs, hs)
	tr.LiveSlope = slope(xs, ls)
	tr.GoroutineSlope = slope(xs, gs)
	es := make([]float64, len(half))
	for i, s := range half {
		es[i] = float64(s.Goroutines - s.NutsdbWriters)
	}
	tr.EngineGoroutineSlope = slope(xs, es)
	tr.NutsdbWritersLast, tr.CrashesLast = last.NutsdbWriters, last.Crashes
	if e0, e1 := half[0].Entries, half[len(half)-1].Entries; e1 > e0 {
		tr.EntriesAdded = e1 - e0
		tr.HeapPerEntrySecondHalf = tr.HeapSlope * tr.HalfSpan.Minutes() / float64(tr.EntriesAdded)
	}
	return tr
}

// slopeSE is the least-squares slope of ys over xs and its standard error (from the residuals,
// with n-2 degrees of freedom). It needs at least 3 points.
func slopeSE(xs, ys []float64) (b, se float64) {
	b = slope(xs, ys)
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var rss, den float64
	for i := range xs {
		r := ys[i] - my - b*(xs[i]-mx)
		rss += r * r
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 || n < 3 {
		return b, 0
	}
	return b, math.Sqrt(rss / (n - 2) / den)
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	n := float64(len(xs))
	mx, my = mx/n, my/n
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}
