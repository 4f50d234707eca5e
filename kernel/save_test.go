package kernel_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of kernel/testdata/save")

func svMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func svP(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func svA(s string) netip.Addr   { return netip.MustParseAddr(s) }

// svGolden compares got with testdata/save/name, rewriting it with -update.
func svGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "save", name)
	if *updateGolden {
		svMust(t, os.MkdirAll(filepath.Dir(path), 0o755))
		svMust(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kernel -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s (-update rewrites it)\n--- got:\n%s\n--- want:\n%s", name, path, got, want)
	}
}

// svFixedPoint checks that text is lang.Format's canonical form.
func svFixedPoint(t *testing.T, text string) {
	t.Helper()
	f, err := lang.Parse("saved.nets", []byte(text))
	if err != nil {
		t.Fatalf("saved recipe does not parse: %v\n%s", err, text)
	}
	if again := string(lang.Format(f)); again != text {
		t.Errorf("saved recipe is not canonical:\n--- saved:\n%s\n--- formatted:\n%s", text, again)
	}
}

// svCheck runs lang.Check on text and returns the diagnostics as text.
func svCheck(t *testing.T, text string, tables *kernel.TableNames) string {
	t.Helper()
	f, err := lang.Parse("saved.nets", []byte(text))
	if err != nil {
		t.Fatalf("saved recipe does not parse: %v\n%s", err, text)
	}
	var b strings.Builder
	for _, d := range lang.Check(f, lang.CheckOptions{}) {
		b.WriteString(d.Error() + "\n")
	}
	return b.String()
}

var (
	svPriv = kernel.Key{1, 2, 3}
	svPeer = kernel.Key{9, 9, 9}
	svPSK  = kernel.Key{7, 7, 7}
)

// svModel builds a rich fixed state on a Model: every link kind,
// addresses v4/v6 with a peer and a secondary, routes in main and named
// and big tables, rules with every selector, neighbours, WireGuard.
func svModel(t *testing.T) (*kernel.Model, *kernel.TableNames) {
	t.Helper()
	m := kernel.NewModel()
	up := true
	svMust(t, m.AddNamespace("other"))
	svMust(t, m.SetLink("", "lo", kernel.LinkChange{Up: &up}))
	add := func(l kernel.Link) {
		t.Helper()
		svMust(t, m.AddLink("", l))
	}
	// Created in an order Save must not keep: ports before the bridge is
	// impossible, so the bridge comes late in index order but its name
	// sorts after its port.
	add(kernel.Link{Name: "v1", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "v0"}})
	add(kernel.Link{Name: "zbr", Kind: kernel.KindBridge, MTU: 1500})
	add(kernel.Link{Name: "a0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "b0", PeerNetns: "other"}})
	add(kernel.Link{Name: "mv0", Kind: kernel.KindMacvlan, Macvlan: &kernel.Macvlan{Dev: "v0", Mode: "bridge"}})
	add(kernel.Link{Name: "vx0", Kind: kernel.KindVXLAN, VXLAN: &kernel.VXLAN{ID: 42, Remote: svA("192.0.2.2"), Dev: "v0", DstPort: 4789}})
	add(kernel.Link{Name: "tap0", Kind: kernel.KindTap, Tun: &kernel.Tun{User: 0, Group: 0}})
	add(kernel.Link{Name: "tun0", Kind: kernel.KindTun, Tun: &kernel.Tun{User: -1, Group: -1}})
	add(kernel.Link{Name: "wg0", Kind: kernel.KindWireGuard})
	mtu, alias, master := uint32(9000), "uplink \"A\"", "zbr"
	svMust(t, m.SetLink("", "v0", kernel.LinkChange{Up: &up, MTU: &mtu, Alias: &alias}))
	svMust(t, m.SetLink("", "v1", kernel.LinkChange{Up: &up, Master: &master}))
	for _, n := range []string{"zbr", "a0", "mv0", "wg0"} {
		svMust(t, m.SetLink("", n, kernel.LinkChange{Up: &up}))
	}
	for _, a := range []kernel.Addr{
		{Link: "v0", Prefix: svP("10.0.0.1/24")},
		{Link: "v0", Prefix: svP("10.0.0.2/24")},
		{Link: "v0", Prefix: svP("2001:db8::1/64")},
		{Link: "v0", Prefix: svP("fe80::1/64")},
		{Link: "a0", Prefix: svP("10.200.0.1/32"), Peer: svP("10.200.0.2/32")},
		{Link: "zbr", Prefix: svP("192.168.1.1/24"), Label: "zbr:lan"},
		{Link: "lo", Prefix: svP("10.255.0.1/32")},
	} {
		svMust(t, m.AddAddr("", a, false))
	}
	names := kernel.NewTableNames()
	svMust(t, names.Add(100, "vpn"))
	for _, r := range []kernel.Route{
		{Table: kernel.TableMain, Dst: svP("10.1.0.0/16"), Type: kernel.RouteUnicast, Gateway: svA("10.0.0.254"), Dev: "v0", Protocol: 3},
		{Table: kernel.TableMain, Dst: svP("0.0.0.0/0"), Type: kernel.RouteUnicast, Gateway: svA("10.0.0.254"), Protocol: 4, Priority: 100},
		{Table: kernel.TableMain, Dst: svP("10.3.0.0/16"), Type: kernel.RouteUnicast, Dev: "zbr", Protocol: 3, Scope: kernel.ScopeLink},
		{Table: 100, Dst: svP("10.9.0.0/16"), Type: kernel.RouteBlackhole, Protocol: 3},
		{Table: 1000000, Dst: svP("10.8.0.0/16"), Type: kernel.RouteUnreachable, Protocol: 3},
		{Table: 100, Dst: svP("2001:db8:dead::/48"), Type: kernel.RouteProhibit, Protocol: 3, Priority: 1024},
		{Table: kernel.TableMain, Dst: svP("2001:db8:1::/48"), Type: kernel.RouteUnicast, Gateway: svA("2001:db8::ff"), Dev: "v0", Protocol: 3, Priority: 5},
	} {
		svMust(t, m.AddRoute("", r, false))
	}
	suppress := uint8(0)
	for _, r := range []kernel.Rule{
		{Family: 4, Priority: 100, Invert: true, Src: svP("10.0.0.0/8"), Dst: svP("192.0.2.0/24"), IIF: "v0", OIF: "a0",
			Mark: 1, Mask: 0xff, IPProto: 6, SPort: kernel.PortRange{Start: 1000, End: 2000}, DPort: kernel.PortRange{Start: 443, End: 443},
			UID: &kernel.UIDRange{Start: 0, End: 0}, Action: kernel.ActionLookup, Table: 100},
		{Family: 4, Priority: 200, Action: kernel.ActionLookup, Table: kernel.TableMain, SuppressPrefixLen: &suppress},
		{Family: 4, Priority: 300, Src: svP("10.5.0.0/16"), Action: kernel.ActionGoto, Goto: 400},
		{Family: 4, Priority: 400, Action: kernel.ActionNop},
		{Family: 4, Priority: 500, Dst: svP("10.6.0.0/16"), Action: kernel.ActionBlackhole},
		{Family: 6, Priority: 100, Src: svP("2001:db8::/32"), Action: kernel.ActionLookup, Table: 1000000},
		{Family: 6, Priority: 150, Action: kernel.ActionUnreachable},
		{Family: 6, Priority: 160, Dst: svP("2001:db8:bad::/48"), Action: kernel.ActionProhibit},
	} {
		svMust(t, m.AddRule("", r))
	}
	svMust(t, m.SetNeigh("", kernel.Neigh{Link: "v0", IP: svA("10.0.0.9"), LLAddr: net.HardwareAddr{2, 0, 0, 0, 0, 9}, State: kernel.NeighPermanent}))
	svMust(t, m.SetNeigh("", kernel.Neigh{Link: "v0", IP: svA("10.0.0.10"), LLAddr: net.HardwareAddr{2, 0, 0, 0, 0, 10}, State: kernel.NeighReachable}))
	port, ka, ep := 51820, 25*time.Second, netip.MustParseAddrPort("[2001:db8::2]:51820")
	svMust(t, m.ConfigureWireGuard("", "wg0", kernel.WGConfig{PrivateKey: &svPriv, ListenPort: &port,
		Peers: []kernel.WGPeerConfig{{PublicKey: svPeer, PresharedKey: &svPSK, Endpoint: &ep, PersistentKeepalive: &ka,
			AllowedIPs: []netip.Prefix{svP("10.10.0.0/24"), svP("fd00::/64")}}}}))
	return m, names
}

func TestSaveGolden(t *testing.T) {
	m, names := svModel(t)
	for _, tc := range []struct {
		file string
		ns   string
		opts kernel.SaveOptions
	}{
		{"model.nets", "", kernel.SaveOptions{Names: names}},
		{"model_secrets.nets", "", kernel.SaveOptions{Names: names, Secrets: true}},
		{"model_unnamed_tables.nets", "", kernel.SaveOptions{}},
		{"model_other.nets", "other", kernel.SaveOptions{}},
		{"fresh.nets", "fresh", kernel.SaveOptions{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if tc.ns == "fresh" {
				mm := kernel.NewModel()
				svMust(t, mm.AddNamespace("fresh"))
				got, err := kernel.Save(mm, "fresh", tc.opts)
				svMust(t, err)
				svGolden(t, tc.file, got)
				return
			}
			got, err := kernel.Save(m, tc.ns, tc.opts)
			svMust(t, err)
			svGolden(t, tc.file, got)
			svFixedPoint(t, got)
			again, err := kernel.Save(m, tc.ns, tc.opts)
			svMust(t, err)
			if again != got {
				t.Errorf("Save is not deterministic:\n%s\n---\n%s", got, again)
			}
		})
	}
}

func TestSaveSecrets(t *testing.T) {
	m, names := svModel(t)
	redacted, err := kernel.Save(m, "", kernel.SaveOptions{Names: names})
	svMust(t, err)
	for _, k := range []kernel.Key{svPriv, svPSK} {
		if strings.Contains(redacted, k.Base64()) {
			t.Errorf("secret key %s printed without Secrets:\n%s", k.Base64(), redacted)
		}
	}
	if !strings.Contains(redacted, svPeer.Base64()) {
		t.Errorf("public key of the peer missing:\n%s", redacted)
	}
	// Without secrets the recipe fails the static check, naming what is missing.
	diags := svCheck(t, redacted, names)
	for _, v := range []string{"$wg0_private_key", "$wg0_peer1_psk"} {
		if !strings.Contains(diags, v) {
			t.Errorf("check of the redacted recipe does not name %s:\n%s", v, diags)
		}
	}
	revealed, err := kernel.Save(m, "", kernel.SaveOptions{Names: names, Secrets: true})
	svMust(t, err)
	for _, k := range []kernel.Key{svPriv, svPSK} {
		if !strings.Contains(revealed, k.Base64()) {
			t.Errorf("secret key missing with Secrets:\n%s", revealed)
		}
	}
	if d := svCheck(t, revealed, names); d != "" {
		t.Errorf("saved recipe with secrets does not check:\n%s\n%s", d, revealed)
	}

	// JSON: keys as (key) unless revealed.
	j, err := kernel.SaveJSON(m, "", kernel.SaveOptions{Names: names})
	svMust(t, err)
	if bytes.Contains(j, []byte(svPriv.Base64())) || bytes.Contains(j, []byte(svPSK.Base64())) {
		t.Errorf("secret in JSON without Secrets:\n%s", j)
	}
	j, err = kernel.SaveJSON(m, "", kernel.SaveOptions{Names: names, Secrets: true})
	svMust(t, err)
	if !bytes.Contains(j, []byte(svPriv.Base64())) || !bytes.Contains(j, []byte(svPSK.Base64())) {
		t.Errorf("secret missing from JSON with Secrets:\n%s", j)
	}
}

func TestSaveJSONGolden(t *testing.T) {
	m, names := svModel(t)
	j, err := kernel.SaveJSON(m, "", kernel.SaveOptions{Names: names})
	svMust(t, err)
	var v map[string]any
	svMust(t, json.Unmarshal(j, &v))
	svGolden(t, "model.json", string(j)+"\n")
}

func TestShowModel(t *testing.T) {
	m, names := svModel(t)
	var all strings.Builder
	for _, c := range []struct{ what, arg string }{
		{"links", ""}, {"links", "v0"}, {"addrs", ""}, {"addrs", "v0"}, {"routes", ""}, {"routes", "table vpn"},
		{"routes", "all"}, {"rules", ""}, {"neigh", ""}, {"netns", ""}, {"wireguard", ""}, {"wireguard", "wg0"},
	} {
		got, err := kernel.Show(m, "", c.what, c.arg, names)
		svMust(t, err)
		svFixedPoint(t, got)
		all.WriteString("## show " + strings.TrimSpace(c.what+" "+c.arg) + "\n" + got)
		j, err := kernel.ShowJSON(m, "", c.what, c.arg, names)
		svMust(t, err)
		var v []any
		if err := json.Unmarshal(j, &v); err != nil || len(v) == 0 {
			t.Errorf("show %s %s --json: %v %s", c.what, c.arg, err, j)
		}
	}
	svGolden(t, "show.txt", all.String())
	for _, c := range []struct{ what, arg string }{
		{"links", "nope"}, {"routes", "table nope"}, {"bogus", ""}, {"wireguard", "v0"}, {"rules", "x"},
	} {
		if _, err := kernel.Show(m, "", c.what, c.arg, names); err == nil {
			t.Errorf("show %s %s: no error", c.what, c.arg)
		}
	}
}

// TestDiffConfig: the differences between two states of a Model, as
// monitor prints them: removals (dependents first), then additions and
// in-place link changes.
func TestDiffConfig(t *testing.T) {
	m, names := svModel(t)
	before, err := kernel.ReadConfig(m, "", names)
	svMust(t, err)
	down, mtu, alias := false, uint32(1400), ""
	svMust(t, m.SetLink("", "v0", kernel.LinkChange{Up: &down, MTU: &mtu, Alias: &alias}))
	svMust(t, m.DelLink("", "zbr"))
	svMust(t, m.AddRoute("", kernel.Route{Table: 100, Dst: svP("10.12.0.0/16"), Type: kernel.RouteBlackhole, Protocol: 3}, false))
	svMust(t, m.AddLink("", kernel.Link{Name: "br1", Kind: kernel.KindBridge}))
	after, err := kernel.ReadConfigParts(m, "", names, before, kernel.PartAll)
	svMust(t, err)
	var got strings.Builder
	for _, c := range kernel.DiffConfig(before, after) {
		got.WriteString(c.String() + "\n")
	}
	svGolden(t, "diff.txt", got.String())
	if kernel.DiffConfig(after, after) != nil {
		t.Error("a state differs from itself")
	}
	// Re-reading only the routes keeps the rest.
	svMust(t, m.DelRoute("", kernel.Route{Table: 100, Dst: svP("10.12.0.0/16")}))
	svMust(t, m.DelLink("", "br1"))
	routesOnly, err := kernel.ReadConfigParts(m, "", names, after, kernel.PartRoutes)
	svMust(t, err)
	d := kernel.DiffConfig(after, routesOnly)
	if len(d) != 1 || d[0].String() != "- route blackhole 10.12.0.0/16 table vpn" {
		t.Errorf("routes-only diff: %v", d)
	}
	b, err := json.Marshal(d[0])
	svMust(t, err)
	if want := `{"mark":"-","ns":"","kind":"route","text":"route blackhole 10.12.0.0/16 table vpn","object":{"dst":"10.12.0.0/16","protocol":"boot","scope":"global","table":"vpn","type":"blackhole"}}`; string(b) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", b, want)
	}
}

// svUnnamedPeer is a Model whose veth a0 reads back with its peer in a
// namespace without a name (as a container's veth does on the host).
type svUnnamedPeer struct{ *kernel.Model }

func (k svUnnamedPeer) Links(ns string) ([]kernel.Link, error) {
	ls, err := k.Model.Links(ns)
	for i := range ls {
		if ls[i].Name == "a0" {
			ls[i].Veth = &kernel.Veth{Peer: "?", PeerNetns: "?"}
		}
	}
	return ls, err
}

func TestSaveSkipsUnrecreatableLinks(t *testing.T) {
	m, names := svModel(t)
	svMust(t, m.AddLink("", kernel.Link{Name: "mva", Kind: kernel.KindMacvlan, Macvlan: &kernel.Macvlan{Dev: "a0"}}))
	svMust(t, m.AddAddr("", kernel.Addr{Link: "mva", Prefix: svP("10.77.0.1/24")}, false))
	k := svUnnamedPeer{m}
	got, err := kernel.Save(k, "", kernel.SaveOptions{Names: names})
	svMust(t, err)
	svFixedPoint(t, got)
	for _, want := range []string{
		"# not saved: link a0 (a veth whose peer is in a namespace without a name), nor its addresses, routes and neighbours\n",
		"# not saved: link mva (a macvlan on a0, which is not saved), nor its addresses, routes and neighbours\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("save lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"\nlink a0 ", "dev a0", "10.77.0.1", "netns other"} {
		if strings.Contains(got, not) {
			t.Errorf("save has %q of a link it cannot recreate:\n%s", not, got)
		}
	}
	if d := svCheck(t, strings.ReplaceAll(got, "$wg0", "$x"), names); strings.Contains(d, "a0") {
		t.Errorf("check: %s", d)
	}
	j, err := kernel.SaveJSON(k, "", kernel.SaveOptions{Names: names})
	svMust(t, err)
	if !strings.Contains(string(j), `"skipped": [`) {
		t.Errorf("JSON lacks skipped:\n%s", j)
	}
}

// svChanging is a Model that gains an address every time its addresses
// are read, as a namespace under constant change.
type svChanging struct {
	*kernel.Model
	n int
}

func (k *svChanging) Addrs(ns string) ([]kernel.Addr, error) {
	k.n++
	if err := k.Model.AddAddr(ns, kernel.Addr{Link: "lo", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, 0, byte(k.n)}), 32)}, false); err != nil {
		return nil, err
	}
	return k.Model.Addrs(ns)
}

func TestSaveStable(t *testing.T) {
	m := kernel.NewModel()
	k := &svChanging{Model: m}
	_, err := kernel.Save(k, "", kernel.SaveOptions{})
	if err == nil || !strings.Contains(err.Error(), "changed during each of") {
		t.Fatalf("Save of a state that keeps changing: %v", err)
	}
	// Once it stops changing, the save is of the settled state.
	got, err := kernel.Save(m, "", kernel.SaveOptions{})
	svMust(t, err)
	if !strings.Contains(got, "addr 10.99.0.1 dev lo\n") {
		t.Errorf("save:\n%s", got)
	}
}
