package dht

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// rssBytes returns the process's resident set size from /proc/self/statm (0 elsewhere).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func heapInuse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkLookup mirrors the anchor's dht-bench: a testnet of N nodes on loopback, one node
// announces a topic, lookups from random other nodes one after another. It reports the time until
// Lookup returns (p50-ms, p99-ms: it ends once RecordQuorum nodes returned records), the time to
// the first reply carrying the record (first-*), hops and requests per lookup, and memory per
// node. Each iteration also runs, from another random node, a lookup that ends the precise way (the
// k closest nodes answered, as the anchor's "query finished"), reported as full-*.
func BenchmarkLookup(b *testing.B) {
	for _, size := range []int{200, 1000} {
		b.Run(fmt.Sprintf("N=%d", size), func(b *testing.B) {
			heap0, rss0 := heapInuse(), rssBytes()
			start := time.Now()
			ctx := context.Background()
			tn, err := StartTestnet(ctx, size)
			if err != nil {
				b.Fatal(err)
			}
			defer tn.Close()
			build := time.Since(start)
			heap1, rss1 := heapInuse(), rssBytes()
			rng := rand.New(rand.NewPCG(uint64(size), 42))
			topic := TopicOf("auction-topic")
			ann := rng.IntN(size)
			t0 := time.Now()
			if err := tn.Nodes[ann].Announce(ctx, topic, addrs(7)); err != nil {
				b.Fatal(err)
			}
			announce := time.Since(t0)
			// RTT: median of pings to random nodes.
			var rtts []time.Duration
			for range 50 {
				a, _ := tn.Nodes[rng.IntN(size)].LocalAddr()
				from := tn.Nodes[rng.IntN(size)]
				t0 := time.Now()
				if rep, err := from.roundTrip(ctx, &request{req: wire.DHTRequest{Kind: wire.DHTPing}, to: a, timeout: time.Second}); err == nil && rep != nil {
					rtts = append(rtts, time.Since(t0))
				}
			}
			slices.Sort(rtts)
			var durs, firsts, fulls []time.Duration
			var fullMsgs []int
			var hops, msgs []int
			misses := 0
			b.ResetTimer()
			for b.Loop() {
				i := rng.IntN(size)
				if i == ann {
					i = (i + 1) % size
				}
				res, err := tn.Nodes[i].lookup(ctx, wire.DHTGetRecords, ID(topic), nil, RecordQuorum)
				if err != nil || len(res.records) != 1 {
					misses++
				}
				if os.Getenv("DHTDIAG") != "" && (res.stats.duration > 20*time.Millisecond || err != nil || len(res.records) != 1) {
					b.Logf("slow lookup: recs %d err %v %+v", len(res.records), err, res.stats)
				}
				durs = append(durs, res.stats.duration)
				firsts = append(firsts, res.stats.firstHit)
				// A lookup that ends the precise way, from another node, interleaved so that
				// both kinds see the same load.
				j := rng.IntN(size)
				if j == ann {
					j = (j + 1) % size
				}
				full, err := tn.Nodes[j].lookup(ctx, wire.DHTGetRecords, ID(topic), nil, 0)
				if err != nil || len(full.records) != 1 {
					misses++
				}
				fulls = append(fulls, full.stats.duration)
				fullMsgs = append(fullMsgs, full.stats.requests)
				hops = append(hops, res.stats.hops)
				msgs = append(msgs, res.stats.requests)
			}
			b.StopTimer()
			slices.Sort(fulls)
			slices.Sort(fullMsgs)
			slices.Sort(firsts)
			slices.Sort(durs)
			slices.Sort(hops)
			slices.Sort(msgs)
			pctOf := func(d []time.Duration, p float64) time.Duration { return d[min(len(d)-1, int(float64(len(d))*p))] }
			pct := func(p float64) time.Duration { return pctOf(durs, p) }
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(pct(0.5)), "p50-ms")
			b.ReportMetric(ms(pct(0.99)), "p99-ms")
			b.ReportMetric(float64(hops[len(hops)/2]), "hops-p50")
			b.ReportMetric(float64(hops[len(hops)-1]), "hops-max")
			b.ReportMetric(float64(msgs[len(msgs)/2]), "msgs-p50")
			b.ReportMetric(float64(msgs[len(msgs)*99/100]), "msgs-p99")
			b.ReportMetric(ms(pctOf(firsts, 0.5)), "first-p50-ms")
			b.ReportMetric(ms(pctOf(firsts, 0.99)), "first-p99-ms")
			b.ReportMetric(ms(pctOf(fulls, 0.5)), "full-p50-ms")
			b.ReportMetric(ms(pctOf(fulls, 0.99)), "full-p99-ms")
			b.ReportMetric(float64(fullMsgs[len(fullMsgs)/2]), "full-msgs-p50")
			b.ReportMetric(float64(misses), "misses")
			b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(size)/1024, "heapKB/node")
			b.ReportMetric(float64(int64(rss1)-int64(rss0))/float64(size)/1024, "rssKB/node")
			if len(rtts) > 0 {
				b.ReportMetric(float64(pct(0.5))/float64(rtts[len(rtts)/2]), "p50/rtt")
				b.ReportMetric(ms(rtts[len(rtts)/2]), "rtt-ms")
			}
			b.ReportMetric(float64(build.Milliseconds()), "build-ms")
			b.ReportMetric(ms(announce), "announce-ms")
			var tab []int
			for _, n := range tn.Nodes {
				tab = append(tab, n.Size())
			}
			slices.Sort(tab)
			b.ReportMetric(float64(tab[len(tab)/2]), "table-p50")
		})
	}
}
