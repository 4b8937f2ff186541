package rpc

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/internal/cputime"
)

// BenchmarkEchoSequential measures one 100-byte echo request at a time over one connection on
// loopback (the anchor's "sequential 5,000 x 100 B"), reporting the p50 and p99 latency.
func BenchmarkEchoSequential(b *testing.B) {
	a, srv := pair(b)
	payload := make([]byte, 100)
	ctx := b.Context()
	for range 500 { // warm-up, as the anchor does
		if _, err := a.Request(ctx, srv.Key(), "echo", payload); err != nil {
			b.Fatal(err)
		}
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for range b.N {
		start := time.Now()
		if _, err := a.Request(ctx, srv.Key(), "echo", payload); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	slices.Sort(durs)
	b.ReportMetric(float64(pct(durs, 50).Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(pct(durs, 99).Nanoseconds())/1e3, "p99-us")
}

// reportCPU reports the process CPU time (both endpoints, all goroutines) per request, which the
// load of other processes on a shared machine disturbs less than wall-clock figures.
func reportCPU(b *testing.B, since time.Duration) {
	if c := cputime.Process(); c > 0 {
		b.ReportMetric(float64((c-since).Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
	}
}

// BenchmarkEchoInFlight64 measures throughput with 64 100-byte echo requests in flight over one
// connection (the anchor's "64 in flight"), reporting requests per second and the per-request
// latency percentiles.
func BenchmarkEchoInFlight64(b *testing.B) {
	const inFlight = 64
	// The caller rate limit is off: this measures what the transport can carry, well above
	// DefaultCallerRate.
	a, srv := pair(b, WithCallerRate(0, 0))
	payload := make([]byte, 100)
	ctx := b.Context()
	for range 500 {
		if _, err := a.Request(ctx, srv.Key(), "echo", payload); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var mu sync.Mutex
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := cputime.Process()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			local := make([]time.Duration, 0, b.N/inFlight+1)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := a.Request(ctx, srv.Key(), "echo", payload); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			durs = append(durs, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	reportCPU(b, cpu0)
	slices.Sort(durs)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(pct(durs, 50).Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(pct(durs, 99).Nanoseconds())/1e3, "p99-us")
}

// pct returns the nearest-rank percentile p of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}
