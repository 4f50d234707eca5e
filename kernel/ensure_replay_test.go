package kernel

import (
	"net/netip"
	"testing"
)

// batchModel is a model that takes route batches, so that an Ensurer on
// it applies runs of route steps with RouteBatch and replays them on its
// cache (batchApplied), as it does on the real kernel.
type batchModel struct{ *Model }

func (b batchModel) RouteBatch(ns string, ops []RouteOp) (int, error) {
	for i, o := range ops {
		var err error
		if o.Del {
			err = b.DelRoute(ns, o.Route)
		} else {
			err = b.AddRoute(ns, o.Route, o.Replace)
		}
		if err != nil {
			return i, err
		}
	}
	return len(ops), nil
}

// TestReplayAddedMatchesAddRoute: routes added in batches reach the
// Ensurer's cache through addPrepared (or AddRoute, for those through a
// gateway) exactly as AddRoute puts them in the kernel model: the same
// routes, and the same bookkeeping, which the changes after them
// exercise — a second metric for a destination (keysByDst), gateways
// resolved through the new routes (byDst), and deleting the address
// that routes prefer as their source (srcMain).
func TestReplayAddedMatchesAddRoute(t *testing.T) {
	m := NewModel()
	up := true
	e := NewEnsurer(batchModel{m})
	mustEnsure(t, e, Want{Link: &LinkWant{Name: "br0", Kind: KindBridge, Up: &up}})
	a := Addr{Link: "br0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}
	mustEnsure(t, e, Want{Addr: &a})
	// route returns the want of `route` with these attributes (as the
	// evaluator makes it: Set names those stated).
	route := func(typ RouteType, dst, via, dev, src string, table, metric uint32, scope Scope) Want {
		r := Route{Type: typ, Dst: netip.MustParsePrefix(dst), Table: table, Priority: metric, Dev: dev, Scope: scope}
		var set RouteFields
		if via != "" {
			r.Gateway, set = netip.MustParseAddr(via), set|RouteSetGateway
		}
		if dev != "" {
			set |= RouteSetDev
		}
		if src != "" {
			r.Src, set = netip.MustParseAddr(src), set|RouteSetSrc
		}
		if scope != 0 {
			set |= RouteSetScope
		}
		return Want{Route: &RouteWant{Route: r, Set: set}}
	}
	absent := func(w Want) Want { w.Absent = true; return w }
	batch := func(ws ...Want) {
		t.Helper()
		var steps []*Step
		for _, w := range ws {
			s, err := e.Prepare(w)
			if err != nil {
				t.Fatal(FormatWant(w, nil), err)
			}
			steps = append(steps, s)
		}
		if n, err := e.ApplyAll(steps); err != nil || n != len(steps) {
			t.Fatalf("ApplyAll = %d, %v", n, err)
		}
		if !e.loaded[Host] {
			t.Fatal("the cache was dropped: a replay failed")
		}
		if got, want := e.cache.Dump(Host), m.Dump(Host); got != want {
			t.Fatalf("after %d wants the cache differs from the kernel:\n--- cache\n%s\n--- kernel\n%s", len(ws), got, want)
		}
	}
	const U = RouteUnicast
	batch(
		route(RouteBlackhole, "10.0.0.0/24", "", "", "", 100, 0, 0),
		route(RouteUnreachable, "2001:db8::/32", "", "", "", 0, 0, 0),
		route(RouteProhibit, "10.0.1.0/24", "", "", "", 0, 0, 0),
		route(RouteThrow, "10.0.2.0/24", "", "", "", 100, 0, 0),
		route(U, "10.1.0.0/16", "", "br0", "", 0, 0, 0),
		route(U, "10.2.0.0/16", "", "br0", "192.0.2.1", 0, 0, 0),
		route(U, "10.3.0.0/16", "", "br0", "", 0, 10, 0),
		route(U, "198.51.100.0/24", "", "br0", "", 100, 0, ScopeLink),
		route(U, "10.4.0.0/16", "192.0.2.254", "", "", 0, 0, 0),
	)
	batch(
		route(U, "10.3.0.0/16", "", "br0", "", 0, 20, 0),
		route(U, "10.5.0.0/16", "198.51.100.7", "", "", 100, 0, 0),
		route(RouteBlackhole, "10.0.3.0/24", "", "", "", 100, 0, 0),
	)
	batch(
		absent(route(U, "10.3.0.0/16", "", "", "", 0, 10, 0)),
		absent(route(RouteBlackhole, "10.0.0.0/24", "", "", "", 100, 0, 0)),
	)
	s, err := e.Prepare(Want{Addr: &a, Absent: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(s); err != nil {
		t.Fatal(err)
	}
	if got, want := e.cache.Dump(Host), m.Dump(Host); got != want {
		t.Fatalf("after deleting the address the cache differs from the kernel:\n--- cache\n%s\n--- kernel\n%s", got, want)
	}
}

// TestReplayAddedDiverged: a route the cache already holds under the key
// of one it replays as new means the cache is not the kernel's state
// any more: the namespace is read again (which also drops what the
// replay stored).
func TestReplayAddedDiverged(t *testing.T) {
	m := NewModel()
	e := NewEnsurer(batchModel{m})
	w1 := Want{Route: &RouteWant{Route: Route{Type: RouteBlackhole, Dst: netip.MustParsePrefix("10.0.0.0/24"), Table: 100}}}
	w2 := Want{Route: &RouteWant{Route: Route{Type: RouteBlackhole, Dst: netip.MustParsePrefix("10.0.1.0/24"), Table: 100}}}
	s1, err := e.Prepare(w1)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.Prepare(w2)
	if err != nil {
		t.Fatal(err)
	}
	// Behind the Ensurer's back, the cache gets a route under s1's key.
	must(t, e.cache.AddRoute(Host, Route{Table: 100, Dst: netip.MustParsePrefix("10.0.0.0/24"), Type: RouteUnreachable}, false))
	if n, err := e.ApplyAll([]*Step{s1, s2}); err != nil || n != 2 {
		t.Fatalf("ApplyAll = %d, %v", n, err)
	}
	if e.loaded[Host] {
		t.Fatal("the cache is still used after replaying a route under a key it held")
	}
	if ok, done := m.addPrepared(Host, Route{Table: 100, Dst: netip.MustParsePrefix("10.0.0.0/24"), Type: RouteBlackhole}); !done || ok {
		t.Errorf("addPrepared of a route held = %v, %v, want false, true", ok, done)
	}
	if _, done := m.addPrepared(Host, Route{Table: 100, Dst: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}); done {
		t.Error("addPrepared took a route through a gateway")
	}
}

// TestReplayAddedChecksCache: the fast replay still notices a cache that
// lacks what the kernel had for the route — its device, or the address
// it prefers as source — and reads the namespace again, as AddRoute's
// refusal made it do; a route that is neither of a type without a
// device nor through one is left to AddRoute.
func TestReplayAddedChecksCache(t *testing.T) {
	up := true
	for _, lose := range []string{"device", "device up", "source address"} {
		m := NewModel()
		e := NewEnsurer(batchModel{m})
		mustEnsure(t, e, Want{Link: &LinkWant{Name: "br0", Kind: KindBridge, Up: &up}})
		a := Addr{Link: "br0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}
		mustEnsure(t, e, Want{Addr: &a})
		var steps []*Step
		for _, dst := range []string{"10.1.0.0/16", "10.2.0.0/16"} {
			s, err := e.Prepare(Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix(dst), Dev: "br0",
				Src: netip.MustParseAddr("192.0.2.1")}, Set: RouteSetDev | RouteSetSrc}})
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, s)
		}
		// Behind the Ensurer's back, the cache loses it; the kernel
		// keeps it.
		switch lose {
		case "device":
			must(t, e.cache.DelLink(Host, "br0"))
		case "device up":
			down := false
			must(t, e.cache.SetLink(Host, "br0", LinkChange{Up: &down}))
		case "source address":
			must(t, e.cache.DelAddr(Host, a))
		}
		if n, err := e.ApplyAll(steps); err != nil || n != 2 {
			t.Fatalf("%s: ApplyAll = %d, %v", lose, n, err)
		}
		if e.loaded[Host] {
			t.Errorf("%s: the cache is still used after replaying routes that need what it lost", lose)
		}
	}
	r := fillRoute(RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.9.0.0/24"), Table: 100}})
	if _, done := NewModel().addPrepared(Host, r); done {
		t.Error("addPrepared took a unicast route with neither a device nor a gateway")
	}
}
