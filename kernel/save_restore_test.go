package kernel_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
	"github.com/nets-lang/nets/lang"
)

// svWants reads a saved recipe (literal statements only, as Save writes
// them) into the Wants that restore it, for applying with an Ensurer.
// It stands in for eval.Run in the round-trip tests: every statement is
// decoded against the language's schema (lang.Decode) and every word is
// read with the language's own word parsers (Param.Parse), so what is
// tested is the recipe text, not Save's internal state.
func svWants(t *testing.T, ns, text string, names *kernel.TableNames) []kernel.Want {
	t.Helper()
	f, err := lang.Parse("saved.nets", []byte(text))
	if err != nil {
		t.Fatalf("saved recipe does not parse: %v\n%s", err, text)
	}
	var out []kernel.Want
	for _, s := range f.Stmts {
		n, ok := s.(*lang.NetStmt)
		if !ok {
			t.Fatalf("saved recipe has a %T statement: %s", s, lang.FormatStmt(s))
		}
		w, err := svWant(n, names)
		if err != nil {
			t.Fatalf("%s: %v", lang.FormatStmt(n), err)
		}
		if w != nil {
			w.NS = ns
			out = append(out, *w)
		}
	}
	return out
}

type svDecoded struct {
	d    *lang.Decoded
	vals map[string]any
}

func svDecode(n *lang.NetStmt) (*svDecoded, error) {
	d, ds := lang.Decode(n)
	if len(ds) > 0 {
		return nil, ds[0]
	}
	sd := &svDecoded{d: d, vals: map[string]any{}}
	for _, f := range d.Fields {
		if f.Value == nil {
			sd.vals[f.Name] = true
			continue
		}
		var texts []string
		if l, ok := f.Value.(*lang.List); ok {
			for _, e := range l.Elems {
				texts = append(texts, svLit(e))
			}
		} else {
			texts = []string{svLit(f.Value)}
		}
		var vs []any
		for _, s := range texts {
			v, err := f.Param.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f.Name, err)
			}
			vs = append(vs, v)
		}
		if f.Param.List {
			sd.vals[f.Name] = vs
		} else {
			sd.vals[f.Name] = vs[0]
		}
	}
	return sd, nil
}

func svLit(e lang.Expr) string {
	switch e := e.(type) {
	case *lang.Word:
		s, _ := e.Literal()
		return s
	case *lang.String:
		s, _ := e.Literal()
		return s
	}
	return fmt.Sprintf("<%T>", e)
}

func (d *svDecoded) has(k string) bool { _, ok := d.vals[k]; return ok }
func (d *svDecoded) str(k string) string {
	v, _ := d.vals[k].(string)
	return v
}
func (d *svDecoded) u64(k string) uint64 {
	v, _ := d.vals[k].(uint64)
	return v
}
func (d *svDecoded) addr(k string) netip.Addr {
	v, _ := d.vals[k].(netip.Addr)
	return v
}
func (d *svDecoded) prefix(k string) netip.Prefix {
	v, _ := d.vals[k].(netip.Prefix)
	return v
}
func (d *svDecoded) table(k string, names *kernel.TableNames) (uint32, error) {
	ref, _ := d.vals[k].(lang.TableRef)
	if ref.ID != 0 {
		return ref.ID, nil
	}
	id, ok := names.ID(ref.Name)
	if !ok {
		return 0, fmt.Errorf("unknown table %q", ref.Name)
	}
	return id, nil
}

func svWant(n *lang.NetStmt, names *kernel.TableNames) (*kernel.Want, error) {
	d, err := svDecode(n)
	if err != nil {
		return nil, err
	}
	switch n.Verb {
	case "table":
		id, err := d.table("table", names)
		if err != nil {
			return nil, err
		}
		return nil, names.Add(id, d.str("name"))
	case "netns":
		return &kernel.Want{Netns: &kernel.NetnsWant{Name: d.str("name")}}, nil
	case "link":
		l := &kernel.LinkWant{Name: d.str("name"), Kind: d.d.Kind}
		switch l.Kind {
		case kernel.KindVeth:
			l.Veth = &kernel.Veth{Peer: d.str("peer"), PeerNetns: d.str("peer-netns")}
		case kernel.KindVXLAN:
			l.VXLAN = &kernel.VXLAN{ID: uint32(d.u64("id")), Remote: d.addr("remote"), Group: d.addr("group"),
				Local: d.addr("local"), Dev: d.str("dev"), DstPort: uint16(d.u64("dstport"))}
		case kernel.KindMacvlan:
			l.Macvlan = &kernel.Macvlan{Dev: d.str("dev"), Mode: d.str("mode")}
		case kernel.KindTun, kernel.KindTap:
			l.Tun = &kernel.Tun{User: -1, Group: -1}
			if d.has("user") {
				l.Tun.User, _ = strconv.Atoi(d.str("user"))
			}
			if d.has("group") {
				l.Tun.Group, _ = strconv.Atoi(d.str("group"))
			}
		}
		if d.has("up") || d.has("down") {
			up := d.has("up")
			l.Up = &up
		}
		if d.has("mtu") {
			m := uint32(d.u64("mtu"))
			l.MTU = &m
		}
		if d.has("address") {
			l.Address = d.vals["address"].(net.HardwareAddr)
		}
		if d.has("master") {
			m := d.str("master")
			l.Master = &m
		}
		if d.has("alias") {
			a := d.str("alias")
			l.Alias = &a
		}
		return &kernel.Want{Link: l}, nil
	case "addr":
		a := &kernel.Addr{Link: d.str("dev"), Prefix: d.prefix("prefix"), Peer: d.prefix("peer"),
			Broadcast: d.addr("broadcast"), Label: d.str("label")}
		if d.has("scope") {
			a.Scope = kernel.Scope(d.vals["scope"].(uint8))
		}
		return &kernel.Want{Addr: a}, nil
	case "route":
		r := kernel.Route{Table: kernel.TableMain, Type: kernel.RouteUnicast, Gateway: d.addr("via"), Dev: d.str("dev"), Src: d.addr("src")}
		var set kernel.RouteFields
		switch dst := d.vals["dst"].(type) {
		case netip.Prefix:
			r.Dst = dst
		case string: // default
			r.Dst = netip.MustParsePrefix("0.0.0.0/0")
			if r.Gateway.Is6() || r.Src.Is6() {
				r.Dst = netip.MustParsePrefix("::/0")
			}
		}
		if typ := d.str("type"); typ != "" {
			r.Type = map[string]kernel.RouteType{"unicast": kernel.RouteUnicast, "blackhole": kernel.RouteBlackhole,
				"unreachable": kernel.RouteUnreachable, "prohibit": kernel.RouteProhibit, "throw": kernel.RouteThrow}[typ]
		}
		if d.has("table") {
			id, err := d.table("table", names)
			if err != nil {
				return nil, err
			}
			r.Table = id
		}
		r.Priority = kernel.DefaultMetric(r.Dst)
		if d.has("metric") {
			r.Priority = uint32(d.u64("metric"))
		}
		if r.Gateway.IsValid() {
			set |= kernel.RouteSetGateway
		}
		if r.Dev != "" {
			set |= kernel.RouteSetDev
		}
		if r.Src.IsValid() {
			set |= kernel.RouteSetSrc
		}
		if d.has("proto") {
			r.Protocol = d.vals["proto"].(uint8)
			set |= kernel.RouteSetProtocol
		}
		if d.has("scope") {
			r.Scope = kernel.Scope(d.vals["scope"].(uint8))
			set |= kernel.RouteSetScope
		}
		if d.has("mtu") {
			r.MTU = uint32(d.u64("mtu"))
			set |= kernel.RouteSetMTU
		}
		if d.has("onlink") {
			r.OnLink = true
			set |= kernel.RouteSetOnLink
		}
		return &kernel.Want{Route: &kernel.RouteWant{Route: r, Set: set}}, nil
	case "rule":
		r := kernel.Rule{Family: 4, Invert: d.has("not"), Src: d.prefix("from"), Dst: d.prefix("to"),
			IIF: d.str("iif"), OIF: d.str("oif"), Priority: uint32(d.u64("priority"))}
		if r.Src.Addr().Is6() || r.Dst.Addr().Is6() {
			r.Family = 6
		}
		if r.Src.Bits() == 0 {
			r.Src = netip.Prefix{}
		}
		if m, ok := d.vals["fwmark"].(lang.Mark); ok {
			r.Mark, r.Mask = m.Value, m.Mask
		}
		if p, ok := d.vals["ipproto"].(uint8); ok {
			r.IPProto = p
		}
		if p, ok := d.vals["sport"].(lang.PortRange); ok {
			r.SPort = kernel.PortRange{Start: p.Start, End: p.End}
		}
		if p, ok := d.vals["dport"].(lang.PortRange); ok {
			r.DPort = kernel.PortRange{Start: p.Start, End: p.End}
		}
		if u, ok := d.vals["uidrange"].(lang.UIDRange); ok {
			r.UID = &kernel.UIDRange{Start: u.Start, End: u.End}
		}
		switch {
		case d.has("lookup"):
			r.Action = kernel.ActionLookup
			id, err := d.table("lookup", names)
			if err != nil {
				return nil, err
			}
			r.Table = id
		case d.has("goto"):
			r.Action, r.Goto = kernel.ActionGoto, uint32(d.u64("goto"))
		case d.has("nop"):
			r.Action = kernel.ActionNop
		case d.has("blackhole"):
			r.Action = kernel.ActionBlackhole
		case d.has("unreachable"):
			r.Action = kernel.ActionUnreachable
		case d.has("prohibit"):
			r.Action = kernel.ActionProhibit
		}
		if d.has("suppress_prefixlength") {
			s := uint8(d.u64("suppress_prefixlength"))
			r.SuppressPrefixLen = &s
		}
		return &kernel.Want{Rule: &kernel.RuleWant{Rule: r}}, nil
	case "neigh":
		st := kernel.NeighState(0)
		if d.has("permanent") {
			st = kernel.NeighPermanent
		}
		return &kernel.Want{Neigh: &kernel.Neigh{Link: d.str("dev"), IP: d.addr("addr"),
			LLAddr: d.vals["lladdr"].(net.HardwareAddr), State: st}}, nil
	case "wireguard":
		wg := &kernel.WGWant{Name: d.str("name"), ReplacePeers: true}
		if n.Block == nil {
			return nil, fmt.Errorf("wireguard without a block")
		}
		for _, s := range n.Block.Stmts {
			sn := s.(*lang.NetStmt)
			sd, err := svDecode(sn)
			if err != nil {
				return nil, err
			}
			switch sn.Verb {
			case "private-key":
				k := kernel.Key(sd.vals["key"].([32]byte))
				wg.PrivateKey = &k
			case "listen-port":
				p := int(sd.u64("port"))
				wg.ListenPort = &p
			case "fwmark":
				m := sd.vals["mark"].(lang.Mark).Value
				wg.FirewallMark = &m
			case "peer":
				p := kernel.WGPeerWant{PublicKey: kernel.Key(sd.vals["key"].([32]byte)), AllowedIPs: []netip.Prefix{}}
				for _, ps := range sn.Block.Stmts {
					pn := ps.(*lang.NetStmt)
					pd, err := svDecode(pn)
					if err != nil {
						return nil, err
					}
					for name, v := range pd.vals {
						switch v := v.(type) {
						case [32]byte:
							k := kernel.Key(v)
							p.PresharedKey = &k
						case lang.Endpoint:
							ep := netip.AddrPortFrom(v.Addr, v.Port)
							p.Endpoint = &ep
						case time.Duration:
							p.PersistentKeepalive = &v
						case []any:
							for _, e := range v {
								p.AllowedIPs = append(p.AllowedIPs, e.(netip.Prefix))
							}
						default:
							return nil, fmt.Errorf("peer: %s: unexpected %T", name, v)
						}
					}
				}
				wg.Peers = append(wg.Peers, p)
			default:
				return nil, fmt.Errorf("wireguard: unexpected %s", sn.Verb)
			}
		}
		return &kernel.Want{WireGuard: wg}, nil
	}
	return nil, fmt.Errorf("unexpected statement %s", n.Verb)
}

// svRestore applies a saved recipe to namespace ns of k with an Ensurer
// and returns the steps that changed something.
func svRestore(t *testing.T, k kernel.Kernel, ns, text string, names *kernel.TableNames) []*kernel.Step {
	t.Helper()
	e := kernel.NewEnsurer(k)
	e.Names = names
	var changed []*kernel.Step
	for _, w := range svWants(t, ns, text, names) {
		st, err := e.Ensure(w)
		if err != nil {
			t.Fatalf("restore: %s: %v", kernel.FormatWant(w, names), err)
		}
		if st.Changed() {
			changed = append(changed, st)
		}
	}
	return changed
}

// TestSaveRestoreModel: a Model's save restored into a fresh Model
// gives the same state, and ensuring it again changes nothing.
func TestSaveRestoreModel(t *testing.T) {
	m, names := svModel(t)
	saved, err := kernel.Save(m, "", kernel.SaveOptions{Names: names, Secrets: true})
	svMust(t, err)
	want, err := kernel.DumpState(m, "")
	svMust(t, err)

	m2 := kernel.NewModel()
	names2 := kernel.NewTableNames()
	svRestore(t, m2, "", saved, names2)
	got, err := kernel.DumpState(m2, "")
	svMust(t, err)
	if got != want {
		t.Errorf("restored state differs:\n--- restored:\n%s\n--- saved:\n%s\n--- recipe:\n%s", got, want, saved)
	}
	if again := svRestore(t, m2, "", saved, names2); len(again) > 0 {
		for _, st := range again {
			t.Errorf("second restore changed: %v", st.Changes)
		}
	}
	if again := svRestore(t, m, "", saved, names.Clone()); len(again) > 0 {
		for _, st := range again {
			t.Errorf("restoring a namespace's own save changed: %v", st.Changes)
		}
	}
}

// svIP runs `ip -n ns ARGS` (split on spaces) for each line.
func svIP(t *testing.T, ns string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		ktest.IP(t, ns, strings.Fields(l)...)
	}
}

// svLiveState builds a rich state with ip(8) (and the Kernel for the
// userspace WireGuard device, which ip cannot create on this kernel) in
// the fresh namespace of k, with a veth into the named namespace peer.
func svLiveState(t *testing.T, k *kernel.Netlink, ns, peer, wg string) {
	t.Helper()
	svIP(t, ns,
		"link add v0 type veth peer name v1",
		"link add zbr type bridge",
		"link set v1 master zbr",
		"link set v0 mtu 9000 up",
		"link set v0 alias uplink",
		"link set v1 up",
		"link set zbr up",
		"link add a0 type veth peer name b0 netns "+peer,
		"link set a0 up",
		"link add vx0 type vxlan id 42 remote 192.0.2.2 dev v0 dstport 4789",
		"link add vx1 mtu 1400 type vxlan id 43 group 239.1.1.1 dev v0",
		"link add mv0 link v0 type macvlan mode bridge",
		"link set mv0 up",
		"tuntap add dev tap0 mode tap user 0 group 0",
		"tuntap add dev tun0 mode tun",
		"link set tun0 mtu 1280",
		"link add spare type bridge",
		"link set spare alias spare-bridge",
		// A bridge MTU set on the live bridge (sticky: it stays when
		// ports join), which a restore must make sticky too (F-H).
		"link set zbr mtu 9000",
		// A bridge that had its link-local address before its first
		// port changed its MAC: that address is the kernel's (F-I).
		"link add br9 type bridge",
		"link set br9 up",
		"link add d9 type veth peer name e9",
		"link set d9 master br9",
		"link set d9 up",
		"link set e9 up",
		// A kind nets cannot create: saved without `type` (F-J).
		"link add i0 type ifb",
		"link set i0 up",
		"addr add 10.88.0.1/24 dev i0",
		"route add 10.89.0.0/16 via 10.88.0.254 table 100",
		"addr add 10.0.0.1/24 dev v0",
		"addr add 10.0.0.2/24 dev v0",
		"addr add 10.1.1.1/24 brd 10.1.1.255 dev v0 label v0:x",
		"addr add 2001:db8::1/64 dev v0",
		"addr add fe80::1/64 dev v0 nodad",
		"addr add 10.200.0.1 peer 10.200.0.2/32 dev a0",
		"addr add 2001:db8:200::1 peer 2001:db8:200::2/128 dev a0",
		"addr add 192.168.1.1/24 dev zbr",
		"addr add 10.255.0.1/32 dev lo",
		"route add 10.2.0.0/16 via 10.0.0.254",
		"route add default via 10.0.0.254 proto static metric 100",
		"route add 10.3.0.0/16 dev zbr src 192.168.1.1",
		"route add 10.4.0.0/16 via 10.0.0.254 table 100 mtu 1400",
		"route add blackhole 10.9.0.0/16 table 100",
		"route add unreachable 10.8.0.0/16 table 1000000",
		"route add prohibit 10.7.0.0/16 table 1000000 metric 10",
		"route add throw 10.6.0.0/16 table 100",
		"-6 route add 2001:db8:1::/48 via 2001:db8::ff dev v0 table 100",
		"-6 route add 2001:db8:2::/48 via 2001:db8::ff dev v0 metric 5",
		"-6 route add blackhole 2001:db8:dead::/48",
		"-6 route add unreachable 2001:db8:beef::/48 table 1000000",
		"-6 route add prohibit 2001:db8:f00d::/48 table 1000000",
		"rule add not from 10.0.0.0/8 to 192.0.2.0/24 iif v0 oif a0 fwmark 0x1/0xff ipproto tcp sport 1000-2000 dport 443 uidrange 0-0 lookup 100 pref 100",
		"rule add lookup main suppress_prefixlength 0 pref 200",
		"rule add from 10.5.0.0/16 goto 400 pref 300",
		"rule add nop pref 400",
		"rule add to 10.6.0.0/16 blackhole pref 500",
		"rule add fwmark 0x2 unreachable pref 600",
		"rule add iif v1 prohibit pref 700",
		"rule add from 10.5.0.0/16 lookup 1000000 pref 800",
		"-6 rule add from 2001:db8::/32 lookup 1000000 pref 100",
		"-6 rule add unreachable pref 150",
		"-6 rule add to 2001:db8:bad::/48 prohibit pref 160",
		"-6 rule add fwmark 0x2/0x3 ipproto udp dport 53 lookup 100 pref 170",
		"-6 rule add not oif v0 sport 1-1024 goto 190 pref 180",
		"-6 rule add nop pref 190",
		"neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent",
		"-6 neigh add 2001:db8::9 lladdr 02:00:00:00:00:0a dev v0 nud permanent",
	)
	svMust(t, k.AddLink(kernel.Host, kernel.Link{Name: wg, Kind: kernel.KindWireGuard}))
	port, ka, ep := 51820, 25*time.Second, netip.MustParseAddrPort("192.0.2.7:51820")
	svMust(t, k.ConfigureWireGuard(kernel.Host, wg, kernel.WGConfig{PrivateKey: &svPriv, ListenPort: &port,
		Peers: []kernel.WGPeerConfig{{PublicKey: svPeer, PresharedKey: &svPSK, Endpoint: &ep, PersistentKeepalive: &ka,
			AllowedIPs: []netip.Prefix{svP("10.10.0.0/24"), svP("fd00::/64")}}}}))
	ktest.IP(t, peer, "link", "set", "b0", "up") // carrier for a0, so its IPv6 addresses leave DAD
	svIP(t, ns, "link set "+wg+" up", "addr add 10.10.0.1/24 dev "+wg, "route add 10.11.0.0/16 dev "+wg+" table 100")
}

// TestSaveRoundTrip: a rich state built with ip(8), saved, and restored
// from the recipe text into a fresh namespace gives the same full state;
// ensuring the save on the namespace it came from changes nothing.
func TestSaveRoundTrip(t *testing.T) {
	k1, ns1 := ktest.New(t)
	peer := ktest.NewNS(t)
	svMust(t, netns.Add("", peer))
	wg := fmt.Sprintf("svwg%d", os.Getpid()%10000)
	svLiveState(t, k1, ns1, peer, wg)

	names := kernel.NewTableNames()
	svMust(t, names.Add(100, "vpn"))
	saved, err := kernel.Save(k1, kernel.Host, kernel.SaveOptions{Names: names, Secrets: true})
	svMust(t, err)
	svFixedPoint(t, saved)
	t.Logf("saved:\n%s", saved)
	for _, want := range []string{"# i0: kind ifb is not created by nets; it must exist\nlink i0 up\n",
		"link zbr type bridge up mtu 9000 ", "addr 10.88.0.1/24 dev i0\n",
		"table 100 name vpn", "netns " + peer, "link a0 type veth peer b0 netns " + peer,
		"route throw 10.6.0.0/16 table vpn", "uidrange 0-0", "suppress_prefixlength 0", "2001:db8::9", "wireguard " + wg} {
		if !strings.Contains(saved, want) {
			t.Errorf("saved recipe lacks %q", want)
		}
	}
	for _, not := range []string{"127.0.0.1", "addr ::1", "proto kernel", "table local", "priority 32766", "ff00::",
		"type ifb", "dev br9 scope link"} {
		if strings.Contains(saved, not) {
			t.Errorf("saved recipe has kernel-made %q", not)
		}
	}

	// Show on the live kernel: same renderers, canonical, kernel-derived
	// link-local addresses left out, table names used.
	for _, c := range []struct{ what, arg, want string }{
		{"links", "", "link v1 up address "},
		{"addrs", "v0", "addr fe80::1/64 dev v0 scope link"},
		{"routes", "table vpn", "route blackhole 10.9.0.0/16 table vpn"},
		{"routes", "all", "# route 10.0.0.0/24 dev v0 src 10.0.0.1 proto kernel (made by the kernel)"},
		{"rules", "", "rule from ::/0 lookup main priority 32766"},
		{"neigh", "v0", "neigh 2001:db8::9 lladdr 02:00:00:00:00:0a dev v0 permanent"},
		{"netns", "", "netns " + peer},
		{"wireguard", wg, "# private-key (key): not shown (nets save --secrets writes it)"},
	} {
		out, err := kernel.Show(k1, kernel.Host, c.what, c.arg, names)
		svMust(t, err)
		svFixedPoint(t, out)
		if !strings.Contains(out, c.want) {
			t.Errorf("show %s %s lacks %q:\n%s", c.what, c.arg, c.want, out)
		}
		if c.what == "addrs" && strings.Count(out, "fe80::") != 1 {
			t.Errorf("show addrs shows the kernel's link-local address:\n%s", out)
		}
		if strings.Contains(out, svPriv.Base64()) || strings.Contains(out, svPSK.Base64()) {
			t.Errorf("show %s reveals a key:\n%s", c.what, out)
		}
	}

	// Saving the namespace on itself changes nothing (what `nets plan` of
	// its own save must show).
	if changed := svRestore(t, k1, kernel.Host, saved, names.Clone()); len(changed) > 0 {
		for _, st := range changed {
			t.Errorf("ensuring the namespace's own save changed: %v", st.Changes)
		}
	}

	before := svSettled(t, k1, ns1)
	// Free what the restore needs to reuse: the veth end in peer and the
	// userspace WireGuard device's host-wide socket name.
	svMust(t, k1.DelLink(kernel.Host, "a0"))
	svMust(t, k1.DelLink(kernel.Host, wg))

	k2, ns2 := ktest.New(t)
	// The saved recipe does not create i0 (a kind nets cannot make);
	// it must exist where the recipe runs.
	// (with i0's MAC, which is the kernel's and not saved).
	var i0mac string
	links, err := k1.Links(kernel.Host)
	svMust(t, err)
	for _, l := range links {
		if l.Name == "i0" {
			i0mac = l.Address.String()
		}
	}
	svIP(t, ns2, "link add i0 address "+i0mac+" type ifb")
	if changed := svRestore(t, k2, kernel.Host, saved, kernel.NewTableNames()); len(changed) == 0 {
		t.Fatal("restore changed nothing")
	}
	t.Cleanup(func() { _ = k2.DelLink(kernel.Host, wg) })
	ktest.IP(t, peer, "link", "set", "b0", "up")
	after := svSettled(t, k2, ns2)
	if before != after {
		t.Errorf("restored state differs from the saved one:\n%s", svLineDiff(before, after))
	}
	again, err := kernel.Save(k2, kernel.Host, kernel.SaveOptions{Names: names, Secrets: true})
	svMust(t, err)
	if again != saved {
		t.Errorf("save of the restored namespace differs:\n%s", svLineDiff(saved, again))
	}
}

// svSettled waits (up to 10 s) until no IPv6 address of ns is tentative
// (the kernel adds an address's routes when DAD ends) and returns the
// state dump.
func svSettled(t *testing.T, k kernel.Kernel, ns string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.TrimSpace(ktest.IP(t, ns, "-6", "addr", "show", "tentative")) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("IPv6 addresses still tentative after 10s:\n%s", ktest.IP(t, ns, "-6", "addr", "show", "tentative"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := kernel.DumpState(k, kernel.Host)
	svMust(t, err)
	return s
}

// svLineDiff lists lines only in a (-) or only in b (+).
func svLineDiff(a, b string) string {
	inA, inB := map[string]int{}, map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		inA[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		inB[l]++
	}
	var out strings.Builder
	for _, l := range strings.Split(a, "\n") {
		if inB[l] == 0 {
			out.WriteString("- " + l + "\n")
		} else {
			inB[l]--
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if inA[l] == 0 {
			out.WriteString("+ " + l + "\n")
		} else {
			inA[l]--
		}
	}
	return out.String()
}
