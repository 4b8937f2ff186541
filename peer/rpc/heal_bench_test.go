package rpc

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/faultnet"
)

// BenchmarkHealDetection measures how long a call between two peers takes when it is made just
// after a partition between them heals, by partition length and by how often calls went out
// during the partition (every call has a 2 s deadline, as the engine's exchanges and fetches have
// about). The connection is kept across the partition, as QUIC keeps it (no packet says it is
// gone), so what it measures is QUIC's loss recovery: calls sent into the partition fill the
// congestion window with lost packets, and the probe timeout doubles for every probe that went
// unanswered, so a call made after the heal may wait for the next probe. It reports, in ms, the
// median and the maximum over the heals of two times: "fresh", from the heal to the answer of a
// call made just after it, and "stuck", from the heal to the first answer to a call made before
// it (sent into the partition: it is answered only once QUIC retransmits it).
//
//	go test -run '^$' -bench BenchmarkHealDetection -benchtime 20x ./peer/rpc
func BenchmarkHealDetection(b *testing.B) {
	for _, every := range []time.Duration{20 * time.Millisecond, 300 * time.Millisecond} {
		for _, cut := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond, 2400 * time.Millisecond} {
			b.Run(fmt.Sprintf("calls=%v/partition=%v", every, cut), func(b *testing.B) {
				benchHeal(b, every, cut)
			})
		}
	}
}

func benchHeal(b *testing.B, every, cut time.Duration) {
	net := faultnet.New(1)
	b.Cleanup(func() { net.Close() })
	x, y := pair(b, WithPacketConnWrapper(net.Wrap))
	if _, err := x.Request(b.Context(), y.Key(), "echo", nil); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	call := func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := x.Request(cctx, y.Key(), "echo", nil)
		return err
	}
	var mu sync.Mutex
	var healed time.Time      // the last heal
	var stuck []time.Duration // per heal: from the heal to the first answer to a call made before it
	wg.Go(func() {            // the background calls, each in its own goroutine
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sent := time.Now()
			wg.Go(func() {
				if call(ctx) != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if !healed.IsZero() && sent.Before(healed) {
					stuck = append(stuck, time.Since(healed))
					healed = time.Time{}
				}
			})
		}
	})
	var fresh []time.Duration
	for b.Loop() {
		net.Partition([]netip.AddrPort{x.Addr()}, []netip.AddrPort{y.Addr()})
		time.Sleep(cut) // the experiment's parameter, not a synchronisation
		mu.Lock()
		net.Heal()
		start := time.Now()
		healed = start
		mu.Unlock()
		for call(ctx) != nil { // a call that hits its deadline is made again
		}
		fresh = append(fresh, time.Since(start))
	}
	cancel()
	wg.Wait()
	report := func(d []time.Duration, name string) {
		if len(d) == 0 {
			return
		}
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-ms-median")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, name+"-ms-max")
	}
	report(fresh, "fresh")
	report(stuck, "stuck")
	b.ReportMetric(0, "ns/op")
}
