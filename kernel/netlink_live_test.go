package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// has fails unless out matches the regular expression re.
func has(t *testing.T, out, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(out) {
		t.Errorf("output does not match %q:\n%s", re, out)
	}
}

func hasNot(t *testing.T, out, re string) {
	t.Helper()
	if regexp.MustCompile(re).MatchString(out) {
		t.Errorf("output unexpectedly matches %q:\n%s", re, out)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }
func ptr[T any](v T) *T         { return &v }

func findLink(t *testing.T, k *kernel.Netlink, ns, name string) kernel.Link {
	t.Helper()
	links, err := k.Links(ns)
	must(t, err)
	for _, l := range links {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no link %s in %q: %+v", name, ns, links)
	return kernel.Link{}
}

// kernelErr checks err is a *kernel.Error of kind and errno.
func kernelErr(t *testing.T, err error, kind error, errno unix.Errno) *kernel.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v (%v)", kind, errno)
	}
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		t.Fatalf("%v (%T) is not a *kernel.Error", err, err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("%v: not %v", err, kind)
	}
	if errno != 0 && !errors.Is(err, errno) {
		t.Errorf("%v: not errno %v", err, errno)
	}
	return ke
}

func TestVethAcrossNamespacesAndPing(t *testing.T) {
	k, ns := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "v0", Kind: kernel.KindVeth, Up: true,
		Veth: &kernel.Veth{Peer: "v1", PeerNetns: b}}))
	has(t, ktest.IP(t, ns, "-d", "link", "show", "v0"), `v0@if\d+: .*UP`)
	has(t, ktest.IP(t, b, "-d", "link", "show", "v1"), `v1@if\d+: .*\n.*\n\s+veth`)

	v0 := findLink(t, k, kernel.Host, "v0")
	if v0.Kind != kernel.KindVeth || !reflect.DeepEqual(v0.Veth, &kernel.Veth{Peer: "v1", PeerNetns: b}) || !v0.Up {
		t.Errorf("v0 reads back as %+v veth %+v", v0, v0.Veth)
	}
	v1 := findLink(t, k, b, "v1")
	if !reflect.DeepEqual(v1.Veth, &kernel.Veth{Peer: "v0", PeerNetns: kernel.HostName}) || v1.Up {
		t.Errorf("v1 reads back as %+v veth %+v", v1, v1.Veth)
	}

	must(t, k.AddAddr(kernel.Host, kernel.Addr{Link: "v0", Prefix: pfx("10.99.0.1/24")}, false))
	must(t, k.AddAddr(b, kernel.Addr{Link: "v1", Prefix: pfx("10.99.0.2/24")}, false))
	must(t, k.SetLink(b, "v1", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.SetLink(b, "lo", kernel.LinkChange{Up: ptr(true)}))

	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := k.Exec(ctx, kernel.Host, kernel.Cmd{Args: []string{"ping", "-c", "1", "-W", "5", "10.99.0.2"},
		Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("ping from host ns: %v\n%s%s", err, out.String(), errb.String())
	}
	has(t, out.String(), `1 packets transmitted, 1 received`)

	// Exec runs inside the namespace: `ip link` there sees v1, not v0.
	out.Reset()
	must(t, k.Exec(ctx, b, kernel.Cmd{Args: []string{"ip", "-o", "link"}, Stdout: &out}))
	has(t, out.String(), `v1@`)
	hasNot(t, out.String(), `v0@`)

	// A failing program is an error naming its exit status.
	err = k.Exec(ctx, b, kernel.Cmd{Args: []string{"sh", "-c", "echo oops >&2; exit 3"}, Stderr: &errb})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exit 3: got %v", err)
	}
	has(t, errb.String(), "oops")

	// Deleting one end deletes both.
	must(t, k.DelLink(kernel.Host, "v0"))
	hasNot(t, ktest.IP(t, b, "link"), `v1`)
}

func TestVethPeerInHostFromNamedNamespace(t *testing.T) {
	k, ns := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.AddLink(b, kernel.Link{Name: "in0", Kind: kernel.KindVeth,
		Veth: &kernel.Veth{Peer: "out0", PeerNetns: kernel.HostName}}))
	has(t, ktest.IP(t, ns, "link", "show", "out0"), `out0@if`)
	if l := findLink(t, k, b, "in0"); !reflect.DeepEqual(l.Veth, &kernel.Veth{Peer: "out0", PeerNetns: kernel.HostName}) {
		t.Errorf("in0 veth %+v", l.Veth)
	}
	// Same-namespace pair: no PeerNetns.
	must(t, k.AddLink(b, kernel.Link{Name: "a0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "a1"}}))
	if l := findLink(t, k, b, "a1"); !reflect.DeepEqual(l.Veth, &kernel.Veth{Peer: "a0"}) {
		t.Errorf("a1 veth %+v", l.Veth)
	}
}

func TestBridgeVXLANMacvlanTun(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "br0", Kind: kernel.KindBridge, Up: true}))
	mac, _ := net.ParseMAC("02:00:00:00:00:aa")
	must(t, k.AddLink(h, kernel.Link{Name: "p0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "p1"},
		Master: "br0", MTU: 1400, Address: mac, Alias: "port zero"}))
	out := ktest.IP(t, ns, "-d", "link", "show", "p0")
	has(t, out, `mtu 1400 .*master br0`)
	has(t, out, `link/ether 02:00:00:00:00:aa`)
	has(t, out, `alias port zero`)
	has(t, ktest.IP(t, ns, "-d", "link", "show", "br0"), `\n\s+bridge `)
	p0 := findLink(t, k, h, "p0")
	if p0.Master != "br0" || p0.MTU != 1400 || p0.Address.String() != "02:00:00:00:00:aa" || p0.Alias != "port zero" {
		t.Errorf("p0 reads back as %+v", p0)
	}
	must(t, k.SetLink(h, "p0", kernel.LinkChange{Master: ptr(""), MTU: ptr(uint32(1300)), Alias: ptr("")}))
	out = ktest.IP(t, ns, "-d", "link", "show", "p0")
	hasNot(t, out, `master`)
	hasNot(t, out, `alias`)
	has(t, out, `mtu 1300`)

	must(t, k.AddAddr(h, kernel.Addr{Link: "p1", Prefix: pfx("10.77.0.1/24")}, false))
	vx := &kernel.VXLAN{ID: 42, Remote: addr("192.0.2.1"), Local: addr("10.77.0.1"), Dev: "p1", DstPort: 4789}
	must(t, k.AddLink(h, kernel.Link{Name: "vx0", Kind: kernel.KindVXLAN, VXLAN: vx}))
	has(t, ktest.IP(t, ns, "-d", "link", "show", "vx0"), `vxlan id 42 remote 192.0.2.1 local 10.77.0.1 dev p1 .*dstport 4789`)
	if l := findLink(t, k, h, "vx0"); l.Kind != kernel.KindVXLAN || !reflect.DeepEqual(l.VXLAN, vx) {
		t.Errorf("vx0 reads back as %+v %+v", l, l.VXLAN)
	}
	grp := &kernel.VXLAN{ID: 7, Group: addr("239.1.1.1"), Dev: "p1", DstPort: 8472}
	must(t, k.AddLink(h, kernel.Link{Name: "vx1", Kind: kernel.KindVXLAN, VXLAN: grp}))
	has(t, ktest.IP(t, ns, "-d", "link", "show", "vx1"), `vxlan id 7 group 239.1.1.1 dev p1 .*dstport 8472`)
	if l := findLink(t, k, h, "vx1"); !reflect.DeepEqual(l.VXLAN, grp) {
		t.Errorf("vx1 reads back as %+v", l.VXLAN)
	}

	must(t, k.AddLink(h, kernel.Link{Name: "mv0", Kind: kernel.KindMacvlan, Macvlan: &kernel.Macvlan{Dev: "p1", Mode: "bridge"}}))
	has(t, ktest.IP(t, ns, "-d", "link", "show", "mv0"), `mv0@p1:.*\n.*\n\s+macvlan mode bridge`)
	if l := findLink(t, k, h, "mv0"); !reflect.DeepEqual(l.Macvlan, &kernel.Macvlan{Dev: "p1", Mode: "bridge"}) {
		t.Errorf("mv0 reads back as %+v", l.Macvlan)
	}
	must(t, k.SetLink(h, "mv0", kernel.LinkChange{Mode: ptr("private")}))
	has(t, ktest.IP(t, ns, "-d", "link", "show", "mv0"), `macvlan mode private`)

	// Owner and group: root, the one uid mapped in every sandbox.
	uid := 0
	must(t, k.AddLink(h, kernel.Link{Name: "tun0", Kind: kernel.KindTun, Up: true, MTU: 1420,
		Tun: &kernel.Tun{User: uid, Group: uid}}))
	must(t, k.AddLink(h, kernel.Link{Name: "tap0", Kind: kernel.KindTap, Tun: &kernel.Tun{User: -1, Group: -1}}))
	out = ktest.IP(t, ns, "-d", "link", "show", "tun0")
	has(t, out, `tun0: <.*UP.*> mtu 1420`)
	has(t, out, `tun type tun pi off .*persist on user root group root`)
	out = ktest.IP(t, ns, "-d", "link", "show", "tap0")
	has(t, out, `tun type tap pi off .*persist on`)
	hasNot(t, out, `user|group root`)
	if l := findLink(t, k, h, "tun0"); l.Kind != kernel.KindTun || !reflect.DeepEqual(l.Tun, &kernel.Tun{User: uid, Group: uid}) {
		t.Errorf("tun0 reads back as %+v %+v", l, l.Tun)
	}
	if l := findLink(t, k, h, "tap0"); l.Kind != kernel.KindTap || !reflect.DeepEqual(l.Tun, &kernel.Tun{User: -1, Group: -1}) {
		t.Errorf("tap0 reads back as %+v %+v", l, l.Tun)
	}
	kernelErr(t, k.AddLink(h, kernel.Link{Name: "tun0", Kind: kernel.KindTun}), kernel.ErrExist, unix.EEXIST)
	must(t, k.DelLink(h, "tun0"))
	hasNot(t, ktest.IP(t, ns, "link"), `tun0`)

	// Move a link to another namespace.
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.SetLink(h, "tap0", kernel.LinkChange{Netns: &b}))
	hasNot(t, ktest.IP(t, ns, "link"), `tap0`)
	has(t, ktest.IP(t, b, "-d", "link", "show", "tap0"), `tun type tap`)
}

func TestAddresses(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "d0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "d1"}, Up: true}))
	want := []kernel.Addr{
		{Link: "d0", Prefix: pfx("10.1.0.1/24"), Broadcast: addr("10.1.0.255"), Label: "d0:web"},
		{Link: "d0", Prefix: pfx("10.2.0.1/32"), Peer: pfx("10.2.0.2/32")},
		{Link: "d0", Prefix: pfx("10.3.0.1/32"), Peer: pfx("10.3.0.0/24"), Scope: kernel.ScopeLink},
		{Link: "d0", Prefix: pfx("2001:db8::1/64")},
		{Link: "d0", Prefix: pfx("2001:db8:1::1/128"), Peer: pfx("2001:db8:1::2/128")},
	}
	for _, a := range want {
		must(t, k.AddAddr(h, a, false))
	}
	out := ktest.IP(t, ns, "addr", "show", "dev", "d0")
	has(t, out, `inet 10.1.0.1/24 brd 10.1.0.255 scope global d0:web`)
	has(t, out, `inet 10.2.0.1 peer 10.2.0.2/32 scope global d0`)
	has(t, out, `inet 10.3.0.1 peer 10.3.0.0/24 scope link d0`)
	has(t, out, `inet6 2001:db8::1/64 scope global`)
	has(t, out, `inet6 2001:db8:1::1 peer 2001:db8:1::2/128 scope global`)
	got, err := k.Addrs(h)
	must(t, err)
	for _, w := range want {
		found := false
		for _, g := range got {
			if reflect.DeepEqual(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("address %+v not read back; got %+v", w, got)
		}
	}
	kernelErr(t, k.AddAddr(h, want[0], false), kernel.ErrExist, unix.EEXIST)
	// Replace succeeds on an existing address. (The kernel changes only
	// flags, lifetimes and metric in place; not label, broadcast or scope.)
	ch := want[0]
	ch.Label = "d0:api"
	must(t, k.AddAddr(h, ch, true))
	has(t, ktest.IP(t, ns, "addr", "show", "dev", "d0"), `inet 10.1.0.1/24 brd 10.1.0.255 scope global d0:web`)
	for _, a := range want {
		must(t, k.DelAddr(h, a))
	}
	hasNot(t, ktest.IP(t, ns, "addr", "show", "dev", "d0"), `10\.|2001:db8`)
	kernelErr(t, k.DelAddr(h, want[0]), kernel.ErrNotFound, unix.EADDRNOTAVAIL)
	kernelErr(t, k.AddAddr(h, kernel.Addr{Link: "nope", Prefix: pfx("10.9.9.9/24")}, false), kernel.ErrNotFound, unix.ENODEV)
}

func TestRoutesInBigTables(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "r0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "r1"}, Up: true}))
	must(t, k.SetLink(h, "r1", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.AddAddr(h, kernel.Addr{Link: "r0", Prefix: pfx("10.5.0.1/24")}, false))
	routes := []kernel.Route{
		{Table: 100, Dst: pfx("0.0.0.0/0"), Type: kernel.RouteUnicast, Gateway: addr("10.5.0.2"), Dev: "r0", Protocol: 4},
		{Table: 1000000, Dst: pfx("10.20.0.0/16"), Type: kernel.RouteBlackhole, Protocol: 4},
		{Table: 4000000000, Dst: pfx("10.30.0.0/16"), Type: kernel.RouteUnreachable, Priority: 50, Protocol: 4},
		{Table: 4000000000, Dst: pfx("10.31.0.0/16"), Type: kernel.RouteProhibit, Protocol: 4},
		{Table: kernel.TableMain, Dst: pfx("10.40.0.0/16"), Type: kernel.RouteUnicast, Dev: "r0",
			Scope: kernel.ScopeLink, Src: addr("10.5.0.1"), MTU: 1300, Protocol: 4},
		{Table: 100, Dst: pfx("192.0.2.0/24"), Type: kernel.RouteUnicast, Gateway: addr("198.51.100.1"),
			Dev: "r0", OnLink: true, Protocol: 4},
	}
	for _, r := range routes {
		must(t, k.AddRoute(h, r, false))
	}
	out := ktest.IP(t, ns, "route", "show", "table", "all")
	has(t, out, `default via 10.5.0.2 dev r0 table 100 proto static`)
	has(t, out, `blackhole 10.20.0.0/16 table 1000000 proto static`)
	has(t, out, `unreachable 10.30.0.0/16 table 4000000000 proto static metric 50`)
	has(t, out, `prohibit 10.31.0.0/16 table 4000000000 proto static`)
	has(t, out, `10.40.0.0/16 dev r0 proto static scope link src 10.5.0.1 mtu 1300`)
	has(t, out, `192.0.2.0/24 via 198.51.100.1 dev r0 table 100 proto static onlink`)
	got, err := k.Routes(h)
	must(t, err)
	for _, w := range routes {
		found := false
		for _, g := range got {
			if reflect.DeepEqual(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("route %+v not read back", w)
		}
	}
	// Local and broadcast routes of the local table read back too.
	local := false
	for _, g := range got {
		if g.Table == kernel.TableLocal && g.Type == kernel.RouteLocal && g.Dst == pfx("10.5.0.1/32") {
			local = true
		}
	}
	if !local {
		t.Errorf("no local route for 10.5.0.1 in table local: %+v", got)
	}

	kernelErr(t, k.AddRoute(h, routes[1], false), kernel.ErrExist, unix.EEXIST)
	// Replace changes type in place.
	rep := routes[1]
	rep.Type = kernel.RouteUnreachable
	must(t, k.AddRoute(h, rep, true))
	has(t, ktest.IP(t, ns, "route", "show", "table", "1000000"), `^unreachable 10.20.0.0/16 proto static`)
	for _, r := range append(routes, rep)[1:] {
		if r.Dst == routes[1].Dst && r.Type == kernel.RouteBlackhole {
			continue
		}
		must(t, k.DelRoute(h, r))
	}
	must(t, k.DelRoute(h, routes[0]))
	out = ktest.IP(t, ns, "route", "show", "table", "all")
	hasNot(t, out, `table (100|1000000|4000000000)\b`)
	kernelErr(t, k.DelRoute(h, routes[1]), kernel.ErrNotFound, unix.ESRCH)

	// A gateway that is not reachable: ENETUNREACH with the kernel's text.
	err = k.AddRoute(h, kernel.Route{Table: 100, Dst: pfx("10.60.0.0/16"), Gateway: addr("172.16.0.1")}, false)
	ke := kernelErr(t, err, nil, unix.ENETUNREACH)
	if ke.Message == "" || !strings.Contains(err.Error(), ke.Message) {
		t.Errorf("no extended ack text in %q (Message %q)", err, ke.Message)
	}
}

func TestV6Routes(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "s0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "s1"}, Up: true}))
	routes := []kernel.Route{
		{Table: 100, Dst: pfx("2001:db8:100::/48"), Type: kernel.RouteUnicast, Dev: "s0", Priority: 1024, Protocol: 4},
		{Table: 1000000, Dst: pfx("::/0"), Type: kernel.RouteBlackhole, Priority: 1024, Protocol: 4},
		{Table: 4000000000, Dst: pfx("2001:db8:4::/64"), Type: kernel.RouteProhibit, Priority: 7, Protocol: 4},
		{Table: kernel.TableMain, Dst: pfx("2001:db8:5::/64"), Type: kernel.RouteUnicast, Gateway: addr("fe80::1"),
			Dev: "s0", Priority: 1024, Protocol: 4, MTU: 1400},
	}
	for _, r := range routes {
		must(t, k.AddRoute(h, r, false))
	}
	out := ktest.IP(t, ns, "-6", "route", "show", "table", "all")
	has(t, out, `2001:db8:100::/48 dev s0 table 100 proto static metric 1024 `)
	has(t, out, `blackhole default dev lo table 1000000 proto static metric 1024`)
	has(t, out, `prohibit 2001:db8:4::/64 dev lo table 4000000000 proto static metric 7`)
	has(t, out, `2001:db8:5::/64 via fe80::1 dev s0 proto static metric 1024 .*mtu 1400`)
	got, err := k.Routes(h)
	must(t, err)
	for _, w := range routes {
		found := false
		for _, g := range got {
			if g.Table == w.Table && g.Dst == w.Dst {
				g.Dev = map[bool]string{true: "", false: g.Dev}[g.Dev == "lo" && w.Dev == ""]
				g.Scope = w.Scope
				if reflect.DeepEqual(g, w) {
					found = true
				} else {
					t.Errorf("route %+v reads back as %+v", w, g)
					found = true
				}
			}
		}
		if !found {
			t.Errorf("route %+v not read back", w)
		}
	}
	for _, r := range routes {
		must(t, k.DelRoute(h, r))
	}
	hasNot(t, ktest.IP(t, ns, "-6", "route", "show", "table", "all"), `2001:db8|table (100|1000000|4000000000)\b`)
	kernelErr(t, k.DelRoute(h, routes[0]), kernel.ErrNotFound, unix.ESRCH)
}

func TestRulesEverySelectorAndAction(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	spl := uint8(0)
	// uid ranges must be mapped in this user namespace.
	uidA, uidB := kernel.UIDRange{Start: 100, End: 200}, kernel.UIDRange{Start: 4000000000, End: 4000000001}
	if ktest.UserNS() {
		uidA, uidB = kernel.UIDRange{}, kernel.UIDRange{}
	}
	rules := []kernel.Rule{
		{Family: 4, Priority: 100, Invert: true, Src: pfx("10.0.0.0/8"), Dst: pfx("10.1.0.0/16"), IIF: "lo", OIF: "lo",
			Mark: 0x10, Mask: 0xff, IPProto: 6, SPort: kernel.PortRange{Start: 1000, End: 2000},
			DPort: kernel.PortRange{Start: 80, End: 80}, UID: &uidA,
			Action: kernel.ActionLookup, Table: 1000000},
		{Family: 4, Priority: 5, Mark: 3, Action: kernel.ActionLookup, Table: kernel.TableMain, SuppressPrefixLen: &spl},
		{Family: 4, Priority: 200, Dst: pfx("192.0.2.0/24"), Action: kernel.ActionBlackhole},
		{Family: 4, Priority: 201, Src: pfx("192.0.2.0/24"), Action: kernel.ActionUnreachable},
		{Family: 4, Priority: 202, IPProto: 17, DPort: kernel.PortRange{Start: 53, End: 53}, Action: kernel.ActionProhibit},
		{Family: 4, Priority: 203, Action: kernel.ActionGoto, Goto: 32766},
		{Family: 4, Priority: 204, Action: kernel.ActionNop},
		{Family: 4, Priority: 205, UID: &uidB, Action: kernel.ActionLookup, Table: 4000000000},
		{Family: 6, Priority: 10, Src: pfx("2001:db8::/32"), Action: kernel.ActionGoto, Goto: 32766},
		{Family: 6, Priority: 11, Action: kernel.ActionBlackhole},
		{Family: 6, Priority: 12, Action: kernel.ActionNop},
		{Family: 6, Priority: 13, Invert: true, Dst: pfx("2001:db8:1::/48"), IIF: "lo", Mark: 1, IPProto: 58,
			Action: kernel.ActionLookup, Table: 100},
		{Family: 6, Priority: 14, OIF: "lo", SPort: kernel.PortRange{Start: 1, End: 1024}, UID: &kernel.UIDRange{Start: 0, End: 0},
			Action: kernel.ActionUnreachable},
		{Family: 6, Priority: 15, Action: kernel.ActionProhibit},
		{Family: 6, Priority: 16, Action: kernel.ActionLookup, Table: 200, SuppressPrefixLen: ptr(uint8(64))},
	}
	for _, r := range rules {
		must(t, k.AddRule(h, r))
	}
	out := ktest.IP(t, ns, "rule")
	has(t, out, `(?m)^100:\s+not from 10.0.0.0/8 to 10.1.0.0/16 fwmark 0x10/0xff iif lo oif lo uidrange `+uidS(uidA)+` ipproto tcp sport 1000-2000 dport 80 lookup 1000000$`)
	has(t, out, `(?m)^5:\s+from all fwmark 0x3 lookup main suppress_prefixlength 0$`)
	has(t, out, `(?m)^200:\s+from all to 192.0.2.0/24 blackhole$`)
	has(t, out, `(?m)^201:\s+from 192.0.2.0/24 unreachable$`)
	has(t, out, `(?m)^202:\s+from all ipproto udp dport 53 prohibit$`)
	has(t, out, `(?m)^203:\s+from all goto 32766$`)
	has(t, out, `(?m)^204:\s+from all nop$`)
	has(t, out, `(?m)^205:\s+from all uidrange `+uidS(uidB)+` lookup 4000000000$`)
	out = ktest.IP(t, ns, "-6", "rule")
	has(t, out, `(?m)^10:\s+from 2001:db8::/32 goto 32766$`)
	has(t, out, `(?m)^11:\s+from all blackhole$`)
	has(t, out, `(?m)^12:\s+from all nop$`)
	has(t, out, `(?m)^13:\s+not from all to 2001:db8:1::/48 fwmark 0x1 iif lo ipproto ipv6-icmp lookup 100$`)
	has(t, out, `(?m)^14:\s+from all oif lo uidrange 0-0 sport 1-1024 unreachable$`)
	has(t, out, `(?m)^15:\s+from all prohibit$`)
	has(t, out, `(?m)^16:\s+from all lookup 200 suppress_prefixlength 64$`)

	got, err := k.Rules(h)
	must(t, err)
	for _, w := range rules {
		found := false
		for _, g := range got {
			if reflect.DeepEqual(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("rule %+v not read back", w)
		}
	}
	// The default rules are there too (0 local, 32766 main, 32767 default for v4).
	defaults := 0
	for _, g := range got {
		if g.Action == kernel.ActionLookup && g.Src == (netip.Prefix{}) &&
			((g.Priority == 0 && g.Table == kernel.TableLocal) || (g.Priority == 32766 && g.Table == kernel.TableMain)) {
			defaults++
		}
	}
	if defaults != 4 {
		t.Errorf("default rules: found %d of 4 in %+v", defaults, got)
	}
	kernelErr(t, k.AddRule(h, rules[0]), kernel.ErrExist, unix.EEXIST)
	for _, r := range rules {
		must(t, k.DelRule(h, r))
	}
	if out := ktest.IP(t, ns, "rule") + ktest.IP(t, ns, "-6", "rule"); len(strings.Split(strings.TrimSpace(out), "\n")) != 5 {
		t.Errorf("rules left after deleting all:\n%s", out)
	}
	kernelErr(t, k.DelRule(h, rules[0]), kernel.ErrNotFound, unix.ENOENT)
	// A narrower rule is not deleted in place of a missing wider one.
	must(t, k.AddRule(h, kernel.Rule{Family: 4, Priority: 300, Src: pfx("10.0.0.0/8"), Mark: 1, Action: kernel.ActionLookup, Table: 100}))
	kernelErr(t, k.DelRule(h, kernel.Rule{Family: 4, Priority: 300, Src: pfx("10.0.0.0/8"), Action: kernel.ActionLookup, Table: 100}),
		kernel.ErrNotFound, unix.ENOENT)
	has(t, ktest.IP(t, ns, "rule"), `300:\s+from 10.0.0.0/8 fwmark 0x1 lookup 100`)
	// Lookup without a table is refused rather than silently `lookup 1`.
	if err := k.AddRule(h, kernel.Rule{Family: 4, Priority: 301, Action: kernel.ActionLookup}); err == nil {
		t.Error("lookup without a table accepted")
	}
}

func TestRulesToleratesUnknownAttributes(t *testing.T) {
	k, ns := ktest.New(t)
	// FRA_DSCP (kernel ≥ 6.13) or another attribute rtnetlink does not
	// know: added with ip, the dump must still decode.
	if _, err := ktest.TryIP(ns, "rule", "add", "prio", "77", "dscp", "10", "lookup", "100"); err != nil {
		if _, err := ktest.TryIP(ns, "rule", "add", "prio", "77", "l3mdev", "protocol", "kernel"); err != nil {
			t.Skipf("cannot add a rule with an unusual attribute here: %v", err)
		}
	}
	rules, err := k.Rules(kernel.Host)
	must(t, err)
	found := false
	for _, r := range rules {
		if r.Priority == 77 {
			found = true
		}
	}
	if !found {
		t.Errorf("rule 77 missing from %+v", rules)
	}
}

func TestNeighbours(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "n0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "n1"}, Up: true}))
	mac1, _ := net.ParseMAC("02:00:00:00:00:01")
	mac2, _ := net.ParseMAC("02:00:00:00:00:02")
	n4 := kernel.Neigh{Link: "n0", IP: addr("10.8.0.5"), LLAddr: mac1, State: kernel.NeighPermanent}
	n6 := kernel.Neigh{Link: "n0", IP: addr("2001:db8::5"), LLAddr: mac1, State: kernel.NeighPermanent}
	must(t, k.SetNeigh(h, n4))
	must(t, k.SetNeigh(h, n6))
	out := ktest.IP(t, ns, "neigh", "show")
	has(t, out, `10.8.0.5 dev n0 lladdr 02:00:00:00:00:01 PERMANENT`)
	has(t, out, `2001:db8::5 dev n0 lladdr 02:00:00:00:00:01 PERMANENT`)
	n4.LLAddr = mac2
	must(t, k.SetNeigh(h, n4)) // replace
	has(t, ktest.IP(t, ns, "neigh", "show"), `10.8.0.5 dev n0 lladdr 02:00:00:00:00:02 PERMANENT`)
	got, err := k.Neighs(h)
	must(t, err)
	for _, w := range []kernel.Neigh{n4, n6} {
		found := false
		for _, g := range got {
			if reflect.DeepEqual(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("neighbour %+v not read back in %+v", w, got)
		}
	}
	must(t, k.DelNeigh(h, n4))
	must(t, k.DelNeigh(h, n6))
	hasNot(t, ktest.IP(t, ns, "neigh", "show"), `10.8.0.5|2001:db8::5`)
	kernelErr(t, k.DelNeigh(h, n4), kernel.ErrNotFound, unix.ENOENT)
}

func TestErrorsToldApart(t *testing.T) {
	k, _ := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "e0", Kind: kernel.KindBridge}))
	err := k.AddLink(h, kernel.Link{Name: "e0", Kind: kernel.KindBridge})
	kernelErr(t, err, kernel.ErrExist, unix.EEXIST)
	if errors.Is(err, kernel.ErrNotFound) {
		t.Errorf("EEXIST is also ErrNotFound")
	}
	kernelErr(t, k.DelLink(h, "nope"), kernel.ErrNotFound, unix.ENODEV)
	kernelErr(t, k.SetLink(h, "nope", kernel.LinkChange{Up: ptr(true)}), kernel.ErrNotFound, unix.ENODEV)
	kernelErr(t, k.DelRoute(h, kernel.Route{Table: 100, Dst: pfx("10.0.0.0/8")}), kernel.ErrNotFound, unix.ESRCH)
	kernelErr(t, k.AddLink(h, kernel.Link{Name: "k0", Kind: "no-such-kind"}), kernel.ErrNotSupp, unix.EOPNOTSUPP)
	// A missing named namespace.
	_, err = k.Links("no-such-ns")
	kernelErr(t, err, kernel.ErrNoNetns, 0)
	kernelErr(t, k.DelNamespace("no-such-ns"), kernel.ErrNoNetns, 0)
	// Error text carries op and kernel message.
	err = k.AddLink(h, kernel.Link{Name: "e1", Kind: kernel.KindBridge, MTU: 10})
	ke := kernelErr(t, err, nil, unix.EINVAL)
	if ke.Message == "" {
		t.Errorf("no extended ack for mtu 10: %v", err)
	}
	t.Logf("mtu 10: %v", err)
}

func TestNamespacesVisibleToIP(t *testing.T) {
	k, _ := ktest.New(t)
	a, b := ktest.NewNS(t), ktest.NewNS(t)
	must(t, k.AddNamespace(a))
	kernelErr(t, k.AddNamespace(a), kernel.ErrExist, 0)
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	must(t, err)
	has(t, string(out), `(?m)^`+a+`\b`)
	// ip -n sees a fresh namespace with only lo.
	has(t, ktest.IP(t, a, "-o", "link"), `^1: lo:`)
	// And nets sees what ip made.
	if out, err := exec.Command("ip", "netns", "add", b).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	names, err := k.Namespaces()
	must(t, err)
	if !contains(names, a) || !contains(names, b) {
		t.Errorf("Namespaces() = %v, want %s and %s", names, a, b)
	}
	must(t, k.AddLink(b, kernel.Link{Name: "x0", Kind: kernel.KindBridge}))
	has(t, ktest.IP(t, b, "link"), `x0`)
	must(t, k.DelNamespace(a))
	must(t, k.DelNamespace(b))
	out, err = exec.Command("ip", "netns", "list").CombinedOutput()
	must(t, err)
	hasNot(t, string(out), a+`|`+b)
	// Re-created under the same name: a fresh namespace, not the old socket.
	must(t, k.AddNamespace(b))
	links, err := k.Links(b)
	must(t, err)
	if len(links) != 1 || links[0].Name != "lo" {
		t.Errorf("re-created namespace has %+v", links)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestDialAfterGCLandsInIntendedNamespace is the regression test for
// the fd-GC trap: with namespace files garbage-collected and their fd
// numbers reused between dials, every socket must still land in the
// namespace asked for.
func TestDialAfterGCLandsInIntendedNamespace(t *testing.T) {
	k, _ := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.AddLink(b, kernel.Link{Name: "gc0", Kind: kernel.KindBridge}))
	for i := range 15 {
		// Churn descriptors: open and drop files for the finalizers.
		for range 20 {
			f, err := os.Open("/proc/thread-self/ns/net")
			must(t, err)
			_ = f
		}
		runtime.GC()
		f, err := os.Open(filepath.Join("/run/netns", b))
		must(t, err)
		k2, err := kernel.NewNetlink(kernel.NetlinkOptions{Host: f})
		f = nil
		runtime.GC()
		must(t, err)
		runtime.GC()
		links, err := k2.Links(kernel.Host)
		must(t, err)
		var names []string
		for _, l := range links {
			names = append(names, l.Name)
		}
		if strings.Join(names, " ") != "lo gc0" {
			t.Fatalf("iteration %d: socket sees links %v, want lo gc0", i, names)
		}
		// And a named-namespace socket dialed after GC.
		links, err = k.Links(b)
		must(t, err)
		if len(links) != 2 {
			t.Fatalf("iteration %d: %s has %+v", i, b, links)
		}
		k2.Close()
	}
}

// TestRuleDumpWithAttributeRtnetlinkRejects adds a rule carrying FRA_DSCP
// (kernel ≥ 6.13), which rtnetlink's RuleService cannot decode, and
// checks Rules still reads the whole dump.
func TestRuleDumpWithAttributeRtnetlinkRejects(t *testing.T) {
	k, ns := ktest.New(t)
	f, err := os.Open(filepath.Join("/run/netns", ns))
	must(t, err)
	defer f.Close()
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: int(f.Fd()), Strict: true})
	must(t, err)
	defer c.Close()
	const fraDSCP = 25 // FRA_DSCP in linux/fib_rules.h
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.FRA_PRIORITY, 77)
	ae.Uint32(unix.FRA_TABLE, 100)
	ae.Uint8(fraDSCP, 10)
	attrs, err := ae.Encode()
	must(t, err)
	hdr := []byte{unix.AF_INET, 0, 0, 0, 100, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0}
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWRULE, Flags: netlink.Request | netlink.Acknowledge | netlink.Create},
		Data:   append(hdr, attrs...),
	})
	if err != nil {
		t.Skipf("kernel refuses FRA_DSCP: %v", err)
	}
	has(t, ktest.IP(t, ns, "rule"), `77:`)
	rc, err := rtnetlink.Dial(&netlink.Config{NetNS: int(f.Fd())})
	must(t, err)
	defer rc.Close()
	if _, err := rc.Rule.List(); err == nil {
		t.Log("rtnetlink now decodes FRA_DSCP; the test still checks Rules")
	}
	rules, err := k.Rules(kernel.Host)
	must(t, err)
	found := false
	for _, r := range rules {
		if r.Priority == 77 && r.Table == 100 && r.Action == kernel.ActionLookup {
			found = true
		}
	}
	if !found {
		t.Errorf("rule 77 missing from %+v", rules)
	}
}

// TestDumpUnderConcurrentChange lists addresses while another goroutine
// adds and deletes them: every list must succeed (interrupted dumps are
// retried) and hold each stable address exactly once.
func TestDumpUnderConcurrentChange(t *testing.T) {
	k, _ := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "c0", Kind: kernel.KindBridge, Up: true}))
	for i := range 50 {
		must(t, k.AddAddr(h, kernel.Addr{Link: "c0", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 50, 0, byte(i + 1)}), 32)}, false))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := kernel.Addr{Link: "c0", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 51, byte(i / 250), byte(i%250 + 1)}), 32)}
			_ = k.AddAddr(h, a, false)
			_ = k.DelAddr(h, a)
		}
	}()
	for range 200 {
		addrs, err := k.Addrs(h)
		if err != nil {
			close(stop)
			<-done
			t.Fatal(err)
		}
		seen := 0
		for _, a := range addrs {
			if a.Prefix.Addr().Is4() && a.Prefix.Addr().As4()[1] == 50 {
				seen++
			}
		}
		if seen != 50 {
			close(stop)
			<-done
			t.Fatalf("saw %d of the 50 stable addresses", seen)
		}
	}
	close(stop)
	<-done
}

func uidS(u kernel.UIDRange) string { return fmt.Sprintf("%d-%d", u.Start, u.End) }

// TestNoCapabilityIsErrPerm runs a probe without any capability (setpriv
// drops them all) inside the sandbox: changes fail with ErrPerm, reading
// the namespace it runs in still works.
func TestNoCapabilityIsErrPerm(t *testing.T) {
	if ns := os.Getenv("NETS_KTEST_NOCAP_PROBE"); ns != "" {
		noCapProbe(t, ns)
		return
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("no setpriv")
	}
	_, ns := ktest.New(t)
	exe, err := os.Executable()
	must(t, err)
	cmd := exec.Command("setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--",
		exe, "-test.run=^TestNoCapabilityIsErrPerm$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "NETS_KTEST_NOCAP_PROBE="+ns)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "probe ok") {
		t.Fatalf("probe without capabilities: %v\n%s", err, out)
	}
}

func noCapProbe(t *testing.T, ns string) {
	f, err := os.Open(filepath.Join("/run/netns", ns))
	must(t, err)
	defer f.Close()
	// Another namespace: entering it needs CAP_SYS_ADMIN.
	_, err = kernel.NewNetlink(kernel.NetlinkOptions{Host: f})
	kernelErr(t, err, kernel.ErrPerm, unix.EPERM)
	// Its own namespace: reading works, changing is ErrPerm.
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{})
	must(t, err)
	defer k.Close()
	links, err := k.Links(kernel.Host)
	must(t, err)
	if len(links) == 0 {
		t.Fatal("no links read")
	}
	err = k.AddLink(kernel.Host, kernel.Link{Name: "nocap0", Kind: kernel.KindBridge})
	kernelErr(t, err, kernel.ErrPerm, unix.EPERM)
	if !t.Failed() {
		t.Logf("probe ok: %v", err)
	}
}

// TestV6MetricZeroIs1024 checks that an IPv6 route ensured with metric 0
// is the kernel's metric-1024 route, for add and delete alike, and that
// deleting it leaves the kernel's metric-256 prefix route alone.
func TestV6MetricZeroIs1024(t *testing.T) {
	k, ns := ktest.New(t)
	h := kernel.Host
	must(t, k.AddLink(h, kernel.Link{Name: "m0", Kind: kernel.KindBridge, Up: true}))
	must(t, k.AddAddr(h, kernel.Addr{Link: "m0", Prefix: pfx("2001:db8:9::1/64")}, false))
	r := kernel.Route{Dst: pfx("2001:db8:9::/64"), Dev: "m0"}
	must(t, k.AddRoute(h, r, false))
	out := ktest.IP(t, ns, "-6", "route", "show", "2001:db8:9::/64")
	has(t, out, `proto kernel metric 256`)
	has(t, out, `metric 1024`)
	must(t, k.DelRoute(h, r))
	out = ktest.IP(t, ns, "-6", "route", "show", "2001:db8:9::/64")
	has(t, out, `proto kernel metric 256`)
	hasNot(t, out, `metric 1024`)
}

// TestVethPeerInUnnamedNamespace reads a veth whose peer lives in a
// namespace that has no name (any more): its PeerNetns is "?".
func TestVethPeerInUnnamedNamespace(t *testing.T) {
	k, _ := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	f, err := os.Open(filepath.Join("/run/netns", b))
	must(t, err)
	defer f.Close() // keeps the namespace alive after its name is gone
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "u0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "u1", PeerNetns: b}}))
	if out, err := exec.Command("ip", "netns", "del", b).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del: %v %s", err, out)
	}
	l := findLink(t, k, kernel.Host, "u0")
	if l.Veth == nil || l.Veth.PeerNetns != "?" {
		t.Errorf("u0 veth %+v, want PeerNetns ?", l.Veth)
	}
}

// TestNamespaceDeletedByIPIsReleased deletes a namespace with `ip netns
// del` while Netlink has a socket in it: the next use reports
// ErrNoNetns and drops the socket, so the namespace really goes away
// (its veth peer in Host disappears).
func TestNamespaceDeletedByIPIsReleased(t *testing.T) {
	k, ns := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.AddLink(b, kernel.Link{Name: "r0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "r1", PeerNetns: kernel.HostName}}))
	if _, err := k.Links(b); err != nil { // a socket in b now exists
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "del", b).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del: %v %s", err, out)
	}
	_, err := k.Links(b)
	kernelErr(t, err, kernel.ErrNoNetns, 0)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(ktest.IP(t, ns, "link"), "r1@") {
		if time.Now().After(deadline) {
			t.Fatal("the namespace outlived its name: r1 still in host")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
