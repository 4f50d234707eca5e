package kernel

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

// These tests pin the kernel behaviours the Model reproduces (measured
// with ip(8) on Linux 6.18 in a fresh namespace; see the Model's doc).

func routeLines(t *testing.T, m *Model, ns string) string {
	t.Helper()
	rs, err := m.Routes(ns)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, FormatRoute(r, nil))
	}
	return strings.Join(out, "\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestModelFreshNamespace(t *testing.T) {
	m := NewModel()
	ls, _ := m.Links(Host)
	if len(ls) != 1 || ls[0].Name != "lo" || ls[0].Up || ls[0].MTU != 65536 {
		t.Fatalf("links %+v", ls)
	}
	rules, _ := m.Rules(Host)
	var got []string
	for _, r := range rules {
		got = append(got, FormatRule(r, nil))
	}
	want := "rule lookup local priority 0|rule lookup main priority 32766|rule lookup default priority 32767|" +
		"rule from ::/0 lookup local priority 0|rule from ::/0 lookup main priority 32766"
	if strings.Join(got, "|") != want {
		t.Errorf("rules %q", got)
	}
	must(t, m.SetLink(Host, "lo", LinkChange{Up: ptr(true)}))
	if got := routeLines(t, m, Host); got != "route local 127.0.0.0/8 dev lo table local src 127.0.0.1 proto kernel\n"+
		"route local 127.0.0.1 dev lo table local src 127.0.0.1 proto kernel\n"+
		"route broadcast 127.255.255.255 dev lo table local src 127.0.0.1 proto kernel\n"+
		"route local ::1 dev lo table local metric 0 proto kernel" {
		t.Errorf("lo routes:\n%s", got)
	}
}

func TestModelAddressRoutes(t *testing.T) {
	m := NewModel()
	must(t, m.AddLink(Host, Link{Name: "va", Kind: KindVeth, Veth: &Veth{Peer: "vb"}}))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.1/24")}, false))
	if got := routeLines(t, m, Host); got != "route local 10.1.0.1 dev va table local src 10.1.0.1 proto kernel" {
		t.Errorf("down link:\n%s", got)
	}
	must(t, m.SetLink(Host, "va", LinkChange{Up: ptr(true)}))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.2/24")}, false)) // secondary
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.3.0.1/32"), Peer: netip.MustParsePrefix("10.3.0.2/32")}, false))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.2.0.1/32")}, false))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("2001:db8::1/64")}, false))
	want := `route 10.1.0.0/24 dev va src 10.1.0.1 proto kernel
route 10.3.0.2 dev va src 10.3.0.1 proto kernel
route 2001:db8::/64 dev va metric 256 proto kernel
route local 10.1.0.1 dev va table local src 10.1.0.1 proto kernel
route local 10.1.0.2 dev va table local src 10.1.0.1 proto kernel
route broadcast 10.1.0.255 dev va table local src 10.1.0.1 proto kernel
route local 10.2.0.1 dev va table local src 10.2.0.1 proto kernel
route local 10.3.0.1 dev va table local src 10.3.0.1 proto kernel
route local 2001:db8::1 dev va table local metric 0 proto kernel`
	if got := routeLines(t, m, Host); got != want {
		t.Errorf("up link:\n%s\nwant\n%s", got, want)
	}
	// Down: IPv4 local routes stay, everything else through it goes, and
	// so do its IPv6 addresses.
	must(t, m.AddRoute(Host, Route{Table: 100, Dst: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.9"), Protocol: 3}, false))
	must(t, m.SetLink(Host, "va", LinkChange{Up: ptr(false)}))
	if got := routeLines(t, m, Host); strings.Contains(got, "10.5.0.0") || strings.Contains(got, "10.1.0.0/24") || !strings.Contains(got, "local 10.1.0.2") {
		t.Errorf("after down:\n%s", got)
	}
	as, _ := m.Addrs(Host)
	for _, a := range as {
		if a.Prefix.Addr().Is6() {
			t.Errorf("IPv6 address survived down: %v", a)
		}
	}
	// Deleting the primary deletes its secondary.
	must(t, m.DelAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.1/24")}))
	as, _ = m.Addrs(Host)
	for _, a := range as {
		if a.Prefix.Addr() == netip.MustParseAddr("10.1.0.2") {
			t.Errorf("secondary survived")
		}
	}
}

func TestModelErrors(t *testing.T) {
	m := NewModel()
	must(t, m.AddLink(Host, Link{Name: "va", Kind: KindVeth, Veth: &Veth{Peer: "vb"}, Up: true}))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.1/24")}, false))
	check := func(err error, errno syscall.Errno, kind error, msg string) {
		t.Helper()
		var ke *Error
		if !errors.As(err, &ke) || !errors.Is(err, errno) || (kind != nil && !errors.Is(err, kind)) || ke.Message != msg {
			t.Errorf("got %v (%#v), want errno %v kind %v msg %q", err, ke, errno, kind, msg)
		}
	}
	gw := func(g string) Route {
		return Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: netip.MustParseAddr(g), Protocol: 3}
	}
	check(m.AddRoute(Host, gw("10.99.0.1"), false), syscall.ENETUNREACH, nil, "Nexthop has invalid gateway")
	must(t, m.AddRoute(Host, gw("10.1.0.254"), false))
	check(m.AddRoute(Host, gw("10.1.0.253"), false), syscall.EEXIST, ErrExist, "")
	must(t, m.AddRoute(Host, gw("10.1.0.253"), true))
	check(m.DelRoute(Host, Route{Dst: netip.MustParsePrefix("10.8.0.0/16")}), syscall.ESRCH, ErrNotFound, "")
	check(m.DelRoute(Host, Route{Table: 555, Dst: netip.MustParsePrefix("10.8.0.0/16")}), syscall.ESRCH, ErrNotFound, "FIB table does not exist.")
	check(m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.1/24")}, false), syscall.EEXIST, ErrExist, "ipv4: Address already assigned.")
	check(m.DelAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("10.1.0.2/24")}), syscall.EADDRNOTAVAIL, ErrNotFound, "ipv4: Address not found.")
	check(m.AddAddr(Host, Addr{Link: "nope", Prefix: netip.MustParsePrefix("10.1.0.1/24")}, false), syscall.ENODEV, ErrNotFound, "")
	check(m.AddLink(Host, Link{Name: "vb", Kind: KindBridge}), syscall.EEXIST, ErrExist, "")
	check(m.AddLink(Host, Link{Name: "d0", Kind: "dummy"}), syscall.EOPNOTSUPP, ErrNotSupp, `unknown link kind "dummy"`)
	check(m.DelLink(Host, "nope"), syscall.ENODEV, ErrNotFound, "")
	must(t, m.AddLink(Host, Link{Name: "vc", Kind: KindVeth, Veth: &Veth{Peer: "vd"}}))
	check(m.AddRoute(Host, Route{Dst: netip.MustParsePrefix("10.7.0.0/16"), Dev: "vc", Protocol: 3}, false), syscall.ENETDOWN, nil, "Device for nexthop is not up")
	must(t, m.AddRoute(Host, Route{Dst: netip.MustParsePrefix("10.7.0.0/16"), Gateway: netip.MustParseAddr("192.0.2.1"), Dev: "va", OnLink: true, Protocol: 3}, false))
	check(m.AddRoute(Host, Route{Dst: netip.MustParsePrefix("2001:db8:7::/64"), Gateway: netip.MustParseAddr("fe80::1"), Protocol: 3}, false), syscall.ENODEV, nil, "Egress device not specified")
	r := Rule{Family: 4, Priority: 10, Mark: 1, Action: ActionLookup, Table: 100}
	must(t, m.AddRule(Host, r))
	check(m.AddRule(Host, r), syscall.EEXIST, ErrExist, "")
	must(t, m.DelRule(Host, r))
	check(m.DelRule(Host, r), syscall.ENOENT, ErrNotFound, "")
	if _, err := m.Links("nope"); !errors.Is(err, ErrNoNetns) {
		t.Errorf("missing netns: %v", err)
	}
	check(m.AddNamespace("a/b"), syscall.EINVAL, nil, "invalid namespace name")
}

func TestModelRulePriorities(t *testing.T) {
	m := NewModel()
	add := func(r Rule) {
		t.Helper()
		if r.Family == 0 {
			r.Family = 4
		}
		must(t, m.AddRule(Host, r))
	}
	add(Rule{Mark: 1, Action: ActionLookup, Table: 100})
	add(Rule{Src: netip.MustParsePrefix("10.0.0.0/8"), Action: ActionLookup, Table: 200})
	add(Rule{Priority: 100, Dst: netip.MustParsePrefix("10.1.0.0/16"), Action: ActionLookup, Table: 300})
	add(Rule{IIF: "lo", Action: ActionLookup, Table: 5})
	add(Rule{Family: 6, Action: ActionLookup, Table: 101})
	rules, _ := m.Rules(Host)
	var got []string
	for _, r := range rules {
		got = append(got, FormatRule(r, nil))
	}
	// As `ip rule` showed in a fresh namespace.
	want := []string{
		"rule lookup local priority 0",
		"rule iif lo lookup 5 priority 99",
		"rule to 10.1.0.0/16 lookup 300 priority 100",
		"rule from 10.0.0.0/8 lookup 200 priority 32764",
		"rule fwmark 0x1 lookup 100 priority 32765",
		"rule lookup main priority 32766",
		"rule lookup default priority 32767",
		"rule from ::/0 lookup local priority 0",
		"rule from ::/0 lookup 101 priority 32765",
		"rule from ::/0 lookup main priority 32766",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestModelVethAcrossNamespaces(t *testing.T) {
	m := NewModel()
	must(t, m.AddNamespace("n1"))
	must(t, m.AddNamespace("n2"))
	must(t, m.AddLink(Host, Link{Name: "va", Kind: KindVeth, Veth: &Veth{Peer: "vb", PeerNetns: "n1"}}))
	ls, _ := m.Links("n1")
	if len(ls) != 2 || ls[1].Veth.PeerNetns != HostName || ls[1].Veth.Peer != "va" {
		t.Fatalf("n1 links %+v", ls)
	}
	must(t, m.SetLink(Host, "va", LinkChange{Netns: ptr("n2")}))
	ls, _ = m.Links("n1")
	if ls[1].Veth.PeerNetns != "n2" {
		t.Errorf("peer netns after move: %+v", ls[1].Veth)
	}
	// Deleting the namespace holding one end deletes the other.
	must(t, m.DelNamespace("n2"))
	ls, _ = m.Links("n1")
	if len(ls) != 1 {
		t.Errorf("far end survived: %+v", ls)
	}
	if names, _ := m.Namespaces(); strings.Join(names, ",") != "n1" {
		t.Errorf("namespaces %v", names)
	}
}

func TestModelSeedAndExec(t *testing.T) {
	m, e := labModel(t)
	mustEnsure(t, e, Want{Netns: &NetnsWant{Name: "lab"}})
	mustEnsure(t, e, Want{NS: "lab", Link: &LinkWant{Name: "br0", Kind: KindBridge}})
	mustEnsure(t, e, Want{Rule: &RuleWant{Rule: Rule{Mark: 1, Action: ActionLookup, Table: 100}, AnyPriority: true}})
	mustEnsure(t, e, Want{Link: &LinkWant{Name: "wg0", Kind: KindWireGuard}})
	mustEnsure(t, e, Want{WireGuard: &WGWant{Name: "wg0", PrivateKey: ptr(testKey(1))}})
	c, err := NewModelFrom(m, []string{"lab", "not-yet"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{Host, "lab"} {
		if a, b := m.Dump(ns), c.Dump(ns); a != b {
			t.Errorf("seeded copy of %q differs:\n%s\n---\n%s", ns, a, b)
		}
	}
	if !strings.Contains(c.Dump(Host), "wireguard wg0 private-key sha256:") {
		t.Errorf("dump lacks the wireguard device:\n%s", c.Dump(Host))
	}
	if strings.Contains(c.Dump(Host), testKey(1).Base64()) {
		t.Errorf("dump reveals a private key")
	}
	// The copy is independent.
	must(t, c.DelLink(Host, "eth0"))
	if !strings.Contains(m.Dump(Host), "link eth0") {
		t.Errorf("seeded copy shares state")
	}
	must(t, c.Exec(context.Background(), "lab", Cmd{Args: []string{"ping", "-c1", "10.0.0.1"}}))
	if x := c.Execs(); len(x) != 1 || x[0].NS != "lab" || x[0].Args[0] != "ping" {
		t.Errorf("execs %+v", x)
	}
	if err := c.Exec(context.Background(), "nope", Cmd{Args: []string{"true"}}); !errors.Is(err, ErrNoNetns) {
		t.Errorf("exec in missing netns: %v", err)
	}
}

func TestModelBridgeMTUAndNeighFlush(t *testing.T) {
	// Measured: a bridge takes its ports' smallest MTU (1500 without
	// ports) until its MTU is set; taking a link down flushes even its
	// permanent neighbours.
	m := NewModel()
	must(t, m.AddLink(Host, Link{Name: "br0", Kind: KindBridge}))
	must(t, m.AddLink(Host, Link{Name: "va", Kind: KindVeth, Veth: &Veth{Peer: "vb"}, MTU: 1400}))
	mtu := func() uint32 {
		ls, _ := m.Links(Host)
		for _, l := range ls {
			if l.Name == "br0" {
				return l.MTU
			}
		}
		return 0
	}
	must(t, m.SetLink(Host, "va", LinkChange{Master: ptr("br0")}))
	if mtu() != 1400 {
		t.Errorf("bridge mtu with a 1400 port: %d", mtu())
	}
	must(t, m.SetLink(Host, "va", LinkChange{Master: ptr("")}))
	if mtu() != 1500 {
		t.Errorf("bridge mtu without ports: %d", mtu())
	}
	must(t, m.SetLink(Host, "br0", LinkChange{MTU: ptr(uint32(9000))}))
	must(t, m.SetLink(Host, "va", LinkChange{Master: ptr("br0")}))
	if mtu() != 9000 {
		t.Errorf("bridge mtu set by the user changed: %d", mtu())
	}
	must(t, m.SetLink(Host, "va", LinkChange{Up: ptr(true)}))
	must(t, m.SetNeigh(Host, Neigh{Link: "va", IP: netip.MustParseAddr("10.0.0.9"), LLAddr: mac("02:00:00:00:00:09")}))
	must(t, m.SetLink(Host, "va", LinkChange{Up: ptr(false)}))
	if ns, _ := m.Neighs(Host); len(ns) != 0 {
		t.Errorf("neighbours survived link down: %v", ns)
	}
}

func TestModelMoveWithAttributesAndSmallMTU(t *testing.T) {
	// Measured: `ip link set vb netns x mtu 1300 up` moves first and
	// applies the rest in x; an MTU below 1280 drops IPv6 from a link.
	m := NewModel()
	must(t, m.AddNamespace("x"))
	must(t, m.AddLink(Host, Link{Name: "va", Kind: KindVeth, Veth: &Veth{Peer: "vb"}, Up: true}))
	must(t, m.AddAddr(Host, Addr{Link: "va", Prefix: netip.MustParsePrefix("2001:db8::1/64")}, false))
	must(t, m.SetLink(Host, "va", LinkChange{MTU: ptr(uint32(1200))}))
	if as, _ := m.Addrs(Host); len(as) != 0 {
		t.Errorf("IPv6 address survived mtu 1200: %v", as)
	}
	must(t, m.SetLink(Host, "vb", LinkChange{Netns: ptr("x"), MTU: ptr(uint32(1300)), Up: ptr(true)}))
	ls, _ := m.Links("x")
	if len(ls) != 2 || ls[1].Name != "vb" || !ls[1].Up || ls[1].MTU != 1300 {
		t.Errorf("moved link: %+v", ls)
	}
}
