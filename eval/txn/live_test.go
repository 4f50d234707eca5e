package txn_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// ipDump is an independent view of the namespaces through iproute2:
// addresses, routes of every table, rules and permanent neighbours,
// without what the kernel manages on its own timetable (IPv6 link-local
// addresses and routes, multicast routes). It complements
// kernel.DumpState, which reads through nets' own netlink code.
func ipDump(t testing.TB, nss ...string) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range nss {
		if _, err := ktest.TryIP(ns, "link", "show", "lo"); err != nil {
			fmt.Fprintf(&b, "== %s absent\n", ns)
			continue
		}
		fmt.Fprintf(&b, "== %s\n", ns)
		for _, args := range [][]string{
			{"-o", "-4", "addr", "show"}, {"-o", "-6", "addr", "show"},
			{"-4", "route", "show", "table", "all"}, {"-6", "route", "show", "table", "all"},
			{"-4", "rule", "show"}, {"-6", "rule", "show"},
			{"neigh", "show", "nud", "permanent"},
		} {
			out := ktest.IP(t, ns, args...)
			for _, l := range strings.Split(out, "\n") {
				if l == "" || strings.Contains(l, "fe80:") || strings.HasPrefix(l, "multicast ff00::") {
					continue
				}
				// "linkdown" follows the carrier, which a veth updates
				// asynchronously: it is not configuration state.
				l = strings.ReplaceAll(l, " linkdown", "")
				if args[0] == "-o" { // "N: dev    inet ..." without the index
					if i := strings.Index(l, ": "); i >= 0 {
						l = l[i+2:]
					}
					l = strings.Join(strings.Fields(strings.ReplaceAll(l, "\\", " ")), " ")
					// Lifetimes tick; they are not state.
					if i := strings.Index(l, " valid_lft"); i >= 0 {
						l = l[:i]
					}
				}
				b.WriteString(strings.Join(args, " ") + ": " + l + "\n")
			}
		}
	}
	return b.String()
}

// liveState is the full comparison: kernel.DumpState of Host (the test's
// namespace) and other, plus iproute2's view of both.
func liveState(t testing.TB, k kernel.Kernel, ns, other string) string {
	return dumpAll(t, k, other) + ipDump(t, ns, other)
}

// TestLiveRollbackEveryStep runs the realistic scenario against the real
// kernel (each trial in fresh namespaces) and injects a failure at every
// step (after its inverse is durable, before it is applied), after the
// last step, and at every kernel call (refused before the kernel sees it,
// and after it was made); the rollback must leave the full state exactly
// as before, by both dumps.
func TestLiveRollbackEveryStep(t *testing.T) {
	// Count steps and calls once.
	var steps, calls int
	{
		k, ns := ktest.New(t)
		other := ktest.NewNS(t)
		setup, run := scenario(kernel.Host, other)
		ensureAll(t, k, setup)
		before := liveState(t, k, ns, other)
		fk := &faultKernel{Kernel: k, failAt: -1}
		tx := begin(t, fk, journalOpts(t))
		if err := runAll(tx, run); err != nil {
			t.Fatalf("scenario without failures: %v", err)
		}
		steps, calls = tx.Steps(), fk.calls
		during := liveState(t, k, ns, other)
		if testing.Verbose() {
			t.Logf("state before the run:\n%s\nafter it:\n%s", before, during)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if d := diffLines(before, liveState(t, k, ns, other)); d != "" {
			t.Fatalf("full rollback differs:\n%s", d)
		}
	}
	type injection struct {
		name  string
		step  int // BeforeApply fails at this step (-1: none)
		fault *faultKernel
	}
	var injs []injection
	for s := 0; s <= steps; s++ {
		injs = append(injs, injection{name: fmt.Sprintf("step%d", s), step: s})
	}
	for j := range calls {
		injs = append(injs, injection{name: fmt.Sprintf("call%d-before", j), step: -1, fault: &faultKernel{failAt: j}})
		injs = append(injs, injection{name: fmt.Sprintf("call%d-after", j), step: -1, fault: &faultKernel{failAt: j, after: true}})
	}
	for _, inj := range injs {
		t.Run(inj.name, func(t *testing.T) {
			nk, ns := ktest.New(t)
			other := ktest.NewNS(t)
			setup, run := scenario(kernel.Host, other)
			ensureAll(t, nk, setup)
			before := liveState(t, nk, ns, other)
			var k kernel.Kernel = nk
			if inj.fault != nil {
				inj.fault.Kernel = nk
				k = inj.fault
			}
			o := journalOpts(t)
			o.BeforeApply = func(i int, _ *kernel.Step) error {
				if i == inj.step {
					return errInjected
				}
				return nil
			}
			tx := begin(t, k, o)
			err := runAll(tx, run)
			if inj.step != steps && !errors.Is(err, errInjected) {
				t.Fatalf("run: %v, want the injected failure", err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if d := diffLines(before, liveState(t, nk, ns, other)); d != "" {
				t.Fatalf("state after rollback differs from before:\n%s", d)
			}
		})
	}
	t.Logf("live injection points covered: %d steps + 1 after the last, %d kernel calls x 2 = %d trials", steps, calls, len(injs))
}

// TestLiveUndoFailure fails the undo of every step against the real
// kernel: each failure is reported, the journal kept, and Recover then
// restores the exact state.
func TestLiveUndoFailure(t *testing.T) {
	var steps int
	{
		k, _ := ktest.New(t)
		other := ktest.NewNS(t)
		setup, run := scenario(kernel.Host, other)
		ensureAll(t, k, setup)
		tx := begin(t, k, txn.Options{NoJournal: true})
		if err := runAll(tx, run); err != nil {
			t.Fatal(err)
		}
		steps = tx.Steps()
		tx.Rollback()
	}
	for j := range steps {
		t.Run(fmt.Sprintf("undo%d", j), func(t *testing.T) {
			k, ns := ktest.New(t)
			other := ktest.NewNS(t)
			setup, run := scenario(kernel.Host, other)
			ensureAll(t, k, setup)
			before := liveState(t, k, ns, other)
			o := journalOpts(t)
			o.BeforeUndo = func(i int, _ kernel.Want) error {
				if i == j {
					return errInjected
				}
				return nil
			}
			tx := begin(t, k, o)
			if err := runAll(tx, run); err != nil {
				t.Fatal(err)
			}
			err := tx.Rollback()
			var ue *txn.UndoError
			if !errors.As(err, &ue) || ue.Journal == "" {
				t.Fatalf("rollback: %v, want an *UndoError keeping the journal", err)
			}
			listed := false
			for _, f := range ue.Failures {
				listed = listed || (f.Step == j && errors.Is(f.Err, errInjected))
			}
			if !listed {
				t.Fatalf("step %d not listed: %v", j, err)
			}
			if _, err := txn.Begin(k, o); !errors.Is(err, txn.ErrUnrecovered) {
				t.Fatalf("Begin after a failed undo: %v", err)
			}
			o.BeforeUndo = nil
			if _, err := txn.Recover(k, o); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if d := diffLines(before, liveState(t, k, ns, other)); d != "" {
				t.Fatalf("state after recover differs:\n%s", d)
			}
		})
	}
	t.Logf("live undo failures injected: %d", steps)
}

// TestLiveRouteReplace: a route that exists with gateway A, ensured with
// gateway B, is changed in place ('~'); rollback restores A, and there
// is never a second route beside it.
func TestLiveRouteReplace(t *testing.T) {
	k, ns := ktest.New(t)
	ensureAll(t, k, []kernel.Want{veth("", "p0", "p1", ""), up("", "p0"), up("", "p1"), addr("", "p0", "10.9.0.1/24"),
		via("", "10.50.0.0/16", "10.9.0.2", 100), via("", "10.51.0.0/16", "10.9.0.2", 1000000)})
	show := func(table string) string {
		return strings.TrimSpace(ktest.IP(t, ns, "route", "show", "table", table))
	}
	for _, table := range []string{"100", "1000000"} {
		id := uint32(100)
		dst := "10.50.0.0/16"
		if table == "1000000" {
			id, dst = 1000000, "10.51.0.0/16"
		}
		want := dst + " via 10.9.0.2 dev p0"
		if got := show(table); got != want {
			t.Fatalf("table %s before: %q", table, got)
		}
		o := journalOpts(t)
		tx := begin(t, k, o)
		s := mustEnsure(t, tx, via("", dst, "10.9.0.3", id))
		if len(s.Changes) != 1 || s.Changes[0].Mark != '~' || !strings.Contains(s.Changes[0].Text, "via 10.9.0.2 dev p0 -> via 10.9.0.3") {
			t.Fatalf("changes %v, want one '~' from 10.9.0.2", s.Changes)
		}
		if got := show(table); got != dst+" via 10.9.0.3 dev p0" {
			t.Fatalf("table %s after the change: %q", table, got)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got := show(table); got != want {
			t.Fatalf("table %s after rollback: %q, want exactly %q", table, got, want)
		}
		// The same through a crash and Recover.
		tx = begin(t, k, o)
		mustEnsure(t, tx, via("", dst, "10.9.0.3", id))
		tx.Abandon()
		if n, err := txn.Recover(k, o); n != 1 || err != nil {
			t.Fatalf("Recover = %d, %v", n, err)
		}
		if got := show(table); got != want {
			t.Fatalf("table %s after recover: %q, want exactly %q", table, got, want)
		}
	}
}

// TestLiveExec: a program run through Tx.Exec changes the namespace
// behind the Ensurer's back; the Ensurer must see it afterwards.
func TestLiveExec(t *testing.T) {
	k, ns := ktest.New(t)
	ensureAll(t, k, []kernel.Want{veth("", "p0", "p1", ""), up("", "p0"), addr("", "p0", "10.9.0.1/24")})
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	tx := begin(t, k, journalOpts(t))
	defer tx.Rollback()
	// Fill the Ensurer's cache for the namespace first.
	mustEnsure(t, tx, via("", "10.76.0.0/16", "10.9.0.2", 0))
	if err := tx.Exec(context.Background(), "", kernel.Cmd{Args: []string{"ip", "route", "add", "10.77.0.0/16", "via", "10.9.0.2"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ktest.IP(t, ns, "route"), "10.77.0.0/16") {
		t.Fatal("exec did not run in the namespace")
	}
	if s := mustEnsure(t, tx, via("", "10.77.0.0/16", "10.9.0.2", 0)); s.Changed() {
		t.Fatalf("the Ensurer did not see what exec did: %v", s.Changes)
	}
	if err := tx.Exec(context.Background(), "", kernel.Cmd{Args: []string{"false"}}); err == nil {
		t.Fatal("a failing program did not fail Exec")
	}
}

// TestLiveRollbackAfterCancel: the CLI cancels the run's context on a
// signal; a program running through Exec is stopped, and Rollback then
// restores everything.
func TestLiveRollbackAfterCancel(t *testing.T) {
	k, ns := ktest.New(t)
	ensureAll(t, k, []kernel.Want{veth("", "p0", "p1", ""), up("", "p0"), addr("", "p0", "10.9.0.1/24")})
	before := liveState(t, k, ns, "")
	o := journalOpts(t)
	tx := begin(t, k, o)
	mustEnsure(t, tx, via("", "10.76.0.0/16", "10.9.0.2", 100))
	mustEnsure(t, tx, absent(addr("", "p0", "10.9.0.1/24")))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }() // SIGINT
	start := time.Now()
	err := tx.Exec(ctx, "", kernel.Cmd{Args: []string{"sleep", "30"}})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("Exec after cancel: %v after %v", err, time.Since(start))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, liveState(t, k, ns, "")); d != "" {
		t.Fatalf("state after rollback differs:\n%s", d)
	}
	if info, err := txn.Pending(o); info != nil || err != nil {
		t.Fatalf("journal left: %+v, %v", info, err)
	}
}
