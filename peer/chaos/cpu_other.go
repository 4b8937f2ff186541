//go:build !unix

package chaos

import "time"

// processCPU returns zero: the platform's process CPU time is not read here.
func processCPU() time.Duration { return 0 }
