package kernel_test

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// TestEnsureLiveManyLinks ensures many veth pairs with addresses on the
// real kernel through one Ensurer, then again (all no-ops), and undoes
// everything: the state must be exactly as before.
func TestEnsureLiveManyLinks(t *testing.T) {
	k, _ := ktest.New(t)
	const N = 150
	before, err := kernel.DumpState(k, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	up := true
	wants := func() []kernel.Want {
		var ws []kernel.Want
		for i := 0; i < N; i++ {
			a, b := fmt.Sprintf("m%da", i), fmt.Sprintf("m%db", i)
			ws = append(ws,
				kernel.Want{Link: &kernel.LinkWant{Name: a, Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: b}, Up: &up}},
				kernel.Want{Link: &kernel.LinkWant{Name: b, Up: &up}},
				kernel.Want{Addr: &kernel.Addr{Link: a, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), 24)}},
				kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Table: 100,
					Dst:     netip.PrefixFrom(netip.AddrFrom4([4]byte{11, byte(i >> 8), byte(i), 0}), 24),
					Gateway: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 2})}, Set: kernel.RouteSetGateway}})
		}
		return ws
	}
	e := kernel.NewEnsurer(k)
	start := time.Now()
	var steps []*kernel.Step
	for _, w := range wants() {
		s, err := e.Ensure(w)
		if err != nil {
			t.Fatalf("%s: %v", kernel.FormatWant(w, nil), err)
		}
		steps = append(steps, s)
	}
	t.Logf("%d wants applied in %v", len(steps), time.Since(start))
	start = time.Now()
	again := kernel.NewEnsurer(k)
	for _, w := range wants() {
		s, err := again.Prepare(w)
		if err != nil || s.Changed() {
			t.Fatalf("second run: %s: %v %q", kernel.FormatWant(w, nil), err, s.Changes)
		}
	}
	t.Logf("second run (no changes) prepared in %v", time.Since(start))
	start = time.Now()
	r := kernel.NewEnsurer(k)
	for i := len(steps) - 1; i >= 0; i-- {
		if _, err := r.EnsureAll(steps[i].Inverse); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("rolled back in %v", time.Since(start))
	after, err := kernel.DumpState(k, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("rollback left changes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestEnsureLiveScaleUndo ensures 3000 addresses on one bridge and 3000
// rules on the real kernel, then undoes them newest first, as a rollback
// does: the state must be exactly as before, and the undo must stay
// roughly linear (QA F-S: 3000 address undos took 335 s; R24: 3000 rule
// undos 12-18 s). The bound is very generous so that only quadratic
// behaviour fails it on a loaded machine; the times are logged.
func TestEnsureLiveScaleUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	k, _ := ktest.New(t)
	N := 3000
	if v, err := strconv.Atoi(os.Getenv("NETS_SCALE_N")); err == nil && v > 0 && v < 60000 {
		N = v // for profiling bigger runs by hand
	}
	before, err := kernel.DumpState(k, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	up := true
	e := kernel.NewEnsurer(k)
	var steps []*kernel.Step
	ensure := func(w kernel.Want) {
		t.Helper()
		s, err := e.Ensure(w)
		if err != nil {
			t.Fatalf("%s: %v", kernel.FormatWant(w, nil), err)
		}
		steps = append(steps, s)
	}
	ensure(kernel.Want{Link: &kernel.LinkWant{Name: "sc0", Kind: kernel.KindBridge, Up: &up}})
	start := time.Now()
	for i := 0; i < N; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(128 + i>>16), byte(i >> 8), byte(i + 1)})
		ensure(kernel.Want{Addr: &kernel.Addr{Link: "sc0", Prefix: netip.PrefixFrom(ip, 32)}})
	}
	for i := 0; i < N; i++ {
		src := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		ensure(kernel.Want{Rule: &kernel.RuleWant{Rule: kernel.Rule{Src: src, Action: kernel.ActionLookup,
			Table: uint32(1000 + i), Priority: uint32(1000 + i)}}})
	}
	t.Logf("%d addresses and %d rules applied in %v", N, N, time.Since(start))
	start = time.Now()
	r := kernel.NewEnsurer(k)
	for i := len(steps) - 1; i >= 1; i-- {
		if _, err := r.EnsureAll(steps[i].Inverse); err != nil {
			t.Fatal(err)
		}
	}
	undo := time.Since(start)
	t.Logf("undone in %v", undo)
	if _, err := r.EnsureAll(steps[0].Inverse); err != nil {
		t.Fatal(err)
	}
	if undo > 60*time.Second {
		t.Errorf("undoing %d addresses and %d rules took %v: not linear", N, N, undo)
	}
	after, err := kernel.DumpState(k, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("undo left changes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
