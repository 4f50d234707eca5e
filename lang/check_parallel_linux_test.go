package lang

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the CPU time of the calling thread (thread) or of the
// process (all threads).
func cpuTime(tb testing.TB, thread bool) time.Duration {
	clock := int32(unix.CLOCK_PROCESS_CPUTIME_ID)
	if thread {
		clock = unix.CLOCK_THREAD_CPUTIME_ID
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkCheckSplitCPU checks the 100k-route recipe with and without
// the second goroutine and reports the CPU time of the walk's goroutine
// (locked to its thread; the decoder runs on another), which is what the
// check takes when the second core is idle, and of the whole process:
// wall time on the shared 2-core machine is too noisy to tell.
func BenchmarkCheckSplitCPU(b *testing.B) {
	f := mustParse(b, bulkSrc(100000))
	eachSplit(b, func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		runtime.GC()
		walk, all := cpuTime(b, true), cpuTime(b, false)
		b.ResetTimer()
		for range b.N {
			if ds := Check(f, CheckOptions{}); len(ds) != 0 {
				b.Fatal(ds)
			}
		}
		b.StopTimer()
		walk, all = cpuTime(b, true)-walk, cpuTime(b, false)-all
		b.ReportMetric(float64(walk.Nanoseconds())/float64(b.N), "walk-cpu-ns/op")
		b.ReportMetric(float64(all.Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}
