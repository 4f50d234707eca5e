package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Regression tests for the review of the stream (eval/stream.go,
// eval/txn/stream.go).

// blackholeRecipe parses p.nets: n routes, blackhole 10.0.0.0/24 on,
// table 100, one per line, then tail.
func blackholeRecipe(t *testing.T, n int, tail string) *lang.File {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "route blackhole 10.0.%d.0/24 table 100\n", i)
	}
	b.WriteString(tail)
	f, err := lang.Parse("p.nets", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStreamPanicInHook: a panic inside the stream (here a BeforeApply
// hook on its n-th call; a bug in Prepare or the journal is the same) in
// the first or a later chunk ends the run with an internal error, in
// time, with exactly the change lines of the changes made (Result.Changes)
// and everything rolled back. It used to spin forever (panic in the first
// chunk), or print changes that were never applied, or, with a hook that
// panics every time, let the panic escape Run without a rollback.
func TestStreamPanicInHook(t *testing.T) {
	withBatchMax(t, 4, func(t *testing.T) {
		for _, at := range []int{1, 2, 5, 6, -1} { // -1: every step of 10.0.4.0/24
			var out bytes.Buffer
			k := &slowBatcher{Model: kernel.NewModel()}
			before := k.Model.Dump(kernel.Host)
			o := testOptions(t, k, &out)
			calls := 0
			o.Tx.BeforeApply = func(_ int, s *kernel.Step) error {
				calls++
				if calls == at || (at < 0 && strings.Contains(kernel.FormatWant(s.Want, nil), "10.0.4.0/24")) {
					panic("boom")
				}
				return nil
			}
			o.OnChange = func(c kernel.Change) { fmt.Fprintln(&out, FormatChange(c)) }
			type result struct {
				res      *Result
				err      error
				panicked any
			}
			done := make(chan result, 1)
			go func() {
				var r result
				defer func() { r.panicked = recover(); done <- r }()
				r.res, r.err = Run(context.Background(), blackholeRecipe(t, 10, ""), o)
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("panic at hook call %d: Run did not return within 10 s", at)
			}
			if r.panicked != nil {
				t.Fatalf("panic at hook call %d escaped Run: %v", at, r.panicked)
			}
			var ee *Error
			if !errors.As(r.err, &ee) || !strings.Contains(r.err.Error(), "internal error") {
				t.Errorf("panic at hook call %d: %v, want an internal error", at, r.err)
			}
			if lines := strings.Count(out.String(), "+ route"); r.res == nil || lines != len(r.res.Changes) {
				t.Errorf("panic at hook call %d: %d change lines printed, want one per change made:\n%s", at, lines, out.String())
			}
			if after := k.Model.Dump(kernel.Host); after != before {
				t.Errorf("panic at hook call %d: state not restored:\n%s", at, after)
			}
		}
	})
}

// TestStreamInterruptKeepsEarlierFailure: the kernel refuses line 3 while
// it is held in flight, and the run is interrupted while line 8 (whose
// want completes a hand-off) is evaluated: the failure reported is line
// 3's, the first in recipe order, not the interruption at line 5.
func TestStreamInterruptKeepsEarlierFailure(t *testing.T) {
	withBatchMax(t, 4, func(t *testing.T) {
		k := &slowBatcher{Model: kernel.NewModel(), failDst: "10.0.2.0/24", gate: make(chan struct{})}
		f := blackholeRecipe(t, 7, "route blackhole 10.0.${env(\"X\")}.0/24 table 100\n")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		o := testOptions(t, k, nil)
		o.Getenv = func(string) (string, bool) {
			cancel()
			go close(k.gate)
			return "7", true
		}
		_, err := Run(ctx, f, o)
		if !strings.HasPrefix(fmt.Sprint(err), "p.nets:3:") {
			t.Errorf("reported %v; want the kernel's refusal of line 3", err)
		}
		if dump := k.Model.Dump(kernel.Host); strings.Contains(dump, "blackhole") {
			t.Errorf("routes left after the failed run:\n%s", dump)
		}
	})
}
