package txn_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// gatedModel is a Model that takes route batches (so EnsureBatch uses a
// Flight), each batch waiting for a token on gate.
type gatedModel struct {
	*kernel.Model
	gate chan struct{}
}

func (g *gatedModel) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	<-g.gate
	return ktest.RouteOps(g.Model, ns, ops, nil)
}

// TestFlightPanicRollback: a panic while chunk 2 of a group is prepared
// (here a BeforeApply hook panics; in eval any panic in the evaluation,
// which top recovers before the run rolls back) must not leave the
// Flight's goroutine sending chunk 1 beside the rollback: the chunk lands
// first (the group's Stream waits for it while unwinding, see
// Stream.broken), the rollback undoes it, and no goroutine is left. (Found by review: the
// routes used to land after a "successful" rollback.)
func TestFlightPanicRollback(t *testing.T) {
	defer txn.SetFlightChunk(4)()
	k := &gatedModel{Model: kernel.NewModel(), gate: make(chan struct{})}
	before := k.Model.Dump(kernel.Host)
	tx, err := txn.Begin(k, txn.Options{NoJournal: true, BeforeApply: func(i int, s *kernel.Step) error {
		if i == 4 {
			panic("boom")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	g0 := runtime.NumGoroutine()
	go func() { time.Sleep(100 * time.Millisecond); close(k.gate) }() // chunk 1 reaches the kernel 100 ms on
	func() {
		defer func() { t.Logf("recovered: %v", recover()) }()
		tx.EnsureBatch(blackholes(12))
	}()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	after := k.Model.Dump(kernel.Host)
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("goroutines %d -> %d: the Flight's goroutine was left running", g0, g)
	}
	if after != before {
		t.Errorf("after a successful Rollback %d routes remain:\n%s", strings.Count(after, "route")-strings.Count(before, "route"), after)
	}
}

func blackholes(n int) []kernel.Want {
	var ws []kernel.Want
	for i := range n {
		ws = append(ws, route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.0.%d.0/24", i)), Type: kernel.RouteBlackhole, Table: 100}, 0))
	}
	return ws
}
