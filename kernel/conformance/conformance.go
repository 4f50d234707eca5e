// Package conformance is one table of ensure cases that every
// kernel.Kernel must pass the same way: the in-memory Model (so plans
// are honest) and the real kernel over netlink.
//
// Each case sets up some state, ensures one Want through a
// kernel.Ensurer, and checks: the change marks the step reports (or the
// error and its Kind sentinel), case-specific facts, that ensuring the
// same Want again changes nothing, that the step's inverse survives the
// journal's JSON round trip, and that applying the inverse restores the
// full normalized state (kernel.DumpState of every namespace involved)
// exactly as it was before. Comparing full dumps makes any difference
// between a kernel and the model show up.
//
// Cases use links of kind veth, bridge and tun only.
package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// Env is what a case builds its wants from.
type Env struct {
	// NS is the namespace the case works in (fresh).
	NS string
	// Other is a namespace name the case may create (`netns Other`); it
	// is deleted after the case if it exists.
	Other string
}

// Case is one conformance case.
type Case struct {
	Name string
	// Setup wants, ensured first; they must succeed.
	Setup func(env Env) []kernel.Want
	// Want is the ensure under test.
	Want func(env Env) kernel.Want
	// Marks are the change marks the step must report, in order, e.g.
	// "+", "~~", "-+"; "" means no change.
	Marks string
	// Err, when set, is an error the ensure must fail with (errors.Is):
	// a Kind sentinel (kernel.ErrExist, ...) or an errno.
	Err error
	// Check inspects the state after the ensure.
	Check func(t *testing.T, k kernel.Kernel, env Env)
}

// Run runs every case (Cases and PrimitiveCases), each as a subtest with
// its own kernel and fresh namespace from open.
func Run(t *testing.T, open func(t *testing.T) (k kernel.Kernel, ns string)) {
	for i, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			k, ns := open(t)
			env := Env{NS: ns, Other: fmt.Sprintf("cf%d-%s", i, short(c.Name))}
			t.Cleanup(func() { cleanup(k, env) })
			var twin *kernel.Model
			if _, isModel := k.(*kernel.Model); !isModel {
				m, err := kernel.NewModelFrom(k, []string{env.NS})
				if err != nil {
					t.Fatalf("seeding the model twin: %v", err)
				}
				twin = m
			}
			got := runCase(t, k, env, c)
			if twin != nil && !t.Failed() {
				// The model must agree with this kernel: run the case on
				// a Model seeded from the same starting state and compare.
				want := runCase(t, twin, env, c)
				names := []string{"after setup", "after the ensure", "after the inverse"}
				for i := range got {
					if i < len(want) && agreeable(got[i]) != agreeable(want[i]) {
						t.Errorf("the model disagrees %s (- kernel, + model):\n%s", names[i], diff(agreeable(got[i]), agreeable(want[i])))
					}
				}
			}
		})
	}
	for _, sq := range Sequences() {
		t.Run("rollback/"+sq.Name, func(t *testing.T) {
			k, ns := open(t)
			env := Env{NS: ns, Other: "cfs-" + short(sq.Name)}
			t.Cleanup(func() { cleanup(k, env) })
			runSequence(t, k, env, sq)
		})
	}
	for _, c := range PrimitiveCases() {
		t.Run("primitive/"+c.Name, func(t *testing.T) {
			k, ns := open(t)
			env := Env{NS: ns, Other: "cfp-" + short(c.Name)}
			t.Cleanup(func() { cleanup(k, env) })
			err := c.Do(k, env)
			if !errors.Is(err, c.Err) {
				t.Fatalf("got error %v, want one that is %v", err, c.Err)
			}
			var ke *kernel.Error
			if !errors.As(err, &ke) {
				t.Fatalf("error %v is not a *kernel.Error", err)
			}
		})
	}
}

func short(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 8 {
			break
		}
	}
	return b.String()
}

func cleanup(k kernel.Kernel, env Env) {
	if names, err := k.Namespaces(); err == nil {
		for _, n := range names {
			if n == env.Other {
				_ = k.DelNamespace(n)
			}
		}
	}
}

// dump renders the state of env's namespaces.
func dump(t *testing.T, k kernel.Kernel, env Env) string {
	t.Helper()
	s, err := kernel.DumpState(k, env.NS)
	if err != nil {
		t.Fatalf("dump %q: %v", env.NS, err)
	}
	names, err := k.Namespaces()
	if err != nil {
		t.Fatalf("namespaces: %v", err)
	}
	for _, n := range names {
		if n == env.Other {
			o, err := kernel.DumpState(k, n)
			if err != nil {
				t.Fatalf("dump %q: %v", n, err)
			}
			s += "--- netns " + n + "\n" + o
		}
	}
	return s
}

func marks(s *kernel.Step) string {
	var b strings.Builder
	for _, c := range s.Changes {
		b.WriteByte(c.Mark)
	}
	return b.String()
}

// agreeable drops what a model cannot predict from a dump: the
// hardware addresses the kernel picks at random.
func agreeable(dump string) string {
	lines := strings.Split(dump, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "link ") {
			if j := strings.Index(l, " address "); j >= 0 {
				lines[i] = l[:j]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// runCase runs c on k and returns the dumps after the setup, after the
// ensure and after its inverse (as far as the case got).
func runCase(t *testing.T, k kernel.Kernel, env Env, c Case) (dumps []string) {
	e := kernel.NewEnsurer(k)
	if c.Setup != nil {
		for _, w := range c.Setup(env) {
			if _, err := e.Ensure(w); err != nil {
				t.Fatalf("setup %s: %v", kernel.FormatWant(w, nil), err)
			}
		}
	}
	before := dump(t, k, env)
	dumps = append(dumps, before)
	w := c.Want(env)
	step, err := e.Prepare(w)
	if err == nil {
		if c.Err == nil && marks(step) != c.Marks {
			t.Errorf("%s: changes %q, want marks %q", kernel.FormatWant(w, nil), step.Changes, c.Marks)
		}
		err = e.Apply(step)
	}
	if c.Err != nil {
		if !errors.Is(err, c.Err) {
			t.Fatalf("%s: got error %v, want %v", kernel.FormatWant(w, nil), err, c.Err)
		}
		if step != nil {
			undo(t, k, step)
		}
		if after := dump(t, k, env); after != before {
			t.Errorf("failed ensure (undone) left the state changed:\n%s", diff(before, after))
		}
		return dumps
	}
	if err != nil {
		t.Fatalf("%s: %v", kernel.FormatWant(w, nil), err)
	}
	for _, ch := range step.Changes {
		if strings.Contains(ch.Text, "PRIVATE") {
			t.Errorf("secret in change text %q", ch.Text)
		}
	}
	if c.Check != nil {
		c.Check(t, k, env)
	}
	applied := dump(t, k, env)
	dumps = append(dumps, applied)
	// Idempotent: a fresh Ensurer (reading the kernel anew) sees nothing to do.
	again, err := kernel.NewEnsurer(k).Prepare(w)
	if err != nil {
		t.Fatalf("second prepare: %v", err)
	}
	if again.Changed() {
		t.Errorf("second ensure of %s is not a no-op: %q", kernel.FormatWant(w, nil), again.Changes)
	}
	if c.Marks == "" {
		if applied != before {
			t.Errorf("no-op ensure changed the state:\n%s", diff(before, applied))
		}
		return dumps
	}
	undo(t, k, step)
	after := dump(t, k, env)
	dumps = append(dumps, after)
	if after != before {
		t.Errorf("inverse did not restore the state:\n%s", diff(before, after))
	}
	// Replaying the inverse again is harmless.
	inv := journal(t, step.Inverse)
	steps, err := kernel.NewEnsurer(k).EnsureAll(inv)
	if err != nil {
		t.Fatalf("replaying the inverse: %v", err)
	}
	for _, s := range steps {
		if s.Changed() {
			t.Errorf("replaying the inverse changed %q", s.Changes)
		}
	}
	return dumps
}

// journal round-trips wants through JSON, as the transaction journal
// stores them.
func journal(t *testing.T, ws []kernel.Want) []kernel.Want {
	t.Helper()
	var out []kernel.Want
	for _, w := range ws {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("marshal inverse %s: %v", kernel.FormatWant(w, nil), err)
		}
		var back kernel.Want
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal inverse %s: %v", b, err)
		}
		out = append(out, back)
	}
	return out
}

// undo applies a step's inverse, through the journal, with a fresh
// Ensurer (as `nets recover` would).
func undo(t *testing.T, k kernel.Kernel, s *kernel.Step) {
	t.Helper()
	if _, err := kernel.NewEnsurer(k).EnsureAll(journal(t, s.Inverse)); err != nil {
		t.Fatalf("applying the inverse: %v", err)
	}
}

func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	var out []string
	for _, s := range al {
		if !in(bl, s) {
			out = append(out, "- "+s)
		}
	}
	for _, s := range bl {
		if !in(al, s) {
			out = append(out, "+ "+s)
		}
	}
	if len(out) == 0 {
		return "(same lines, different order)\nbefore:\n" + a + "after:\n" + b
	}
	return strings.Join(out, "\n")
}

// ---- builders ----

func pfx(s string) netip.Prefix {
	if s == "default" {
		return netip.MustParsePrefix("0.0.0.0/0")
	}
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
func bptr(b bool) *bool          { return &b }
func u32(v uint32) *uint32       { return &v }
func sptr(s string) *string      { return &s }
func u8ptr(v uint8) *uint8       { return &v }
func want(ns string) kernel.Want { return kernel.Want{NS: ns} }

func veth(ns, a, b string) kernel.Want {
	w := want(ns)
	w.Link = &kernel.LinkWant{Name: a, Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: b}}
	return w
}

func linkUp(ns, name string) kernel.Want {
	w := want(ns)
	w.Link = &kernel.LinkWant{Name: name, Up: bptr(true)}
	return w
}

func link(ns string, l kernel.LinkWant) kernel.Want { w := want(ns); w.Link = &l; return w }

func addr(ns, dev, p string) kernel.Want {
	w := want(ns)
	w.Addr = &kernel.Addr{Link: dev, Prefix: pfx(p)}
	return w
}

func route(ns string, r kernel.Route, set kernel.RouteFields) kernel.Want {
	w := want(ns)
	w.Route = &kernel.RouteWant{Route: r, Set: set}
	return w
}

func via(ns, dst, gw string, table uint32) kernel.Want {
	return route(ns, kernel.Route{Dst: pfx(dst), Gateway: ip(gw), Table: table}, kernel.RouteSetGateway)
}

func rule(ns string, r kernel.Rule, any bool) kernel.Want {
	w := want(ns)
	w.Rule = &kernel.RuleWant{Rule: r, AnyPriority: any}
	return w
}

func neigh(ns, dev, addr, ll string) kernel.Want {
	w := want(ns)
	w.Neigh = &kernel.Neigh{Link: dev, IP: ip(addr), LLAddr: mac(ll)}
	return w
}

func absent(w kernel.Want) kernel.Want { w.Absent = true; return w }

// lab is a veth pair c0/c1, both up, with 10.1.0.1/24 on c0 and
// 2001:db8:1::1/64 on c0.
func lab(env Env) []kernel.Want {
	return []kernel.Want{
		veth(env.NS, "c0", "c1"), linkUp(env.NS, "c0"), linkUp(env.NS, "c1"),
		addr(env.NS, "c0", "10.1.0.1/24"),
	}
}

func seq(fs ...func(Env) []kernel.Want) func(Env) []kernel.Want {
	return func(env Env) []kernel.Want {
		var out []kernel.Want
		for _, f := range fs {
			out = append(out, f(env)...)
		}
		return out
	}
}

func ws(f func(Env) []kernel.Want) func(Env) []kernel.Want { return f }

func one(w func(Env) kernel.Want) func(Env) []kernel.Want {
	return func(env Env) []kernel.Want { return []kernel.Want{w(env)} }
}

// ---- checks ----

func findLink(t *testing.T, k kernel.Kernel, ns, name string) *kernel.Link {
	t.Helper()
	links, err := k.Links(ns)
	if err != nil {
		t.Fatalf("links: %v", err)
	}
	for _, l := range links {
		if l.Name == name {
			return &l
		}
	}
	return nil
}

func findRoute(t *testing.T, k kernel.Kernel, ns string, table uint32, dst string) *kernel.Route {
	t.Helper()
	rs, err := k.Routes(ns)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	for _, r := range rs {
		if r.Table == table && r.Dst == pfx(dst) {
			return &r
		}
	}
	return nil
}

func hasAddr(t *testing.T, k kernel.Kernel, ns, dev, p string) bool {
	t.Helper()
	as, err := k.Addrs(ns)
	if err != nil {
		t.Fatalf("addrs: %v", err)
	}
	for _, a := range as {
		if a.Link == dev && a.Prefix == pfx(p) {
			return true
		}
	}
	return false
}

func rules(t *testing.T, k kernel.Kernel, ns string) []kernel.Rule {
	t.Helper()
	rs, err := k.Rules(ns)
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return rs
}

// Cases returns the ensure cases.
func Cases() []Case {
	return append(append(delMatchCases(), linkDropCases()...), []Case{
		// ---- links ----
		{Name: "veth add", Want: func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }, Marks: "+",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				a, b := findLink(t, k, env.NS, "c0"), findLink(t, k, env.NS, "c1")
				if a == nil || b == nil || a.Kind != kernel.KindVeth || b.Kind != kernel.KindVeth {
					t.Fatalf("veth ends: %v %v", a, b)
				}
				if a.Veth == nil || a.Veth.Peer != "c1" || b.Veth == nil || b.Veth.Peer != "c0" {
					t.Errorf("veth peers: %+v %+v", a.Veth, b.Veth)
				}
			}},
		{Name: "veth no-op", Setup: one(func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }),
			Want: func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }, Marks: ""},
		{Name: "bridge add up", Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, Up: bptr(true)})
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if l := findLink(t, k, env.NS, "br0"); l == nil || !l.Up || l.Kind != kernel.KindBridge {
				t.Errorf("br0: %+v", l)
			}
		}},
		{Name: "tun add", Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "tun0", Kind: kernel.KindTun})
		}, Marks: "+"},
		{Name: "link attrs in place", Setup: one(func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }),
			Want: func(env Env) kernel.Want {
				return link(env.NS, kernel.LinkWant{Name: "c0", MTU: u32(9000), Up: bptr(true), Alias: sptr("uplink 1"),
					Address: mac("02:00:00:00:00:aa")})
			}, Marks: "~~~~", Check: func(t *testing.T, k kernel.Kernel, env Env) {
				l := findLink(t, k, env.NS, "c0")
				if l.MTU != 9000 || !l.Up || l.Alias != "uplink 1" || l.Address.String() != "02:00:00:00:00:aa" {
					t.Errorf("c0: %+v", l)
				}
			}},
		{Name: "link master", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{veth(env.NS, "c0", "c1"), link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge})}
		}, Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", Master: sptr("br0")})
		}, Marks: "~", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if l := findLink(t, k, env.NS, "c0"); l.Master != "br0" {
				t.Errorf("c0 master %q", l.Master)
			}
		}},
		{Name: "link kind clash recreates", Setup: one(func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "x0", Kind: kernel.KindBridge})
		}), Want: func(env Env) kernel.Want { return veth(env.NS, "x0", "x1") }, Marks: "-+",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if l := findLink(t, k, env.NS, "x0"); l == nil || l.Kind != kernel.KindVeth {
					t.Errorf("x0: %+v", l)
				}
			}},
		{Name: "bridge mtu given at creation sticks when a port joins", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{
				link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, MTU: u32(9000)}),
				veth(env.NS, "c0", "c1"),
				link(env.NS, kernel.LinkWant{Name: "c0", MTU: u32(1400)}),
			}
		}, Want: func(env Env) kernel.Want { return link(env.NS, kernel.LinkWant{Name: "c0", Master: sptr("br0")}) }, Marks: "~",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				// The kernel re-derives a bridge's MTU from its ports unless
				// it was set on the existing bridge; nets sets it so.
				if l := findLink(t, k, env.NS, "br0"); l == nil || l.MTU != 9000 {
					t.Errorf("br0 after a 1400 port joined: %+v (want mtu 9000)", l)
				}
			}},
		{Name: "veth peer name taken by a bridge", Setup: one(func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "br1", Kind: kernel.KindBridge})
		}), Want: func(env Env) kernel.Want { return veth(env.NS, "a1", "br1") }, Err: kernel.ErrExist,
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if findLink(t, k, env.NS, "a1") != nil {
					t.Errorf("a1 was created")
				}
			}},
		{Name: "veth peer name taken in the peer namespace", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{{Netns: &kernel.NetnsWant{Name: env.Other}},
				link(env.Other, kernel.LinkWant{Name: "br1", Kind: kernel.KindBridge})}
		}, Want: func(env Env) kernel.Want {
			w := veth(env.NS, "a1", "br1")
			w.Link.Veth.PeerNetns = env.Other
			return w
		}, Err: kernel.ErrExist},
		{Name: "veth peer clash recreates", Setup: one(func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }),
			Want: func(env Env) kernel.Want { return veth(env.NS, "c0", "c2") }, Marks: "-+"},
		{Name: "link attribute on missing link", Want: func(env Env) kernel.Want { return linkUp(env.NS, "nosuch0") },
			Err: kernel.ErrNotFound},
		{Name: "link address change keeps permanent neighbours", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{
				neigh(env.NS, "c0", "10.1.0.7", "02:11:22:33:44:55"),
				neigh(env.NS, "c0", "2001:db8::7", "02:11:22:33:44:56"),
			}
		}), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", Address: mac("02:aa:bb:cc:dd:ee")})
		}, Marks: "~",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				ns, err := k.Neighs(env.NS)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, x := range ns {
					if x.Link == "c0" && x.State&kernel.NeighPermanent != 0 {
						n++
					}
				}
				if n != 2 {
					t.Errorf("permanent neighbours of c0 after its MAC changed: %v (want both)", ns)
				}
			}},
		{Name: "link mtu below 1280 drops IPv6 neighbours, undo restores them", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{
				neigh(env.NS, "c0", "10.1.0.7", "02:11:22:33:44:55"),
				neigh(env.NS, "c0", "2001:db8::7", "02:11:22:33:44:56"),
			}
		}), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", MTU: u32(1000)})
		}, Marks: "~-"},
		{Name: "del veth restores dependents", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{
				link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, Up: bptr(true)}),
				link(env.NS, kernel.LinkWant{Name: "c1", Master: sptr("br0"), MTU: u32(1400)}),
				addr(env.NS, "c0", "10.1.0.2/24"), addr(env.NS, "c0", "10.9.0.1/32"),
				addr(env.NS, "c1", "10.2.0.1/24"),
				via(env.NS, "10.50.0.0/16", "10.1.0.254", 100),
				via(env.NS, "10.51.0.0/16", "10.1.0.254", 0),
				route(env.NS, kernel.Route{Dst: pfx("10.52.0.0/16"), Dev: "c0", Table: 1000000, Priority: 7}, kernel.RouteSetDev),
				neigh(env.NS, "c0", "10.1.0.7", "02:11:22:33:44:55"),
				neigh(env.NS, "c1", "10.2.0.7", "02:11:22:33:44:56"),
			}
		}), Want: func(env Env) kernel.Want { return absent(veth(env.NS, "c0", "c1")) }, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if findLink(t, k, env.NS, "c0") != nil || findLink(t, k, env.NS, "c1") != nil {
					t.Errorf("veth ends survive deletion")
				}
				if findRoute(t, k, env.NS, 100, "10.50.0.0/16") != nil || findRoute(t, k, env.NS, 1000000, "10.52.0.0/16") != nil {
					t.Errorf("routes through c0 survive its deletion")
				}
			}},
		{Name: "del bridge restores ports", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{
				veth(env.NS, "c0", "c1"), veth(env.NS, "c2", "c3"),
				link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, Up: bptr(true)}),
				link(env.NS, kernel.LinkWant{Name: "c0", Master: sptr("br0"), Up: bptr(true)}),
				link(env.NS, kernel.LinkWant{Name: "c2", Master: sptr("br0")}),
				addr(env.NS, "br0", "10.3.0.1/24"),
				via(env.NS, "10.60.0.0/16", "10.3.0.9", 0),
			}
		}, Want: func(env Env) kernel.Want {
			return absent(link(env.NS, kernel.LinkWant{Name: "br0"}))
		}, Marks: "-", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if l := findLink(t, k, env.NS, "c0"); l == nil || l.Master != "" || !l.Up {
				t.Errorf("port after bridge deletion: %+v", l)
			}
		}},
		{Name: "del missing link is a no-op", Want: func(env Env) kernel.Want {
			return absent(link(env.NS, kernel.LinkWant{Name: "nosuch0"}))
		}, Marks: ""},
		{Name: "move link to netns", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{
				{Netns: &kernel.NetnsWant{Name: env.Other}},
				via(env.NS, "10.70.0.0/16", "10.1.0.254", 100),
			}
		}), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", Netns: sptr(env.Other)})
		}, Marks: "~", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if findLink(t, k, env.NS, "c0") != nil {
				t.Errorf("c0 still in %q", env.NS)
			}
			l := findLink(t, k, env.Other, "c0")
			if l == nil || l.Up {
				t.Fatalf("moved c0: %+v", l)
			}
			if hasAddr(t, k, env.Other, "c0", "10.1.0.1/24") {
				t.Errorf("moved link kept its address")
			}
			if findRoute(t, k, env.NS, 100, "10.70.0.0/16") != nil {
				t.Errorf("route through the moved link survived")
			}
		}},
		{Name: "move link and set up there", Setup: seq(lab, one(func(env Env) kernel.Want {
			return kernel.Want{Netns: &kernel.NetnsWant{Name: env.Other}}
		})), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c1", Netns: sptr(env.Other), Up: bptr(true), MTU: u32(1400)})
		}, Marks: "~~~", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if l := findLink(t, k, env.Other, "c1"); l == nil || !l.Up || l.MTU != 1400 {
				t.Errorf("moved c1: %+v", l)
			}
		}},
		{Name: "veth with peer in other netns", Setup: one(func(env Env) kernel.Want {
			return kernel.Want{Netns: &kernel.NetnsWant{Name: env.Other}}
		}), Want: func(env Env) kernel.Want {
			w := veth(env.NS, "c0", "c1")
			w.Link.Veth.PeerNetns = env.Other
			return w
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if findLink(t, k, env.Other, "c1") == nil || findLink(t, k, env.NS, "c1") != nil {
				t.Errorf("peer not in %q", env.Other)
			}
		}},
		{Name: "del veth end whose peer is elsewhere", Setup: func(env Env) []kernel.Want {
			w := veth(env.NS, "c0", "c1")
			w.Link.Veth.PeerNetns = env.Other
			return []kernel.Want{{Netns: &kernel.NetnsWant{Name: env.Other}}, w,
				linkUp(env.Other, "c1"), addr(env.Other, "c1", "10.4.0.2/24"),
				via(env.Other, "default", "10.4.0.1", 0)}
		}, Want: func(env Env) kernel.Want { return absent(link(env.NS, kernel.LinkWant{Name: "c0"})) }, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if findLink(t, k, env.Other, "c1") != nil {
					t.Errorf("far end survived")
				}
			}},

		{Name: "link down restores routes and v6 addresses", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{
				addr(env.NS, "c0", "2001:db8:1::1/64"),
				via(env.NS, "10.90.0.0/16", "10.1.0.254", 100),
				route(env.NS, kernel.Route{Dst: pfx("2001:db8:9::/48"), Gateway: ip("2001:db8:1::2"), Dev: "c0"},
					kernel.RouteSetGateway|kernel.RouteSetDev),
				neigh(env.NS, "c0", "10.1.0.7", "02:11:22:33:44:55"),
			}
		}), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", Up: bptr(false)})
		}, Marks: "~----", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if findRoute(t, k, env.NS, 100, "10.90.0.0/16") != nil {
				t.Errorf("route through a down link survived")
			}
			if hasAddr(t, k, env.NS, "c0", "2001:db8:1::1/64") {
				t.Errorf("IPv6 address survived link down")
			}
			if !hasAddr(t, k, env.NS, "c0", "10.1.0.1/24") {
				t.Errorf("IPv4 address lost on link down")
			}
		}},

		// ---- addresses ----
		{Name: "addr label and broadcast", Setup: ws(lab), Want: func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.11.0.1/24")
			w.Addr.Label, w.Addr.Broadcast = "c0:x", ip("10.11.0.255")
			return w
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			as, _ := k.Addrs(env.NS)
			for _, a := range as {
				if a.Prefix == pfx("10.11.0.1/24") && (a.Label != "c0:x" || a.Broadcast != ip("10.11.0.255")) {
					t.Errorf("addr %+v", a)
				}
			}
		}},
		{Name: "addr label change", Setup: seq(lab, one(func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.12.0.1/24")
			w.Addr.Label = "c0:a"
			return w
		})), Want: func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.12.0.1/24")
			w.Addr.Label = "c0:b"
			return w
		}, Marks: "~"},
		{Name: "addr add", Setup: ws(lab), Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "10.5.0.1/24") },
			Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
				r := findRoute(t, k, env.NS, kernel.TableMain, "10.5.0.0/24")
				if r == nil || r.Protocol != 2 || r.Scope != kernel.ScopeLink || r.Dev != "c0" || r.Src != ip("10.5.0.1") {
					t.Errorf("connected route: %+v", r)
				}
				l := findRoute(t, k, env.NS, kernel.TableLocal, "10.5.0.1/32")
				if l == nil || l.Type != kernel.RouteLocal || l.Scope != kernel.ScopeHost {
					t.Errorf("local route: %+v", l)
				}
			}},
		{Name: "addr no-op", Setup: ws(lab), Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "10.1.0.1/24") }, Marks: ""},
		{Name: "addr same ip other prefix len is another address", Setup: ws(lab),
			Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "10.1.0.1/16") }, Marks: "+"},
		{Name: "addr on down link", Setup: one(func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }),
			Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "10.6.0.1/24") }, Marks: "+",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if findRoute(t, k, env.NS, kernel.TableMain, "10.6.0.0/24") != nil {
					t.Errorf("connected route on a down link")
				}
				if findRoute(t, k, env.NS, kernel.TableLocal, "10.6.0.1/32") == nil {
					t.Errorf("no local route")
				}
			}},
		{Name: "addr peer", Setup: ws(lab), Want: func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.7.0.1")
			w.Addr.Peer = pfx("10.7.0.2")
			return w
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if findRoute(t, k, env.NS, kernel.TableMain, "10.7.0.2/32") == nil {
				t.Errorf("no route to the peer")
			}
		}},
		{Name: "addr scope change", Setup: ws(lab), Want: func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.1.0.1/24")
			w.Addr.Scope = kernel.ScopeLink
			return w
		}, Marks: "~"},
		{Name: "addr v6", Setup: ws(lab), Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "2001:db8:5::1/64") },
			Marks: "+"},
		{Name: "addr v6 host", Setup: ws(lab), Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "2001:db8:7::1/128") },
			Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if r := findRoute(t, k, env.NS, kernel.TableMain, "2001:db8:7::1/128"); r == nil || r.Priority != 256 {
					t.Errorf("host route of a /128: %+v", r)
				}
			}},
		{Name: "addr /31", Setup: ws(lab), Want: func(env Env) kernel.Want { return addr(env.NS, "c0", "10.13.0.1/31") },
			Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if findRoute(t, k, env.NS, kernel.TableLocal, "10.13.0.1/32") == nil || findRoute(t, k, env.NS, kernel.TableMain, "10.13.0.0/31") == nil {
					t.Errorf("routes of a /31")
				}
			}},
		{Name: "addr broadcast on up link", Setup: ws(lab), Want: func(env Env) kernel.Want {
			w := addr(env.NS, "c0", "10.14.0.1/24")
			w.Addr.Broadcast = ip("10.14.0.127")
			return w
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if r := findRoute(t, k, env.NS, kernel.TableLocal, "10.14.0.127/32"); r == nil || r.Type != kernel.RouteBroadcast {
				t.Errorf("broadcast route: %+v", r)
			}
		}},
		{Name: "addr del", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{addr(env.NS, "c0", "10.1.0.2/24"),
				route(env.NS, kernel.Route{Dst: pfx("10.80.0.0/16"), Dev: "c0", Src: ip("10.1.0.1")}, kernel.RouteSetDev|kernel.RouteSetSrc)}
		}), Want: func(env Env) kernel.Want { return absent(addr(env.NS, "c0", "10.1.0.1/24")) }, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if hasAddr(t, k, env.NS, "c0", "10.1.0.2/24") {
					t.Errorf("secondary survived its primary")
				}
				if findRoute(t, k, env.NS, kernel.TableMain, "10.80.0.0/16") != nil {
					t.Errorf("route with src of the deleted address survived")
				}
			}},
		{Name: "addr del missing is a no-op", Setup: ws(lab),
			Want: func(env Env) kernel.Want { return absent(addr(env.NS, "c0", "10.1.0.9/24")) }, Marks: ""},
		{Name: "addr on missing link", Want: func(env Env) kernel.Want { return addr(env.NS, "nosuch0", "10.1.0.1/24") },
			Err: kernel.ErrNotFound},

		// ---- routes ----
		{Name: "route add via", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return via(env.NS, "10.20.0.0/16", "10.1.0.254", 0)
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			r := findRoute(t, k, env.NS, kernel.TableMain, "10.20.0.0/16")
			if r == nil || r.Gateway != ip("10.1.0.254") || r.Dev != "c0" || r.Protocol != 3 || r.Scope != kernel.ScopeUniverse {
				t.Errorf("route: %+v", r)
			}
		}},
		{Name: "route no-op ignores unstated attributes", Setup: seq(lab, one(func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.21.0.0/16"), Gateway: ip("10.1.0.254"), Protocol: 4},
				kernel.RouteSetGateway|kernel.RouteSetProtocol)
		})), Want: func(env Env) kernel.Want { return via(env.NS, "10.21.0.0/16", "10.1.0.254", 0) }, Marks: ""},
		{Name: "route replace gateway", Setup: seq(lab, one(func(env Env) kernel.Want {
			return via(env.NS, "10.22.0.0/16", "10.1.0.254", 100)
		})), Want: func(env Env) kernel.Want { return via(env.NS, "10.22.0.0/16", "10.1.0.253", 100) }, Marks: "~",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				r := findRoute(t, k, env.NS, 100, "10.22.0.0/16")
				if r == nil || r.Gateway != ip("10.1.0.253") {
					t.Errorf("route: %+v", r)
				}
			}},
		{Name: "route blackhole replaces unicast", Setup: seq(lab, one(func(env Env) kernel.Want {
			return via(env.NS, "10.23.0.0/16", "10.1.0.254", 0)
		})), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.23.0.0/16"), Type: kernel.RouteBlackhole}, 0)
		}, Marks: "~"},
		{Name: "route same prefix other metric is another route", Setup: seq(lab, one(func(env Env) kernel.Want {
			return via(env.NS, "10.24.0.0/16", "10.1.0.254", 0)
		})), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.24.0.0/16"), Gateway: ip("10.1.0.253"), Priority: 10}, kernel.RouteSetGateway)
		}, Marks: "+"},
		{Name: "route tables are independent", Setup: seq(lab, one(func(env Env) kernel.Want {
			return via(env.NS, "default", "10.1.0.254", 0)
		})), Want: func(env Env) kernel.Want {
			return via(env.NS, "default", "10.1.0.253", 4000000000)
		}, Marks: "+"},
		{Name: "route unreachable in big table", Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.25.0.0/16"), Type: kernel.RouteUnreachable, Table: 1000000, Priority: 5}, 0)
		}, Marks: "+"},
		{Name: "route prohibit v6", Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("2001:db8:99::/48"), Type: kernel.RouteProhibit, Table: 100}, 0)
		}, Marks: "+"},
		{Name: "route dev with src and mtu", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.26.0.0/16"), Dev: "c0", Src: ip("10.1.0.1"), MTU: 1400, Table: 100},
				kernel.RouteSetDev|kernel.RouteSetSrc|kernel.RouteSetMTU)
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			r := findRoute(t, k, env.NS, 100, "10.26.0.0/16")
			if r == nil || r.Scope != kernel.ScopeLink || r.MTU != 1400 || r.Src != ip("10.1.0.1") {
				t.Errorf("route: %+v", r)
			}
		}},
		{Name: "route onlink", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.27.0.0/16"), Gateway: ip("192.0.2.1"), Dev: "c0", OnLink: true},
				kernel.RouteSetGateway|kernel.RouteSetDev|kernel.RouteSetOnLink)
		}, Marks: "+"},
		{Name: "route v6 via", Setup: seq(lab, one(func(env Env) kernel.Want { return addr(env.NS, "c0", "2001:db8:1::1/64") })),
			Want: func(env Env) kernel.Want {
				return route(env.NS, kernel.Route{Dst: pfx("2001:db8:2::/64"), Gateway: ip("2001:db8:1::2"), Dev: "c0"},
					kernel.RouteSetGateway|kernel.RouteSetDev)
			}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
				r := findRoute(t, k, env.NS, kernel.TableMain, "2001:db8:2::/64")
				if r == nil || r.Priority != 1024 {
					t.Errorf("v6 route: %+v", r)
				}
			}},
		{Name: "route v6 replace", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{addr(env.NS, "c0", "2001:db8:1::1/64"),
				route(env.NS, kernel.Route{Dst: pfx("2001:db8:3::/64"), Gateway: ip("2001:db8:1::2"), Dev: "c0"}, kernel.RouteSetGateway|kernel.RouteSetDev)}
		}), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("2001:db8:3::/64"), Gateway: ip("2001:db8:1::3"), Dev: "c0"}, kernel.RouteSetGateway|kernel.RouteSetDev)
		}, Marks: "~"},
		{Name: "route local type in a table", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.5.5.5"), Type: kernel.RouteLocal, Dev: "c0", Table: 100}, kernel.RouteSetDev)
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if r := findRoute(t, k, env.NS, 100, "10.5.5.5/32"); r == nil || r.Scope != kernel.ScopeHost || r.Protocol != 3 {
				t.Errorf("local route: %+v", r)
			}
		}},
		{Name: "route src not local", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.32.0.0/16"), Dev: "c0", Src: ip("10.9.9.9")}, kernel.RouteSetDev|kernel.RouteSetSrc)
		}, Err: syscall.EINVAL},
		{Name: "route via own address", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return via(env.NS, "10.33.0.0/16", "10.1.0.1", 0)
		}, Marks: "+"},
		{Name: "route on down link", Setup: one(func(env Env) kernel.Want { return veth(env.NS, "c0", "c1") }),
			Want: func(env Env) kernel.Want {
				return route(env.NS, kernel.Route{Dst: pfx("10.34.0.0/16"), Dev: "c0"}, kernel.RouteSetDev)
			}, Err: syscall.ENETDOWN},
		{Name: "route via gateway behind down link", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{veth(env.NS, "c0", "c1"), addr(env.NS, "c0", "10.1.0.1/24")}
		}, Want: func(env Env) kernel.Want { return via(env.NS, "10.35.0.0/16", "10.1.0.254", 0) }, Err: syscall.ENETUNREACH},
		{Name: "route via gateway on tun", Setup: func(env Env) []kernel.Want {
			return []kernel.Want{link(env.NS, kernel.LinkWant{Name: "tun0", Kind: kernel.KindTun, Up: bptr(true)}),
				addr(env.NS, "tun0", "10.36.0.1/24")}
		}, Want: func(env Env) kernel.Want { return via(env.NS, "10.37.0.0/16", "10.36.0.2", 0) }, Marks: "+"},
		{Name: "route unreachable gateway", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return via(env.NS, "10.28.0.0/16", "10.99.0.1", 0)
		}, Err: syscall.ENETUNREACH},
		{Name: "route on missing dev", Want: func(env Env) kernel.Want {
			return route(env.NS, kernel.Route{Dst: pfx("10.29.0.0/16"), Dev: "nosuch0"}, kernel.RouteSetDev)
		}, Err: kernel.ErrNotFound},
		{Name: "route del", Setup: seq(lab, one(func(env Env) kernel.Want {
			return via(env.NS, "10.30.0.0/16", "10.1.0.254", 100)
		})), Want: func(env Env) kernel.Want {
			return absent(route(env.NS, kernel.Route{Dst: pfx("10.30.0.0/16"), Table: 100}, 0))
		}, Marks: "-"},
		{Name: "route del missing is a no-op", Want: func(env Env) kernel.Want {
			return absent(route(env.NS, kernel.Route{Dst: pfx("10.31.0.0/16"), Table: 100}, 0))
		}, Marks: ""},

		// ---- rules ----
		{Name: "rule add kernel priority", Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Mark: 1, Action: kernel.ActionLookup, Table: 100}, true)
		}, Marks: "+", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			for _, r := range rules(t, k, env.NS) {
				if r.Mark == 1 && r.Table == 100 {
					if r.Priority != 32765 {
						t.Errorf("priority %d, want the kernel's 32765", r.Priority)
					}
					return
				}
			}
			t.Errorf("rule missing")
		}},
		{Name: "rule any priority satisfied elsewhere", Setup: one(func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 200, Priority: 100}, false)
		}), Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 200}, true)
		}, Marks: ""},
		{Name: "rule explicit priority is another rule", Setup: one(func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 200, Priority: 100}, false)
		}), Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 200, Priority: 200}, false)
		}, Marks: "+"},
		{Name: "rule every selector", Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Invert: true, Src: pfx("10.0.0.0/8"), Dst: pfx("192.168.0.0/16"), IIF: "lo",
				OIF: "c9", Mark: 0x10, Mask: 0xff, IPProto: 6, SPort: kernel.PortRange{Start: 1000, End: 2000},
				DPort: kernel.PortRange{Start: 443, End: 443}, UID: testUIDRange(),
				Action: kernel.ActionLookup, Table: 100, Priority: 500, SuppressPrefixLen: u8ptr(0)}, false)
		}, Marks: "+"},
		{Name: "rule actions", Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Mark: 4, Action: kernel.ActionUnreachable, Priority: 600}, false)
		}, Marks: "+"},
		{Name: "rule goto", Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Mark: 5, Action: kernel.ActionGoto, Goto: 32766, Priority: 700}, false)
		}, Marks: "+"},
		{Name: "rule v6", Want: func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Family: 6, Src: pfx("2001:db8::/32"), Action: kernel.ActionLookup, Table: 100}, true)
		}, Marks: "+"},
		{Name: "rule del", Setup: one(func(env Env) kernel.Want {
			return rule(env.NS, kernel.Rule{Mark: 2, Action: kernel.ActionLookup, Table: 100}, true)
		}), Want: func(env Env) kernel.Want {
			return absent(rule(env.NS, kernel.Rule{Mark: 2, Action: kernel.ActionLookup, Table: 100}, true))
		}, Marks: "-"},
		{Name: "rule del missing is a no-op", Want: func(env Env) kernel.Want {
			return absent(rule(env.NS, kernel.Rule{Mark: 3, Action: kernel.ActionLookup, Table: 100, Priority: 10}, false))
		}, Marks: ""},

		// ---- neighbours ----
		{Name: "neigh add", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return neigh(env.NS, "c0", "10.1.0.9", "02:00:00:00:01:09")
		}, Marks: "+"},
		{Name: "neigh replace", Setup: seq(lab, one(func(env Env) kernel.Want {
			return neigh(env.NS, "c0", "10.1.0.9", "02:00:00:00:01:09")
		})), Want: func(env Env) kernel.Want {
			return neigh(env.NS, "c0", "10.1.0.9", "02:00:00:00:01:10")
		}, Marks: "~"},
		{Name: "neigh del", Setup: seq(lab, one(func(env Env) kernel.Want {
			return neigh(env.NS, "c0", "10.1.0.9", "02:00:00:00:01:09")
		})), Want: func(env Env) kernel.Want {
			return absent(neigh(env.NS, "c0", "10.1.0.9", "02:00:00:00:01:09"))
		}, Marks: "-"},
		{Name: "neigh v6", Setup: ws(lab), Want: func(env Env) kernel.Want {
			return neigh(env.NS, "c0", "2001:db8:1::7", "02:00:00:00:01:07")
		}, Marks: "+"},
		{Name: "neigh on missing link", Want: func(env Env) kernel.Want {
			return neigh(env.NS, "nosuch0", "10.1.0.9", "02:00:00:00:01:09")
		}, Err: kernel.ErrNotFound},

		// ---- namespaces ----
		{Name: "netns add", Want: func(env Env) kernel.Want {
			return kernel.Want{Netns: &kernel.NetnsWant{Name: env.Other}}
		}, Marks: "+"},
		{Name: "netns del restores its state", Setup: func(env Env) []kernel.Want {
			o := env.Other
			w := veth(o, "d0", "d1")
			w.Link.Veth.PeerNetns = kernel.HostName
			if env.NS != kernel.Host {
				w.Link.Veth.PeerNetns = env.NS
			}
			return []kernel.Want{{Netns: &kernel.NetnsWant{Name: o}},
				linkUp(o, "lo"), veth(o, "e0", "e1"), linkUp(o, "e0"), addr(o, "e0", "10.40.0.1/24"),
				via(o, "default", "10.40.0.254", 0),
				route(o, kernel.Route{Dst: pfx("10.41.0.0/16"), Type: kernel.RouteBlackhole, Table: 100}, 0),
				rule(o, kernel.Rule{Mark: 9, Action: kernel.ActionLookup, Table: 100}, true),
				absent(rule(o, kernel.Rule{Action: kernel.ActionLookup, Table: kernel.TableDefault, Priority: 32767}, false)),
				w, linkUp(env.NS, "d1"), addr(env.NS, "d1", "10.42.0.1/24"),
			}
		}, Want: func(env Env) kernel.Want {
			return kernel.Want{Absent: true, Netns: &kernel.NetnsWant{Name: env.Other}}
		}, Marks: "-", Check: func(t *testing.T, k kernel.Kernel, env Env) {
			if findLink(t, k, env.NS, "d1") != nil {
				t.Errorf("veth end whose peer lived in the deleted netns survived")
			}
		}},
		{Name: "netns no-op", Setup: one(func(env Env) kernel.Want {
			return kernel.Want{Netns: &kernel.NetnsWant{Name: env.Other}}
		}), Want: func(env Env) kernel.Want {
			return kernel.Want{Netns: &kernel.NetnsWant{Name: env.Other}}
		}, Marks: ""},
		{Name: "ensure in missing netns", Want: func(env Env) kernel.Want {
			return veth(env.Other, "c0", "c1")
		}, Err: kernel.ErrNoNetns},
	}...)
}

// PrimitiveCase calls a Kernel primitive directly and expects an error.
type PrimitiveCase struct {
	Name string
	Do   func(k kernel.Kernel, env Env) error
	Err  error
}

// PrimitiveCases are the Kernel methods' own errors, which the ensure
// layer relies on.
func PrimitiveCases() []PrimitiveCase {
	addVeth := func(k kernel.Kernel, env Env) error {
		return k.AddLink(env.NS, kernel.Link{Name: "p0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "p1"}})
	}
	return []PrimitiveCase{
		{Name: "add link twice", Err: kernel.ErrExist, Do: func(k kernel.Kernel, env Env) error {
			if err := addVeth(k, env); err != nil {
				return err
			}
			return addVeth(k, env)
		}},
		{Name: "del missing link", Err: kernel.ErrNotFound, Do: func(k kernel.Kernel, env Env) error {
			return k.DelLink(env.NS, "nosuch0")
		}},
		{Name: "set missing link", Err: kernel.ErrNotFound, Do: func(k kernel.Kernel, env Env) error {
			return k.SetLink(env.NS, "nosuch0", kernel.LinkChange{Up: bptr(true)})
		}},
		{Name: "add addr twice", Err: kernel.ErrExist, Do: func(k kernel.Kernel, env Env) error {
			if err := addVeth(k, env); err != nil {
				return err
			}
			a := kernel.Addr{Link: "p0", Prefix: pfx("10.1.0.1/24")}
			if err := k.AddAddr(env.NS, a, false); err != nil {
				return err
			}
			return k.AddAddr(env.NS, a, false)
		}},
		{Name: "del missing addr", Err: kernel.ErrNotFound, Do: func(k kernel.Kernel, env Env) error {
			if err := addVeth(k, env); err != nil {
				return err
			}
			return k.DelAddr(env.NS, kernel.Addr{Link: "p0", Prefix: pfx("10.1.0.1/24")})
		}},
		{Name: "add route twice", Err: kernel.ErrExist, Do: func(k kernel.Kernel, env Env) error {
			r := kernel.Route{Table: 100, Dst: pfx("10.9.0.0/16"), Type: kernel.RouteBlackhole, Protocol: 3}
			if err := k.AddRoute(env.NS, r, false); err != nil {
				return err
			}
			return k.AddRoute(env.NS, r, false)
		}},
		{Name: "del missing route", Err: kernel.ErrNotFound, Do: func(k kernel.Kernel, env Env) error {
			return k.DelRoute(env.NS, kernel.Route{Table: kernel.TableMain, Dst: pfx("10.9.0.0/16")})
		}},
		{Name: "add rule twice", Err: kernel.ErrExist, Do: func(k kernel.Kernel, env Env) error {
			r := kernel.Rule{Family: 4, Priority: 100, Mark: 1, Action: kernel.ActionLookup, Table: 100}
			if err := k.AddRule(env.NS, r); err != nil {
				return err
			}
			return k.AddRule(env.NS, r)
		}},
		{Name: "del missing rule", Err: kernel.ErrNotFound, Do: func(k kernel.Kernel, env Env) error {
			return k.DelRule(env.NS, kernel.Rule{Family: 4, Priority: 100, Mark: 1, Action: kernel.ActionLookup, Table: 100})
		}},
		{Name: "add netns twice", Err: kernel.ErrExist, Do: func(k kernel.Kernel, env Env) error {
			if err := k.AddNamespace(env.Other); err != nil {
				return err
			}
			return k.AddNamespace(env.Other)
		}},
		{Name: "del missing netns", Err: kernel.ErrNoNetns, Do: func(k kernel.Kernel, env Env) error {
			return k.DelNamespace(env.Other)
		}},
		{Name: "links of missing netns", Err: kernel.ErrNoNetns, Do: func(k kernel.Kernel, env Env) error {
			_, err := k.Links(env.Other)
			return err
		}},
	}
}

// Sequence is a recipe's worth of wants. For every prefix of it, the
// prefix is applied and then rolled back (each step's inverse, newest
// step first, through the journal's JSON), and the full state must be
// exactly what it was before: a transaction failing at any step.
type Sequence struct {
	Name  string
	Wants func(env Env) []kernel.Want
}

func runSequence(t *testing.T, k kernel.Kernel, env Env, sq Sequence) {
	ws := sq.Wants(env)
	before := dump(t, k, env)
	for n := 1; n <= len(ws); n++ {
		e := kernel.NewEnsurer(k)
		var steps []*kernel.Step
		for _, w := range ws[:n] {
			s, err := e.Ensure(w)
			if err != nil {
				t.Fatalf("prefix %d: %s: %v", n, kernel.FormatWant(w, nil), err)
			}
			steps = append(steps, s)
		}
		r := kernel.NewEnsurer(k)
		for i := len(steps) - 1; i >= 0; i-- {
			if _, err := r.EnsureAll(journal(t, steps[i].Inverse)); err != nil {
				t.Fatalf("prefix %d: undoing step %d: %v", n, i, err)
			}
		}
		if after := dump(t, k, env); after != before {
			t.Fatalf("rolling back the first %d wants (last: %s) did not restore the state:\n%s",
				n, kernel.FormatWant(ws[n-1], nil), diff(before, after))
		}
	}
}

// Sequences returns the rollback scenarios.
func Sequences() []Sequence {
	return []Sequence{
		{Name: "gaming", Wants: func(env Env) []kernel.Want {
			ns := env.NS
			return []kernel.Want{
				veth(ns, "isp2", "isp2-gw"),
				linkUp(ns, "isp2-gw"), linkUp(ns, "isp2"),
				addr(ns, "isp2", "192.0.2.2/24"),
				route(ns, kernel.Route{Dst: pfx("default"), Gateway: ip("192.0.2.1"), Dev: "isp2", Table: 100}, kernel.RouteSetGateway|kernel.RouteSetDev),
				rule(ns, kernel.Rule{Mark: 1, Action: kernel.ActionLookup, Table: 100}, true),
				link(ns, kernel.LinkWant{Name: "isp2", MTU: u32(1400)}),
				via(ns, "default", "192.0.2.1", 100), // satisfied already
				absent(addr(ns, "isp2", "192.0.2.2/24")),
				absent(link(ns, kernel.LinkWant{Name: "isp2-gw"})),
			}
		}},
		{Name: "policy", Wants: func(env Env) []kernel.Want {
			ns := env.NS
			return []kernel.Want{
				link(ns, kernel.LinkWant{Name: "lan0", Kind: kernel.KindBridge}),
				linkUp(ns, "lan0"),
				addr(ns, "lan0", "10.20.0.1/16"), addr(ns, "lan0", "2001:db8:20::1/64"),
				route(ns, kernel.Route{Dst: pfx("203.0.113.0/24"), Type: kernel.RouteBlackhole, Table: 50}, 0),
				route(ns, kernel.Route{Dst: pfx("2001:db8:dead::/48"), Type: kernel.RouteUnreachable, Table: 50}, 0),
				rule(ns, kernel.Rule{Src: pfx("10.20.0.0/16"), IPProto: 17, DPort: kernel.PortRange{Start: 5000, End: 5100},
					Action: kernel.ActionLookup, Table: 50, Priority: 1000}, false),
				rule(ns, kernel.Rule{Dst: pfx("198.51.100.0/24"), IIF: "lan0", Action: kernel.ActionProhibit, Priority: 1001}, false),
				rule(ns, kernel.Rule{Family: 6, Src: pfx("2001:db8:20::/64"), Action: kernel.ActionLookup, Table: 50}, true),
				via(ns, "default", "10.20.0.254", 4000000000),
				via(ns, "default", "10.20.0.253", 4000000000),                 // replaced
				link(ns, kernel.LinkWant{Name: "lan0", Kind: kernel.KindTun}), // kind change: delete and create
				absent(rule(ns, kernel.Rule{Action: kernel.ActionLookup, Table: kernel.TableMain, Priority: 32766}, false)),
			}
		}},
		{Name: "lab", Wants: func(env Env) []kernel.Want {
			o := env.Other
			w := veth(o, "a0", "b0")
			w.Link.Veth.PeerNetns = env.NS
			if env.NS == kernel.Host {
				w.Link.Veth.PeerNetns = kernel.HostName
			}
			return []kernel.Want{
				{Netns: &kernel.NetnsWant{Name: o}},
				w, linkUp(o, "lo"), linkUp(o, "a0"), linkUp(env.NS, "b0"),
				addr(o, "a0", "10.10.0.1/24"), addr(env.NS, "b0", "10.10.0.2/24"),
				addr(o, "a0", "2001:db8:10::1/64"),
				via(o, "default", "10.10.0.2", 0),
				link(env.NS, kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge, Up: bptr(true)}),
				link(env.NS, kernel.LinkWant{Name: "b0", Master: sptr("br0")}),
				neigh(o, "a0", "10.10.0.9", "02:00:00:00:10:09"),
				link(o, kernel.LinkWant{Name: "a0", Netns: sptr(env.NS)}),
				{Absent: true, Netns: &kernel.NetnsWant{Name: o}},
			}
		}},
	}
}

// testUIDRange is the uid range the rule cases use: 1000-1999, or 0-0 in
// a user namespace that maps only uid 0 (the suite run by a normal user),
// where the kernel refuses unmapped uids ("Invalid uid range").
func testUIDRange() *kernel.UIDRange {
	b, err := os.ReadFile("/proc/self/uid_map")
	if f := strings.Fields(string(b)); err == nil && !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295") {
		return &kernel.UIDRange{Start: 0, End: 0}
	}
	return &kernel.UIDRange{Start: 1000, End: 1999}
}
