package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// spy wraps a Kernel (hiding that it is a *Model, so the Ensurer uses its
// own cache) and counts dumps and WireGuard configurations.
type spy struct {
	Kernel
	routeDumps int
	linkDumps  int
	wgConfigs  []WGConfig
}

func (s *spy) Routes(ns string) ([]Route, error) {
	s.routeDumps++
	return s.Kernel.Routes(ns)
}

func (s *spy) Links(ns string) ([]Link, error) {
	s.linkDumps++
	return s.Kernel.Links(ns)
}

func (s *spy) ConfigureWireGuard(ns, name string, cfg WGConfig) error {
	s.wgConfigs = append(s.wgConfigs, cfg)
	return s.Kernel.ConfigureWireGuard(ns, name, cfg)
}

func mustEnsure(t *testing.T, e *Ensurer, w Want) *Step {
	t.Helper()
	s, err := e.Ensure(w)
	if err != nil {
		t.Fatalf("%s: %v", FormatWant(w, nil), err)
	}
	return s
}

func texts(s *Step) string {
	var out []string
	for _, c := range s.Changes {
		out = append(out, c.String())
	}
	return strings.Join(out, "\n")
}

// journalRoundTrip passes wants through JSON as the journal does.
func journalRoundTrip(t *testing.T, ws []Want) []Want {
	t.Helper()
	var out []Want
	for _, w := range ws {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var back Want
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		out = append(out, back)
	}
	return out
}

func labModel(t *testing.T) (*Model, *Ensurer) {
	t.Helper()
	m := NewModel()
	e := NewEnsurer(m)
	up := true
	for _, w := range []Want{
		{Link: &LinkWant{Name: "lo", Up: &up}},
		{Link: &LinkWant{Name: "eth0", Kind: KindVeth, Veth: &Veth{Peer: "eth0p"}, Up: &up}},
		{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.1/24")}},
	} {
		mustEnsure(t, e, w)
	}
	return m, e
}

func TestEnsureChangeTexts(t *testing.T) {
	_, e := labModel(t)
	gw := func(s string) Want {
		return Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr(s), Table: 100}, Set: RouteSetGateway}}
	}
	mtu := uint32(9000)
	cases := []struct {
		w    Want
		want string
	}{
		{gw("10.1.0.254"), "+ route 10.0.0.0/8 via 10.1.0.254 table 100"},
		{gw("10.1.0.254"), ""},
		{gw("10.1.0.253"), "~ route 10.0.0.0/8 table 100 via 10.1.0.254 dev eth0 -> via 10.1.0.253"},
		{Want{Absent: true, Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr("10.1.0.9"), Table: 100}, Set: RouteSetGateway}}, ""},
		{Want{Absent: true, Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Type: RouteBlackhole, Table: 100}}}, ""},
		{Want{Link: &LinkWant{Name: "eth0", MTU: &mtu}}, "~ link eth0 mtu 1500 -> 9000"},
		{Want{Absent: true, Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.1/24")}}, "- addr 10.1.0.1/24 dev eth0"},
		{Want{Absent: true, Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Table: 100}}}, "- route 10.0.0.0/8 via 10.1.0.253 dev eth0 table 100"},
		{Want{Rule: &RuleWant{Rule: Rule{Mark: 1, Action: ActionLookup, Table: 100}, AnyPriority: true}}, "+ rule fwmark 0x1 lookup 100 priority 32765"},
		{Want{Rule: &RuleWant{Rule: Rule{Mark: 1, Action: ActionLookup, Table: 100}, AnyPriority: true}}, ""},
		{Want{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("2001:db8::1/64")}}, "+ addr 2001:db8::1/64 dev eth0"},
		{Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("2001:db8::2")}, Set: RouteSetGateway}}, "+ route default via 2001:db8::2"},
		{Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("2001:db8::2"), Priority: 1024}, Set: RouteSetGateway}}, ""},
		{Want{Netns: &NetnsWant{Name: "lab"}}, "+ netns lab"},
		{Want{NS: "lab", Link: &LinkWant{Name: "v0", Kind: KindVeth, Veth: &Veth{Peer: "v1", PeerNetns: HostName}}}, "+ link v0 type veth peer v1 netns host"},
		{Want{Link: &LinkWant{Name: "v1", Kind: KindBridge}}, "- link v1 type veth peer v0 netns lab (replaced: type veth -> bridge)\n+ link v1 type bridge"},
	}
	for _, c := range cases {
		s := mustEnsure(t, e, c.w)
		if got := texts(s); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", FormatWant(c.w, nil), got, c.want)
		}
	}
}

// TestEnsureRoundTrip applies wants, then their inverses through the
// journal, and requires the exact prior state back, for every kind.
func TestEnsureRoundTrip(t *testing.T) {
	up, down := true, false
	mtu := uint32(1400)
	br := "br0"
	other := "other"
	cases := []struct {
		name  string
		setup []Want
		w     Want
	}{
		{"link create", nil, Want{Link: &LinkWant{Name: "t0", Kind: KindTun, Tun: &Tun{User: 1000, Group: -1}}}},
		{"link down drops routes", []Want{
			{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.9"), Table: 7}, Set: RouteSetGateway}},
			{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("2001:db8::1/64")}},
		}, Want{Link: &LinkWant{Name: "eth0", Up: &down}}},
		{"link mtu", nil, Want{Link: &LinkWant{Name: "eth0", MTU: &mtu}}},
		{"link master", []Want{{Link: &LinkWant{Name: br, Kind: KindBridge}}}, Want{Link: &LinkWant{Name: "eth0p", Master: &br, Up: &up}}},
		{"link delete with everything", []Want{
			{Link: &LinkWant{Name: br, Kind: KindBridge, Up: &up}},
			{Link: &LinkWant{Name: "eth0p", Master: &br, Up: &up}},
			{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.2/24"), Label: "eth0:a"}},
			{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("2001:db8::1/64")}},
			{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.9"), Table: 7, Protocol: 4}, Set: RouteSetGateway | RouteSetProtocol}},
			{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("2001:db8:9::/48"), Dev: "eth0", Table: 8}, Set: RouteSetDev}},
			{Neigh: &Neigh{Link: "eth0", IP: netip.MustParseAddr("10.1.0.7"), LLAddr: mac("02:00:00:00:00:07")}},
			{Link: &LinkWant{Name: "mv0", Kind: KindMacvlan, Macvlan: &Macvlan{Dev: "eth0", Mode: "bridge"}, Up: &up}},
			{Addr: &Addr{Link: "mv0", Prefix: netip.MustParsePrefix("10.2.0.1/24")}},
			{Link: &LinkWant{Name: "vx0", Kind: KindVXLAN, VXLAN: &VXLAN{ID: 7, Remote: netip.MustParseAddr("10.1.0.3"), Dev: "eth0"}, Up: &up}},
		}, Want{Absent: true, Link: &LinkWant{Name: "eth0"}}},
		{"link move", []Want{{Netns: &NetnsWant{Name: other}},
			{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.9")}, Set: RouteSetGateway}}},
			Want{Link: &LinkWant{Name: "eth0", Netns: &other, Up: &up}}},
		{"addr scope", nil, Want{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.1/24"), Scope: ScopeLink}}},
		{"addr delete primary", []Want{{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.5/24")}},
			{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.8.0.0/16"), Dev: "eth0", Src: netip.MustParseAddr("10.1.0.1")}, Set: RouteSetDev | RouteSetSrc}}},
			Want{Absent: true, Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.1/24")}}},
		{"route replace", []Want{{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.1.0.254"), Protocol: 16}, Set: RouteSetGateway | RouteSetProtocol}}},
			Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Type: RouteUnreachable}}}},
		{"rule delete", []Want{{Rule: &RuleWant{Rule: Rule{Mark: 1, Mask: 0xff, Action: ActionLookup, Table: 100}, AnyPriority: true}}},
			Want{Absent: true, Rule: &RuleWant{Rule: Rule{Mark: 1, Mask: 0xff, Action: ActionLookup, Table: 100}, AnyPriority: true}}},
		{"default rule delete", nil, Want{Absent: true, Rule: &RuleWant{Rule: Rule{Family: 6, Action: ActionLookup, Table: TableMain}, AnyPriority: true}}},
		{"neigh replace", []Want{{Neigh: &Neigh{Link: "eth0", IP: netip.MustParseAddr("10.1.0.7"), LLAddr: mac("02:00:00:00:00:07")}}},
			Want{Neigh: &Neigh{Link: "eth0", IP: netip.MustParseAddr("10.1.0.7"), LLAddr: mac("02:00:00:00:00:08")}}},
		{"netns delete", []Want{{Netns: &NetnsWant{Name: other}},
			{NS: other, Link: &LinkWant{Name: "lo", Up: &up}},
			{NS: other, Link: &LinkWant{Name: "w0", Kind: KindVeth, Veth: &Veth{Peer: "w1", PeerNetns: HostName}, Up: &up}},
			{NS: other, Addr: &Addr{Link: "w0", Prefix: netip.MustParsePrefix("10.3.0.1/24")}},
			{NS: other, Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.3.0.2")}, Set: RouteSetGateway}},
			{NS: other, Link: &LinkWant{Name: "wg0", Kind: KindWireGuard}},
			{NS: other, WireGuard: &WGWant{Name: "wg0", PrivateKey: ptr(testKey(1)), ListenPort: ptr(51820)}},
			{NS: other, Rule: &RuleWant{Rule: Rule{Mark: 9, Action: ActionLookup, Table: 9}, AnyPriority: true}},
			{Link: &LinkWant{Name: "w1", Up: &up}},
			{Addr: &Addr{Link: "w1", Prefix: netip.MustParsePrefix("10.3.0.2/24")}},
		}, Want{Absent: true, Netns: &NetnsWant{Name: other}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, e := labModel(t)
			for _, w := range c.setup {
				mustEnsure(t, e, w)
			}
			dumps := func() string {
				s := m.Dump(Host)
				if ns, _ := m.Namespaces(); len(ns) > 0 {
					for _, n := range ns {
						s += "--- " + n + "\n" + m.Dump(n)
						if d, err := m.WireGuard(n, "wg0"); err == nil {
							s += dumpWG(d) + "\n"
						}
					}
				}
				return s
			}
			before := dumps()
			s := mustEnsure(t, e, c.w)
			if !s.Changed() || len(s.Inverse) == 0 {
				t.Fatalf("no change or no inverse: %q %v", s.Changes, s.Inverse)
			}
			if dumps() == before {
				t.Fatalf("ensure changed nothing")
			}
			// Undo with a fresh Ensurer over a non-Model kernel view, as recover would.
			sp := &spy{Kernel: m}
			if _, err := NewEnsurer(sp).EnsureAll(journalRoundTrip(t, s.Inverse)); err != nil {
				t.Fatal(err)
			}
			if after := dumps(); after != before {
				t.Errorf("inverse did not restore:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			// Replaying the inverse is harmless.
			steps, err := NewEnsurer(m).EnsureAll(journalRoundTrip(t, s.Inverse))
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range steps {
				if st.Changed() {
					t.Errorf("replay changed %q", st.Changes)
				}
			}
		})
	}
}

func mac(s string) []byte {
	var b [6]byte
	if _, err := fmt.Sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]); err != nil {
		panic(err)
	}
	return b[:]
}

func testKey(n byte) Key {
	var k Key
	for i := range k {
		k[i] = n + byte(i)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k
}

func TestEnsureWireGuard(t *testing.T) {
	m := NewModel()
	sp := &spy{Kernel: m}
	e := NewEnsurer(sp)
	mustEnsure(t, e, Want{Link: &LinkWant{Name: "wg0", Kind: KindWireGuard}})
	priv, peerA, peerB, psk := testKey(1), testKey(2), testKey(3), testKey(4)
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	ka := 25 * time.Second
	w := Want{WireGuard: &WGWant{Name: "wg0", PrivateKey: &priv, ListenPort: ptr(51820), Peers: []WGPeerWant{
		{PublicKey: peerA, PresharedKey: &psk, Endpoint: &ep, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")}, PersistentKeepalive: &ka},
		{PublicKey: peerB, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.3/32")}},
	}}}
	s1 := mustEnsure(t, e, w)
	txt := texts(s1)
	for _, secret := range []Key{priv, psk} {
		if strings.Contains(txt, secret.Base64()) {
			t.Fatalf("secret in change text:\n%s", txt)
		}
	}
	if !strings.Contains(txt, "+ wireguard wg0 peer "+peerA.Base64()+" preshared-key (key) endpoint 192.0.2.1:51820 allowed-ips 10.0.0.2/32 persistent-keepalive 25") {
		t.Errorf("texts:\n%s", txt)
	}
	if s := mustEnsure(t, e, w); s.Changed() {
		t.Errorf("second ensure: %q", s.Changes)
	}
	// Change only peer B: peer A is not touched (no handshake reset).
	n := len(sp.wgConfigs)
	s2 := mustEnsure(t, e, Want{WireGuard: &WGWant{Name: "wg0", PrivateKey: ptr(testKey(9)), Peers: []WGPeerWant{
		{PublicKey: peerB, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.4/32")}},
	}}})
	if len(sp.wgConfigs) != n+1 {
		t.Fatalf("configs: %d", len(sp.wgConfigs)-n)
	}
	cfg := sp.wgConfigs[n]
	if len(cfg.Peers) != 1 || cfg.Peers[0].PublicKey != peerB || cfg.ReplacePeers {
		t.Errorf("config touches more than peer B: %+v", cfg)
	}
	// The inverse restores the previous private key, through the journal.
	inv := journalRoundTrip(t, s2.Inverse)
	if _, err := e.EnsureAll(inv); err != nil {
		t.Fatal(err)
	}
	d, _ := m.WireGuard(Host, "wg0")
	if d.PrivateKey != priv || d.PublicKey != publicKey(priv) {
		t.Errorf("private key not restored")
	}
	if got := dumpWG(d); !strings.Contains(got, "allowed-ips 10.0.0.3/32") {
		t.Errorf("peer B not restored: %s", got)
	}
	// ReplacePeers removes unlisted peers; the undo brings them back.
	s3 := mustEnsure(t, e, Want{WireGuard: &WGWant{Name: "wg0", ReplacePeers: true, Peers: []WGPeerWant{{PublicKey: peerB}}}})
	if got := texts(s3); got != "- wireguard wg0 peer "+peerA.Base64() {
		t.Errorf("replace peers: %q", got)
	}
	if _, err := e.EnsureAll(journalRoundTrip(t, s3.Inverse)); err != nil {
		t.Fatal(err)
	}
	d2, _ := m.WireGuard(Host, "wg0")
	if dumpWG(d2) != dumpWG(d) {
		t.Errorf("after undo:\n%s\nwant\n%s", dumpWG(d2), dumpWG(d))
	}
	// The journal's JSON carries keys; FormatWant never does.
	b, _ := json.Marshal(s2.Inverse[0])
	if !strings.Contains(string(b), priv.Base64()) {
		t.Errorf("journal JSON lacks the private key to restore: %s", b)
	}
	if strings.Contains(FormatWant(s2.Inverse[0], nil), priv.Base64()) {
		t.Errorf("FormatWant reveals a key")
	}
}

// TestEnsureDumpsOnce checks that ensuring many routes reads each kind
// once per namespace (issue 9), and that the cache stays right.
func TestEnsureDumpsOnce(t *testing.T) {
	m := NewModel()
	sp := &spy{Kernel: m}
	e := NewEnsurer(sp)
	up := true
	mustEnsure(t, e, Want{Link: &LinkWant{Name: "eth0", Kind: KindVeth, Veth: &Veth{Peer: "eth1"}, Up: &up}})
	mustEnsure(t, e, Want{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.255.0.1/24")}})
	before := sp.routeDumps
	for i := 0; i < 2000; i++ {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		w := Want{Route: &RouteWant{Route: Route{Dst: dst, Gateway: netip.MustParseAddr("10.255.0.254"), Table: 100}, Set: RouteSetGateway}}
		mustEnsure(t, e, w)
		mustEnsure(t, e, w) // no-op, from the cache
	}
	if d := sp.routeDumps - before; d > 1 {
		t.Errorf("%d route dumps for 4000 ensures", d)
	}
	rs, _ := m.Routes(Host)
	n := 0
	for _, r := range rs {
		if r.Table == 100 {
			n++
		}
	}
	if n != 2000 {
		t.Errorf("%d routes in table 100", n)
	}
}

func TestEnsureBulkPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk")
	}
	m := NewModel()
	e := NewEnsurer(m)
	const N = 100000
	want := func(i int) Want {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 0}), 24)
		if i >= 65536 {
			dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		}
		return Want{Route: &RouteWant{Route: Route{Dst: dst, Type: RouteBlackhole, Table: 100}}}
	}
	start := time.Now()
	for i := 0; i < N; i++ {
		mustEnsure(t, e, want(i))
	}
	add := time.Since(start)
	start = time.Now()
	plan := NewEnsurer(m)
	for i := 0; i < N; i++ {
		s, err := plan.Prepare(want(i))
		if err != nil || s.Changed() {
			t.Fatalf("plan %d: %v %q", i, err, s.Changes)
		}
	}
	took := time.Since(start)
	t.Logf("100k ensures into the model: %v; plan of 100k present: %v", add, took)
	if took > 10*time.Second { // generous: a guard against O(n²), not a benchmark (see BenchmarkPrepareRouteNoop)
		t.Errorf("plan of 100k routes took %v", took)
	}
}

func TestEnsureErrors(t *testing.T) {
	_, e := labModel(t)
	_, err := e.Ensure(Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.1")}, Set: RouteSetGateway}})
	var ke *Error
	if !errors.As(err, &ke) || ke.Message != "Nexthop has invalid gateway" {
		t.Errorf("unreachable gateway: %v", err)
	}
	if _, err := e.Prepare(Want{}); err == nil {
		t.Errorf("empty want accepted")
	}
	if _, err := e.Prepare(Want{Link: &LinkWant{Name: "x"}, Addr: &Addr{}}); err == nil {
		t.Errorf("two objects accepted")
	}
	if _, err := e.Ensure(Want{NS: "nope", Link: &LinkWant{Name: "x", Kind: KindBridge}}); !errors.Is(err, ErrNoNetns) {
		t.Errorf("missing netns: %v", err)
	}
	if _, err := e.Ensure(Want{Absent: true, Netns: &NetnsWant{Name: HostName}}); err == nil {
		t.Errorf("deleting the host namespace accepted")
	}
	// A failed Apply leaves the cache consistent with the kernel.
	_, err = e.Ensure(Want{Link: &LinkWant{Name: "eth0p", Kind: KindVeth, Veth: &Veth{Peer: "eth0"}}})
	if err != nil {
		t.Fatalf("veth seen from its peer's side: %v", err)
	}
}

func TestWantJSON(t *testing.T) {
	up := true
	st := &LinkState{Link: Link{Name: "wg0", Kind: KindWireGuard, Up: true, MTU: 1420},
		WireGuard: &WGDevice{Name: "wg0", PrivateKey: testKey(5), ListenPort: 1, Peers: []WGPeer{{PublicKey: testKey(6), PresharedKey: testKey(7),
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}}}
	ws := []Want{
		{NS: "x", LinkState: st},
		{Link: &LinkWant{Name: "a", Up: &up, Address: mac("02:00:00:00:00:01")}},
		{Absent: true, Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::1"), Dev: "a"}, Set: routeAll}},
		{Rule: &RuleWant{Rule: Rule{Family: 6, UID: &UIDRange{Start: 1, End: 2}, Action: ActionLookup, Table: 5}, AnyPriority: true}},
	}
	back := journalRoundTrip(t, ws)
	for i := range ws {
		a, _ := json.Marshal(ws[i])
		b, _ := json.Marshal(back[i])
		if string(a) != string(b) {
			t.Errorf("round trip:\n%s\n%s", a, b)
		}
	}
	if back[0].LinkState.WireGuard.PrivateKey != testKey(5) || back[0].LinkState.WireGuard.Peers[0].PresharedKey != testKey(7) {
		t.Errorf("keys lost in the journal")
	}
	c := Change{Mark: '~', NS: "x", Text: "link a mtu 1 -> 2"}
	b, _ := json.Marshal(c)
	if string(b) != `{"mark":"~","ns":"x","text":"link a mtu 1 -\u003e 2"}` {
		t.Errorf("change JSON %s", b)
	}
	var c2 Change
	if err := json.Unmarshal(b, &c2); err != nil || c2 != c {
		t.Errorf("change round trip %+v %v", c2, err)
	}
}

// BenchmarkPrepareRouteNoop measures planning one route already present
// (issue 9: a 100k-route plan must stay well under a second).
func BenchmarkPrepareRouteNoop(b *testing.B) {
	m := NewModel()
	e := NewEnsurer(m)
	w := Want{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("10.1.0.0/24"), Type: RouteBlackhole, Table: 100}}}
	if _, err := e.Ensure(w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s, err := e.Prepare(w); err != nil || s.Changed() {
			b.Fatal(err)
		}
	}
}

// batcher is a Kernel with a RouteBatch that counts batches and can
// fail at one index.
type batcher struct {
	Kernel
	batches int
	failAt  int // -1: never
}

func (b *batcher) RouteBatch(ns string, ops []RouteOp) (int, error) {
	b.batches++
	for i, o := range ops {
		if i == b.failAt {
			return i, kerr("batch", ns, 17, "injected")
		}
		var err error
		if o.Del {
			err = b.Kernel.DelRoute(ns, o.Route)
		} else {
			err = b.Kernel.AddRoute(ns, o.Route, o.Replace)
		}
		if err != nil {
			return i, err
		}
	}
	return len(ops), nil
}

func TestApplyAllBatches(t *testing.T) {
	m := NewModel()
	b := &batcher{Kernel: m, failAt: -1}
	e := NewEnsurer(b)
	var steps []*Step
	for i := 0; i < 10; i++ {
		s, err := e.Prepare(Want{Route: &RouteWant{Route: Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24), Type: RouteBlackhole}}})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	if n, err := e.ApplyAll(steps); n != 10 || err != nil || b.batches != 1 {
		t.Fatalf("ApplyAll: %d %v, %d batches", n, err, b.batches)
	}
	// The cache followed: ensuring again is a no-op.
	for i := 0; i < 10; i++ {
		s, _ := e.Prepare(Want{Route: &RouteWant{Route: Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24), Type: RouteBlackhole}}})
		if s.Changed() {
			t.Errorf("route %d: %q", i, s.Changes)
		}
	}
	// A failure in the middle names the failed step.
	b.failAt = 3
	steps = steps[:0]
	for i := 20; i < 30; i++ {
		s, _ := e.Prepare(Want{Route: &RouteWant{Route: Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24), Type: RouteBlackhole}}})
		steps = append(steps, s)
	}
	if n, err := e.ApplyAll(steps); n != 3 || err == nil {
		t.Fatalf("failing batch: %d %v", n, err)
	}
	rs, _ := m.Routes(Host)
	if len(rs) != 13 {
		t.Errorf("%d routes after a batch failing at 3", len(rs))
	}
}

// BenchmarkEnsureGatewayRoute measures ensuring a new route via a
// gateway through the cache path (the Ensurer replays it on its cache).
func BenchmarkEnsureGatewayRoute(b *testing.B) {
	m := NewModel()
	e := NewEnsurer(&spy{Kernel: m})
	up := true
	if _, err := e.Ensure(Want{Link: &LinkWant{Name: "eth0", Kind: KindVeth, Veth: &Veth{Peer: "eth1"}, Up: &up}}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.Ensure(Want{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("192.168.0.1/24")}}); err != nil {
		b.Fatal(err)
	}
	gw := netip.MustParseAddr("192.168.0.254")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		i++
		if _, err := e.Ensure(Want{Route: &RouteWant{Route: Route{Dst: dst, Gateway: gw, Table: 100}, Set: RouteSetGateway}}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInverseRecreatesDeletedLink: an attribute change's inverse is a
// complete LinkState, so that when a failure deleted the link meanwhile
// (as undo failures and recover can leave it) restoring recreates it
// with its peer and the kernel-chosen hardware addresses.
func TestInverseRecreatesDeletedLink(t *testing.T) {
	m := NewModel()
	e := NewEnsurer(&spy{Kernel: m}) // the cache path, where MACs are learned lazily
	up := true
	mustEnsure(t, e, Want{Link: &LinkWant{Name: "a", Kind: KindVeth, Veth: &Veth{Peer: "b"}}})
	before := m.Dump(Host)
	s := mustEnsure(t, e, Want{Link: &LinkWant{Name: "a", Up: &up}})
	must(t, m.DelLink(Host, "a")) // behind the Ensurer's back
	if _, err := NewEnsurer(&spy{Kernel: m}).EnsureAll(journalRoundTrip(t, s.Inverse)); err != nil {
		t.Fatal(err)
	}
	if after := m.Dump(Host); after != before {
		t.Errorf("recreated link differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// FuzzEnsureWant feeds arbitrary journal lines (JSON wants) to an
// Ensurer on a small model: errors are fine, panics are not, and a
// change that succeeded must be undone exactly by its inverse.
func FuzzEnsureWant(f *testing.F) {
	up := true
	seeds := []Want{
		{Link: &LinkWant{Name: "v0", Kind: KindVeth, Veth: &Veth{Peer: "v1", PeerNetns: "lab"}, Up: &up}},
		{Addr: &Addr{Link: "eth0", Prefix: netip.MustParsePrefix("10.1.0.9/24"), Scope: ScopeLink}},
		{Absent: true, Link: &LinkWant{Name: "eth0"}},
		{Route: &RouteWant{Route: Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.1.0.1"), Table: 9}, Set: RouteSetGateway}},
		{Rule: &RuleWant{Rule: Rule{Mark: 1, Mask: 3, Action: ActionLookup, Table: 9}, AnyPriority: true}},
		{Neigh: &Neigh{Link: "eth0", IP: netip.MustParseAddr("10.1.0.7"), LLAddr: mac("02:00:00:00:00:07")}},
		{Absent: true, Netns: &NetnsWant{Name: "lab"}},
		{NS: "lab", LinkState: &LinkState{Link: Link{Name: "x", Kind: KindBridge, MTU: 1400}}},
		{WireGuard: &WGWant{Name: "wg0", PrivateKey: ptr(testKey(3)), Peers: []WGPeerWant{{PublicKey: testKey(4), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}}}},
	}
	for _, w := range seeds {
		b, err := json.Marshal(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var w Want
		if json.Unmarshal(b, &w) != nil {
			return
		}
		m, e := labModel(t)
		_, _ = e.Ensure(Want{Netns: &NetnsWant{Name: "lab"}})
		_, _ = e.Ensure(Want{Link: &LinkWant{Name: "wg0", Kind: KindWireGuard}})
		_ = FormatWant(w, nil)
		before := m.Dump(Host) + m.Dump("lab")
		s, err := e.Prepare(w)
		if err != nil {
			return
		}
		if err := e.Apply(s); err != nil || w.LinkState != nil || w.NetnsState != nil {
			return
		}
		if _, err := NewEnsurer(m).EnsureAll(journalRoundTrip(t, s.Inverse)); err != nil {
			t.Fatalf("undoing %s: %v", b, err)
		}
		if after := m.Dump(Host) + m.Dump("lab"); after != before {
			t.Fatalf("%s: inverse did not restore:\nbefore:\n%s\nafter:\n%s", b, before, after)
		}
	})
}
