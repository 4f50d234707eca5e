package txn_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// TestLiveStream: thousands of routes (gateway changes of existing
// routes, new gateway routes, blackholes) handed to a Stream on the real
// kernel (each case in a fresh namespace of ktest's sandbox) in calls of
// uneven sizes. With a route the kernel refuses in the middle (an
// unreachable gateway, sent inside a pipelined batch), the failure names
// its position in the stream, the steps reported are exactly those of
// the wants before it, and the rollback restores the namespace exactly
// (by kernel.DumpState and by iproute2). Without one, every route is
// there after Wait, and the rollback restores the namespace exactly too.
func TestLiveStream(t *testing.T) {
	const n = 4000
	// childWants: n/10 gateway changes of the routes crashPre makes, the
	// rest new routes in table 1000000; then n/2 blackholes in table 100.
	ws := childWants(n, 1000000)
	for i := range n / 2 {
		ws = append(ws, route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.%d.%d.0/24", 200+i/256, i%256)), Type: kernel.RouteBlackhole, Table: 100}, 0))
	}
	bad := via("", "10.254.0.0/16", "192.0.2.1", 1000000) // the gateway is not reachable: the kernel refuses it
	calls := []int{1, 999, 1000, 1, 2, 1500, 7, 333}      // then the rest in one call
	for _, c := range []struct {
		name  string
		chunk int // flightChunk; 0: the default
		at    int // where bad goes; -1: nowhere
	}{
		{"ok", 0, -1},
		{"ok-chunk300", 300, -1},
		{"refused-first", 0, 0},
		{"refused-1001", 0, 1001},
		{"refused-2502", 0, 2502},
		{"refused-2502-chunk300", 300, 2502},
		{"refused-last", 0, len(ws)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.chunk > 0 {
				defer txn.SetFlightChunk(c.chunk)()
			}
			nk, ns := ktest.New(t)
			ensureAll(t, nk, crashPre(n))
			before := liveState(t, nk, ns, "")
			all := ws
			if c.at >= 0 {
				all = append(append(append([]kernel.Want(nil), ws[:c.at]...), bad), ws[c.at:]...)
			}
			var split [][]kernel.Want
			rest := all
			for _, m := range calls {
				m = min(m, len(rest))
				split = append(split, rest[:m])
				rest = rest[m:]
			}
			split = append(split, rest)

			tx := begin(t, nk, journalOpts(t))
			run := runStream(t, tx, split)
			if c.at < 0 {
				if run.err != nil {
					t.Fatal(run.err)
				}
				if len(run.steps) != len(all) {
					t.Errorf("%d steps reported, want %d", len(run.steps), len(all))
				}
				if got := len(tx.Changes()); got != len(all) {
					t.Errorf("%d changes, want %d", got, len(all))
				}
				for _, q := range [][]string{
					{"1000000", "via 10.9.0.2", fmt.Sprint(n - n/10)},
					{"100", "via 10.9.0.3", fmt.Sprint(n / 10)},
					{"100", "blackhole", fmt.Sprint(n / 2)},
				} {
					out := ktest.IP(t, ns, "route", "show", "table", q[0])
					if got := fmt.Sprint(strings.Count(out, q[1])); got != q[2] {
						t.Errorf("table %s: %s routes %q, want %s", q[0], got, q[1], q[2])
					}
				}
			} else {
				var be *txn.BatchError
				if !errors.As(run.err, &be) || be.Index != c.at {
					t.Fatalf("Stream: %v, want the refused route's failure at %d", run.err, c.at)
				}
				if !strings.Contains(run.err.Error(), "192.0.2.1") && !strings.Contains(strings.ToLower(run.err.Error()), "gateway") {
					t.Errorf("Stream: %v does not name the refused route", run.err)
				}
				if len(run.steps) != c.at || len(tx.Changes()) != c.at {
					t.Errorf("%d steps reported, %d changes; want %d (the wants before the refused one)", len(run.steps), len(tx.Changes()), c.at)
				}
				for i, s := range run.steps {
					if !s.Changed() || s.Want.Route == nil || s.Want.Route.Route.Dst != all[i].Route.Route.Dst {
						t.Fatalf("step %d reported is not want %d's change: %v", i, i, s.Changes)
					}
				}
				if out := ktest.IP(t, ns, "route", "show", "table", "100"); strings.Count(out, "blackhole") != 0 && c.at < n {
					t.Errorf("blackholes after the refused route (want %d on) reached the kernel", n)
				}
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
