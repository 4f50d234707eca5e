package txn

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/nets-lang/nets/kernel"
)

// checkPack packs the records' inverses as a Tx does and unpacks them as
// Rollback does: the wants must come back equal, and the records not
// packable must be left alone.
func checkPack(t *testing.T, invs [][]kernel.Want) {
	t.Helper()
	tx := &Tx{}
	for i, inv := range invs {
		tx.recs = append(tx.recs, record{seq: i, inverse: inv})
		tx.pack(i)
	}
	for i, inv := range invs {
		r := tx.recs[i]
		ok := r.packed == 0 && len(r.inverse) == len(inv)
		if packable(inv) {
			ok = r.packed != 0 && r.inverse == nil
		}
		if !ok {
			t.Fatalf("record %d (%v): packed %d, inverse %v", i, inv, r.packed, r.inverse)
		}
	}
	tx.unpackAll()
	if tx.packed != nil {
		t.Errorf("the packed array is kept after unpacking")
	}
	for i, inv := range invs {
		r := tx.recs[i]
		if r.packed != 0 || !reflect.DeepEqual(r.inverse, inv) {
			t.Fatalf("record %d: unpacked\n%#v\n%#v\nwant\n%#v\n%#v", i, r.inverse, r.inverse[0].Route, inv, inv[0].Route)
		}
		if len(inv) == 1 && inv[0].Route != nil && r.inverse[0].Route.Route != inv[0].Route.Route {
			t.Fatalf("record %d: route %v, want %v", i, r.inverse[0].Route.Route, inv[0].Route.Route)
		}
	}
}

func TestPackRoutes(t *testing.T) {
	zoned := netip.MustParseAddr("fe80::1%eth0")
	var invs [][]kernel.Want
	for _, p := range append(prefixes, netip.PrefixFrom(addrs4[0], 40), netip.PrefixFrom(addrs6[0], -1), netip.MustParsePrefix("10.1.2.3/8")) {
		for _, a := range append(append([]netip.Addr{{}, zoned}, addrs4...), addrs6...) {
			r := kernel.Route{Table: 1<<32 - 1, Dst: p, TOS: 255, Priority: 1<<32 - 1, Type: kernel.RouteThrow, Gateway: a,
				Dev: "eth0", Src: a, Protocol: 255, Scope: kernel.ScopeNowhere, MTU: 1<<32 - 1, OnLink: true}
			invs = append(invs, []kernel.Want{{NS: "lab", Absent: true, Exact: true, Route: &kernel.RouteWant{Route: r, Set: 1<<16 - 1}}},
				[]kernel.Want{{Route: &kernel.RouteWant{Route: kernel.Route{Dst: p, Gateway: a}}}})
		}
	}
	for _, name := range escapeNames {
		invs = append(invs, []kernel.Want{{NS: name, Route: &kernel.RouteWant{Route: kernel.Route{Dev: name, Table: 100}}}})
	}
	// Not packed: neighbours, several wants, other kinds, a route want
	// with something else set.
	invs = append(invs,
		[]kernel.Want{{Neigh: &kernel.Neigh{Link: "e", IP: addrs4[0]}}},
		[]kernel.Want{{Route: &kernel.RouteWant{}}, {Route: &kernel.RouteWant{}}},
		[]kernel.Want{{Link: &kernel.LinkWant{Name: "x"}}},
		[]kernel.Want{{Route: &kernel.RouteWant{}, Neigh: &kernel.Neigh{}}},
		[]kernel.Want{{Route: &kernel.RouteWant{}, Link: &kernel.LinkWant{Name: "x"}}},
		[]kernel.Want{},
		nil,
	)
	checkPack(t, invs)
}

func TestPackRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, uint64(time.Now().UnixNano())))
	var invs [][]kernel.Want
	for range 20000 {
		w := randomWant(rng)
		if rng.IntN(4) > 0 {
			w.Neigh = nil
		}
		invs = append(invs, []kernel.Want{w})
	}
	checkPack(t, invs)
}

// TestPackShares: a run's routes share their namespace and device
// strings when unpacked, and take two allocations in all.
func TestPackShares(t *testing.T) {
	tx := &Tx{}
	for i := range 1000 {
		r := kernel.Route{Table: 100, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24), Dev: "dummy0", Type: kernel.RouteUnicast}
		tx.recs = append(tx.recs, record{seq: i, inverse: []kernel.Want{{NS: "lab", Absent: true, Exact: true, Route: &kernel.RouteWant{Route: r}}}})
	}
	tx.pack(0)
	if n := len(tx.packed); n > 1000*32 {
		t.Errorf("1000 routes packed into %d bytes", n)
	}
	allocs := testing.AllocsPerRun(1, func() {
		c := &Tx{recs: append([]record(nil), tx.recs...), packed: tx.packed}
		c.unpackAll()
	})
	if allocs > 5 { // the Tx and records copied above, the two arrays, one string each
		t.Errorf("unpacking 1000 routes: %v allocations", allocs)
	}
	tx.unpackAll()
	first := tx.recs[0].inverse[0]
	for _, r := range tx.recs {
		w := r.inverse[0]
		if unsafe.StringData(w.NS) != unsafe.StringData(first.NS) || unsafe.StringData(w.Route.Route.Dev) != unsafe.StringData(first.Route.Route.Dev) {
			t.Fatalf("step %d: its strings are copies of its own", r.seq)
		}
	}
}
