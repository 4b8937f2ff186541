package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// Environment variables of TestSoak.
//
//	CHAOS_SOAK=30m        run the soak for this long (the test is skipped without it)
//	CHAOS_SOAK_OUT=file   write every sample there as CSV
//	CHAOS_SOAK_EVERY=5s   sampling period (default soakSampleEvery)
//	CHAOS_SOAK_PPROF=dir  write heap.pprof and goroutines.txt there at the end of the workload, and
//	                      heap-half.pprof and goroutines-half.txt at its midpoint, with the heap
//	                      sampled every soakMemProfileRate bytes: `go tool pprof -base
//	                      dir/heap-half.pprof dir/heap.pprof` shows what grew over the second half
//	CHAOS_SOAK_CRASHES=0  no crashes (partitions, isolations and link faults only)
const (
	envSoakCrashes = "CHAOS_SOAK_CRASHES"
	envSoakPprof   = "CHAOS_SOAK_PPROF"
	envSoak        = "CHAOS_SOAK"
	envSoakOut     = "CHAOS_SOAK_OUT"
	envSoakEvery   = "CHAOS_SOAK_EVERY"
)

// Soak settings and bounds.
const (
	soakSampleEvery = 5 * time.Second
	// soakMaxOpen caps the auctions open at once (Config.MaxOpen): the soak runs a market in
	// steady state, whose history grows but whose live part does not.
	soakMaxOpen = 64
	// soakGoroutineDrift bounds the goroutine trend over the second half of a soak: the fitted
	// slope times the half's length. Churn makes single samples jump by hundreds; a leak of one
	// goroutine per crash or per auction would exceed this within minutes.
	soakGoroutineDrift = 100
	// soakLiveDrift bounds the trend of the live heap (HeapAlloc after GC) over the second
	// half, in bytes, whatever the entries added: what a peer keeps in RAM is bounded (sealed
	// chunks in storage, the book's closed history, the push window), so once those are full,
	// in the first minutes, nothing may grow with the logs. A 30-minute soak adds about 7,000
	// entries to every peer's copy in its second half: 8 MiB is about 150 B per entry per peer,
	// well below the 1.3 KiB per entry per peer the engine kept before.
	soakLiveDrift = 8 << 20
	// soakHeapPerEntry and soakHeapSlack bound the trend of the heap in use (HeapInuse, spans
	// with any live object, so fragmentation too) over the second half: soakHeapSlack plus
	// soakHeapPerEntry per log entry added in that half per peer holding it.
	soakHeapPerEntry = 256
	soakHeapSlack    = 16 << 20
	// soakMemProfileRate is the heap profile's sampling interval in bytes with CHAOS_SOAK_PPROF
	// (the runtime's default is 512 KiB, too coarse to tell a growth of a few MiB by site).
	soakMemProfileRate = 16 << 10
)

// TestSoak runs the chaos workload (crashes and restarts, partitions, isolations, link faults,
// opens, bids and closes) for CHAOS_SOAK, samples the heap (after GC) and the goroutine count,
// and checks that neither grows over the second half beyond what the data explains; then it
// checks the usual invariants.
func TestSoak(t *testing.T) {
	v := os.Getenv(envSoak)
	if v == "" {
		t.Skipf("set %s=30m (or another duration) to run the soak", envSoak)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", envSoak, v)
	}
	every := soakSampleEvery
	if v := os.Getenv(envSoakEvery); v != "" {
		if every, err = time.ParseDuration(v); err != nil || every <= 0 {
			t.Fatalf("%s=%q: want a positive duration", envSoakEvery, v)
		}
	}
	seed := uint64(envInt(t, envSeed))
	if seed == 0 {
		seed = 1
	}
	peers := envInt(t, envPeers)
	if peers == 0 {
		peers = MinPeers
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Minute)
	defer cancel()
	antiEntropy := DefaultAntiEntropy
	if raceEnabled {
		antiEntropy = time.Second
	}
	noCrashes := os.Getenv(envSoakCrashes) == "0"
	cfg := Config{Seed: seed, Dir: t.TempDir(), Peers: peers, Duration: d, SampleEvery: every, AntiEntropy: antiEntropy, NoCrashes: noCrashes, MaxOpen: soakMaxOpen}
	if dir := os.Getenv(envSoakPprof); dir != "" {
		runtime.MemProfileRate = soakMemProfileRate
		cfg.AfterWorkload = func() { writeProfiles(t, dir, "") }
		half := time.AfterFunc(d/2, func() { writeProfiles(t, dir, "-half") })
		defer half.Stop()
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\nreplay: %s=%d %s=%s go test ./peer/chaos -run TestSoak", err, envSeed, seed, envSoak, v)
	}
	for _, v := range rep.Violations {
		t.Errorf("invariant broken: %s", v)
	}
	if out := os.Getenv(envSoakOut); out != "" {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, "seconds,heap_inuse_bytes,goroutines,nutsdb_writers,entries,live_peers,crashes,heap_alloc_bytes,at_rest")
		for _, s := range rep.Samples {
			rest := 0
			if s.AtRest {
				rest = 1
			}
			fmt.Fprintf(f, "%.1f,%d,%d,%d,%d,%d,%d,%d,%d\n", s.At.Seconds(), s.HeapInuse, s.Goroutines, s.NutsdbWriters, s.Entries, s.Live, s.Crashes, s.HeapAlloc, rest)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("soak: seed %d, %d peers, %v, %d rounds; opens %d/%d, bids %d acked %d, closes %d/%d (%d settled: checked closed everywhere during the run), crashes %d, partitions %d, isolations %d; %d samples",
		seed, rep.Peers, d, rep.RoundsRun, rep.OpensAcked, rep.Opens, rep.Bids, rep.BidsAcked, rep.ClosesAcked, rep.Closes, rep.Settled,
		rep.Crashes, rep.Partitions, rep.Isolations, len(rep.Samples))
	if len(rep.Samples) < 8 {
		t.Fatalf("only %d samples: run longer than %v", len(rep.Samples), 8*every)
	}
	sum := Summarize(rep.Samples)
	t.Logf("soak: %s", sum)
	// Goroutines: the engine's own (nutsdb's writers excluded, see Sample.NutsdbWriters) and
	// the raw count must be flat, with crashes too: in-process restarts leaked nutsdb's writer
	// goroutines (nutsdb#586) until the patched copy in third_party/nutsdb.
	if drift := sum.EngineGoroutineSlope * sum.HalfSpan.Minutes(); drift > soakGoroutineDrift {
		t.Errorf("engine goroutines trend up %.1f over the second half (slope %.2f/min), bound %d", drift, sum.EngineGoroutineSlope, soakGoroutineDrift)
	}
	if drift := sum.GoroutineSlope * sum.HalfSpan.Minutes(); drift > soakGoroutineDrift {
		t.Errorf("goroutines trend up %.1f over the second half (slope %.2f/min), bound %d", drift, sum.GoroutineSlope, soakGoroutineDrift)
	}
	if sum.NutsdbWritersLast > 2*rep.Peers {
		t.Errorf("%d nutsdb writer goroutines at the end for %d peers (two databases each at most): closed databases leak", sum.NutsdbWritersLast, rep.Peers)
	}
	heapBound := float64(soakHeapSlack) + float64(soakHeapPerEntry)*float64(sum.EntriesAdded)*float64(rep.Peers)
	if sum.EntriesAdded > 0 {
		t.Logf("soak: heap growth over the second half %.0f bytes per entry per peer", sum.HeapSlope*sum.HalfSpan.Minutes()/float64(sum.EntriesAdded)/float64(rep.Peers))
	}
	if drift := sum.HeapSlope * sum.HalfSpan.Minutes(); drift > heapBound {
		t.Errorf("heap in use trends up %.1f MiB over the second half (%d entries added on each of %d peers), bound %.1f MiB", drift/(1<<20), sum.EntriesAdded, rep.Peers, heapBound/(1<<20))
	}
	if drift := sum.LiveSlope * sum.HalfSpan.Minutes(); drift > soakLiveDrift {
		t.Errorf("live heap trends up %.1f MiB over the second half (%d entries added on each of %d peers), bound %d MiB", drift/(1<<20), sum.EntriesAdded, rep.Peers, soakLiveDrift>>20)
	}
	if drift := sum.RestLiveSlope * sum.HalfSpan.Minutes(); drift > soakLiveDrift {
		t.Errorf("live heap at rest trends up %.1f MiB over the second half (%d entries added on each of %d peers), bound %d MiB", drift/(1<<20), sum.EntriesAdded, rep.Peers, soakLiveDrift>>20)
	}
}

// writeProfiles writes the heap profile (after GC) and a goroutine dump into dir, their file
// names ending in suffix.
func writeProfiles(t *testing.T, dir, suffix string) {
	runtime.GC()
	for _, p := range []struct {
		name  string
		file  string
		debug int
	}{{"heap", "heap" + suffix + ".pprof", 0}, {"goroutine", "goroutines" + suffix + ".txt", 1}} {
		f, err := os.Create(filepath.Join(dir, p.file))
		if err != nil {
			t.Error(err)
			return
		}
		if err := pprof.Lookup(p.name).WriteTo(f, p.debug); err != nil {
			t.Error(err)
		}
		f.Close()
	}
}

func TestSummarizeRestSamples(t *testing.T) {
	const mib = 1 << 20
	// Periodic samples: a flat live heap at 40 MiB with ±10 MiB of churn. Samples at rest: a
	// line at 30 MiB + 0.5 MiB per minute, exactly (zero standard error), or with a residual.
	var flat, line, noisy []Sample
	for i := range 40 {
		at := time.Duration(i) * 30 * time.Second
		churn := uint64(40*mib + (i%2)*20*mib - 10*mib)
		periodic := Sample{At: at, HeapAlloc: churn, HeapInuse: churn}
		rest := Sample{At: at + time.Second, HeapAlloc: uint64(30*mib + at.Minutes()*mib/2), AtRest: true}
		flat = append(flat, periodic)
		line = append(line, periodic, rest)
		rest.HeapAlloc += uint64(i%2) * mib
		noisy = append(noisy, periodic, rest)
	}
	tests := []struct {
		name                string
		samples             []Sample
		rest                int
		slope, seMin, seMax float64 // MiB per minute
	}{
		{"no samples at rest", flat, 0, 0, 0, 0},
		{"exact line", line, 20, 0.5, 0, 1e-9},
		{"line with residuals", noisy, 20, 0.5, 0.01, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Summarize(tt.samples)
			if tr.Samples != 40 {
				t.Errorf("periodic samples %d, want 40 (samples at rest counted apart)", tr.Samples)
			}
			if tr.LiveMax-tr.LiveMin != 20*mib {
				t.Errorf("periodic live range %d..%d: samples at rest mixed in", tr.LiveMin, tr.LiveMax)
			}
			if tr.RestSamples != tt.rest {
				t.Fatalf("samples at rest in the second half %d, want %d", tr.RestSamples, tt.rest)
			}
			got, se := tr.RestLiveSlope/mib, tr.RestLiveSlopeSE/mib
			if d := got - tt.slope; d > 0.02 || d < -0.02 {
				t.Errorf("slope at rest %.4f MiB/min, want %.4f", got, tt.slope)
			}
			if se < tt.seMin || se > tt.seMax {
				t.Errorf("standard error %.4f MiB/min, want in [%g, %g]", se, tt.seMin, tt.seMax)
			}
		})
	}
}
