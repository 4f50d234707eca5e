package txn_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// faultBatcher passes a kernel's pipelined route batches through
// (kernel.RouteBatcher) and fails the failAt-th route op it is sent
// (counting across batches from 0): before sending it (the ops before it
// are sent), or with after, after the whole batch was sent, as when a
// pipelined request fails while later ones in the same batch succeed.
type faultBatcher struct {
	kernel.Kernel
	rb     kernel.RouteBatcher
	mu     sync.Mutex
	ops    int
	failAt int
	after  bool
	fired  bool
}

func (f *faultBatcher) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	f.mu.Lock()
	base := f.ops
	f.ops += len(ops)
	at := f.failAt - base
	fire := !f.fired && at >= 0 && at < len(ops)
	if fire {
		f.fired = true
	}
	f.mu.Unlock()
	if !fire {
		return f.rb.RouteBatch(ns, ops)
	}
	if f.after {
		if n, err := f.rb.RouteBatch(ns, ops); err != nil {
			return n, err
		}
		return at, fmt.Errorf("%w at route op %d", errInjected, f.failAt)
	}
	if n, err := f.rb.RouteBatch(ns, ops[:at]); err != nil {
		return n, err
	}
	return at, fmt.Errorf("%w at route op %d", errInjected, f.failAt)
}

// TestLiveBatchFaults: EnsureBatch of thousands of routes (replacing
// existing gateways and adding new routes, with address wants between
// groups), sent as pipelined batches, fails at chosen route ops — with
// and without the ops after it in the same batch reaching the kernel —
// and at chosen steps; the error names the failing want, and the
// rollback (itself pipelined) restores the exact state.
func TestLiveBatchFaults(t *testing.T) {
	const n = 5000
	// Chunks of 1000 routes, each one EnsureBatch call; chunks 1 and 3
	// start with an address want (a group of its own), so every route
	// goes through a pipelined batch and route op r is route want r.
	routes := childWants(n, 1000000)
	var chunks [][]kernel.Want
	wantOf := map[int][2]int{} // route op -> chunk, index in chunk
	for c := 0; c < n/1000; c++ {
		var ch []kernel.Want
		if c%2 == 1 {
			ch = append(ch, addr("", "p0", fmt.Sprintf("10.9.%d.1/32", 100+c)))
		}
		for r := c * 1000; r < (c+1)*1000; r++ {
			wantOf[r] = [2]int{c, len(ch)}
			ch = append(ch, routes[r])
		}
		chunks = append(chunks, ch)
	}
	stepOf := func(s int) [2]int { // changed step s -> chunk, index
		for c, ch := range chunks {
			if s < len(ch) {
				return [2]int{c, s}
			}
			s -= len(ch)
		}
		return [2]int{-1, -1}
	}
	points := []int{0, 1, 499, 999, 1000, 1001, 1999, 2500, 3000, 4999}
	type inj struct {
		name  string
		op    int
		after bool
		step  int
	}
	var injs []inj
	for _, p := range points {
		injs = append(injs, inj{fmt.Sprintf("op%d-before", p), p, false, -1}, inj{fmt.Sprintf("op%d-after", p), p, true, -1})
	}
	for _, s := range []int{0, 1, 1000, 1001, 2002, 5001} { // steps count the address wants too
		injs = append(injs, inj{fmt.Sprintf("step%d", s), -1, false, s})
	}
	// Each injection runs twice: with groups applied at once (ApplyAll)
	// and with groups prepared, journaled and sent chunk by chunk
	// through a kernel.Flight (chunks of 300: every group of 1000
	// routes is four runs in flight).
	for _, in := range injs {
		for _, flight := range []bool{false, true} {
			name := in.name
			if flight {
				name += "-flight"
			}
			t.Run(name, func(t *testing.T) {
				if flight {
					defer txn.SetFlightChunk(300)()
				}
				nk, ns := ktest.New(t)
				ensureAll(t, nk, crashPre(n))
				before := liveState(t, nk, ns, "")
				fb := &faultBatcher{Kernel: nk, rb: kernel.Kernel(nk).(kernel.RouteBatcher), failAt: in.op, after: in.after}
				if in.op < 0 {
					fb.failAt = -1
				}
				o := journalOpts(t)
				o.BeforeApply = func(i int, _ *kernel.Step) error {
					if i == in.step {
						return errInjected
					}
					return nil
				}
				tx := begin(t, fb, o)
				want := stepOf(in.step)
				if in.op >= 0 {
					want = wantOf[in.op]
				}
				var err error
				for c, ch := range chunks {
					if _, err = tx.EnsureBatch(ch); err != nil {
						var be *txn.BatchError
						if !errors.As(err, &be) || c != want[0] || be.Index != want[1] {
							t.Errorf("chunk %d: %v names want %d, want chunk %d want %d", c, err, be.Index, want[0], want[1])
						}
						break
					}
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("EnsureBatch: %v, want the injected failure", err)
				}
				if err := tx.Rollback(); err != nil {
					t.Fatalf("rollback: %v", err)
				}
				if d := diffLines(before, liveState(t, nk, ns, "")); d != "" {
					t.Fatalf("state after rollback differs:\n%s", d)
				}
			})
		}
	}
	t.Logf("batched injection points: %d, each with and without a Flight", len(injs))

	// Failures inside the pipelined undo: the rollback reports them and
	// keeps the journal; Recover then restores the exact state.
	undoPoints := 0
	for _, u := range []int{0, 1, 700, 2500, 4999} {
		for _, after := range []bool{false, true} {
			undoPoints++
			t.Run(fmt.Sprintf("undo-op%d-after=%v", u, after), func(t *testing.T) {
				nk, ns := ktest.New(t)
				ensureAll(t, nk, crashPre(n))
				before := liveState(t, nk, ns, "")
				fb := &faultBatcher{Kernel: nk, rb: kernel.Kernel(nk).(kernel.RouteBatcher), failAt: n + u, after: after}
				o := journalOpts(t)
				tx := begin(t, fb, o)
				for _, ch := range chunks {
					if _, err := tx.EnsureBatch(ch); err != nil {
						t.Fatal(err)
					}
				}
				err := tx.Rollback()
				var ue *txn.UndoError
				if !errors.As(err, &ue) || !errors.Is(err, errInjected) || ue.Journal == "" {
					t.Fatalf("rollback: %v, want an *UndoError with the injected failure", err)
				}
				if len(ue.Failures) != 1 {
					t.Errorf("%d undo failures listed, want 1: %v", len(ue.Failures), err)
				}
				if n, err := txn.Recover(nk, o); err != nil || n == 0 {
					t.Fatalf("Recover = %d, %v", n, err)
				}
				if d := diffLines(before, liveState(t, nk, ns, "")); d != "" {
					t.Fatalf("state after recover differs:\n%s", d)
				}
			})
		}
	}
	t.Logf("batched undo injection points: %d", undoPoints)
}
