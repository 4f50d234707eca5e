package txn_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// TestStreamPanicInHook: a BeforeApply hook panics in the middle of a
// chunk while earlier chunks are held by the kernel. The panic goes on to
// the caller, but first the Stream waits for the chunks in flight, drops
// what it prepared and did not send, and fails from then on: Ensure and
// Wait report an internal error and never report a step that was not
// applied, no goroutine is left, and the rollback restores everything.
func TestStreamPanicInHook(t *testing.T) {
	defer txn.SetFlightChunk(3)()
	g0 := runtime.NumGoroutine()
	k := &streamKernel{Model: streamModel(t), gate: make(chan struct{})}
	before := modelState(k.Model)
	o := journalOpts(t)
	calls := 0
	o.BeforeApply = func(int, *kernel.Step) error {
		if calls++; calls == 8 { // the second step of the third chunk
			panic("hook bug")
		}
		return nil
	}
	tx := begin(t, k, o)
	s := tx.Stream()
	if s == nil {
		t.Fatal("no Stream on a kernel that takes route batches")
	}
	ws := blackholes(12)
	if _, err := s.Ensure(ws[:6]); err != nil { // two chunks, held by the kernel
		t.Fatal(err)
	}
	go func() { time.Sleep(50 * time.Millisecond); close(k.gate) }()
	func() {
		defer func() {
			if r := recover(); r != "hook bug" {
				t.Fatalf("recovered %v, want the hook's panic", r)
			}
		}()
		s.Ensure(ws[6:])
		t.Fatal("Ensure returned; want the hook's panic")
	}()
	// The two chunks sent before landed; the third (its first step was
	// hooked, none was sent) and the rest did not.
	if got := strings.Count(modelState(k.Model), "blackhole"); got != 6 {
		t.Errorf("%d routes after the panic, want the 6 sent before it:\n%s", got, modelState(k.Model))
	}
	for _, call := range []func() ([]*kernel.Step, error){
		func() ([]*kernel.Step, error) { return s.Ensure(blackholes(1)) },
		s.Wait,
	} {
		steps, err := call()
		for _, st := range steps {
			for _, c := range st.Changes {
				for i := 6; i < 12; i++ {
					if strings.Contains(c.Text, fmt.Sprintf(" 10.0.%d.0/24 ", i)) {
						t.Errorf("reported a change that was never applied: %s", c.Text)
					}
				}
			}
		}
		if err == nil || !strings.Contains(err.Error(), "internal error: hook bug") {
			t.Errorf("after the panic: %v, want the internal error", err)
		}
	}
	if n := len(tx.Changes()); n != 6 {
		t.Errorf("%d changes recorded, want the 6 applied", n)
	}
	rollbackRestores(t, tx, k.Model, before, "after the panic")
	time.Sleep(50 * time.Millisecond)
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("goroutines %d -> %d: a Flight was left running", g0, g)
	}
}
