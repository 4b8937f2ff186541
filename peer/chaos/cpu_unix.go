//go:build unix

package chaos

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used so far (user and system, all threads),
// or zero where the platform does not report it.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
