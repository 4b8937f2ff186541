package storage

import (
	"runtime"
	"testing"
	"time"

	"github.com/nutsdb/nutsdb"
)

// heapAfterGC returns the live heap in bytes after two forced collections.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestReopenNoLeak opens, fills and closes a store many times in one process: the goroutine
// count returns to where it was (nutsdb v1.1.0 keeps two writer goroutines per reopen,
// nutsdb issue #586, fixed by the patched copy in third_party/nutsdb) and the heap after GC does not grow with the reopens (each
// leaked writer kept its closed database, about 130 KiB, reachable).
func TestReopenNoLeak(t *testing.T) {
	const (
		warmup = 2
		cycles = 20
		// heapPerCycle bounds the heap growth per reopen in bytes: a leaked closed database
		// costs well over 100 KiB; what is left is noise of the runtime and the test.
		heapPerCycle = 16 << 10
	)
	dir := t.TempDir()
	w := newWriter(t, 300)
	cycle := func(i int) {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, s.Own(), i*10, 10)
		importAll(t, s, w, i*10, i*10+10)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range warmup {
		cycle(i)
	}
	goroutines := numGoroutine()
	heap0 := heapAfterGC()
	for i := warmup; i < warmup+cycles; i++ {
		cycle(i)
	}
	waitGoroutines(t, goroutines)
	// The heap check waits too: a closed database becomes garbage once the goroutines that
	// referenced it have returned, which waitGoroutines has seen.
	var heap1 uint64
	for deadline := time.Now().Add(5 * time.Second); ; {
		heap1 = heapAfterGC()
		if heap1 <= heap0+cycles*heapPerCycle || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not synchronisation
	}
	t.Logf("%d reopens: goroutines %d -> %d, heap after GC %d -> %d bytes (%+.0f bytes per reopen)",
		cycles, goroutines, numGoroutine(), heap0, heap1, (float64(heap1)-float64(heap0))/cycles)
	if heap1 > heap0+cycles*heapPerCycle {
		t.Errorf("heap grew %d bytes over %d reopens, bound %d per reopen", heap1-heap0, cycles, heapPerCycle)
	}
	s := openT(t, dir)
	checkLog(t, s.Own(), uint64((warmup+cycles)*10))
}

// TestNutsdbCloseStopsWriter checks that the build uses the patched nutsdb (go.mod replaces
// v1.1.0 with third_party/nutsdb): a bare nutsdb Open and Close leaves no goroutine behind.
func TestNutsdbCloseStopsWriter(t *testing.T) {
	before := numGoroutine()
	for range 3 {
		db, err := nutsdb.Open(nutsdb.DefaultOptions, nutsdb.WithDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, before)
}
