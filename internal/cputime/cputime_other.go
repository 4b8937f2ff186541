//go:build !unix

package cputime

import "time"

// Process returns zero: the process's CPU time is not read on this platform.
func Process() time.Duration { return 0 }
