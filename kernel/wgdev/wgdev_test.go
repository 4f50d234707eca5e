package wgdev_test

import (
	"errors"
	"fmt"
	"github.com/nets-lang/nets/kernel/wgdev"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// newNS makes a fresh named namespace (ktest.NewNS: in the sandbox's
// private /run/netns) and returns its path and name. Helpers in it are
// stopped and it is deleted when the test ends.
func newNS(t *testing.T) (string, string) {
	t.Helper()
	name := ktest.NewNS(t)
	if err := netns.Add("", name); err != nil {
		t.Fatal(err)
	}
	p := netns.Path("", name)
	t.Cleanup(func() {
		if err := wgdev.StopNamespace(p, wgdev.Options{}); err != nil {
			t.Errorf("stop helpers in %s: %v", name, err)
		}
	})
	return p, name
}

// inNS runs a program inside the namespace nsPath and returns its
// combined output.
func inNS(t *testing.T, nsPath string, args ...string) (string, error) {
	t.Helper()
	f, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	err = netns.Do(f, func() error {
		var err error
		out, err = exec.Command(args[0], args[1:]...).CombinedOutput()
		return err
	})
	return string(out), err
}

func mustInNS(t *testing.T, nsPath string, args ...string) string {
	t.Helper()
	out, err := inNS(t, nsPath, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// linkIn reports whether a link name exists in nsPath.
func linkIn(t *testing.T, nsPath, name string) bool {
	t.Helper()
	f, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	if err := netns.Do(f, func() error {
		_, err := net.InterfaceByName(name)
		found = err == nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// udpPortTaken reports whether UDP port is bound (on the wildcard
// address) in the namespace nsPath.
func udpPortTaken(t *testing.T, nsPath string, port int) bool {
	t.Helper()
	f, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	taken := false
	if err := netns.Do(f, func() error {
		c, err := net.ListenUDP("udp", &net.UDPAddr{Port: port})
		if err != nil {
			taken = errors.Is(err, unix.EADDRINUSE)
			return nil
		}
		return c.Close()
	}); err != nil {
		t.Fatal(err)
	}
	return taken
}

// tmpOpts puts sockets and logs in a fresh temporary directory.
func tmpOpts(t *testing.T) wgdev.Options {
	d := t.TempDir()
	return wgdev.Options{SocketDir: d + "/sock", LogDir: d + "/log"}
}

// checkGone fails unless the device name is completely gone: no socket,
// no pid file, no link in nsPath, no helper process pid.
func checkGone(t *testing.T, nsPath, name string, pid int, opts wgdev.Options) {
	t.Helper()
	for _, p := range []string{opts.SocketPath(name), opts.PIDPath(name)} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
	if linkIn(t, nsPath, name) {
		t.Errorf("link %s still exists", name)
	}
	// Gone or a zombie: an orphaned helper is reparented to the sandbox's
	// PID 1 (the test binary), which does not reap it.
	if !wgdev.WaitFor(func() bool { return !wgdev.Alive(pid) }, 2*time.Second) {
		t.Errorf("helper pid %d still runs", pid)
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"wg0", "a", "x-y_z.1", "abcdefghijklmno"} {
		if err := wgdev.ValidName(n); err != nil {
			t.Errorf("wgdev.ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "a b", "a:b", "abcdefghijklmnop"} {
		if err := wgdev.ValidName(n); err == nil {
			t.Errorf("wgdev.ValidName(%q) succeeded", n)
		}
		if err := wgdev.Start("", n, tmpOpts(t)); err == nil {
			t.Errorf("wgdev.Start(%q) succeeded", n)
		}
	}
}

func TestStartStop(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	if err := wgdev.Start(ns, "wgt0", opts); err != nil {
		t.Fatal(err)
	}
	h, err := wgdev.Lookup("wgt0", opts)
	if err != nil {
		t.Fatal(err)
	}
	if in, err := h.In(ns); err != nil || !in {
		t.Errorf("helper In(%s) = %v, %v; want true", ns, in, err)
	}
	if in, err := h.In(""); err != nil || in {
		t.Errorf("helper In(caller's namespace) = %v, %v; want false", in, err)
	}
	if !linkIn(t, ns, "wgt0") {
		t.Error("no link wgt0 in the namespace")
	}
	if linkIn(t, "/proc/self/ns/net", "wgt0") {
		t.Error("link wgt0 in the caller's namespace")
	}
	if !wgdev.Answers(opts.SocketPath("wgt0")) {
		t.Error("socket does not answer")
	}
	if hs, err := wgdev.List(opts); err != nil || len(hs) != 1 || hs[0] != h {
		t.Errorf("List = %v, %v; want [%v]", hs, err, h)
	}
	if pids := wgdev.HelperPIDs(); !slices.Contains(pids, h.PID) {
		t.Errorf("HelperPIDs() = %v; want it to hold %d", pids, h.PID)
	}
	if err := wgdev.Stop("wgt0", opts); err != nil {
		t.Fatal(err)
	}
	checkGone(t, ns, "wgt0", h.PID, opts)
	if pids := wgdev.HelperPIDs(); slices.Contains(pids, h.PID) {
		t.Errorf("HelperPIDs() = %v after Stop", pids)
	}
	if err := wgdev.Stop("wgt0", opts); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Stop = %v; want ErrNotExist", err)
	}
}

// TestWgctrl configures a device through wgctrl on the default socket
// directory (private to the sandboxed test process) and reads it back.
func TestWgctrl(t *testing.T) {
	ns, _ := newNS(t)
	if err := wgdev.Start(ns, "wgt1", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	h, err := wgdev.Lookup("wgt1", wgdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := wgctrl.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, err := c.Device("wgt1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != wgtypes.Userspace {
		t.Errorf("type %v; want userspace", d.Type)
	}
	priv, _ := wgtypes.GeneratePrivateKey()
	peer, _ := wgtypes.GeneratePrivateKey()
	psk, _ := wgtypes.GenerateKey()
	port := 51820
	ka := 25 * time.Second
	ep := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 9).To4(), Port: 51821}
	_, allowed, _ := net.ParseCIDR("10.9.0.0/24")
	err = c.ConfigureDevice("wgt1", wgtypes.Config{
		PrivateKey: &priv, ListenPort: &port, ReplacePeers: true,
		Peers: []wgtypes.PeerConfig{{PublicKey: peer.PublicKey(), PresharedKey: &psk, Endpoint: ep,
			PersistentKeepaliveInterval: &ka, ReplaceAllowedIPs: true, AllowedIPs: []net.IPNet{*allowed}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err = c.Device("wgt1")
	if err != nil {
		t.Fatal(err)
	}
	if d.PrivateKey != priv || d.PublicKey != priv.PublicKey() || d.ListenPort != port || len(d.Peers) != 1 {
		t.Fatalf("read back: port %d, %d peers, keys equal %v", d.ListenPort, len(d.Peers), d.PrivateKey == priv)
	}
	p := d.Peers[0]
	if p.PublicKey != peer.PublicKey() || p.PresharedKey != psk || p.Endpoint.String() != ep.String() ||
		p.PersistentKeepaliveInterval != ka || len(p.AllowedIPs) != 1 || p.AllowedIPs[0].String() != "10.9.0.0/24" {
		t.Errorf("peer read back: endpoint %v keepalive %v allowed %v", p.Endpoint, p.PersistentKeepaliveInterval, p.AllowedIPs)
	}
	// The listen port is bound inside the device's namespace.
	if !udpPortTaken(t, ns, 51820) {
		t.Error("port 51820 is not bound in the namespace")
	}
	if udpPortTaken(t, "/proc/self/ns/net", 51820) {
		t.Error("port 51820 is bound in the caller's namespace")
	}
	if err := wgdev.Stop("wgt1", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	checkGone(t, ns, "wgt1", h.PID, wgdev.Options{})
	if _, err := c.Device("wgt1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("device after Stop: %v; want ErrNotExist", err)
	}
}

func TestStaleSocket(t *testing.T) {
	ns, _ := newNS(t)
	if err := wgdev.Start(ns, "wgt2", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	h, err := wgdev.Lookup("wgt2", wgdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(h.PID, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !wgdev.WaitFor(func() bool { return !wgdev.Alive(h.PID) }, 2*time.Second) {
		t.Fatal("helper survives SIGKILL")
	}
	sock := wgdev.Options{}.SocketPath("wgt2")
	if !wgdev.IsSocket(sock) {
		t.Fatal("SIGKILL left no socket; the stale case is not tested")
	}
	c, err := wgctrl.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Devices(); err == nil {
		t.Error("wgctrl Devices works with a stale socket; the test premise is wrong")
	}
	// Start of the same name removes the stale socket and succeeds.
	if err := wgdev.Start(ns, "wgt2", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Devices(); err != nil {
		t.Errorf("Devices after restart: %v", err)
	}
	h2, err := wgdev.Lookup("wgt2", wgdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(h2.PID, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wgdev.WaitFor(func() bool { return !wgdev.Alive(h2.PID) }, 2*time.Second)
	// RemoveStale finds it.
	got, err := wgdev.RemoveStale(wgdev.Options{})
	if err != nil || len(got) != 1 || got[0] != "wgt2" {
		t.Errorf("RemoveStale = %v, %v; want [wgt2]", got, err)
	}
	if _, err := c.Devices(); err != nil {
		t.Errorf("Devices after RemoveStale: %v", err)
	}
	// Stop of a device whose helper was killed cleans up and says so.
	if err := wgdev.Start(ns, "wgt2", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	h3, err := wgdev.Lookup("wgt2", wgdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.Kill(h3.PID, unix.SIGKILL)
	wgdev.WaitFor(func() bool { return !wgdev.Alive(h3.PID) }, 2*time.Second)
	if err := wgdev.Stop("wgt2", wgdev.Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stop of killed helper = %v; want ErrNotExist", err)
	}
	if wgdev.IsSocket(sock) {
		t.Error("Stop left the stale socket")
	}
}

func TestNameClash(t *testing.T) {
	a, aName := newNS(t)
	b, _ := newNS(t)
	opts := tmpOpts(t)
	if err := wgdev.Start(a, "wgt3", opts); err != nil {
		t.Fatal(err)
	}
	err := wgdev.Start(b, "wgt3", opts)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Start = %v; want ErrExist", err)
	}
	for _, want := range []string{"wgt3", "namespace " + aName, "unique host-wide"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if linkIn(t, b, "wgt3") {
		t.Error("the refused Start made a link")
	}
	if err := wgdev.Stop("wgt3", opts); err != nil {
		t.Fatal(err)
	}
}

// TestExistingLink: a link of the device's name in the namespace (here a
// veth; a persistent tun would even be adopted by the TUN code) is
// refused before any helper starts.
func TestExistingLink(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	for _, args := range [][]string{
		{"ip", "link", "add", "wgt4", "type", "veth", "peer", "name", "wgt4p"},
		{"ip", "tuntap", "add", "wgt4t", "mode", "tun"},
	} {
		mustInNS(t, ns, args...)
		err := wgdev.Start(ns, args[3], opts)
		if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "already exists in the namespace") {
			t.Errorf("Start over an existing link %s: %v; want ErrExist", args[3], err)
		}
	}
	if hs, _ := wgdev.List(opts); len(hs) != 0 {
		t.Errorf("helpers started: %v", hs)
	}
}

// TestHelperErrorReported: when the helper fails (here: its socket path
// is taken by a directory), Start reports the helper's own reason and
// leaves nothing behind.
func TestHelperErrorReported(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	if err := os.MkdirAll(opts.SocketPath("wgt4"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := wgdev.Start(ns, "wgt4", opts)
	if err == nil {
		t.Fatal("Start with its socket path taken succeeded")
	}
	if !strings.Contains(err.Error(), "UAPI socket "+opts.SocketPath("wgt4")+" is taken") {
		t.Errorf("error %q does not carry the helper's reason", err)
	}
	if linkIn(t, ns, "wgt4") {
		t.Error("the failed helper left its link")
	}
	if _, err := os.Lstat(opts.PIDPath("wgt4")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file left behind: %v", err)
	}
	if hs, _ := wgdev.List(opts); len(hs) != 0 {
		t.Errorf("helpers left: %v", hs)
	}
}

// TestLinkDeletedStopsHelper: deleting the TUN link (ip link del, as a
// user might) ends the helper and removes its socket and pid file.
func TestLinkDeletedStopsHelper(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	if err := wgdev.Start(ns, "wgt5", opts); err != nil {
		t.Fatal(err)
	}
	h, _ := wgdev.Lookup("wgt5", opts)
	mustInNS(t, ns, "ip", "link", "del", "wgt5")
	if !wgdev.WaitFor(func() bool { return !wgdev.Alive(h.PID) }, 5*time.Second) {
		t.Fatal("helper survives the deletion of its link")
	}
	checkGone(t, ns, "wgt5", h.PID, opts)
}

// TestStopNamespace stops only the helpers of one namespace.
func TestStopNamespace(t *testing.T) {
	a, _ := newNS(t)
	b, _ := newNS(t)
	opts := tmpOpts(t)
	for _, d := range []struct{ ns, name string }{{a, "wgt6"}, {a, "wgt7"}, {b, "wgt8"}} {
		if err := wgdev.Start(d.ns, d.name, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := wgdev.StopNamespace(a, opts); err != nil {
		t.Fatal(err)
	}
	hs, err := wgdev.List(opts)
	if err != nil || len(hs) != 1 || hs[0].Name != "wgt8" {
		t.Fatalf("List after StopNamespace = %v, %v; want only wgt8", hs, err)
	}
	if err := wgdev.Stop("wgt8", opts); err != nil {
		t.Fatal(err)
	}
}

// TestLogHasNoKeys: the helper logs malformed UAPI requests, but never a
// key, whatever a client sends.
func TestLogHasNoKeys(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	if err := wgdev.Start(ns, "wgt9", opts); err != nil {
		t.Fatal(err)
	}
	priv, _ := wgtypes.GeneratePrivateKey()
	hexKey := fmt.Sprintf("%x", priv[:])
	for _, req := range []string{
		"private_key=" + hexKey + "\n",            // not an operation: logged, redacted
		"set=1\nprivate_key=" + hexKey + "\n\n",   // valid: sets the key
		"set=1\nbogus=" + priv.String() + "\n\n",  // invalid key word: logged, redacted
		"set=1\nprivate_key=" + hexKey + "zz\n\n", // malformed key
	} {
		c, err := net.Dial("unix", opts.SocketPath("wgt9"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte(req))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		_, _ = c.Read(buf)
		c.Close()
	}
	if err := wgdev.Stop("wgt9", opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(opts.LogPath("wgt9"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "(key)") {
		t.Errorf("log shows no redaction, so the test did not exercise it:\n%s", log)
	}
	if strings.Contains(log, hexKey) || strings.Contains(log, priv.String()) || strings.Contains(log, hexKey[:40]) {
		t.Error("a key reached the helper log")
	}
	if st, err := os.Stat(opts.LogPath("wgt9")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v (%v); want 0600", st.Mode(), err)
	}
}

// TestOutlivesStarter: a device started by a program that then exits
// keeps running, and a later process (this one) configures and stops it.
func TestOutlivesStarter(t *testing.T) {
	ns, _ := newNS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envStarter+"="+ns+" wgt10")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starter: %v\n%s", err, out)
	}
	h, err := wgdev.Lookup("wgt10", wgdev.Options{})
	if err != nil {
		t.Fatalf("helper gone with its starter: %v", err)
	}
	if in, err := h.In(ns); err != nil || !in {
		t.Errorf("helper In(ns) = %v, %v", in, err)
	}
	c, err := wgctrl.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := 40000
	if err := c.ConfigureDevice("wgt10", wgtypes.Config{ListenPort: &port}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Device("wgt10"); err != nil || d.ListenPort != port {
		t.Errorf("device after configure: %v, %v", d, err)
	}
	if err := wgdev.Stop("wgt10", wgdev.Options{}); err != nil {
		t.Fatal(err)
	}
	checkGone(t, ns, "wgt10", h.PID, wgdev.Options{})
}

// TestSIGINT: the helper shuts down cleanly on SIGINT too (link, socket
// and pid file gone).
func TestSIGINT(t *testing.T) {
	ns, _ := newNS(t)
	opts := tmpOpts(t)
	if err := wgdev.Start(ns, "wgt11", opts); err != nil {
		t.Fatal(err)
	}
	h, err := wgdev.Lookup("wgt11", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(h.PID, unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	if !wgdev.WaitFor(func() bool { return !wgdev.Alive(h.PID) }, 5*time.Second) {
		t.Fatal("helper survives SIGINT")
	}
	checkGone(t, ns, "wgt11", h.PID, opts)
}

// TestRefusedWithoutMaybeRunHelper: a program that never calls
// MaybeRunHelper cannot start devices (its copy would not become a
// helper).
func TestRefusedWithoutMaybeRunHelper(t *testing.T) {
	ns, _ := newNS(t)
	old := wgdev.SetHelperReady(false)
	defer wgdev.SetHelperReady(old)
	err := wgdev.Start(ns, "wgt12", tmpOpts(t))
	if err == nil || !strings.Contains(err.Error(), "MaybeRunHelper") {
		t.Errorf("Start = %v; want a refusal naming MaybeRunHelper", err)
	}
	if linkIn(t, ns, "wgt12") || len(wgdev.HelperPIDs()) != 0 {
		t.Error("the refused Start started something")
	}
}
