package txn

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
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
	// As Rollback reads them: newest first, through unpacking.
	unpack := tx.unpacking()
	for i := len(invs) - 1; i >= 0; i-- {
		inv := invs[i]
		unpack(i)
		r := tx.recs[i]
		if !reflect.DeepEqual(r.inverse, inv) {
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
		c.unpackRange(0, len(c.recs))
	})
	if allocs > 5 { // the Tx and records copied above, the two arrays, one string each
		t.Errorf("unpacking 1000 routes: %v allocations", allocs)
	}
	tx.unpackRange(0, len(tx.recs))
	first := tx.recs[0].inverse[0]
	for _, r := range tx.recs {
		w := r.inverse[0]
		if unsafe.StringData(w.NS) != unsafe.StringData(first.NS) || unsafe.StringData(w.Route.Route.Dev) != unsafe.StringData(first.Route.Route.Dev) {
			t.Fatalf("step %d: its strings are copies of its own", r.seq)
		}
	}
}

// TestRollbackUnpacksInWindows: a Tx rolling back many packed route
// steps restores the state exactly, while holding at most a window of
// them unpacked at any time.
func TestRollbackUnpacksInWindows(t *testing.T) {
	defer func(old int) { unpackAhead = old }(unpackAhead)
	unpackAhead = 100
	const n = 3*undoGroupMax + 500
	m := kernel.NewModel()
	var tx *Tx
	maxUnpacked, calls := 0, 0
	o := Options{NoJournal: true, BeforeUndo: func(int, kernel.Want) error {
		if calls++; calls%97 == 0 {
			u := 0
			for _, r := range tx.recs {
				if r.packed != 0 && r.inverse != nil {
					u++
				}
			}
			maxUnpacked = max(maxUnpacked, u)
		}
		return nil
	}}
	before, err := kernel.DumpState(m, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	tx, err = Begin(m, o)
	if err != nil {
		t.Fatal(err)
	}
	ws := make([]kernel.Want, 0, n+2)
	up := true
	ws = append(ws, kernel.Want{Link: &kernel.LinkWant{Name: "br0", Kind: "bridge", Up: &up}})
	for i := range n {
		r := kernel.Route{Table: 100, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Type: kernel.RouteBlackhole}
		if i%1000 == 7 {
			r = kernel.Route{Table: 100, Dst: r.Dst, Dev: "br0", Type: kernel.RouteUnicast}
		}
		ws = append(ws, kernel.Want{Route: &kernel.RouteWant{Route: r}})
	}
	if _, err := tx.EnsureBatch(ws); err != nil {
		t.Fatal(err)
	}
	packed := 0
	for _, r := range tx.recs {
		if r.packed != 0 {
			packed++
		}
	}
	if packed != n {
		t.Fatalf("%d of %d route steps packed", packed, n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if after, _ := kernel.DumpState(m, kernel.Host); after != before {
		t.Fatalf("rollback left\n%s\nwant\n%s", after, before)
	}
	if calls != n+1 {
		t.Errorf("%d undo calls, want %d", calls, n+1)
	}
	if limit := 2*(undoGroupMax+unpackAhead) + 2; maxUnpacked == 0 || maxUnpacked > limit {
		t.Errorf("up to %d inverses unpacked at once, want 1..%d", maxUnpacked, limit)
	}
}

// TestLiveRollbackUnpacksInWindows: the same on the real kernel, where
// the undo goes in pipelined groups that look back over the steps before
// the one they start from: routes added and routes replaced (whose
// inverses put the old ones back), several windows of them.
func TestLiveRollbackUnpacksInWindows(t *testing.T) {
	defer func(old int) { unpackAhead = old }(unpackAhead)
	unpackAhead = 100
	const n = 2*undoGroupMax + 3000
	k, _ := ktest.New(t)
	dst := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	// Every 10th route exists beforehand as unreachable: the run
	// replaces it with a blackhole.
	var pre []kernel.RouteOp
	for i := 0; i < n; i += 10 {
		pre = append(pre, kernel.RouteOp{Route: kernel.Route{Table: 100, Dst: dst(i), Type: kernel.RouteUnreachable}})
	}
	if m, err := k.RouteBatch(kernel.Host, pre); err != nil {
		t.Fatal(m, err)
	}
	before, err := kernel.DumpState(k, kernel.Host)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := Begin(k, Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	ws := make([]kernel.Want, n)
	for i := range ws {
		ws[i] = kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Table: 100, Dst: dst(i), Type: kernel.RouteBlackhole}}}
	}
	if _, err := tx.EnsureBatch(ws); err != nil {
		t.Fatal(err)
	}
	if during, _ := kernel.DumpState(k, kernel.Host); during == before {
		t.Fatal("the run changed nothing")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if after, _ := kernel.DumpState(k, kernel.Host); after != before {
		t.Fatalf("rollback left a different state (%d bytes, want %d)", len(after), len(before))
	}
}

// TestPackNothingPackable: a Tx whose steps have no packable inverse
// keeps no packed array, so that a rollback reads no packed records.
func TestPackNothingPackable(t *testing.T) {
	tx, err := Begin(kernel.NewModel(), Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Ensure(kernel.Want{Link: &kernel.LinkWant{Name: "br9", Kind: kernel.KindBridge}}); err != nil {
		t.Fatal(err)
	}
	if tx.packed != nil || tx.unpacking() != nil {
		t.Errorf("packed array of %d bytes (capacity %d) with nothing packed", len(tx.packed), cap(tx.packed))
	}
}
