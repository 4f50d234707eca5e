package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The collector's setting for the nets command. A run of a 100k-route
// recipe allocates about 220 MB while its live heap stays under about
// 100 MB; with Go's default (GOGC=100: collect when the heap has doubled)
// it spent a fifth of its CPU time collecting, and every collection also
// costs page faults: while the collector marks, the write barrier reads
// each pointer slot before writing it, so fresh heap pages are first
// mapped to the kernel's zero page and then copied on the write, with a
// TLB shootdown of the other core each time (perf: 6 % of a run's CPU).
// nets is a command that runs once and exits, on machines where a couple
// of hundred MB is not much but is not nothing, so it does not collect at
// all while the heap is small and collects at a steady pace once it is
// big:
//
//   - GOGC=off (gcPercent): no collection because the heap grew;
//   - a soft memory limit (debug.SetMemoryLimit) of gcFloor, raised after
//     every collection to 1.5 times the live heap when that is more (and
//     never lowered, see raiseGCLimit): the
//     process collects only when its memory reaches gcFloor, and a big
//     live heap (a recipe of millions of routes) is collected about as
//     often as with GOGC=50 — each collection frees at least a third of
//     the limit, so the limit never makes the collector thrash. (Roughly:
//     the limit counts all of the runtime's memory, not only the heap,
//     and follows the live heap one collection late.) With twice the live
//     heap, a failing 100k-route run (add, then roll back: about 90 MB
//     live) peaked at 178–194 MiB; with 1.5 times, at 178 MiB every time,
//     in the same time.
//
// Measured on 100k routes (2 cores): 4 collections with GOGC=300 under
// the same limit (two of them while parsing, when everything allocated
// is live), 2 with GOGC off; CPU 1.22–1.44 s with Go's default, 0.94–1.28 s
// with GOGC=300, and 3–11 % less than that with GOGC off (medians of
// 9–11 alternating runs, four comparisons); peak RSS below 180 MB.
// Recipes that allocate less than the floor are never collected. GOGC or
// GOMEMLIMIT in the environment turn all of this off: the operator's
// setting wins.
const (
	gcPercent = -1 // off
	gcFloor   = 176 << 20
)

// tuneGC applies the policy above unless the environment sets GOGC or
// GOMEMLIMIT. It returns the function that stops raising the limit
// (tests; the command keeps the policy until it exits).
func tuneGC(getenv func(string) (string, bool)) (stop func()) {
	if _, ok := getenv("GOGC"); ok {
		return func() {}
	}
	if _, ok := getenv("GOMEMLIMIT"); ok {
		return func() {}
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcFloor)
	stopped := new(atomic.Bool)
	armGCHook(stopped)
	return func() { stopped.Store(true) }
}

// armGCHook runs raiseGCLimit after the next collection, and re-arms
// itself until stopped: a cleanup of an object nothing references runs
// once the collector has found it unreachable. (The runtime has no hook
// called after each collection; this is the usual way to get one.)
func armGCHook(stopped *atomic.Bool) {
	runtime.AddCleanup(new(gcSentinel), func(struct{}) {
		if stopped.Load() {
			return
		}
		raiseGCLimit()
		armGCHook(stopped)
	}, struct{}{})
}

// gcSentinel is the object armGCHook lets go. It holds a pointer so that
// it is not a tiny allocation, which the runtime may batch with other
// objects that stay reachable (a cleanup would then never run).
type gcSentinel struct{ _ *byte }

// liveHeap is the runtime metric of the heap the last collection found
// live.
var liveHeap = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// raiseGCLimit raises the memory limit to 1.5 times the live heap when
// that is above the limit (see the policy above). It never lowers it: the
// limit counts the memory the runtime has mapped, which stays mapped when
// the live heap shrinks (a big recipe's syntax tree freed statement by
// statement leaves partly used spans), and a limit below that would make
// the collector run back to back. In review, 8M small objects of which
// two thirds were then dropped, followed by 2 GB of short-lived garbage:
// 110 collections and 4.5 s with a limit that followed the live heap
// down, 14 and 1.0 s with one never lowered, 7 and 0.7 s with Go's
// default (and no limit at all).
func raiseGCLimit() {
	metrics.Read(liveHeap)
	if liveHeap[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if want := 3 * int64(liveHeap[0].Value.Uint64()) / 2; want > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(want)
	}
}
