//go:build race

package storage

// raceEnabled reports a -race build: the crash test then defaults to fewer crashes.
const raceEnabled = true
