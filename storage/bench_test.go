package storage

import (
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/transparency-dev/merkle/compact"
)

const benchEntry = 200 // bytes

func benchEntries(n int) [][]byte {
	es := make([][]byte, n)
	for i := range es {
		e := make([]byte, benchEntry)
		copy(e, entry(i))
		es[i] = e
	}
	return es
}

func openB(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkAppendSingle: one durable append (one fsync) of one 200-byte entry per op.
func BenchmarkAppendSingle(b *testing.B) {
	s := openB(b)
	e := benchEntries(1)[0]
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Own().Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAppendBatch256: one Append call of 256 entries per op.
func BenchmarkAppendBatch256(b *testing.B) {
	s := openB(b)
	es := benchEntries(256)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := s.Own().Append(ctx, es...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAppendConcurrent64: 64 goroutines appending single entries, group-committed.
func BenchmarkAppendConcurrent64(b *testing.B) {
	s := openB(b)
	e := benchEntries(1)[0]
	ctx := context.Background()
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.Own().Append(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAppendConcurrent64x256: 64 goroutines each appending batches of 256 entries.
func BenchmarkAppendConcurrent64x256(b *testing.B) {
	s := openB(b)
	es := benchEntries(256)
	ctx := context.Background()
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.Own().Append(ctx, es...); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "entries/s")
}

const benchLogSize = 100_000

// fillOwn appends benchLogSize entries in batches of MaxAppendEntries.
func fillOwn(b *testing.B, s *Store) {
	b.Helper()
	es := benchEntries(benchLogSize)
	for off := 0; off < len(es); off += MaxAppendEntries {
		if _, _, err := s.Own().Append(context.Background(), es[off:min(off+MaxAppendEntries, len(es))]...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRangeRead: reads of MaxRange entries from a 100,000-entry log.
func BenchmarkRangeRead(b *testing.B) {
	s := openB(b)
	fillOwn(b, s)
	l := s.Own()
	var start uint64
	n := 0
	for b.Loop() {
		es, err := l.Range(start, start+MaxRange)
		if err != nil {
			b.Fatal(err)
		}
		n += len(es)
		start = (start + MaxRange) % (benchLogSize - MaxRange)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkRootAt: the Merkle root at a random length of a 100,000-entry log, built from the
// stored nodes (O(log n) reads): what checking a peer's shorter head costs the first time.
// Random lengths almost never hit the store's memory of prefix roots (at most maxRootMemo of
// the 100,000 lengths); BenchmarkRootAtRemembered measures a hit.
func BenchmarkRootAt(b *testing.B) {
	s := openB(b)
	fillOwn(b, s)
	l := s.Own()
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := l.RootAt(1 + rng.Uint64N(benchLogSize-1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRootAtRemembered: the root at one of 16 lengths of a 100,000-entry log, asked again
// and again, as heads exchanges ask for the prefixes the market's peers hold.
func BenchmarkRootAtRemembered(b *testing.B) {
	s := openB(b)
	fillOwn(b, s)
	l := s.Own()
	var i uint64
	for b.Loop() {
		if _, err := l.RootAt(1 + (i%16)*6151); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerify100k: full verification of a 100,000-entry log (re-hash every entry, check
// every stored node and the signed root).
func BenchmarkVerify100k(b *testing.B) {
	s := openB(b)
	fillOwn(b, s)
	for b.Loop() {
		if err := s.Own().Verify(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchLogSize)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkOpen100k: reopening a folder holding a 100,000-entry log (nutsdb index rebuild,
// tail scan, last-commit verification).
func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	fillOwn(b, s)
	_ = s.Close()
	for b.Loop() {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}

// BenchmarkImport100k: verified replica import of 100,000 entries in ranges of 4096, each with
// a head signed at its end. Reports entries/s, heap bytes and disk bytes per 100,000 entries.
func BenchmarkImport100k(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	w := &writer{priv: priv, entries: benchEntries(benchLogSize)}
	// Heads at each range end, signed once outside the timer.
	r := rf.NewEmptyRange(0)
	heads := map[int]wire.SignedHead{}
	for i, e := range w.entries {
		_ = r.Append(hasher.HashLeaf(e), nil)
		if (i+1)%MaxRange == 0 || i+1 == len(w.entries) {
			heads[i+1] = wire.SignHead(priv, wire.Head{Key: w.key(), Length: uint64(i + 1), Root: rootOf(r)})
		}
	}
	var heapPer, diskPer float64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		for off := 0; off < benchLogSize; off += MaxRange {
			end := min(off+MaxRange, benchLogSize)
			if _, err := s.Import(context.Background(), heads[end], uint64(off), w.entries[off:end]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		heapPer = float64(int64(m1.HeapAlloc) - int64(m0.HeapAlloc))
		diskPer = float64(diskUsage(dir))
		_ = s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchLogSize)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(heapPer, "heapB/100k")
	b.ReportMetric(heapPer/benchLogSize, "heapB/entry")
	b.ReportMetric(diskPer, "diskB/100k")
}

// diskUsage returns the allocated bytes of the files in dir (st_blocks, so the preallocated
// sparse tail of a nutsdb segment does not count).
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += allocated(fi)
		}
		return nil
	})
	return total
}

func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// importSource is a replica log of benchmark entries whose heads are signed in chunks, outside
// the timer, as a benchmark consumes them.
type importSource struct {
	priv    ed25519.PrivateKey
	key     wire.PeerKey
	rng     *compact.Range
	entries [][]byte
	heads   []wire.SignedHead // heads[i] ends at length i+1
}

func newImportSource(b *testing.B) *importSource {
	b.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	return &importSource{priv: priv, key: wire.KeyOf(priv), rng: rf.NewEmptyRange(0)}
}

// at returns the head ending at length i+1 and entry i, signing another chunk when needed.
func (src *importSource) at(b *testing.B, i int) (wire.SignedHead, []byte) {
	const chunk = 1024
	for i >= len(src.heads) {
		b.StopTimer()
		for range chunk {
			e := make([]byte, benchEntry)
			copy(e, entry(len(src.entries)))
			_ = src.rng.Append(hasher.HashLeaf(e), nil)
			src.entries = append(src.entries, e)
			src.heads = append(src.heads, wire.SignHead(src.priv, wire.Head{Key: src.key, Length: uint64(len(src.entries)), Root: rootOf(src.rng)}))
		}
		b.StartTimer()
	}
	return src.heads[i], src.entries[i]
}

// reportLatency reports the 50th and 99th percentile of ds in microseconds.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), "p50-us")
	b.ReportMetric(q(0.99), "p99-us")
}

// BenchmarkImportSingle: verified import of one replica entry per op (a range of 1 entry with a
// head signed at its end), the common case of live propagation. Reports per-import latency
// percentiles.
func BenchmarkImportSingle(b *testing.B) {
	s := openB(b)
	src := newImportSource(b)
	ctx := context.Background()
	var ds []time.Duration
	i := 0
	for b.Loop() {
		h, e := src.at(b, i)
		t0 := time.Now()
		if _, err := s.Import(ctx, h, uint64(i), [][]byte{e}); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		i++
	}
	reportLatency(b, ds)
}

// BenchmarkImportSingleParallel: like BenchmarkImportSingle, but 4 goroutines per GOMAXPROCS (8
// on 2 cores) each import one entry per op into a log of its own (many peers' logs arriving at
// once). ns/op is per import across all goroutines; the percentiles are per import.
func BenchmarkImportSingleParallel(b *testing.B) {
	const perProc = 4
	s := openB(b)
	ctx := context.Background()
	// Sign twice each goroutine's fair share of heads before the timer: stopping the shared
	// timer while other goroutines import would under-count the time.
	srcs := make(chan *importSource, perProc*runtime.GOMAXPROCS(0))
	for range cap(srcs) {
		src := newImportSource(b)
		src.at(b, 2*b.N/cap(srcs))
		srcs <- src
	}
	var mu sync.Mutex // guards all and the shared timer (signing a chunk stops it)
	var all []time.Duration
	b.SetParallelism(perProc)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		src := <-srcs
		var ds []time.Duration
		i := 0
		for pb.Next() {
			if i >= len(src.heads) {
				mu.Lock()
				src.at(b, i)
				mu.Unlock()
			}
			h, e := src.heads[i], src.entries[i]
			t0 := time.Now()
			if _, err := s.Import(ctx, h, uint64(i), [][]byte{e}); err != nil {
				b.Error(err)
				return
			}
			ds = append(ds, time.Since(t0))
			i++
		}
		mu.Lock()
		all = append(all, ds...)
		mu.Unlock()
	})
	reportLatency(b, all)
}

// liveHeap returns the bytes of live heap objects after a forced collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkHeapPerEntry: the live heap a store keeps per stored entry (after GC), for a replica
// filled by imports of one entry each (live propagation, as in the chaos soak) and for the own
// log filled by appends of 16 entries each. One op fills a fresh store with heapEntries
// entries; ns/op is the time for that.
func BenchmarkHeapPerEntry(b *testing.B) {
	const heapEntries = 20_000
	b.Run("import1", func(b *testing.B) {
		var per, disk float64
		for b.Loop() {
			b.StopTimer()
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			src := newImportSource(b)
			src.at(b, heapEntries-1)
			h0 := liveHeap()
			b.StartTimer()
			for i := range heapEntries {
				if _, err := s.Import(context.Background(), src.heads[i], uint64(i), src.entries[i:i+1]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			per = float64(liveHeap()-h0) / heapEntries
			runtime.KeepAlive(src) // its entries and heads were in h0
			disk = float64(diskUsage(s.Dir())) / heapEntries
			_ = s.Close()
			b.StartTimer()
		}
		b.ReportMetric(per, "heapB/entry")
		b.ReportMetric(disk, "diskB/entry")
	})
	b.Run("reopen", func(b *testing.B) {
		// A store holding heapEntries entries (a replica imported one entry at a time and
		// the own log appended 16 at a time), closed and opened again: what the index
		// rebuilt from the data files keeps.
		dir := b.TempDir()
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		src := newImportSource(b)
		src.at(b, heapEntries-1)
		for i := range heapEntries {
			if _, err := s.Import(context.Background(), src.heads[i], uint64(i), src.entries[i:i+1]); err != nil {
				b.Fatal(err)
			}
		}
		es := benchEntries(heapEntries)
		for off := 0; off < heapEntries; off += 16 {
			if _, _, err := s.Own().Append(context.Background(), es[off:off+16]...); err != nil {
				b.Fatal(err)
			}
		}
		_ = s.Close()
		var per float64
		for b.Loop() {
			h0 := liveHeap()
			s, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			per = float64(liveHeap()-h0) / (2 * heapEntries)
			_ = s.Close()
		}
		b.ReportMetric(per, "heapB/entry")
	})
	b.Run("append16", func(b *testing.B) {
		es := benchEntries(heapEntries)
		var per float64
		for b.Loop() {
			b.StopTimer()
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			h0 := liveHeap()
			b.StartTimer()
			for off := 0; off < heapEntries; off += 16 {
				if _, _, err := s.Own().Append(context.Background(), es[off:off+16]...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			per = float64(liveHeap()-h0) / heapEntries
			runtime.KeepAlive(es)
			_ = s.Close()
			b.StartTimer()
		}
		b.ReportMetric(per, "heapB/entry")
	})
}

// BenchmarkHeapPerStore: the live heap (after GC) an open, empty Store keeps, in bytes: the
// fixed cost of a peer's storage (two nutsdb databases with their commit buffers, indexes and
// timer wheels). One op opens and closes a store.
func BenchmarkHeapPerStore(b *testing.B) {
	var per float64
	for b.Loop() {
		dir := b.TempDir()
		h0 := liveHeap()
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		per = float64(liveHeap() - h0)
		runtime.KeepAlive(s)
		_ = s.Close()
	}
	b.ReportMetric(per, "heapB/store")
}
