package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables of TestChaos.
//
//	CHAOS_SEED=n     replay seed n alone (its market size, faults and workload)
//	CHAOS_SEEDS=k    run seeds 1..k (the full set is CHAOS_SEEDS=1000)
//	CHAOS_SEEDS_FROM=j  with CHAOS_SEEDS: run seeds j..k instead (to resume a stopped sweep)
//	CHAOS_PEERS=n    force the market size (default: the seed picks 8..32; the fast subset uses 8)
//	CHAOS_ROUNDS=n   workload rounds per seed (default DefaultRounds)
//	CHAOS_AE_MS=n    anti-entropy period in milliseconds (default DefaultAntiEntropy)
//	CHAOS_LOOKUP_MS=n  market lookup period in milliseconds (default DefaultLookupEvery)
//	CHAOS_HEAL_PROF=dir  write a CPU profile of every heal window (from the heal until the
//	                 market converged) to dir/seed-<n>-heal-<k>-<kind>.prof; merge them with
//	                 go tool pprof -proto dir/*.prof > heals.prof (needs -parallel 1)
//
// With CHAOS_SEEDS the seeds run as parallel subtests, at most -parallel at once (default
// GOMAXPROCS): a seed spends most of its time waiting (bid timeouts across partitions,
// convergence polls), so -parallel 4 on two cores roughly doubles the throughput.
const (
	envAntiEntropy = "CHAOS_AE_MS"
	envLookup      = "CHAOS_LOOKUP_MS"
	envSeed        = "CHAOS_SEED"
	envSeeds       = "CHAOS_SEEDS"
	envSeedsFrom   = "CHAOS_SEEDS_FROM"
	envPeers       = "CHAOS_PEERS"
	envRounds      = "CHAOS_ROUNDS"
	envHealProf    = "CHAOS_HEAL_PROF"
)

// fastSeeds run by default: small markets, so that the package stays well under a minute with
// -race on two cores.
var fastSeeds = []uint64{1, 2, 3}

// convergeBound is the assertion on every measured convergence after a heal: one anti-entropy
// period plus a round trip is the design target; the slack covers QUIC's loss-recovery backoff
// (its probe timeout grows while a partition drops everything), redials after an isolation, the
// race detector and a shared two-core machine. The measured figures are reported by -v.
const convergeSlack = 5 * time.Second

func envInt(t *testing.T, name string) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// healProfiler returns the Config.OnHeal of CHAOS_HEAL_PROF: a CPU profile of each heal window
// of seed, or nil without it.
func healProfiler(t *testing.T, seed uint64) func(string) func() {
	dir := os.Getenv(envHealProf)
	if dir == "" {
		return nil
	}
	k := 0
	return func(kind string) func() {
		k++
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("seed-%d-heal-%d-%s.prof", seed, k, kind)))
		if err != nil {
			t.Errorf("heal profile: %v", err)
			return func() {}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			t.Errorf("heal profile: %v (run with -parallel 1)", err)
			return func() {}
		}
		return func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				t.Errorf("heal profile: %v", err)
			}
		}
	}
}

func TestChaos(t *testing.T) {
	seeds := fastSeeds
	peers := MinPeers
	if n := envInt(t, envSeeds); n > 0 {
		seeds = nil
		for s := max(1, envInt(t, envSeedsFrom)); s <= n; s++ {
			seeds = append(seeds, uint64(s))
		}
		peers = 0 // the seed picks
	}
	if os.Getenv(envSeed) != "" {
		seeds = []uint64{uint64(envInt(t, envSeed))}
		peers = 0
	}
	if n := envInt(t, envPeers); n > 0 {
		peers = n
	}
	rounds := envInt(t, envRounds)
	// Under the race detector the engine's anti-entropy at 300 ms outruns head verification
	// (ed25519 is ~10x slower) and exchanges pile up; see RELIABILITY.md. Use 1 s there.
	// The race-mode run is a smoke test (one seed, 8 rounds, loose bound); the figures come from
	// runs without -race.
	antiEntropy, slack := time.Duration(envInt(t, envAntiEntropy))*time.Millisecond, convergeSlack
	if antiEntropy == 0 {
		antiEntropy = DefaultAntiEntropy
	}
	if raceEnabled {
		antiEntropy, slack = time.Second, 3*convergeSlack
		if rounds == 0 && len(seeds) == len(fastSeeds) {
			seeds, rounds = seeds[:1], 8
		}
	}
	if testing.Short() && len(seeds) > 1 {
		seeds = seeds[:1]
	}

	// The full set runs its seeds as parallel subtests (at most -parallel at once, default
	// GOMAXPROCS); the fast subset runs them one after the other.
	parallel := envInt(t, envSeeds) > 0
	var (
		mu     sync.Mutex
		all    []time.Duration
		late   int // heals slower than the design target
		failed []uint64
	)
	t.Run("seeds", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				defer func() {
					if t.Failed() {
						fmt.Fprintf(os.Stderr, "CHAOS_SEED=%d\n", seed)
						mu.Lock()
						failed = append(failed, seed)
						mu.Unlock()
					}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				start := time.Now()
				var lg *slog.Logger
				if os.Getenv("CHAOS_LOG") != "" {
					lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
				}
				rep, err := Run(ctx, Config{Seed: seed, Dir: t.TempDir(), Peers: peers, Rounds: rounds, AntiEntropy: antiEntropy,
					LookupEvery: time.Duration(envInt(t, envLookup)) * time.Millisecond, Logger: lg,
					OnHeal: healProfiler(t, seed)})
				if err != nil {
					t.Fatalf("%v\nreplay: %s=%d go test ./peer/chaos -run TestChaos", err, envSeed, seed)
				}
				for _, v := range rep.Violations {
					t.Errorf("invariant broken: %s", v)
				}
				bound := antiEntropy + slack
				mu.Lock()
				for _, h := range rep.Heals {
					all = append(all, h.Duration)
					if h.Late != "" {
						late++
					}
				}
				mu.Unlock()
				for _, h := range rep.Heals {
					if h.Late != "" {
						t.Logf("seed %d: %s heal took %v (market round trip %v); at %v: %s", seed, h.Kind, h.Duration.Round(time.Millisecond), h.RTT.Round(100*time.Microsecond), (antiEntropy + lateAfter).Round(time.Millisecond), h.Late)
					}
					if h.Duration > bound {
						t.Errorf("convergence after %s heal took %v, bound %v", h.Kind, h.Duration, bound)
					}
				}
				if t.Failed() {
					t.Logf("fault schedule:\n  %s", strings.Join(rep.Schedule, "\n  "))
					t.Logf("replay: %s=%d go test ./peer/chaos -run TestChaos", envSeed, seed)
				}
				t.Logf("seed %d: %d peers, faults %+v, %v (start %v, workload %v, final %v); opens %d/%d, bids %d acked %d rejected %d failed %d, closes %d/%d, crashes %d, partitions %d, isolations %d; heals %v; rtts %v; frontiers %v; writes %v; cpu %s; late changes %d; max goroutines %d; fetches %d hedged %d nudged %d; dial restarts %d; digest retries %d; packets %+v",
					seed, rep.Peers, rep.Faults, time.Since(start).Round(time.Millisecond),
					rep.Start.Round(time.Millisecond), rep.Workload.Round(time.Millisecond), rep.Final.Round(time.Millisecond), rep.OpensAcked, rep.Opens, rep.Bids, rep.BidsAcked,
					rep.BidsRejected, rep.BidsErr, rep.ClosesAcked, rep.Closes, rep.Crashes, rep.Partitions, rep.Isolations,
					heals(rep.Heals), healList(rep.Heals, func(h Heal) time.Duration { return h.RTT }, 100*time.Microsecond),
					healList(rep.Heals, func(h Heal) time.Duration { return h.Frontier }, time.Millisecond),
					healList(rep.Heals, func(h Heal) time.Duration { return h.LastWrite }, time.Millisecond), healCPU(rep.Heals), rep.LateChanges, rep.MaxGoroutines,
					rep.Fetch.Requests, rep.Fetch.Hedged, rep.Fetch.Nudged, rep.DialRestarts, rep.DigestRetries, rep.Net)
				if len(rep.BidErrs) > 0 {
					t.Logf("seed %d: bid errors: %v", seed, rep.BidErrs)
				}
			})
		}
	})
	slices.Sort(failed)
	if len(all) > 0 {
		slices.Sort(all)
		q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		t.Logf("convergence over %d heals: p50 %v, p90 %v, p99 %v, max %v; %d over the target (anti-entropy period + %v); %d of %d seeds failed %v",
			len(all), q(0.5), q(0.9), q(0.99), all[len(all)-1], late, lateAfter, len(failed), len(seeds), failed)
	}
}

// healList renders one duration of every heal, rounded to unit, separated by spaces: the
// market round trips (Heal.RTT), the frontiers (Heal.Frontier) or the newest writes
// (Heal.LastWrite) of a seed line.
func healList(hs []Heal, of func(Heal) time.Duration, unit time.Duration) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = of(h).Round(unit).String()
	}
	return strings.Join(parts, " ")
}

// healCPU renders the cores kept busy during every heal (Heal.CPU), separated by spaces.
func healCPU(hs []Heal) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = strconv.FormatFloat(h.CPU, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

func heals(hs []Heal) string {
	s := ""
	for _, h := range hs {
		s += fmt.Sprintf("%s:%v ", h.Kind, h.Duration.Round(time.Millisecond))
	}
	return s
}
