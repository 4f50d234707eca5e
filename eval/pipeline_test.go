package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/lang"
)

// withBatchMax runs f with batches of n wants, so that every few queued
// statements go through the pipeline (pipeline.go).
func withBatchMax(t *testing.T, n int, f func(t *testing.T)) {
	old := batchMax
	batchMax = n
	defer func() { batchMax = old }()
	f(t)
}

// TestPipelineSameResults runs the batching tests and every evaluator
// script with batches of 2 and 3 wants: the pipeline then applies
// batches while the evaluation goes on throughout, and every output,
// change line, error, final state and rollback must be exactly what the
// scripts expect (run with -race, as .ci does not: go test -race ./eval).
func TestPipelineSameResults(t *testing.T) {
	for _, n := range []int{2, 3} {
		withBatchMax(t, n, func(t *testing.T) {
			t.Run(fmt.Sprint("batch", n), func(t *testing.T) {
				t.Run("FailureNamesStatement", TestBatchFailureNamesStatement)
				t.Run("Order", TestBatchOrder)
				t.Run("EarlierFailureWins", TestBatchEarlierFailureWins)
				t.Run("FailAfterRoutes", TestBatchFailAfterRoutes)
				t.Run("Scripts", TestScripts)
			})
		})
	}
}

// TestStreamSameResults runs every evaluator script on a model that takes
// route batches, as kernel.Netlink does, so that routes and neighbours go
// through a txn.Stream (stream.go), in hand-offs of 1, 2, 3 and the
// default number of wants: every output, change line, error, final
// state and rollback must be exactly what the scripts expect.
func TestStreamSameResults(t *testing.T) {
	scriptsStream = true
	defer func() { scriptsStream = false }()
	for _, n := range []int{1, 2, 3, batchMax} {
		withBatchMax(t, n, func(t *testing.T) {
			t.Run(fmt.Sprint("handoff", n), TestScripts)
		})
	}
}

// slowBatcher is a model taking route batches that counts how many are
// in flight at once and can fail the batch holding a given destination.
type slowBatcher struct {
	*kernel.Model
	inFlight, maxInFlight atomic.Int32
	batches               atomic.Int32 // of adds
	failDst               string
	gate                  chan struct{} // when set, each batch waits for a token
}

func (b *slowBatcher) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for {
		m := b.maxInFlight.Load()
		if n <= m || b.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if len(ops) > 0 && !ops[0].Del {
		b.batches.Add(1) // batches of adds (a rollback sends deletes)
	}
	if b.gate != nil {
		<-b.gate
	}
	return ktest.RouteOps(b.Model, ns, ops, func(o kernel.RouteOp) bool {
		return b.failDst != "" && o.Route.Dst.String() == b.failDst
	})
}

// TestPipelineOverlaps: with a kernel whose batches wait for the test,
// the evaluation gets ahead of the batch in flight — it queues the next
// batch and builds the one after (the pipeline really runs beside it) —
// and still only one batch is ever applied at a time.
func TestPipelineOverlaps(t *testing.T) {
	withBatchMax(t, 10, func(t *testing.T) {
		k := &slowBatcher{Model: kernel.NewModel(), gate: make(chan struct{})}
		src := "for i in range(100) <\n    let tick = env(\"TICK\")\n    route blackhole 10.0.${i}.0/24 table 100\n>\n"
		f, err := lang.Parse("p.nets", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var evaluated atomic.Int32
		o := testOptions(t, k, nil)
		o.Getenv = func(string) (string, bool) { evaluated.Add(1); return "1", true }
		done := make(chan error, 1)
		var res *Result
		go func() {
			var err error
			res, err = Run(context.Background(), f, o)
			done <- err
		}()
		// Batch 1 (statements 1-10) is held in the kernel; batch 2 waits
		// in the pipeline's queue; the evaluation is building batch 3.
		waitFor(t, func() bool { return k.batches.Load() == 1 && evaluated.Load() > 20 })
		for range 10 {
			k.gate <- struct{}{}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != 100 || k.maxInFlight.Load() != 1 || k.batches.Load() != 10 {
			t.Fatalf("%d changes, %d batches, %d in flight at once; want 100, 10, 1", len(res.Changes), k.batches.Load(), k.maxInFlight.Load())
		}
	})
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPipelineFailureStops: a batch the kernel refuses in the middle of a
// long recipe fails the run at the refused statement's line, the batches
// queued behind it are not applied, the evaluation stops, and everything
// is rolled back.
func TestPipelineFailureStops(t *testing.T) {
	withBatchMax(t, 16, func(t *testing.T) {
		k := &slowBatcher{Model: kernel.NewModel(), failDst: "10.1.44.0/24"}
		before := k.Model.Dump(kernel.Host)
		var b strings.Builder
		for i := range 2000 {
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 100\n", i/256, i%256)
		}
		b.WriteString("print \"never\"\n")
		f, err := lang.Parse("p.nets", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res, err := Run(context.Background(), f, testOptions(t, k, &out))
		var ee *Error
		if !errors.As(err, &ee) || ee.Diagnostic.Pos.Line != 256+44+1 {
			t.Fatalf("Run = %v, want the refusal at line %d", err, 256+44+1)
		}
		if len(res.Changes) != 300 || ee.Undone != 300 {
			t.Errorf("%d changes, %d undone; want 300", len(res.Changes), ee.Undone)
		}
		if strings.Contains(out.String(), "never") {
			t.Error("the evaluation went past the failure")
		}
		// Batches of 16: the refused one is the 19th; at most the
		// queued one behind it and the one being built may have been
		// handed off, and none of them applied.
		if got := k.batches.Load(); got > 19 {
			t.Errorf("%d batches reached the kernel, want 19", got)
		}
		if after := k.Model.Dump(kernel.Host); after != before {
			t.Errorf("state after the rollback:\n%s\nwant:\n%s", after, before)
		}
	})
}

// TestConsume: with Options.Consume a run releases each top-level
// statement's tree once it ran — the results are those of a run without
// it, f.Stmts is cleared, and by the last change most of the tree is
// garbage (the live heap is smaller by at least half of it).
func TestConsume(t *testing.T) {
	const n = 20000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 100\n", i/256, i%256)
	}
	b.WriteString("print \"done\"\n")
	src := []byte(b.String())
	heapAtEnd := func(consume bool) (uint64, string, *lang.File) {
		f, err := lang.Parse("c.nets", src)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		o := testOptions(t, kernel.NewModel(), &out)
		o.Consume = consume
		var heap uint64
		count := 0
		o.OnChange = func(c kernel.Change) {
			fmt.Fprintln(&out, FormatChange(c))
			if count++; count == n {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = ms.HeapAlloc
			}
		}
		if _, err := Run(context.Background(), f, o); err != nil {
			t.Fatal(err)
		}
		return heap, out.String(), f
	}
	// Small batches: the statements of the batches in flight at the last
	// change are still held, and with batches of 8192 they would be
	// most of this recipe.
	var keep, free uint64
	var outKeep, outFree string
	var fc *lang.File
	withBatchMax(t, 512, func(t *testing.T) {
		keep, outKeep, _ = heapAtEnd(false)
		free, outFree, fc = heapAtEnd(true)
	})
	// The tree's size: the live heap with a parsed copy held, less
	// without it (both after collections, so what earlier runs left
	// does not count).
	tree := func() int64 {
		f, _ := lang.Parse("c.nets", src)
		with := heapOf(t)
		runtime.KeepAlive(f)
		return int64(with)
	}() - int64(heapOf(t))
	if tree < 1<<20 {
		t.Fatalf("the parsed tree measured %d KB", tree>>10)
	}
	if outFree != outKeep {
		t.Fatalf("output with Consume differs")
	}
	for i, s := range fc.Stmts {
		if s != nil {
			t.Fatalf("statement %d kept", i)
		}
	}
	if int64(free)+tree/2 > int64(keep) {
		t.Errorf("live heap at the last change: %d KB with Consume, %d KB without; the tree is %d KB", free>>10, keep>>10, tree>>10)
	}
	t.Logf("live heap at the last change: %d KB with Consume, %d KB without; the tree is %d KB", free>>10, keep>>10, tree>>10)
}

// heapOf returns the live heap after collections.
func heapOf(t *testing.T) uint64 {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
