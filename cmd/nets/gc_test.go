package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestTuneGC: without GOGC and GOMEMLIMIT in the environment nets sets
// its collector policy (gc.go); after a collection that finds a live heap
// bigger than two thirds of the floor the limit is 1.5 times the live
// heap; either variable turns the policy off.
func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}

	for _, set := range []string{"GOGC", "GOMEMLIMIT"} {
		tuneGC(env(map[string]string{set: "100"}))()
		if p := debug.SetGCPercent(100); p != 100 {
			t.Errorf("with %s set, GOGC became %d", set, p)
		}
		if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
			t.Errorf("with %s set, the memory limit became %d", set, l)
		}
	}

	stop := tuneGC(env(nil))
	defer stop() // before the settings are restored (defers run last first)
	if p := debug.SetGCPercent(-1); p != gcPercent {
		t.Fatalf("GOGC = %d, want %d", p, gcPercent)
	}
	debug.SetGCPercent(gcPercent)
	if l := debug.SetMemoryLimit(-1); l != gcFloor {
		t.Fatalf("memory limit = %d, want %d", l, gcFloor)
	}
	// A live heap of 1.5 × the floor: after a collection the limit must
	// follow it to 1.5 times its size.
	big := make([][]byte, 0, 64)
	for range 64 {
		big = append(big, make([]byte, gcFloor*3/2/64))
	}
	deadline := time.Now().Add(30 * time.Second)
	for debug.SetMemoryLimit(-1) < 3*int64(gcFloor*3/2)/2 {
		if time.Now().After(deadline) {
			t.Fatalf("memory limit %d after collections with %d MB live, want at least 1.5 times that", debug.SetMemoryLimit(-1)>>20, gcFloor*3/2>>20)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if l := debug.SetMemoryLimit(-1); l >= 2*int64(gcFloor*3/2) {
		t.Errorf("memory limit %d MB with %d MB live, want about 1.5 times that", l>>20, gcFloor*3/2>>20)
	}
	runtime.KeepAlive(big)

	// The heap freed again: the limit is not lowered (the memory stays
	// mapped; a lower limit would make the collector run back to back).
	raised := debug.SetMemoryLimit(-1)
	big = nil
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if l := debug.SetMemoryLimit(-1); l < raised {
		t.Errorf("memory limit lowered from %d to %d MB when the live heap shrank", raised>>20, l>>20)
	}

	// Stopped, the hook leaves the limit alone.
	stop()
	debug.SetMemoryLimit(math.MaxInt64)
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit %d MB after the hook was stopped", l>>20)
	}
}
