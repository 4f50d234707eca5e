package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/wgdev"
)

func newKey(t *testing.T) kernel.Key {
	t.Helper()
	k, err := wgtypes.GeneratePrivateKey()
	must(t, err)
	return kernel.Key(k)
}

func pubKey(k kernel.Key) kernel.Key { return kernel.Key(wgtypes.Key(k).PublicKey()) }

// run executes a program in ns through Netlink.Exec and returns its
// output.
func run(t *testing.T, k *kernel.Netlink, ns string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := k.Exec(ctx, ns, kernel.Cmd{Args: args, Stdout: &out, Stderr: &out})
	return out.String(), err
}

// noHelpers fails if any userspace WireGuard helper process still runs
// in the sandbox.
func noHelpers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(wgdev.HelperPIDs()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("helper processes left: %v", wgdev.HelperPIDs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWireGuardUserspaceLink drives a userspace WireGuard device through
// the Kernel interface alone: AddLink falls back to userspace on this
// kernel, WireGuard/ConfigureWireGuard go through wgctrl, a device of the
// same name in another namespace is not mistaken for it, and DelLink and
// DelNamespace stop the helper.
func TestWireGuardUserspaceLink(t *testing.T) {
	k, ns := ktest.New(t)
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgu0", Kind: kernel.KindWireGuard, Userspace: true}))
	l := findLink(t, k, kernel.Host, "wgu0")
	if l.Kind != kernel.KindWireGuard || !l.Userspace || l.Tun != nil {
		t.Errorf("wgu0 reads back as kind %q userspace %v tun %+v", l.Kind, l.Userspace, l.Tun)
	}
	h, err := wgdev.Lookup("wgu0", wgdev.Options{})
	must(t, err)

	d, err := k.WireGuard(kernel.Host, "wgu0")
	must(t, err)
	if d.Name != "wgu0" || !d.Userspace || !d.PrivateKey.IsZero() || len(d.Peers) != 0 {
		t.Errorf("fresh device: %+v", d)
	}

	priv, psk := newKey(t), newKey(t)
	peer := pubKey(newKey(t))
	port, mark, ka := 51820, uint32(0xca6c), 25*time.Second
	ep := netip.MustParseAddrPort("[2001:db8::2]:51821")
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{
		PrivateKey: &priv, ListenPort: &port, FirewallMark: &mark, ReplacePeers: true,
		Peers: []kernel.WGPeerConfig{{PublicKey: peer, PresharedKey: &psk, Endpoint: &ep,
			PersistentKeepalive: &ka, ReplaceAllowedIPs: true,
			AllowedIPs: []netip.Prefix{pfx("10.0.0.1/24"), pfx("fd00::/64")}}},
	}))
	d, err = k.WireGuard(kernel.Host, "wgu0")
	must(t, err)
	if d.PrivateKey != priv || d.PublicKey != pubKey(priv) || d.ListenPort != port || d.FirewallMark != mark || len(d.Peers) != 1 {
		t.Fatalf("configured device reads back: port %d mark %#x peers %d, key equal %v",
			d.ListenPort, d.FirewallMark, len(d.Peers), d.PrivateKey == priv)
	}
	p := d.Peers[0]
	if p.PublicKey != peer || p.PresharedKey != psk || p.Endpoint != ep || p.PersistentKeepalive != ka ||
		len(p.AllowedIPs) != 2 || p.AllowedIPs[0] != pfx("10.0.0.0/24") || p.AllowedIPs[1] != pfx("fd00::/64") {
		t.Errorf("peer reads back: endpoint %v keepalive %v allowed %v", p.Endpoint, p.PersistentKeepalive, p.AllowedIPs)
	}

	// wg(8) sees the device and its peer.
	out, err := run(t, k, kernel.Host, "wg", "show", "wgu0")
	must(t, err)
	has(t, out, `interface: wgu0`)
	has(t, out, `peer: `+regexpQuote(peer.Base64()))
	has(t, out, `fwmark: 0xca6c`)
	hasNot(t, out, regexpQuote(priv.Base64()))

	// UpdateOnly does not create a peer; Remove removes one.
	other := pubKey(newKey(t))
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{
		Peers: []kernel.WGPeerConfig{{PublicKey: other, UpdateOnly: true, Endpoint: &ep}}}))
	d, _ = k.WireGuard(kernel.Host, "wgu0")
	if len(d.Peers) != 1 {
		t.Errorf("UpdateOnly created a peer: %d peers", len(d.Peers))
	}
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{
		Peers: []kernel.WGPeerConfig{{PublicKey: peer, Remove: true}}}))
	d, _ = k.WireGuard(kernel.Host, "wgu0")
	if len(d.Peers) != 0 || d.PrivateKey != priv {
		t.Errorf("after removing the peer: %d peers, key kept %v", len(d.Peers), d.PrivateKey == priv)
	}

	// Zero keys clear: undo can restore "no private key" and "no
	// preshared key" exactly.
	var zero kernel.Key
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{PrivateKey: &zero,
		Peers: []kernel.WGPeerConfig{{PublicKey: other, PresharedKey: &psk}}}))
	d, _ = k.WireGuard(kernel.Host, "wgu0")
	if !d.PrivateKey.IsZero() || !d.PublicKey.IsZero() || len(d.Peers) != 1 || d.Peers[0].PresharedKey != psk {
		t.Errorf("after clearing the private key: key zero %v, %d peers", d.PrivateKey.IsZero(), len(d.Peers))
	}
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{
		Peers: []kernel.WGPeerConfig{{PublicKey: other, UpdateOnly: true, PresharedKey: &zero}}}))
	d, _ = k.WireGuard(kernel.Host, "wgu0")
	if len(d.Peers) != 1 || !d.Peers[0].PresharedKey.IsZero() {
		t.Errorf("preshared key not cleared")
	}
	must(t, k.ConfigureWireGuard(kernel.Host, "wgu0", kernel.WGConfig{PrivateKey: &priv, ReplacePeers: true}))
	d, _ = k.WireGuard(kernel.Host, "wgu0")
	if d.PrivateKey != priv || len(d.Peers) != 0 {
		t.Errorf("ReplacePeers with no peers left %d peers", len(d.Peers))
	}

	// Another namespace has no wgu0: the namespace-blind UAPI socket
	// must not make it look as if it had.
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	_, err = k.WireGuard(b, "wgu0")
	kernelErr(t, err, kernel.ErrNotFound, 0)
	kernelErr(t, k.ConfigureWireGuard(b, "wgu0", kernel.WGConfig{ListenPort: &port}), kernel.ErrNotFound, 0)
	// ... and cannot have one: names are unique host-wide.
	err = k.AddLink(b, kernel.Link{Name: "wgu0", Kind: kernel.KindWireGuard, Userspace: true})
	kernelErr(t, err, kernel.ErrExist, 0)
	if !strings.Contains(err.Error(), "unique host-wide") || !strings.Contains(err.Error(), "namespace "+ns) {
		t.Errorf("clash error does not explain itself: %v", err)
	}
	if links, _ := k.Links(b); len(links) != 1 { // lo only
		t.Errorf("refused AddLink left links in %s: %+v", b, links)
	}

	// A device that does not exist at all.
	_, err = k.WireGuard(kernel.Host, "wgnone")
	kernelErr(t, err, kernel.ErrNotFound, 0)

	// DelLink stops the helper: link, socket and process go.
	must(t, k.DelLink(kernel.Host, "wgu0"))
	if _, err := k.WireGuard(kernel.Host, "wgu0"); !errors.Is(err, kernel.ErrNotFound) {
		t.Errorf("WireGuard after DelLink: %v", err)
	}
	for _, l := range mustLinks(t, k, kernel.Host) {
		if l.Name == "wgu0" {
			t.Error("link wgu0 survives DelLink")
		}
	}
	if _, err := os.Lstat(h.Socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket survives DelLink: %v", err)
	}

	// DelNamespace stops the helpers inside it.
	must(t, k.AddLink(b, kernel.Link{Name: "wgu1", Kind: kernel.KindWireGuard, Userspace: true}))
	if l := findLink(t, k, b, "wgu1"); !l.Userspace {
		t.Errorf("wgu1 in %s not userspace: %+v", b, l)
	}
	must(t, k.DelNamespace(b))
	if _, err := wgdev.Lookup("wgu1", wgdev.Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("helper of wgu1 survives DelNamespace: %v", err)
	}
	noHelpers(t)
}

func mustLinks(t *testing.T, k *kernel.Netlink, ns string) []kernel.Link {
	t.Helper()
	links, err := k.Links(ns)
	must(t, err)
	return links
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestWireGuardTunnel is issue 5's tunnel through the Kernel interface:
// two namespaces joined by a veth "internet", a userspace WireGuard
// device in each, configured with keys, endpoints and allowed IPs; ping
// crosses the tunnel, wg(8) shows the peer with a handshake, the device
// holds the configured private key, and deleting everything leaves no
// helper running.
func TestWireGuardTunnel(t *testing.T) {
	k, _ := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.SetLink(b, "lo", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "inet0", Kind: kernel.KindVeth, Up: true,
		Veth: &kernel.Veth{Peer: "inet1", PeerNetns: b}}))
	must(t, k.SetLink(b, "inet1", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.AddAddr(kernel.Host, kernel.Addr{Link: "inet0", Prefix: pfx("192.0.2.1/24")}, false))
	must(t, k.AddAddr(b, kernel.Addr{Link: "inet1", Prefix: pfx("192.0.2.2/24")}, false))

	privA, privB, psk := newKey(t), newKey(t), newKey(t)
	type end struct {
		ns, dev  string
		priv     kernel.Key
		port     int
		peer     kernel.Key
		endpoint string
		local    string
		remote   string
	}
	ends := []end{
		{kernel.Host, "wgta", privA, 51820, pubKey(privB), "192.0.2.2:51821", "10.200.0.1/32", "10.200.0.2/32"},
		{b, "wgtb", privB, 51821, pubKey(privA), "192.0.2.1:51820", "10.200.0.2/32", "10.200.0.1/32"},
	}
	// Both ends are configured before either link goes up, so the first
	// handshake is not lost.
	for _, e := range ends {
		must(t, k.AddLink(e.ns, kernel.Link{Name: e.dev, Kind: kernel.KindWireGuard, Userspace: true}))
		ep := netip.MustParseAddrPort(e.endpoint)
		must(t, k.ConfigureWireGuard(e.ns, e.dev, kernel.WGConfig{
			PrivateKey: &e.priv, ListenPort: &e.port, ReplacePeers: true,
			Peers: []kernel.WGPeerConfig{{PublicKey: e.peer, PresharedKey: &psk, Endpoint: &ep,
				ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{pfx(e.remote)}}},
		}))
		must(t, k.AddAddr(e.ns, kernel.Addr{Link: e.dev, Prefix: pfx(e.local), Peer: pfx(e.remote)}, false))
	}
	for _, e := range ends {
		must(t, k.SetLink(e.ns, e.dev, kernel.LinkChange{Up: ptr(true)}))
	}

	var out string
	var err error
	for range 5 {
		if out, err = run(t, k, kernel.Host, "ping", "-c", "1", "-W", "2", "10.200.0.2"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("ping across the tunnel: %v\n%s", err, out)
	}
	has(t, out, `1 packets transmitted, 1 received`)

	for _, e := range ends {
		show, err := run(t, k, e.ns, "wg", "show", e.dev)
		must(t, err)
		has(t, show, `peer: `+regexpQuote(e.peer.Base64()))
		has(t, show, `latest handshake: `)
		has(t, show, `endpoint: `+regexpQuote(e.endpoint))
		key, err := run(t, k, e.ns, "wg", "show", e.dev, "private-key")
		must(t, err)
		if strings.TrimSpace(key) != e.priv.Base64() {
			t.Errorf("%s does not hold the configured private key", e.dev)
		}
		d, err := k.WireGuard(e.ns, e.dev)
		must(t, err)
		if d.PrivateKey != e.priv || len(d.Peers) != 1 || d.Peers[0].LastHandshake.IsZero() || d.Peers[0].RxBytes == 0 {
			t.Errorf("%s reads back: key equal %v, peers %d", e.dev, d.PrivateKey == e.priv, len(d.Peers))
		}
	}

	// Applying the same configuration again (what a second run's
	// ensure may send; no ReplacePeers) keeps the session: same
	// handshake, counters not reset, traffic flows without a new
	// handshake.
	before, err := k.WireGuard(kernel.Host, "wgta")
	must(t, err)
	e := ends[0]
	ep := netip.MustParseAddrPort(e.endpoint)
	must(t, k.ConfigureWireGuard(e.ns, e.dev, kernel.WGConfig{
		PrivateKey: &e.priv, ListenPort: &e.port,
		Peers: []kernel.WGPeerConfig{{PublicKey: e.peer, PresharedKey: &psk, Endpoint: &ep,
			ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{pfx(e.remote)}}},
	}))
	out, err = run(t, k, kernel.Host, "ping", "-c", "1", "-W", "1", "10.200.0.2")
	if err != nil {
		t.Errorf("ping right after re-applying the configuration: %v\n%s", err, out)
	}
	after, err := k.WireGuard(kernel.Host, "wgta")
	must(t, err)
	if !after.Peers[0].LastHandshake.Equal(before.Peers[0].LastHandshake) || after.Peers[0].RxBytes <= before.Peers[0].RxBytes {
		t.Errorf("re-applying the same configuration reset the session: handshake %v → %v, rx %d → %d",
			before.Peers[0].LastHandshake, after.Peers[0].LastHandshake, before.Peers[0].RxBytes, after.Peers[0].RxBytes)
	}

	must(t, k.DelLink(kernel.Host, "wgta"))
	must(t, k.DelNamespace(b)) // stops wgtb's helper
	noHelpers(t)
}

// TestWireGuardKilledHelper: a helper killed with SIGKILL leaves a dead
// socket (which makes wgctrl's Devices fail for every device); reading
// the device says not found and removes the socket, and the name can be
// used anew.
func TestWireGuardKilledHelper(t *testing.T) {
	k, _ := ktest.New(t)
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgk0", Kind: kernel.KindWireGuard, Userspace: true}))
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgk1", Kind: kernel.KindWireGuard, Userspace: true}))
	h, err := wgdev.Lookup("wgk0", wgdev.Options{})
	must(t, err)
	if h.PID <= 0 {
		t.Fatalf("bad helper pid %d", h.PID)
	}
	must(t, unix.Kill(h.PID, unix.SIGKILL))
	// Lookup finds a helper only while its process runs.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := wgdev.Lookup("wgk0", wgdev.Options{}); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("helper survives SIGKILL")
		}
	}
	if _, err := os.Lstat(h.Socket); err != nil {
		t.Fatalf("SIGKILL left no socket, the stale case is not tested: %v", err)
	}
	_, err = k.WireGuard(kernel.Host, "wgk0")
	kernelErr(t, err, kernel.ErrNotFound, 0)
	if _, err := os.Lstat(h.Socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dead socket not removed: %v", err)
	}
	out, err := run(t, k, kernel.Host, "wg", "show")
	if err != nil {
		t.Errorf("wg show after cleanup: %v\n%s", err, out)
	}
	has(t, out, `interface: wgk1`)
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgk0", Kind: kernel.KindWireGuard, Userspace: true}))
	must(t, k.DelLink(kernel.Host, "wgk0"))
	must(t, k.DelLink(kernel.Host, "wgk1"))
	noHelpers(t)
}

// TestWireGuardFullTunnelFwmark is wg-quick's full tunnel with the fwmark
// trick, on the userspace device: everything unmarked goes to table 51820
// (default dev wg), the device marks its own encrypted packets 51820 so
// they take the main table to the endpoint. It works only if the helper
// really sets the mark on its sockets (else its packets loop into the
// tunnel).
func TestWireGuardFullTunnelFwmark(t *testing.T) {
	k, ns := ktest.New(t)
	b := ktest.NewNS(t)
	must(t, k.AddNamespace(b))
	must(t, k.SetLink(b, "lo", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "inet0", Kind: kernel.KindVeth, Up: true,
		Veth: &kernel.Veth{Peer: "inet1", PeerNetns: b}}))
	must(t, k.SetLink(b, "inet1", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.AddAddr(kernel.Host, kernel.Addr{Link: "inet0", Prefix: pfx("192.0.2.1/24")}, false))
	must(t, k.AddAddr(b, kernel.Addr{Link: "inet1", Prefix: pfx("192.0.2.2/24")}, false))
	// B's public address is reachable from A only through A's default
	// route, which the suppress_prefixlength rule hides from unmarked
	// packets.
	must(t, k.AddAddr(b, kernel.Addr{Link: "lo", Prefix: pfx("198.51.100.2/32")}, false))
	must(t, k.AddRoute(kernel.Host, kernel.Route{Table: kernel.TableMain, Dst: pfx("0.0.0.0/0"),
		Type: kernel.RouteUnicast, Gateway: addr("192.0.2.2"), Dev: "inet0", Protocol: 4}, false))

	privA, privB := newKey(t), newKey(t)
	portA, portB, mark := 51820, 51821, uint32(51820)
	epA, epB := netip.MustParseAddrPort("192.0.2.1:51820"), netip.MustParseAddrPort("198.51.100.2:51821")
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgfa", Kind: kernel.KindWireGuard, Userspace: true}))
	must(t, k.AddLink(b, kernel.Link{Name: "wgfb", Kind: kernel.KindWireGuard, Userspace: true}))
	must(t, k.ConfigureWireGuard(kernel.Host, "wgfa", kernel.WGConfig{PrivateKey: &privA, ListenPort: &portA,
		FirewallMark: &mark, Peers: []kernel.WGPeerConfig{{PublicKey: pubKey(privB), Endpoint: &epB,
			AllowedIPs: []netip.Prefix{pfx("0.0.0.0/0")}}}}))
	must(t, k.ConfigureWireGuard(b, "wgfb", kernel.WGConfig{PrivateKey: &privB, ListenPort: &portB,
		Peers: []kernel.WGPeerConfig{{PublicKey: pubKey(privA), Endpoint: &epA,
			AllowedIPs: []netip.Prefix{pfx("10.200.0.1/32")}}}}))
	must(t, k.AddAddr(kernel.Host, kernel.Addr{Link: "wgfa", Prefix: pfx("10.200.0.1/32")}, false))
	must(t, k.AddAddr(b, kernel.Addr{Link: "wgfb", Prefix: pfx("10.200.0.2/32"), Peer: pfx("10.200.0.1/32")}, false))
	must(t, k.SetLink(kernel.Host, "wgfa", kernel.LinkChange{Up: ptr(true)}))
	must(t, k.SetLink(b, "wgfb", kernel.LinkChange{Up: ptr(true)}))

	// wg-quick's rules and route.
	must(t, k.AddRoute(kernel.Host, kernel.Route{Table: 51820, Dst: pfx("0.0.0.0/0"), Type: kernel.RouteUnicast,
		Dev: "wgfa", Scope: kernel.ScopeLink, Protocol: 4}, false))
	must(t, k.AddRule(kernel.Host, kernel.Rule{Family: 4, Priority: 32765, Invert: true, Mark: mark,
		Action: kernel.ActionLookup, Table: 51820}))
	must(t, k.AddRule(kernel.Host, kernel.Rule{Family: 4, Priority: 32764, Action: kernel.ActionLookup,
		Table: kernel.TableMain, SuppressPrefixLen: ptr(uint8(0))}))
	has(t, ktest.IP(t, ns, "route", "get", "198.51.100.2"), `dev wgfa`)
	has(t, ktest.IP(t, ns, "route", "get", "198.51.100.2", "mark", "51820"), `via 192.0.2.2 dev inet0`)

	// Pinging the endpoint's own address goes through the tunnel: B sees
	// it from 10.200.0.1 and answers through its WireGuard device.
	var out string
	var err error
	for range 5 {
		if out, err = run(t, k, kernel.Host, "ping", "-c", "1", "-W", "2", "198.51.100.2"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("ping through the full tunnel: %v\n%s", err, out)
	}
	has(t, out, `1 packets transmitted, 1 received`)
	d, err := k.WireGuard(b, "wgfb")
	must(t, err)
	if len(d.Peers) != 1 || d.Peers[0].RxBytes == 0 || d.Peers[0].LastHandshake.IsZero() {
		t.Errorf("the ping did not cross the tunnel: %+v", d.Peers)
	}
	show, err := run(t, k, kernel.Host, "wg", "show", "wgfa")
	must(t, err)
	has(t, show, `fwmark: 0xca6c`)

	must(t, k.DelLink(kernel.Host, "wgfa"))
	must(t, k.DelNamespace(b))
	noHelpers(t)
}

// TestKernelHasWireGuard: the probe agrees with what the kernel does
// when asked for a wireguard link.
func TestKernelHasWireGuard(t *testing.T) {
	_, ns := ktest.New(t)
	inKernel, err := kernel.KernelHasWireGuard()
	must(t, err)
	_, ipErr := ktest.TryIP(ns, "link", "add", "wgprobe", "type", "wireguard")
	if inKernel != (ipErr == nil) {
		t.Errorf("KernelHasWireGuard() = %v, but ip link add type wireguard: %v", inKernel, ipErr)
	}
	t.Logf("kernel WireGuard: %v", inKernel)
	if ipErr == nil {
		ktest.IP(t, ns, "link", "del", "wgprobe")
	}
}

// TestWireGuardAutoFallback: a wireguard link without Userspace is a
// kernel device where the kernel can, a userspace one where it cannot.
func TestWireGuardAutoFallback(t *testing.T) {
	k, _ := ktest.New(t)
	inKernel, err := kernel.KernelHasWireGuard()
	must(t, err)
	must(t, k.AddLink(kernel.Host, kernel.Link{Name: "wgauto", Kind: kernel.KindWireGuard}))
	l := findLink(t, k, kernel.Host, "wgauto")
	if l.Kind != kernel.KindWireGuard || l.Userspace == inKernel {
		t.Errorf("wgauto: kind %q userspace %v, kernel WireGuard %v", l.Kind, l.Userspace, inKernel)
	}
	d, err := k.WireGuard(kernel.Host, "wgauto")
	must(t, err)
	if d.Userspace == inKernel {
		t.Errorf("device userspace %v, kernel WireGuard %v", d.Userspace, inKernel)
	}
	must(t, k.DelLink(kernel.Host, "wgauto"))
	noHelpers(t)
}
