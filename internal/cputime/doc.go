// Package cputime reads the CPU time of the running process, for benchmarks and harnesses
// that report how many cores a piece of work kept busy.
package cputime
