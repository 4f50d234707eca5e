package kernel

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatGoldens(t *testing.T) {
	names := NewTableNames()
	if err := names.Add(100, "gaming"); err != nil {
		t.Fatal(err)
	}
	hw, _ := net.ParseMAC("02:00:00:00:00:01")
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	spl := uint8(0)
	cases := []struct{ got, want string }{
		{FormatLink(Link{Name: "v0", Kind: KindVeth, Veth: &Veth{Peer: "v1", PeerNetns: "lab"}, Up: true, MTU: 1500, Address: hw}),
			"link v0 type veth peer v1 netns lab up"},
		{FormatLink(Link{Name: "br0", Kind: KindBridge, MTU: 9000, Alias: "the lab"}), `link br0 type bridge mtu 9000 alias "the lab"`},
		{FormatLink(Link{Name: "eth0", Kind: KindDevice, Up: true, MTU: 1500, Master: "br0"}), "link eth0 up master br0"},
		{FormatLink(Link{Name: "lo", Kind: KindDevice, Up: true, MTU: 65536}), "link lo up"},
		{FormatLink(Link{Name: "vx0", Kind: KindVXLAN, MTU: 1450, VXLAN: &VXLAN{ID: 42, Remote: a("192.0.2.1"), Dev: "eth0", DstPort: 4789}}),
			"link vx0 type vxlan id 42 remote 192.0.2.1 dev eth0 dstport 4789"},
		{FormatLink(Link{Name: "mv0", Kind: KindMacvlan, MTU: 1500, Macvlan: &Macvlan{Dev: "eth0", Mode: "bridge"}}), "link mv0 type macvlan dev eth0 mode bridge"},
		{FormatLink(Link{Name: "tap0", Kind: KindTap, MTU: 1500, Tun: &Tun{User: 1000, Group: -1}}), "link tap0 type tap user 1000"},
		{FormatLink(Link{Name: "wg0", Kind: KindWireGuard, MTU: 1420}), "link wg0 type wireguard"},
		{FormatAddr(Addr{Link: "eth0", Prefix: p("10.0.0.1/24")}), "addr 10.0.0.1/24 dev eth0"},
		{FormatAddr(Addr{Link: "wg0", Prefix: p("10.200.0.1/32"), Peer: p("10.200.0.2/32")}), "addr 10.200.0.1 dev wg0 peer 10.200.0.2"},
		{FormatAddr(Addr{Link: "eth0", Prefix: p("10.0.0.1/24"), Broadcast: a("10.0.0.255"), Label: "eth0:1", Scope: ScopeLink}),
			"addr 10.0.0.1/24 dev eth0 broadcast 10.0.0.255 label eth0:1 scope link"},
		{FormatAddr(Addr{Link: "eth0", Prefix: p("10.0.0.1/24"), Label: "eth0"}), "addr 10.0.0.1/24 dev eth0"},
		{FormatRoute(Route{Table: TableMain, Dst: p("10.0.0.0/8"), Type: RouteUnicast, Gateway: a("10.1.0.1"), Protocol: 3}, names),
			"route 10.0.0.0/8 via 10.1.0.1"},
		{FormatRoute(Route{Table: 100, Dst: p("0.0.0.0/0"), Type: RouteUnicast, Gateway: a("192.168.2.1"), Dev: "isp2", Protocol: 3}, names),
			"route default via 192.168.2.1 dev isp2 table gaming"},
		{FormatRoute(Route{Table: 4000000000, Dst: p("10.1.0.0/16"), Type: RouteBlackhole, Priority: 10, Protocol: 4}, names),
			"route blackhole 10.1.0.0/16 table 4000000000 metric 10 proto static"},
		{FormatRoute(Route{Table: TableMain, Dst: p("10.8.0.0/16"), Type: RouteUnicast, Dev: "eth0", Protocol: 3, Scope: ScopeLink, Src: a("10.1.0.1"), MTU: 1400}, nil),
			"route 10.8.0.0/16 dev eth0 src 10.1.0.1 mtu 1400"},
		{FormatRoute(Route{Table: TableMain, Dst: p("10.8.0.0/16"), Type: RouteUnicast, Dev: "eth0", Protocol: 2, Scope: ScopeUniverse}, nil),
			"route 10.8.0.0/16 dev eth0 proto kernel scope global"},
		{FormatRoute(Route{Table: TableMain, Dst: p("::/0"), Type: RouteUnicast, Gateway: a("fe80::1"), Dev: "eth0", Priority: 1024, Protocol: 3}, nil),
			"route default via fe80::1 dev eth0"},
		{FormatRoute(Route{Table: TableMain, Dst: p("::/0"), Type: RouteUnicast, Dev: "wg0", Priority: 1024, Protocol: 3}, nil),
			"route ::/0 dev wg0"},
		{FormatRoute(Route{Table: TableLocal, Dst: p("10.0.0.1/32"), Type: RouteLocal, Dev: "eth0", Src: a("10.0.0.1"), Protocol: 2, Scope: ScopeHost}, nil),
			"route local 10.0.0.1 dev eth0 table local src 10.0.0.1 proto kernel"},
		{FormatRoute(Route{Table: TableMain, Dst: p("10.27.0.0/16"), Type: RouteUnicast, Gateway: a("192.0.2.1"), Dev: "eth0", OnLink: true, Protocol: 3, TOS: 0x10}, nil),
			"route 10.27.0.0/16 tos 0x10 via 192.0.2.1 dev eth0 onlink"},
		{FormatRule(Rule{Family: 4, Priority: 32765, Mark: 1, Action: ActionLookup, Table: 100}, names), "rule fwmark 0x1 lookup gaming priority 32765"},
		{FormatRule(Rule{Family: 4, Priority: 100, Invert: true, Src: p("10.0.0.0/8"), Dst: p("192.168.0.1/32"), IIF: "eth0", OIF: "wg0",
			Mark: 0x10, Mask: 0xff, IPProto: 6, SPort: PortRange{1000, 2000}, DPort: PortRange{443, 443}, UID: &UIDRange{1000, 1999},
			Action: ActionLookup, Table: TableMain, SuppressPrefixLen: &spl}, nil),
			"rule not from 10.0.0.0/8 to 192.168.0.1 iif eth0 oif wg0 fwmark 0x10/0xff ipproto tcp sport 1000-2000 dport 443 uidrange 1000-1999 lookup main priority 100 suppress_prefixlength 0"},
		{FormatRule(Rule{Family: 6, Priority: 32764, Action: ActionLookup, Table: 101}, nil), "rule from ::/0 lookup 101 priority 32764"},
		{FormatRule(Rule{Family: 4, Priority: 5, Action: ActionGoto, Goto: 32766}, nil), "rule goto 32766 priority 5"},
		{FormatRule(Rule{Family: 4, Priority: 6, Action: ActionUnreachable, Mark: 4}, nil), "rule fwmark 0x4 unreachable priority 6"},
		{FormatNeigh(Neigh{Link: "eth0", IP: a("10.0.0.9"), LLAddr: hw, State: NeighPermanent}), "neigh 10.0.0.9 lladdr 02:00:00:00:00:01 dev eth0 permanent"},
		{FormatNeigh(Neigh{Link: "eth0", IP: a("10.0.0.9"), LLAddr: hw, State: NeighStale}), "neigh 10.0.0.9 lladdr 02:00:00:00:00:01 dev eth0 nud stale"},
		{FormatWant(Want{NS: "lab", Absent: true, Addr: &Addr{Link: "eth0", Prefix: p("10.0.0.1/24")}}, nil), "in netns lab < del addr 10.0.0.1/24 dev eth0 >"},
		{FormatWant(Want{Rule: &RuleWant{Rule: Rule{Family: 4, Mark: 1, Action: ActionLookup, Table: 100}, AnyPriority: true}}, names), "rule fwmark 0x1 lookup gaming"},
		{FormatWant(Want{Link: &LinkWant{Name: "eth1", Up: ptr(false), Master: ptr(""), Netns: ptr(Host)}}, nil), "link eth1 down nomaster netns host"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("\n got %s\nwant %s", c.got, c.want)
		}
	}
}

func TestFormatWireGuard(t *testing.T) {
	priv, pub, psk := testKey(1), testKey(2), testKey(3)
	d := WGDevice{Name: "wg0", PrivateKey: priv, ListenPort: 51820, FirewallMark: 0x1, Peers: []WGPeer{{
		PublicKey: pub, PresharedKey: psk, Endpoint: netip.MustParseAddrPort("[2001:db8::1]:51820"),
		AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32"), netip.MustParsePrefix("fd00::/64")},
		PersistentKeepalive: 25 * time.Second}}}
	want := `wireguard wg0 <
  private-key (key)
  listen-port 51820
  fwmark 0x1
  peer "` + pub.Base64() + `" <
    preshared-key (key)
    endpoint [2001:db8::1]:51820
    allowed-ips 10.0.0.2/32, fd00::/64
    persistent-keepalive 25
  >
>`
	if got := FormatWireGuard(d, false); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	rev := FormatWireGuard(d, true)
	if !strings.Contains(rev, `private-key "`+priv.Base64()+`"`) || !strings.Contains(rev, `preshared-key "`+psk.Base64()+`"`) {
		t.Errorf("revealed:\n%s", rev)
	}
}

func TestTableNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rt_tables.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "rt_tables"), []byte("#\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n100 gaming # isp2\n254 notmain\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "rt_tables.d", "vpn.conf"), []byte("0x3e8 vpn\n"), 0o644)
	n, err := LoadTableNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id, name := range map[uint32]string{100: "gaming", 1000: "vpn", 254: "main", 255: "local", 253: "default", 7: "7"} {
		if got := n.Name(id); got != name {
			t.Errorf("Name(%d) = %q, want %q", id, got, name)
		}
		if id, ok := n.ID(name); !ok || n.Name(id) != name {
			t.Errorf("ID(%q) = %d %v", name, id, ok)
		}
	}
	if _, ok := n.ID("unspec"); ok {
		t.Errorf("table 0 has a name")
	}
	if _, ok := n.ID("0"); ok {
		t.Errorf("0 accepted as a table")
	}
	if err := n.Add(254, "other"); err == nil {
		t.Errorf("renamed main")
	}
	if err := n.Add(0, "zero"); err == nil {
		t.Errorf("named table 0")
	}
	if err := n.Add(5, "gaming"); err == nil {
		t.Errorf("one name for two tables")
	}
	if err := n.Add(100, "gaming"); err != nil {
		t.Errorf("re-adding the same name: %v", err)
	}
	if err := n.Add(6, "42"); err == nil {
		t.Errorf("numeric name accepted")
	}
	if none, err := LoadTableNames(filepath.Join(dir, "missing")); err != nil || none.Name(254) != "main" {
		t.Errorf("missing dir: %v", err)
	}
	var nilNames *TableNames
	if nilNames.Name(253) != "default" || nilNames.Name(9) != "9" {
		t.Errorf("nil TableNames")
	}
	c := n.Clone()
	c.Add(9, "nine")
	if n.Name(9) != "9" {
		t.Errorf("Clone shares state")
	}
}
