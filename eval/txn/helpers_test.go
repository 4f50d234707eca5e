package txn_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// Every test binary of this package runs inside ktest's sandbox (private
// /run/netns, /run/nets, /run/wireguard; the host is guarded), because
// the live tests and the crash children touch a real kernel.
func TestMain(m *testing.M) { ktest.Main(m) }

// ---- want builders ----

func pfx(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.MustParsePrefix(s)
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func bptr(b bool) *bool                { return &b }
func u32(v uint32) *uint32             { return &v }
func sptr(s string) *string            { return &s }
func absent(w kernel.Want) kernel.Want { w.Absent = true; return w }

func link(ns string, l kernel.LinkWant) kernel.Want { return kernel.Want{NS: ns, Link: &l} }

func veth(ns, a, b, peerNS string) kernel.Want {
	return link(ns, kernel.LinkWant{Name: a, Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: b, PeerNetns: peerNS}})
}

func up(ns, name string) kernel.Want { return link(ns, kernel.LinkWant{Name: name, Up: bptr(true)}) }

func addr(ns, dev, p string) kernel.Want {
	return kernel.Want{NS: ns, Addr: &kernel.Addr{Link: dev, Prefix: pfx(p)}}
}

func route(ns string, r kernel.Route, set kernel.RouteFields) kernel.Want {
	return kernel.Want{NS: ns, Route: &kernel.RouteWant{Route: r, Set: set}}
}

func via(ns, dst, gw string, table uint32) kernel.Want {
	return route(ns, kernel.Route{Dst: pfx(dst), Gateway: ip(gw), Table: table}, kernel.RouteSetGateway)
}

func rule(ns string, r kernel.Rule, anyPrio bool) kernel.Want {
	return kernel.Want{NS: ns, Rule: &kernel.RuleWant{Rule: r, AnyPriority: anyPrio}}
}

func neigh(ns, dev, a, ll string) kernel.Want {
	return kernel.Want{NS: ns, Neigh: &kernel.Neigh{Link: dev, IP: ip(a), LLAddr: mac(ll)}}
}

// scenario is a realistic run in namespace ns (Host of the kernel under
// test) with a second namespace other that the run creates: a veth pair
// across the two, addresses (v4, v6, a /32), routes in tables main, 100
// and 1000000 (via a gateway, through a device, blackhole), rules with
// and without a priority, a permanent neighbour, a bridge with a port,
// link attribute changes, the in-place gateway change of an existing
// route ('~'), and deletions of an existing address, rule and link (a
// veth end with its address and a route through it, whose inverse must
// restore all of that).
//
// setup builds the state the run starts from.
func scenario(ns, other string) (setup, run []kernel.Want) {
	setup = []kernel.Want{
		veth(ns, "p0", "p1", ""), up(ns, "p0"), up(ns, "p1"),
		addr(ns, "p0", "10.9.0.1/24"),
		addr(ns, "p0", "10.9.5.1/32"),
		via(ns, "10.50.0.0/16", "10.9.0.2", 100),
		rule(ns, kernel.Rule{Family: 4, Priority: 2000, Src: pfx("10.50.0.0/16"), Action: kernel.ActionLookup, Table: 100}, false),
		veth(ns, "q0", "q1", ""), up(ns, "q0"), up(ns, "q1"),
		addr(ns, "q0", "10.8.0.1/24"),
		via(ns, "10.60.0.0/16", "10.8.0.2", 1000000),
	}
	run = []kernel.Want{
		{Netns: &kernel.NetnsWant{Name: other}},
		veth(ns, "v0", "v1", other),
		link(ns, kernel.LinkWant{Name: "v0", Up: bptr(true), MTU: u32(1400)}),
		up(other, "v1"),
		addr(ns, "v0", "10.0.0.1/24"),
		addr(other, "v1", "10.0.0.2/24"),
		addr(ns, "v0", "2001:db8:0:1::1/64"),
		via(ns, "10.1.0.0/16", "10.0.0.2", 100),
		via(ns, "10.2.0.0/16", "10.0.0.2", 1000000),
		route(ns, kernel.Route{Dst: pfx("10.3.0.0/16"), Dev: "v0"}, kernel.RouteSetDev),
		route(ns, kernel.Route{Dst: pfx("10.4.0.0/16"), Type: kernel.RouteBlackhole, Table: 100}, 0),
		via(other, "0.0.0.0/0", "10.0.0.1", 0),
		rule(ns, kernel.Rule{Family: 4, Priority: 1000, Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 100}, false),
		rule(ns, kernel.Rule{Family: 4, Mark: 7, Action: kernel.ActionLookup, Table: 1000000}, true),
		neigh(ns, "v0", "10.0.0.9", "02:00:00:00:00:09"),
		via(ns, "10.50.0.0/16", "10.9.0.3", 100), // '~': gateway 10.9.0.2 -> 10.9.0.3
		link(ns, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, Up: bptr(true)}),
		link(ns, kernel.LinkWant{Name: "p1", Master: sptr("br0")}),
		absent(addr(ns, "p0", "10.9.5.1/32")),
		absent(rule(ns, kernel.Rule{Family: 4, Priority: 2000, Src: pfx("10.50.0.0/16"), Action: kernel.ActionLookup, Table: 100}, false)),
		absent(link(ns, kernel.LinkWant{Name: "q0"})),
		link(ns, kernel.LinkWant{Name: "p0", MTU: u32(9000), Alias: sptr("uplink")}),
	}
	return setup, run
}

// ensureAll applies wants directly (no transaction); they must succeed.
func ensureAll(t testing.TB, k kernel.Kernel, ws []kernel.Want) {
	t.Helper()
	e := kernel.NewEnsurer(k)
	for _, w := range ws {
		if _, err := e.Ensure(w); err != nil {
			t.Fatalf("setup %s: %v", kernel.FormatWant(w, nil), err)
		}
	}
}

// dumpAll renders the full state of k: the list of named namespaces,
// then kernel.DumpState of Host and of each named namespace in names
// that exists.
func dumpAll(t testing.TB, k kernel.Kernel, names ...string) string {
	t.Helper()
	all, err := k.Namespaces()
	if err != nil {
		t.Fatalf("namespaces: %v", err)
	}
	exists := map[string]bool{}
	for _, n := range all {
		exists[n] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "namespaces:")
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%v", n, exists[n])
	}
	b.WriteString("\n")
	for _, n := range append([]string{kernel.Host}, names...) {
		if n != kernel.Host && !exists[n] {
			continue
		}
		s, err := kernel.DumpState(k, n)
		if err != nil {
			t.Fatalf("dump %q: %v", n, err)
		}
		fmt.Fprintf(&b, "== %q\n%s\n", n, s)
	}
	return b.String()
}

// diffLines shows the lines only in a (-) or only in b (+).
func diffLines(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		for ; n > 0; n-- {
			out = append(out, "- "+l)
		}
		for ; n < 0; n++ {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// ---- fault injection at the kernel primitive level ----

var errInjected = errors.New("injected failure")

// faultKernel wraps a Kernel and fails its failAt-th mutating call
// (counting from 0): before making it (the kernel never sees it) or,
// with after, after making it (the change happened but the caller sees
// an error, as when a multi-part change fails halfway or an ack is
// lost). It fails once; later calls pass through.
type faultKernel struct {
	kernel.Kernel
	mu     sync.Mutex
	calls  int
	failAt int // -1: never
	after  bool
	fired  bool
}

func (f *faultKernel) hit(do func() error) error {
	f.mu.Lock()
	i := f.calls
	f.calls++
	fire := !f.fired && i == f.failAt
	if fire {
		f.fired = true
	}
	f.mu.Unlock()
	if !fire {
		return do()
	}
	if f.after {
		if err := do(); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w at kernel call %d", errInjected, i)
}

func (f *faultKernel) AddNamespace(n string) error {
	return f.hit(func() error { return f.Kernel.AddNamespace(n) })
}
func (f *faultKernel) DelNamespace(n string) error {
	return f.hit(func() error { return f.Kernel.DelNamespace(n) })
}
func (f *faultKernel) AddLink(ns string, l kernel.Link) error {
	return f.hit(func() error { return f.Kernel.AddLink(ns, l) })
}
func (f *faultKernel) SetLink(ns, n string, ch kernel.LinkChange) error {
	return f.hit(func() error { return f.Kernel.SetLink(ns, n, ch) })
}
func (f *faultKernel) DelLink(ns, n string) error {
	return f.hit(func() error { return f.Kernel.DelLink(ns, n) })
}
func (f *faultKernel) AddAddr(ns string, a kernel.Addr, r bool) error {
	return f.hit(func() error { return f.Kernel.AddAddr(ns, a, r) })
}
func (f *faultKernel) DelAddr(ns string, a kernel.Addr) error {
	return f.hit(func() error { return f.Kernel.DelAddr(ns, a) })
}
func (f *faultKernel) AddRoute(ns string, r kernel.Route, rep bool) error {
	return f.hit(func() error { return f.Kernel.AddRoute(ns, r, rep) })
}
func (f *faultKernel) DelRoute(ns string, r kernel.Route) error {
	return f.hit(func() error { return f.Kernel.DelRoute(ns, r) })
}
func (f *faultKernel) AddRule(ns string, r kernel.Rule) error {
	return f.hit(func() error { return f.Kernel.AddRule(ns, r) })
}
func (f *faultKernel) DelRule(ns string, r kernel.Rule) error {
	return f.hit(func() error { return f.Kernel.DelRule(ns, r) })
}
func (f *faultKernel) SetNeigh(ns string, n kernel.Neigh) error {
	return f.hit(func() error { return f.Kernel.SetNeigh(ns, n) })
}
func (f *faultKernel) DelNeigh(ns string, n kernel.Neigh) error {
	return f.hit(func() error { return f.Kernel.DelNeigh(ns, n) })
}
func (f *faultKernel) ConfigureWireGuard(ns, n string, c kernel.WGConfig) error {
	return f.hit(func() error { return f.Kernel.ConfigureWireGuard(ns, n, c) })
}
func (f *faultKernel) Exec(ctx context.Context, ns string, c kernel.Cmd) error {
	return f.Kernel.Exec(ctx, ns, c)
}

// runAll ensures ws through tx, stopping at the first error.
func runAll(tx *txn.Tx, ws []kernel.Want) error {
	for _, w := range ws {
		if _, err := tx.Ensure(w); err != nil {
			return fmt.Errorf("%s: %w", kernel.FormatWant(w, nil), err)
		}
	}
	return nil
}

// journalOpts returns options with a fresh journal directory: under the
// sandbox's tmpfs /run/nets (where the real journal lives, and fsync is
// cheap) when there, else t.TempDir().
func journalOpts(t testing.TB) txn.Options {
	return txn.Options{JournalDir: tempDir(t), Recipe: "test.nets", Wait: -1}
}

func tempDir(t testing.TB) string {
	if !ktest.InSandbox() {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/run/nets", "txntest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func fileMode(t testing.TB, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}
