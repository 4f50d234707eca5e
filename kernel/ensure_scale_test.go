package kernel

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// scaleAddrs ensures n /32 addresses on one bridge of k, deletes them
// again through their inverses (newest first), and returns how long the
// adds and the undo took.
func scaleAddrs(t testing.TB, k Kernel, n int) (time.Duration, time.Duration) {
	e := NewEnsurer(k)
	if _, err := e.Ensure(Want{Link: &LinkWant{Name: "sb0", Kind: KindBridge, Up: ptr(true)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var steps []*Step
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(128 + i>>16), byte(i >> 8), byte(i)})
		s, err := e.Ensure(Want{Addr: &Addr{Link: "sb0", Prefix: netip.PrefixFrom(ip, 32)}})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	add := time.Since(start)
	start = time.Now()
	for i := len(steps) - 1; i >= 0; i-- {
		if _, err := e.EnsureAll(steps[i].Inverse); err != nil {
			t.Fatal(err)
		}
	}
	return add, time.Since(start)
}

func BenchmarkEnsureAddrsUndo(b *testing.B) {
	for _, n := range []int{1000, 3000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				add, undo := scaleAddrs(b, &spy{Kernel: NewModel()}, n)
				b.Logf("n=%d add %v undo %v", n, add, undo)
			}
		})
	}
}

// TestEnsureAddrsUndoScale undoes 3000 host addresses and 3000 addresses
// of one subnet (a primary and its secondaries) on a Model through an
// Ensurer with its own cache, and checks the state is as before and
// that the undo stayed far from quadratic (QA F-S: 3000 took 335 s on
// the real kernel, almost all of it in the cache's address bookkeeping).
// The bound is generous: only super-linear behaviour fails it.
func TestEnsureAddrsUndoScale(t *testing.T) {
	const N = 3000
	m := NewModel()
	before := m.Dump(Host)
	e := NewEnsurer(&spy{Kernel: m})
	var steps []*Step
	ensure := func(w Want) {
		t.Helper()
		s, err := e.Ensure(w)
		if err != nil {
			t.Fatalf("%s: %v", FormatWant(w, nil), err)
		}
		steps = append(steps, s)
	}
	ensure(Want{Link: &LinkWant{Name: "sb0", Kind: KindBridge, Up: ptr(true)}})
	for i := 0; i < N; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(128 + i>>16), byte(i >> 8), byte(i)})
		ensure(Want{Addr: &Addr{Link: "sb0", Prefix: netip.PrefixFrom(ip, 32)}})
		ip = netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i + 1)})
		ensure(Want{Addr: &Addr{Link: "sb0", Prefix: netip.PrefixFrom(ip, 16)}})
	}
	ensure(Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Dev: "sb0",
		Src: netip.MustParsePrefix("172.16.0.1/32").Addr()}, Set: RouteSetDev | RouteSetSrc}})
	mid := m.Dump(Host)
	if strings.Count(mid, "addr ") != 2*N {
		t.Fatalf("want %d addresses, have:\n%s", 2*N, mid)
	}
	start := time.Now()
	for i := len(steps) - 1; i >= 0; i-- {
		if _, err := e.EnsureAll(steps[i].Inverse); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("undoing %d addresses took %v: not linear", 2*N, d)
	}
	if after := m.Dump(Host); after != before {
		t.Errorf("undo left changes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Deleting the primary deletes its secondaries, and its undo brings
	// them back, with the route preferring it.
	e = NewEnsurer(&spy{Kernel: m})
	for _, w := range steps[:len(steps)] {
		if w.Want.Addr != nil || w.Want.Link != nil || w.Want.Route != nil {
			if _, err := e.Ensure(w.Want); err != nil {
				t.Fatal(err)
			}
		}
	}
	full := m.Dump(Host)
	s, err := e.Ensure(Want{Absent: true, Addr: &Addr{Link: "sb0", Prefix: netip.MustParsePrefix("172.16.0.1/16")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Inverse); got != N+1 {
		t.Errorf("deleting the primary: %d inverse wants, want %d (itself, %d secondaries, the route)", got, N+1, N-1)
	}
	if d := m.Dump(Host); strings.Contains(d, "172.16.") {
		t.Errorf("secondaries or their route survived the primary")
	}
	if _, err := e.EnsureAll(s.Inverse); err != nil {
		t.Fatal(err)
	}
	if d := m.Dump(Host); d != full {
		t.Errorf("undoing the primary's deletion:\nwant:\n%s\nhave:\n%s", full, d)
	}
}

// BenchmarkEnsureRulesUndo ensures n rules (explicit priorities) on a
// Model through an Ensurer with its own cache and undoes them.
func BenchmarkEnsureRulesUndo(b *testing.B) {
	for _, n := range []int{3000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e := NewEnsurer(&spy{Kernel: NewModel()})
				start := time.Now()
				var steps []*Step
				for j := 0; j < n; j++ {
					src := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 0}), 24)
					s, err := e.Ensure(Want{Rule: &RuleWant{Rule: Rule{Src: src, Action: ActionLookup, Table: uint32(1000 + j), Priority: uint32(1000 + j)}}})
					if err != nil {
						b.Fatal(err)
					}
					steps = append(steps, s)
				}
				add := time.Since(start)
				start = time.Now()
				for j := len(steps) - 1; j >= 0; j-- {
					if _, err := e.EnsureAll(steps[j].Inverse); err != nil {
						b.Fatal(err)
					}
				}
				b.Logf("n=%d add %v undo %v", n, add, time.Since(start))
			}
		})
	}
}

// TestEnsureRulesUndoScale ensures and undoes 10000 rules on a Model
// through an Ensurer with its own cache (as plans and runs do): the state
// must be as before, and the time far from quadratic (each rule used to
// scan every rule three times). The bound is generous.
func TestEnsureRulesUndoScale(t *testing.T) {
	const N = 10000
	m := NewModel()
	before := m.Dump(Host)
	e := NewEnsurer(&spy{Kernel: m})
	start := time.Now()
	var steps []*Step
	for j := 0; j < N; j++ {
		src := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 0}), 24)
		rw := &RuleWant{Rule: Rule{Src: src, Action: ActionLookup, Table: uint32(1000 + j)}, AnyPriority: j%2 == 0}
		if !rw.AnyPriority {
			rw.Rule.Priority = uint32(40000 - j)
		}
		s, err := e.Ensure(Want{Rule: rw})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	if got := strings.Count(m.Dump(Host), "rule "); got != N+5 {
		t.Fatalf("%d rules, want %d", got, N+5)
	}
	for j := len(steps) - 1; j >= 0; j-- {
		if _, err := e.EnsureAll(steps[j].Inverse); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("%d rules ensured and undone in %v: not linear", N, d)
	}
	if after := m.Dump(Host); after != before {
		t.Errorf("undo left changes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
