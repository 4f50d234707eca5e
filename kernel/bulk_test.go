package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/lang"
)

// bulkRoutes returns n blackhole /24s in table.
func bulkRoutes(n int, table uint32) []kernel.RouteOp {
	ops := make([]kernel.RouteOp, n)
	for i := range ops {
		ops[i] = kernel.RouteOp{Route: kernel.Route{Table: table, Type: kernel.RouteBlackhole, Protocol: 3,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}}
	}
	return ops
}

// routesOf returns the routes of table in ns, in a fixed order: the
// kernel lists routes of one destination on several devices (the
// fe80::/64 of every link) in the order it made them, which two
// namespaces set up alike need not share.
func routesOf(t *testing.T, k kernel.Kernel, ns string, table uint32) []kernel.Route {
	t.Helper()
	rs, err := k.Routes(ns)
	must(t, err)
	rs = slices.DeleteFunc(rs, func(r kernel.Route) bool { return r.Table != table })
	slices.SortStableFunc(rs, func(a, b kernel.Route) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return rs
}

// TestRouteBatchEncoding: routes of every shape sent as one batch read
// back exactly as the same routes added one by one with AddRoute, and a
// batch of deletes removes them as DelRoute does.
func TestRouteBatchEncoding(t *testing.T) {
	k, _ := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	for _, ns := range []string{kernel.Host, b} {
		must(t, k.AddLink(ns, kernel.Link{Name: "v0", Kind: kernel.KindVeth, Up: true, Veth: &kernel.Veth{Peer: "v1"}}))
		must(t, k.SetLink(ns, "v1", kernel.LinkChange{Up: ptr(true)}))
		must(t, k.AddAddr(ns, kernel.Addr{Link: "v0", Prefix: pfx("10.9.0.1/24")}, false))
		must(t, k.AddAddr(ns, kernel.Addr{Link: "v0", Prefix: pfx("fd00:9::1/64")}, false))
	}
	routes := []kernel.Route{
		{Table: 100, Dst: pfx("10.1.0.0/16"), Type: kernel.RouteBlackhole, Protocol: 3},
		{Table: 1000, Dst: pfx("10.2.0.0/16"), Type: kernel.RouteUnicast, Gateway: addr("10.9.0.2"), Dev: "v0", Protocol: 3},
		{Table: kernel.TableMain, Dst: pfx("10.3.0.0/24"), Priority: 7, Type: kernel.RouteUnicast, Dev: "v0", Src: addr("10.9.0.1"),
			Protocol: 4, Scope: kernel.ScopeLink, MTU: 1400},
		{Table: 100, Dst: pfx("10.4.0.0/24"), TOS: 0x10, Type: kernel.RouteUnreachable, Protocol: 3},
		{Table: 100, Dst: pfx("10.5.0.0/24"), Type: kernel.RouteUnicast, Gateway: addr("10.77.0.1"), Dev: "v0", OnLink: true, Protocol: 3},
		{Table: 100, Dst: pfx("0.0.0.0/0"), Type: kernel.RouteUnicast, Gateway: addr("10.9.0.3"), Protocol: 3},
		{Table: 100, Dst: pfx("fd00:1::/48"), Type: kernel.RouteUnicast, Gateway: addr("fd00:9::2"), Dev: "v0", Protocol: 3},
		{Table: 100, Dst: pfx("fd00:2::/48"), Priority: 5, Type: kernel.RouteBlackhole, Protocol: 3},
		{Table: 100, Dst: pfx("fd00:3::/48"), Type: kernel.RouteProhibit, Protocol: 3},
	}
	var ops []kernel.RouteOp
	for _, r := range routes {
		must(t, k.AddRoute(b, r, false))
		ops = append(ops, kernel.RouteOp{Route: r})
	}
	// A replace in the batch changes a route in place, as AddRoute does.
	repl := routes[0]
	repl.Type = kernel.RouteUnreachable
	must(t, k.AddRoute(b, repl, true))
	ops = append(ops, kernel.RouteOp{Replace: true, Route: repl})
	n, err := k.RouteBatch(kernel.Host, ops)
	if n != len(ops) || err != nil {
		t.Fatalf("RouteBatch = %d, %v", n, err)
	}
	for _, table := range []uint32{100, 1000, kernel.TableMain} {
		got, want := routesOf(t, k, kernel.Host, table), routesOf(t, k, b, table)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("table %d: batch made\n%v\none by one made\n%v", table, got, want)
		}
	}

	var dels []kernel.RouteOp
	for _, r := range routes {
		must(t, k.DelRoute(b, r))
		dels = append(dels, kernel.RouteOp{Del: true, Route: r})
	}
	if n, err := k.RouteBatch(kernel.Host, dels); n != len(dels) || err != nil {
		t.Fatalf("RouteBatch (deletes) = %d, %v", n, err)
	}
	for _, table := range []uint32{100, 1000, kernel.TableMain} {
		got, want := routesOf(t, k, kernel.Host, table), routesOf(t, k, b, table)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after deletes, table %d: batch left\n%v\none by one left\n%v", table, got, want)
		}
	}
}

// TestRouteBatchFailureIndex: a request the kernel refuses in the middle
// of a batch spanning several chunks is reported at its own index, with
// the kernel's errno and ext-ack text, and every op before it was
// applied.
func TestRouteBatchFailureIndex(t *testing.T) {
	k, _ := ktest.New(t)
	const n, bad = 5000, 2345
	ops := bulkRoutes(n, 100)
	// Unreachable gateway: ENETUNREACH "Nexthop has invalid gateway".
	ops[bad].Route.Type = kernel.RouteUnicast
	ops[bad].Route.Gateway = addr("192.0.2.1")
	got, err := k.RouteBatch(kernel.Host, ops)
	if got != bad {
		t.Fatalf("RouteBatch = %d, %v; want failure at %d", got, err, bad)
	}
	var ke *kernel.Error
	if !errors.As(err, &ke) || !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("error %v (%T) is not a *kernel.Error with ENETUNREACH", err, err)
	}
	if ke.Message == "" || ke.Op != "add route "+ops[bad].Route.Dst.String()+" table 100" {
		t.Errorf("error names op %q, ext-ack %q", ke.Op, ke.Message)
	}
	have := map[netip.Prefix]bool{}
	for _, r := range routesOf(t, k, kernel.Host, 100) {
		have[r.Dst] = true
	}
	for i := range bad {
		if !have[ops[i].Route.Dst] {
			t.Fatalf("route %d (%v) before the failure is missing", i, ops[i].Route.Dst)
		}
	}
	if have[ops[bad].Route.Dst] {
		t.Fatalf("the failed route exists")
	}
	// The rest of the failed request's chunk was sent with it and
	// applied; no later chunk was sent.
	chunk, err := k.BulkChunk(kernel.Host)
	must(t, err)
	for i := bad + 1; i < n; i++ {
		if sent := i < (bad/chunk+1)*chunk; have[ops[i].Route.Dst] != sent {
			t.Fatalf("route %d exists: %v, want %v (chunks of %d)", i, !sent, sent, chunk)
		}
	}
	t.Logf("chunk size %d", chunk)

	// A missing link is found before sending: ops before it are applied.
	ops2 := bulkRoutes(10, 101)
	ops2[4].Route = kernel.Route{Table: 101, Dst: pfx("10.200.0.0/24"), Type: kernel.RouteUnicast, Dev: "nosuch", Protocol: 3}
	if got, err := k.RouteBatch(kernel.Host, ops2); got != 4 || !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("RouteBatch with a missing link = %d, %v", got, err)
	}
	if rs := routesOf(t, k, kernel.Host, 101); len(rs) != 4 {
		t.Fatalf("table 101 holds %d routes, want the 4 before the missing link", len(rs))
	}

	// Deleting what is not there: ESRCH at its index.
	dels := bulkRoutes(n, 100)
	for i := range dels {
		dels[i].Del = true
	}
	dels = dels[:(bad/chunk+1)*chunk+5]
	if got, err := k.RouteBatch(kernel.Host, dels); got != bad || !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("RouteBatch deletes = %d, %v; want ESRCH at %d", got, err, bad)
	}
}

// TestRouteBatchAckEach: with an ack asked for every request (the
// receive buffer must then hold a chunk's worth of acks) a big batch
// still succeeds and a failure is still found at its index.
func TestRouteBatchAckEach(t *testing.T) {
	defer kernel.SetBulkAckEach(true)()
	k, _ := ktest.New(t)
	ops := bulkRoutes(20000, 100)
	if n, err := k.RouteBatch(kernel.Host, ops); n != len(ops) || err != nil {
		t.Fatalf("RouteBatch = %d, %v", n, err)
	}
	if got := len(routesOf(t, k, kernel.Host, 100)); got != len(ops) {
		t.Fatalf("table holds %d routes, want %d", got, len(ops))
	}
	ops = bulkRoutes(3000, 100) // all exist already: every request fails
	if n, err := k.RouteBatch(kernel.Host, ops); n != 0 || !errors.Is(err, kernel.ErrExist) {
		t.Fatalf("RouteBatch of existing routes = %d, %v", n, err)
	}
}

// TestRouteBatchSmallBuffer: where SO_RCVBUFFORCE is refused the batch
// socket gets what SO_RCVBUF allows (at most net.core.rmem_max), and
// chunks shrink to fit it: with a 64 KB buffer and an ack on every
// request (the most replies a chunk can cause) a big batch never
// overflows the buffer, and failures are still found.
func TestRouteBatchSmallBuffer(t *testing.T) {
	defer kernel.SetBulkNoForce(64 << 10)()
	defer kernel.SetBulkAckEach(true)()
	k, _ := ktest.New(t)
	chunk, err := k.BulkChunk(kernel.Host)
	must(t, err)
	if chunk >= 1000 || chunk < 16 {
		t.Fatalf("chunk size %d with a 64 KB buffer", chunk)
	}
	t.Logf("chunk size %d", chunk)
	ops := bulkRoutes(20000, 100)
	if n, err := k.RouteBatch(kernel.Host, ops); n != len(ops) || err != nil {
		t.Fatalf("RouteBatch = %d, %v", n, err)
	}
	if n, err := k.RouteBatch(kernel.Host, ops); n != 0 || !errors.Is(err, kernel.ErrExist) {
		t.Fatalf("RouteBatch of existing routes = %d, %v", n, err)
	}
	defer kernel.SetBulkAckEach(false)()
	more := bulkRoutes(20100, 100)[100:] // the first 19,900 exist
	if n, err := k.RouteBatch(kernel.Host, more); n != 0 || !errors.Is(err, kernel.ErrExist) {
		t.Fatalf("RouteBatch (ack on the last only, all but 100 fail) = %d, %v", n, err)
	}
}

// TestRouteBatchAllFail: a chunk in which every request fails (ack on
// the last only) does not overflow the receive buffer.
func TestRouteBatchAllFail(t *testing.T) {
	k, _ := ktest.New(t)
	ops := bulkRoutes(5000, 100)
	if n, err := k.RouteBatch(kernel.Host, ops); n != len(ops) || err != nil {
		t.Fatalf("RouteBatch = %d, %v", n, err)
	}
	if n, err := k.RouteBatch(kernel.Host, ops); n != 0 || !errors.Is(err, kernel.ErrExist) {
		t.Fatalf("RouteBatch again = %d, %v; want EEXIST at 0", n, err)
	}
}

// bulkRecipe writes a recipe of n routes in table 100, one per line
// (line i+1 is route i): blackhole /32s, except that route bad (when
// 0 <= bad < n) goes via an unreachable gateway, which the kernel
// refuses. The first pre routes change routes that exist (unreachable
// instead of blackhole). tail is appended after the routes.
func bulkRecipe(n, bad, pre int, tail string) string {
	var b strings.Builder
	for i := range n {
		dst := fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i))
		switch {
		case i == bad:
			fmt.Fprintf(&b, "route %s via 192.0.2.1 table 100\n", dst)
		case i < pre:
			fmt.Fprintf(&b, "route unreachable %s table 100\n", dst)
		default:
			fmt.Fprintf(&b, "route blackhole %s table 100\n", dst)
		}
	}
	b.WriteString(tail)
	return b.String()
}

// TestBulkRunFailureRollsBack: a 50k-route recipe whose route 25,437
// (in the middle of a pipelined chunk) the kernel refuses fails naming that route's line and column, and the
// whole run — the routes of the batch the kernel applied before and
// after it included, and the routes it replaced — is rolled back: the
// full state dump is equal before and after, and no journal is left.
func TestBulkRunFailureRollsBack(t *testing.T) {
	const n, bad, pre = 50000, 25437, 1000
	k, ns := ktest.New(t)
	ops := bulkRoutes(pre, 100)
	if got, err := k.RouteBatch(kernel.Host, ops); got != pre || err != nil {
		t.Fatalf("pre-state: %d, %v", got, err)
	}
	before := ktest.State(t, ns)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		src  string
		line int
		col  int // 0: any column of the line
		err  error
	}{
		{"kernel-refuses", bulkRecipe(n, bad, pre, ""), bad + 1, 1, syscall.ENETUNREACH},
		{"missing-link", bulkRecipe(n, -1, pre, "") + "route 10.99.0.0/16 dev nosuch table 100\n", n + 1, 0, kernel.ErrNotFound},
		{"fail-after", bulkRecipe(n, -1, pre, "fail \"stop\"\n"), n + 1, 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := lang.Parse("bulk.nets", []byte(c.src))
			must(t, err)
			res, err := eval.Run(context.Background(), f, eval.Options{Kernel: k, Tx: txn.Options{JournalDir: dir}})
			var ee *eval.Error
			if !errors.As(err, &ee) {
				t.Fatalf("Run = %v, want an *eval.Error", err)
			}
			if p := ee.Diagnostic.Pos; p.Filename != "bulk.nets" || p.Line != c.line || c.col != 0 && p.Column != c.col {
				t.Errorf("error at %s:%d:%d, want bulk.nets:%d:%d: %v", p.Filename, p.Line, p.Column, c.line, c.col, err)
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Errorf("error %v is not %v", err, c.err)
			}
			if ee.UndoErr != nil {
				t.Fatalf("rollback failed: %v", ee.UndoErr)
			}
			if want := c.line - 1; len(res.Changes) != want || ee.Undone != want {
				t.Errorf("%d changes reported, %d undone; want %d", len(res.Changes), ee.Undone, want)
			}
			if d := ktest.Diff(before, ktest.State(t, ns)); d != "" {
				t.Fatalf("state after the rollback differs:\n%s", d)
			}
			if _, err := os.Stat(filepath.Join(dir, "journal")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal left behind: %v", err)
			}
		})
	}
}

// TestBulkEnsureBatch50k: one EnsureBatch of 50k route wants (journaled
// and sent pipelined, chunk by chunk) whose want 25,437 the kernel
// refuses reports that index, and the rollback restores the exact state
// (replaced routes included).
func TestBulkEnsureBatch50k(t *testing.T) {
	const n, bad, pre = 50000, 25437, 1000
	k, ns := ktest.New(t)
	if got, err := k.RouteBatch(kernel.Host, bulkRoutes(pre, 100)); got != pre || err != nil {
		t.Fatalf("pre-state: %d, %v", got, err)
	}
	before := ktest.State(t, ns)
	ws := make([]kernel.Want, n)
	for i, o := range bulkRoutes(n, 100) {
		r := o.Route
		switch {
		case i == bad:
			r.Type, r.Gateway = kernel.RouteUnicast, addr("192.0.2.1")
		case i < pre:
			r.Type = kernel.RouteUnreachable
		}
		ws[i] = kernel.Want{Route: &kernel.RouteWant{Route: r, Set: kernel.RouteSetGateway}}
	}
	dir := t.TempDir()
	tx, err := txn.Begin(k, txn.Options{JournalDir: dir})
	must(t, err)
	steps, err := tx.EnsureBatch(ws)
	var be *txn.BatchError
	if !errors.As(err, &be) || be.Index != bad || !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("EnsureBatch = %v, want a *BatchError at %d (ENETUNREACH)", err, bad)
	}
	// Every step up to the refused one was journaled; the group is
	// prepared, journaled and sent in chunks (a kernel.Flight), and none
	// is prepared after the refusal was seen, so a few chunks after it
	// may be journaled too (never sent), not all of them.
	if len(steps) != bad || tx.Steps() <= bad || tx.Steps() > n {
		t.Errorf("%d steps returned, %d journaled; want %d and (%d, %d]", len(steps), tx.Steps(), bad, bad, n)
	}
	if got := len(routesOf(t, k, kernel.Host, 100)); got <= bad {
		t.Errorf("table 100 holds %d routes: the batch did not reach the kernel as expected", got)
	}
	must(t, tx.Rollback())
	if d := ktest.Diff(before, ktest.State(t, ns)); d != "" {
		t.Fatalf("state after the rollback differs:\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
}

// countingKernel counts the dumps a run or plan makes.
type countingKernel struct {
	*kernel.Netlink
	routes, links, addrs, rules, neighs int
}

func (c *countingKernel) Routes(ns string) ([]kernel.Route, error) {
	c.routes++
	return c.Netlink.Routes(ns)
}

func (c *countingKernel) Links(ns string) ([]kernel.Link, error) {
	c.links++
	return c.Netlink.Links(ns)
}

func (c *countingKernel) Addrs(ns string) ([]kernel.Addr, error) {
	c.addrs++
	return c.Netlink.Addrs(ns)
}

func (c *countingKernel) Rules(ns string) ([]kernel.Rule, error) {
	c.rules++
	return c.Netlink.Rules(ns)
}

func (c *countingKernel) Neighs(ns string) ([]kernel.Neigh, error) {
	c.neighs++
	return c.Netlink.Neighs(ns)
}

// TestBulkDumpsOnce: planning and running a 100k-route recipe reads each
// kind of object once (one route dump), whatever the number of
// statements; the plan against the table holding the routes reports no
// change, and the run goes through RouteBatch.
func TestBulkDumpsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("100k routes")
	}
	const n = 100000
	nl, _ := ktest.New(t)
	f, err := lang.Parse("bulk.nets", []byte(bulkRecipe(n, -1, 0, "")))
	must(t, err)
	for _, mode := range []string{"run", "plan", "run-again"} {
		k := &countingKernel{Netlink: nl}
		o := eval.Options{Kernel: k, Tx: txn.Options{JournalDir: t.TempDir()}}
		var res *eval.Result
		if mode == "plan" {
			res, err = eval.Plan(context.Background(), f, o)
		} else {
			res, err = eval.Run(context.Background(), f, o)
		}
		must(t, err)
		want := n
		if mode != "run" {
			want = 0
		}
		if len(res.Changes) != want {
			t.Errorf("%s: %d changes, want %d", mode, len(res.Changes), want)
		}
		if k.routes != 1 || k.rules > 1 || k.neighs > 1 {
			t.Errorf("%s: %d route dumps, %d rule dumps, %d neighbour dumps; want one each at most", mode, k.routes, k.rules, k.neighs)
		}
		t.Logf("%s: dumps: routes %d, links %d, addrs %d, rules %d, neighs %d", mode, k.routes, k.links, k.addrs, k.rules, k.neighs)
	}
	if got := len(routesOf(t, nl, kernel.Host, 100)); got != n {
		t.Fatalf("table 100 holds %d routes, want %d", got, n)
	}
}

// RouteBatch passes batches through, so that runs are pipelined.
func (c *countingKernel) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	return c.Netlink.RouteBatch(ns, ops)
}

// journalCheck is a kernel whose route batches first check that the
// journal on disk already holds an inverse for every route of the batch.
type journalCheck struct {
	*kernel.Netlink
	t        *testing.T
	path     string
	batches  int
	checked  int
	violated int
}

func (j *journalCheck) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	j.batches++
	b, err := os.ReadFile(j.path)
	if err != nil {
		j.t.Errorf("batch %d of %d routes sent with no journal: %v", j.batches, len(ops), err)
		j.violated++
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		var l struct {
			Inverse []kernel.Want `json:"inverse"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		for _, w := range l.Inverse {
			if w.Route != nil {
				have[w.Route.Route.Dst.String()] = true
			}
		}
	}
	for _, o := range ops {
		j.checked++
		if !have[o.Route.Dst.String()] {
			j.violated++
			if j.violated < 5 {
				j.t.Errorf("route %v sent before its inverse was journaled", o.Route.Dst)
			}
		}
	}
	return j.Netlink.RouteBatch(ns, ops)
}

// TestBulkJournalBeforeSend: every route of every pipelined batch — the
// run's adds and the rollback's deletes — has its inverse in the journal
// file before the batch is sent.
func TestBulkJournalBeforeSend(t *testing.T) {
	const n = 30000
	nl, ns := ktest.New(t)
	before := ktest.State(t, ns)
	dir := t.TempDir()
	k := &journalCheck{Netlink: nl, t: t, path: filepath.Join(dir, "journal")}
	f, err := lang.Parse("bulk.nets", []byte(bulkRecipe(n, -1, 0, "fail \"stop\"\n")))
	must(t, err)
	_, err = eval.Run(context.Background(), f, eval.Options{Kernel: k, Tx: txn.Options{JournalDir: dir}})
	var ee *eval.Error
	if !errors.As(err, &ee) || ee.UndoErr != nil || ee.Undone != n {
		t.Fatalf("Run = %v, want the fail rolled back with %d changes undone", err, n)
	}
	if k.batches < 2 || k.checked < 2*n || k.violated != 0 {
		t.Fatalf("%d batches, %d routes checked, %d sent before their inverse was journaled", k.batches, k.checked, k.violated)
	}
	if d := ktest.Diff(before, ktest.State(t, ns)); d != "" {
		t.Fatalf("state after the rollback differs:\n%s", d)
	}
	t.Logf("%d batches, %d routes checked against the journal", k.batches, k.checked)
}
