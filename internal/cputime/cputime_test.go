package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessGrows: burning CPU for a while makes the reading grow, where the platform reports
// it.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no process CPU time on " + runtime.GOOS)
	}
	before := Process()
	x := uint64(1)
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if after := Process(); after <= before {
		t.Fatalf("CPU time went from %v to %v over 50 ms of work (x=%d)", before, after, x)
	}
}
