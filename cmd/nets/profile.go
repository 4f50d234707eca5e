package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile into the file named by
// NETS_CPUPROFILE, when set, and returns the function that stops it. It
// is for developers measuring bulk runs (bench/README.md): a profile of
// the whole command — parse, check, evaluation, kernel — which the Go
// benchmarks, each measuring one layer, do not give.
func startProfile(getenv func(string) (string, bool), stderr *os.File) func() {
	path, ok := getenv("NETS_CPUPROFILE")
	if !ok || path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "nets: NETS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "nets: NETS_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
