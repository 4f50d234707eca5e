package wgdev_test

import (
	"github.com/nets-lang/nets/kernel/wgdev"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// TestTunnel is the seed's point-to-point tunnel: two namespaces joined
// by a veth "internet" (192.0.2.0/24, inside them only), a userspace
// WireGuard device in each configured through wgctrl, and a ping across
// the tunnel. wg(8) must see the peer, a handshake and the private key.
func TestTunnel(t *testing.T) {
	if _, err := exec.LookPath("wg"); err != nil {
		t.Fatal("wg (wireguard-tools) is not installed: apt-get install wireguard-tools")
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Fatal("ping is not installed: apt-get install iputils-ping")
	}
	a, _ := newNS(t)
	b, bName := newNS(t)
	mustInNS(t, a, "ip", "link", "add", "inet-a", "type", "veth", "peer", "name", "inet-b", "netns", bName)
	mustInNS(t, a, "ip", "addr", "add", "192.0.2.1/24", "dev", "inet-a")
	mustInNS(t, b, "ip", "addr", "add", "192.0.2.2/24", "dev", "inet-b")
	mustInNS(t, a, "ip", "link", "set", "inet-a", "up")
	mustInNS(t, b, "ip", "link", "set", "inet-b", "up")

	if err := wgdev.Start(a, "wgtun0", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := wgdev.Start(b, "wgtun1", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	ha, _ := wgdev.Lookup("wgtun0", wgdev.Options{})
	hb, _ := wgdev.Lookup("wgtun1", wgdev.Options{})

	privA, _ := wgtypes.GeneratePrivateKey()
	privB, _ := wgtypes.GeneratePrivateKey()
	psk, _ := wgtypes.GenerateKey()
	c, err := wgctrl.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	configure := func(dev string, priv wgtypes.Key, port int, peer wgtypes.Key, ep string, allowed string) {
		t.Helper()
		_, ipn, _ := net.ParseCIDR(allowed)
		uep, err := net.ResolveUDPAddr("udp", ep)
		if err != nil {
			t.Fatal(err)
		}
		err = c.ConfigureDevice(dev, wgtypes.Config{
			PrivateKey: &priv, ListenPort: &port, ReplacePeers: true,
			Peers: []wgtypes.PeerConfig{{PublicKey: peer, PresharedKey: &psk, Endpoint: uep,
				ReplaceAllowedIPs: true, AllowedIPs: []net.IPNet{*ipn}}},
		})
		if err != nil {
			t.Fatalf("configure %s: %v", dev, err)
		}
	}
	// Both ends configured before the links go up, so the first
	// handshake is not lost.
	configure("wgtun0", privA, 51820, privB.PublicKey(), "192.0.2.2:51821", "10.200.0.2/32")
	configure("wgtun1", privB, 51821, privA.PublicKey(), "192.0.2.1:51820", "10.200.0.1/32")
	mustInNS(t, a, "ip", "addr", "add", "10.200.0.1", "peer", "10.200.0.2", "dev", "wgtun0")
	mustInNS(t, b, "ip", "addr", "add", "10.200.0.2", "peer", "10.200.0.1", "dev", "wgtun1")
	mustInNS(t, a, "ip", "link", "set", "wgtun0", "up")
	mustInNS(t, b, "ip", "link", "set", "wgtun1", "up")

	var out string
	ok := false
	for i := 0; i < 5 && !ok; i++ {
		out, err = inNS(t, a, "ping", "-c", "1", "-W", "2", "10.200.0.2")
		ok = err == nil
	}
	if !ok {
		t.Fatalf("ping across the tunnel failed: %v\n%s", err, out)
	}
	t.Logf("ping: %s", strings.SplitN(out, "\n", 3)[1])

	show := mustInNS(t, a, "wg", "show", "wgtun0")
	if !strings.Contains(show, "peer: "+privB.PublicKey().String()) {
		t.Errorf("wg show does not list the peer:\n%s", show)
	}
	if !strings.Contains(show, "latest handshake:") {
		t.Errorf("wg show shows no handshake:\n%s", show)
	}
	if !strings.Contains(show, "endpoint: 192.0.2.2:51821") || !strings.Contains(show, "allowed ips: 10.200.0.2/32") {
		t.Errorf("wg show lacks the endpoint or allowed ips:\n%s", show)
	}
	// wg show has no secrets in it; the private key is asked for
	// explicitly and compared, never printed.
	if got := strings.TrimSpace(mustInNS(t, a, "wg", "show", "wgtun0", "private-key")); got != privA.String() {
		t.Error("wg show wgtun0 private-key is not the configured key")
	}
	if d, err := c.Device("wgtun1"); err != nil || d.Peers[0].LastHandshakeTime.IsZero() {
		t.Errorf("wgtun1 has no handshake with its peer (%v)", err)
	}

	for _, n := range []string{"wgtun0", "wgtun1"} {
		if err := wgdev.Stop(n, wgdev.Options{}); err != nil {
			t.Error(err)
		}
	}
	checkGone(t, a, "wgtun0", ha.PID, wgdev.Options{})
	checkGone(t, b, "wgtun1", hb.PID, wgdev.Options{})
	if !wgdev.WaitFor(func() bool { return len(wgdev.HelperPIDs()) == 0 }, 2*time.Second) {
		t.Errorf("helper processes left: %v", wgdev.HelperPIDs())
	}
}
