//go:build race

package main

// raceEnabled builds the subprocess binary with the race detector too.
const raceEnabled = true
