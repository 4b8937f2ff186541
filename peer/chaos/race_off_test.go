//go:build !race

package chaos

// raceEnabled reports a -race build: the engine runs 5 to 10 times slower under the race detector.
const raceEnabled = false
