package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/lang"
)

// runBatchRecipe runs src on a fresh model whose lo holds an address (so
// that routes via 127.0.0.2 are reachable), recording every change line
// and print output in one stream, in the order they happened.
func runBatchRecipe(t *testing.T, src string) (string, *Result, error, *kernel.Model) {
	t.Helper()
	k := kernel.NewModel()
	up := true
	if _, err := kernel.NewEnsurer(k).Ensure(kernel.Want{Link: &kernel.LinkWant{Name: "lo", Up: &up}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := testOptions(t, k, &out)
	o.OnChange = func(c kernel.Change) { fmt.Fprintln(&out, FormatChange(c)) }
	f, err := lang.Parse("batch.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f, o)
	return out.String(), res, err, k
}

// TestBatchFailureNamesStatement: a route that fails while its batch is
// applied is reported at its own line, and everything, including the
// routes queued with it, is rolled back.
func TestBatchFailureNamesStatement(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		if i == 1234 {
			b.WriteString("route 10.200.0.0/16 via 192.0.2.1 table 100\n") // unreachable gateway
			continue
		}
		fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 100\n", i/256, i%256)
	}
	_, res, err, k := runBatchRecipe(t, b.String())
	var ee *Error
	if !errors.As(err, &ee) || ee.Diagnostic.Pos.Line != 1235 {
		t.Fatalf("Run = %v, want an error at line 1235", err)
	}
	if len(res.Changes) != 1234 || ee.Undone != 1234 {
		t.Errorf("%d changes, %d undone; want 1234", len(res.Changes), ee.Undone)
	}
	rs, _ := k.Routes(kernel.Host)
	for _, r := range rs {
		if r.Table == 100 {
			t.Fatalf("route left after the rollback: %v", r)
		}
	}
}

// TestBatchOrder: statements that observe the run (print, assert, fail,
// other kinds of network statements) come after the queued routes were
// applied, and their changes are reported in statement order.
func TestBatchOrder(t *testing.T) {
	src := `route blackhole 10.0.0.0/24 table 100
route blackhole 10.0.1.0/24 table 100
print "after two routes"
for i in [2, 3] <
    route blackhole 10.0.${i}.0/24 table 100
>
addr 10.9.0.1/24 dev lo
route 10.8.0.0/16 via 127.0.0.2 table 100
neigh 10.9.0.7 lladdr 02:00:00:00:00:07 dev lo
print "end"
`
	out, res, err, _ := runBatchRecipe(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want := `+ route blackhole 10.0.0.0/24 table 100
+ route blackhole 10.0.1.0/24 table 100
after two routes
+ route blackhole 10.0.2.0/24 table 100
+ route blackhole 10.0.3.0/24 table 100
+ addr 10.9.0.1/24 dev lo
+ route 10.8.0.0/16 via 127.0.0.2 table 100
+ neigh 10.9.0.7 lladdr 02:00:00:00:00:07 dev lo permanent
end
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if len(res.Changes) != 7 {
		t.Errorf("%d changes, want 7", len(res.Changes))
	}
}

// TestBatchEarlierFailureWins: when a queued route fails and a later
// statement fails in evaluation before the queue is flushed, the route's
// failure is the one reported (as one statement at a time would).
func TestBatchEarlierFailureWins(t *testing.T) {
	src := `route blackhole 10.0.0.0/24 table 100
route 10.1.0.0/16 via 192.0.2.1 table 100
let x = 1
set y = 2
`
	_, _, err, _ := runBatchRecipe(t, src)
	var ee *Error
	if !errors.As(err, &ee) || ee.Diagnostic.Pos.Line != 2 {
		t.Fatalf("Run = %v, want the route's error at line 2", err)
	}
}

// TestBatchFailAfterRoutes: a fail after queued routes comes after they
// were applied, and rolls them back.
func TestBatchFailAfterRoutes(t *testing.T) {
	src := "route blackhole 10.0.0.0/24 table 100\nroute blackhole 10.0.1.0/24 table 100\nfail \"stop\"\n"
	_, res, err, k := runBatchRecipe(t, src)
	var ee *Error
	if !errors.As(err, &ee) || ee.Diagnostic.Pos.Line != 3 || ee.Undone != 2 || len(res.Changes) != 2 {
		t.Fatalf("Run = %v (%d changes), want the fail at line 3 after 2 changes", err, len(res.Changes))
	}
	if d := k.Dump(kernel.Host); strings.Contains(d, "10.0.0.0/24") {
		t.Errorf("route left after the rollback:\n%s", d)
	}
}

// batchCounter is a model that takes route batches (as kernel.Netlink
// does), counting them.
type batchCounter struct {
	*kernel.Model
	batches, ops int
}

func (b *batchCounter) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	b.batches++
	b.ops += len(ops)
	return ktest.RouteOps(b.Model, ns, ops, nil)
}

// TestBatchThroughFunctions: routes made by a recipe function called in
// a loop are sent as one batch (calling a recipe function does not
// flush; print does).
func TestBatchThroughFunctions(t *testing.T) {
	src := `def r(i) <
    route blackhole subnet(10.0.0.0/8, 16, $i) table 100
>
for i in range(300) <
    r($i)
>
print "done"
route blackhole 10.200.0.0/16 table 100
route blackhole 10.201.0.0/16 table 100
`
	k := &batchCounter{Model: kernel.NewModel()}
	var out bytes.Buffer
	f, err := lang.Parse("fn.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f, testOptions(t, k, &out))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 302 || k.batches != 2 || k.ops != 302 {
		t.Fatalf("%d changes in %d batches of %d routes in all; want 302 in 2", len(res.Changes), k.batches, k.ops)
	}
}
