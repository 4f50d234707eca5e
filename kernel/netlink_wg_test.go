package kernel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// fakeWG is a wgctrl client holding devices in memory and recording the
// configs it is given.
type fakeWG struct {
	devs      map[string]*wgtypes.Device
	configs   []wgtypes.Config
	configErr error
	closed    bool
}

func (f *fakeWG) Device(name string) (*wgtypes.Device, error) {
	d, ok := f.devs[name]
	if !ok {
		return nil, os.ErrNotExist
	}
	return d, nil
}

func (f *fakeWG) ConfigureDevice(name string, cfg wgtypes.Config) error {
	if _, ok := f.devs[name]; !ok {
		return os.ErrNotExist
	}
	f.configs = append(f.configs, cfg)
	return f.configErr
}

func (f *fakeWG) Close() error { f.closed = true; return nil }

// withFakeWG makes the Netlink WireGuard methods use f.
func withFakeWG(t *testing.T, f *fakeWG) *Netlink {
	old := newWGClient
	newWGClient = func(*Netlink, string) (wgClient, error) { f.closed = false; return f, nil }
	t.Cleanup(func() { newWGClient = old })
	return &Netlink{wgDir: DefaultWireGuardDir}
}

func genKey(t *testing.T) wgtypes.Key {
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ipnet(s string) net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return *n
}

// noKeys fails if s shows any of the keys in base64 or hex.
func noKeys(t *testing.T, s string, keys ...wgtypes.Key) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(s, k.String()) || strings.Contains(s, fmt.Sprintf("%x", k[:])) {
			t.Errorf("a key appears in %q", s)
		}
	}
}

func TestWGDeviceFrom(t *testing.T) {
	priv, psk := genKey(t), genKey(t)
	p1, p2 := genKey(t).PublicKey(), genKey(t).PublicKey()
	if slices.Compare(p1[:], p2[:]) > 0 {
		p1, p2 = p2, p1
	}
	hs := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	in := &wgtypes.Device{
		Name: "wg0", Type: wgtypes.Userspace, PrivateKey: priv, PublicKey: priv.PublicKey(),
		ListenPort: 51820, FirewallMark: 51820,
		Peers: []wgtypes.Peer{
			{ // listed second: peers come back sorted by public key
				PublicKey: p2, Endpoint: &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 51821},
				LastHandshakeTime: time.Unix(0, 0), // never: wgctrl's userspace zero
				AllowedIPs:        []net.IPNet{ipnet("fd00::/64")},
			},
			{
				PublicKey: p1, PresharedKey: psk,
				Endpoint:                    &net.UDPAddr{IP: net.ParseIP("192.0.2.2"), Port: 51820}, // 16-byte v4
				PersistentKeepaliveInterval: 25 * time.Second, LastHandshakeTime: hs,
				ReceiveBytes: 10, TransmitBytes: 20,
				AllowedIPs: []net.IPNet{ipnet("10.200.0.2/32"), {IP: net.ParseIP("10.0.0.0"), Mask: net.CIDRMask(104, 128)}, ipnet("10.0.0.0/16")},
			},
		},
	}
	got := wgDeviceFrom(in)
	want := WGDevice{
		Name: "wg0", PrivateKey: Key(priv), PublicKey: Key(priv.PublicKey()), ListenPort: 51820,
		FirewallMark: 51820, Userspace: true,
		Peers: []WGPeer{
			{PublicKey: Key(p1), PresharedKey: Key(psk), Endpoint: netip.MustParseAddrPort("192.0.2.2:51820"),
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/16"),
					netip.MustParsePrefix("10.200.0.2/32")},
				PersistentKeepalive: 25 * time.Second, LastHandshake: hs, RxBytes: 10, TxBytes: 20},
			{PublicKey: Key(p2), Endpoint: netip.MustParseAddrPort("[2001:db8::1]:51821"),
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("fd00::/64")}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wgDeviceFrom:\n got %+v\nwant %+v", got, want)
	}
	if got.Peers[0].Endpoint.Addr().Is4In6() {
		t.Error("IPv4 endpoint kept in 4-in-6 form")
	}
	var zero wgtypes.Key
	empty := wgDeviceFrom(&wgtypes.Device{Name: "wg1", Type: wgtypes.LinuxKernel, PublicKey: zero.PublicKey()})
	if empty.Userspace || empty.Peers == nil || len(empty.Peers) != 0 || !empty.PublicKey.IsZero() {
		t.Errorf("empty device: %+v", empty)
	}
}

func TestWGConfigFrom(t *testing.T) {
	priv, psk, pub := genKey(t), genKey(t), genKey(t).PublicKey()
	k, pk := Key(priv), Key(psk)
	port, mark, ka := 51820, uint32(0xca6c), 25*time.Second
	ep := netip.MustParseAddrPort("[::ffff:192.0.2.2]:51821")
	in := WGConfig{
		PrivateKey: &k, ListenPort: &port, FirewallMark: &mark, ReplacePeers: true,
		Peers: []WGPeerConfig{
			{PublicKey: Key(pub), PresharedKey: &pk, Endpoint: &ep, PersistentKeepalive: &ka,
				ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{
					netip.MustParsePrefix("10.200.0.1/24"), netip.MustParsePrefix("fd00::1/64")}},
			{PublicKey: Key(pub), Remove: true},
			{PublicKey: Key(pub), UpdateOnly: true},
		},
	}
	got, err := wgConfigFrom(in)
	if err != nil {
		t.Fatal(err)
	}
	m := 0xca6c
	wantEP := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2).To4(), Port: 51821}
	want := wgtypes.Config{
		PrivateKey: &priv, ListenPort: &port, FirewallMark: &m, ReplacePeers: true,
		Peers: []wgtypes.PeerConfig{
			{PublicKey: pub, PresharedKey: &psk, Endpoint: wantEP, PersistentKeepaliveInterval: &ka,
				ReplaceAllowedIPs: true, AllowedIPs: []net.IPNet{
					{IP: net.IP{10, 200, 0, 0}, Mask: net.CIDRMask(24, 32)},
					{IP: net.ParseIP("fd00::"), Mask: net.CIDRMask(64, 128)}}},
			{PublicKey: pub, Remove: true},
			{PublicKey: pub, UpdateOnly: true},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wgConfigFrom:\n got %+v\nwant %+v", got, want)
	}
	// Nil fields stay nil: nothing else is touched.
	got, err = wgConfigFrom(WGConfig{})
	if err != nil || !reflect.DeepEqual(got, wgtypes.Config{}) {
		t.Errorf("empty config: %+v, %v", got, err)
	}

	bad := func(c WGConfig, want string) {
		t.Helper()
		_, err := wgConfigFrom(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want one mentioning %q", err, want)
			return
		}
		noKeys(t, err.Error(), priv, psk)
	}
	big, neg := 70000, -1
	half, huge := 1500*time.Millisecond, 70000*time.Second
	zero := netip.AddrPort{}
	noPort := netip.MustParseAddrPort("192.0.2.1:0")
	bad(WGConfig{PrivateKey: &k, ListenPort: &big}, "listen port 70000")
	bad(WGConfig{ListenPort: &neg}, "listen port -1")
	bad(WGConfig{Peers: []WGPeerConfig{{PresharedKey: &pk}}}, "no public key")
	bad(WGConfig{Peers: []WGPeerConfig{{PublicKey: Key(pub), PresharedKey: &pk, Endpoint: &zero}}}, "endpoint")
	bad(WGConfig{Peers: []WGPeerConfig{{PublicKey: Key(pub), Endpoint: &noPort}}}, "endpoint")
	bad(WGConfig{Peers: []WGPeerConfig{{PublicKey: Key(pub), PersistentKeepalive: &half}}}, "keepalive")
	bad(WGConfig{Peers: []WGPeerConfig{{PublicKey: Key(pub), PersistentKeepalive: &huge}}}, "keepalive")
	bad(WGConfig{Peers: []WGPeerConfig{{PublicKey: Key(pub), AllowedIPs: []netip.Prefix{{}}}}}, "allowed IP")
}

func TestNetlinkWireGuardFake(t *testing.T) {
	priv := genKey(t)
	peer := genKey(t).PublicKey()
	f := &fakeWG{devs: map[string]*wgtypes.Device{
		"wg0": {Name: "wg0", Type: wgtypes.LinuxKernel, PrivateKey: priv, PublicKey: priv.PublicKey(), ListenPort: 51820,
			Peers: []wgtypes.Peer{{PublicKey: peer, AllowedIPs: []net.IPNet{ipnet("10.0.0.2/32")}}}},
	}}
	n := withFakeWG(t, f)

	d, err := n.WireGuard("blue", "wg0")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "wg0" || d.PrivateKey != Key(priv) || d.ListenPort != 51820 || len(d.Peers) != 1 ||
		d.Peers[0].PublicKey != Key(peer) || d.Userspace {
		t.Errorf("WireGuard read %+v", d)
	}
	if !f.closed {
		t.Error("client not closed")
	}

	_, err = n.WireGuard("blue", "wg9")
	var ke *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ke) || ke.NS != "blue" || !strings.Contains(ke.Op, "wg9") {
		t.Errorf("missing device: %v; want *Error ErrNotFound naming ns and device", err)
	}
	err = n.ConfigureWireGuard("blue", "wg9", WGConfig{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("configure missing device: %v; want ErrNotFound", err)
	}

	port := 51821
	k := Key(genKey(t))
	if err := n.ConfigureWireGuard("blue", "wg0", WGConfig{PrivateKey: &k, ListenPort: &port,
		Peers: []WGPeerConfig{{PublicKey: Key(peer), Remove: true}}}); err != nil {
		t.Fatal(err)
	}
	if len(f.configs) != 1 {
		t.Fatalf("%d configs sent; want 1", len(f.configs))
	}
	c := f.configs[0]
	if c.PrivateKey == nil || Key(*c.PrivateKey) != k || c.ListenPort == nil || *c.ListenPort != 51821 ||
		c.FirewallMark != nil || c.ReplacePeers || len(c.Peers) != 1 || !c.Peers[0].Remove {
		t.Errorf("config sent: %+v", c)
	}

	// An invalid config is refused before anything is sent.
	big := 1 << 20
	if err := n.ConfigureWireGuard("blue", "wg0", WGConfig{ListenPort: &big}); err == nil || len(f.configs) != 1 {
		t.Errorf("invalid port: err %v, %d configs sent", err, len(f.configs))
	}

	// The userspace implementation's errno text becomes an errno.
	f.configErr = os.NewSyscallError("read", errors.New("wguser: errno=-98"))
	err = n.ConfigureWireGuard("blue", "wg0", WGConfig{ListenPort: &port})
	if !errors.Is(err, unix.EADDRINUSE) || !errors.As(err, &ke) {
		t.Errorf("userspace EADDRINUSE: %v", err)
	}
	f.configErr = os.NewSyscallError("read", errors.New("wguser: errno=-2"))
	if err := n.ConfigureWireGuard("blue", "wg0", WGConfig{ListenPort: &port}); !errors.Is(err, ErrNotFound) {
		t.Errorf("userspace ENOENT: %v; want ErrNotFound", err)
	}
	noKeys(t, fmt.Sprint(d, err), priv)
}

func TestNetlinkWireGuardNonDefaultDir(t *testing.T) {
	f := &fakeWG{devs: map[string]*wgtypes.Device{}}
	withFakeWG(t, f)
	n := &Netlink{wgDir: "/tmp/elsewhere"}
	_, err := n.WireGuard("", "wg0")
	if !errors.Is(err, ErrNotSupp) || !strings.Contains(err.Error(), "/var/run/wireguard") {
		t.Errorf("non-default dir: %v; want ErrNotSupp explaining where wgctrl looks", err)
	}
}

func TestUAPIErrno(t *testing.T) {
	if uapiErrno(nil) != nil {
		t.Error("nil")
	}
	plain := errors.New("boom")
	if uapiErrno(plain) != plain {
		t.Error("plain error changed")
	}
	if err := uapiErrno(errors.New("wguser: errno=-22")); !errors.Is(err, unix.EINVAL) {
		t.Errorf("errno=-22 → %v", err)
	}
}
