package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/mdlayher/genetlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/nets-lang/nets/kernel/wgdev"
)

// WireGuard on the real kernel.
//
// Device configuration goes through wgctrl, which speaks generic netlink
// to kernel devices and the UAPI (a unix socket in /var/run/wireguard) to
// userspace ones. wgctrl has no namespace option, and a generic netlink
// socket belongs to the namespace it was opened in, so the client is
// created on a thread switched into the device's namespace (Netlink.Do);
// its calls then run anywhere. UAPI sockets are files, namespace-blind:
// a userspace device found there is accepted only if it lives in the
// namespace asked for (its helper's namespace, see wgdev).
//
// Where the kernel has no WireGuard module, AddLink falls back to a
// userspace device run by a nets helper (package wgdev); the hooks set
// below connect the link code to it.

func init() {
	userspaceWGStart = (*Netlink).startUserspaceWG
	userspaceWGStop = (*Netlink).stopUserspaceWG
	userspaceWGIs = (*Netlink).isUserspaceWGHelper
	userspaceWGStopAll = (*Netlink).stopUserspaceWGNamespace
}

// wgClient is the part of *wgctrl.Client nets uses, so that the mapping
// can be tested against a fake.
type wgClient interface {
	Device(name string) (*wgtypes.Device, error)
	ConfigureDevice(name string, cfg wgtypes.Config) error
	Close() error
}

var _ wgClient = (*wgctrl.Client)(nil)

// newWGClient opens a wgctrl client for ns; tests replace it.
var newWGClient = func(n *Netlink, ns string) (wgClient, error) {
	var c *wgctrl.Client
	err := n.Do(ns, func() error {
		var err error
		c, err = wgctrl.New()
		return err
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}

func (n *Netlink) wgOpts() wgdev.Options { return wgdev.Options{SocketDir: n.WireGuardDir()} }

// withNSPath calls fn with a path naming namespace ns
// (/proc/self/fd/N of an open handle, valid while fn runs).
func (n *Netlink) withNSPath(ns string, fn func(path string) error) error {
	f, err := n.OpenNS(ns)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
}

// wgErr builds a *Error for a WireGuard operation, deriving the kind from
// err when kind is nil.
func wgErr(op, ns string, kind, err error) error {
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	if kind == nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENOENT):
			kind = ErrNotFound
		case errors.Is(err, fs.ErrExist), errors.Is(err, unix.EEXIST):
			kind = ErrExist
		case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			kind = ErrPerm
		case errors.Is(err, unix.EOPNOTSUPP):
			kind = ErrNotSupp
		}
	}
	return &Error{Op: op, NS: ns, Err: err, Kind: kind}
}

// startUserspaceWG starts the userspace device name in ns (AddLink's
// fallback when the kernel has no WireGuard).
func (n *Netlink) startUserspaceWG(ns, name string) error {
	op := "add link " + name + " type wireguard (userspace)"
	// Dead sockets of other devices make wgctrl's Devices and `wg show`
	// fail for every device; clear them while at it (best effort).
	_, _ = wgdev.RemoveStale(n.wgOpts())
	err := n.withNSPath(ns, func(p string) error { return wgdev.Start(p, name, n.wgOpts()) })
	if err != nil {
		return wgErr(op, ns, nil, err)
	}
	return nil
}

// userspaceWGIn reports whether nets' helper for the userspace device
// name runs in ns.
func (n *Netlink) userspaceWGIn(ns, name string) (bool, error) {
	h, err := wgdev.Lookup(name, n.wgOpts())
	if err != nil {
		return false, nil
	}
	in := false
	err = n.withNSPath(ns, func(p string) error {
		var err error
		in, err = h.In(p)
		return err
	})
	return in, err
}

// isUserspaceWGHelper reports whether the link name in ns is a userspace
// WireGuard device served by a nets helper.
func (n *Netlink) isUserspaceWGHelper(ns, name string) bool {
	in, err := n.userspaceWGIn(ns, name)
	return err == nil && in
}

// stopUserspaceWG stops the userspace device name in ns (DelLink).
func (n *Netlink) stopUserspaceWG(ns, name string) error {
	op := "del link " + name + " (userspace wireguard)"
	in, err := n.userspaceWGIn(ns, name)
	if err != nil {
		return wgErr(op, ns, nil, err)
	}
	if !in {
		return &Error{Op: op, NS: ns, Kind: ErrNotFound,
			Err: fmt.Errorf("no userspace WireGuard device %s in this namespace", name)}
	}
	if err := wgdev.Stop(name, n.wgOpts()); err != nil {
		return wgErr(op, ns, nil, err)
	}
	return nil
}

// stopUserspaceWGNamespace stops every userspace device living in ns
// (before DelNamespace: a helper keeps its namespace alive).
func (n *Netlink) stopUserspaceWGNamespace(ns string) error {
	err := n.withNSPath(ns, func(p string) error { return wgdev.StopNamespace(p, n.wgOpts()) })
	if err != nil {
		return wgErr("stop userspace wireguard devices", ns, nil, err)
	}
	return nil
}

// checkUserspaceDevice verifies that a userspace device found by name on
// the (namespace-blind) UAPI socket lives in ns: nets' helper must run
// there, or, for a device nets did not start (a wireguard-go), a link of
// that name must exist in ns.
func (n *Netlink) checkUserspaceDevice(ns, name string) error {
	if _, err := wgdev.Lookup(name, n.wgOpts()); err == nil {
		in, err := n.userspaceWGIn(ns, name)
		if err != nil {
			return err
		}
		if !in {
			return fmt.Errorf("no WireGuard device %s in this namespace "+
				"(a userspace device of that name runs in another namespace): %w", name, fs.ErrNotExist)
		}
		return nil
	}
	return n.Do(ns, func() error {
		if _, err := net.InterfaceByName(name); err != nil {
			return fmt.Errorf("no WireGuard device %s in this namespace: %w", name, fs.ErrNotExist)
		}
		return nil
	})
}

// staleToNotFound turns "connection refused" on the device's UAPI socket
// (its helper or wireguard-go was killed) into not-found, removing the
// dead socket so that wgctrl and wg(8) work again.
func (n *Netlink) staleToNotFound(name string, err error) error {
	if err == nil || !errors.Is(err, unix.ECONNREFUSED) {
		return err
	}
	_, _ = wgdev.RemoveStale(n.wgOpts())
	return fmt.Errorf("userspace WireGuard device %s is dead (its UAPI socket refused the connection; removed): %w",
		name, fs.ErrNotExist)
}

// UserspaceWireGuarder is implemented by kernels that can tell whether
// `link X type wireguard` makes a userspace device (the kernel has no
// WireGuard): *Netlink (by asking the kernel) and *Model (as told, or as
// the kernel it was seeded from said). Plans and runs use it to say so
// in the change line (Change.Note).
type UserspaceWireGuarder interface {
	UserspaceWireGuard() bool
}

// usesUserspaceWireGuard reports whether k makes WireGuard links in
// userspace; false when k cannot tell.
func usesUserspaceWireGuard(k Kernel) bool {
	u, ok := k.(UserspaceWireGuarder)
	return ok && u.UserspaceWireGuard()
}

// UserspaceWireGuard reports whether `link X type wireguard` makes a
// userspace device here: the kernel has no WireGuard (KernelHasWireGuard,
// asked once per Netlink). When the kernel cannot be asked it says
// false: no claim is better than a wrong one.
func (n *Netlink) UserspaceWireGuard() bool {
	n.wgProbe.Do(func() {
		has, err := KernelHasWireGuard()
		n.wgUserspace = err == nil && !has
	})
	return n.wgUserspace
}

// KernelHasWireGuard reports whether the running kernel has WireGuard
// (built in, loaded, or loadable on demand): whether `link X type
// wireguard` makes a kernel device rather than a userspace one. It asks
// for the "wireguard" generic netlink family, which loads the module
// when it is available, exactly as wgctrl decides.
func KernelHasWireGuard() (bool, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return false, &Error{Op: "probe wireguard module", Err: err}
	}
	defer c.Close()
	if _, err := c.GetFamily(unix.WG_GENL_NAME); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, &Error{Op: "probe wireguard module", Err: err}
	}
	return true, nil
}

// nonDefaultDir refuses to work through wgctrl on userspace devices whose
// sockets are not where wgctrl looks.
func (n *Netlink) nonDefaultDir(op, ns string) error {
	if n.WireGuardDir() == wgdev.DefaultSocketDir {
		return nil
	}
	return &Error{Op: op, NS: ns, Kind: ErrNotSupp,
		Err: fmt.Errorf("wgctrl finds userspace WireGuard devices only in %s, not %s",
			wgdev.DefaultSocketDir, n.WireGuardDir())}
}

// WireGuard reads the WireGuard device name in ns, in canonical order
// (see normalizeWG). It fails with ErrNotFound when ns has no such
// device. A device configured with listen port 0 reports the port it
// actually bound once up.
func (n *Netlink) WireGuard(ns, name string) (WGDevice, error) {
	op := "wireguard " + name
	c, err := newWGClient(n, ns)
	if err != nil {
		return WGDevice{}, wgErr(op, ns, nil, err)
	}
	defer c.Close()
	d, err := c.Device(name)
	err = n.staleToNotFound(name, err)
	if err == nil && d.Type == wgtypes.Userspace {
		err = n.checkUserspaceDevice(ns, name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if derr := n.nonDefaultDir(op, ns); derr != nil {
				return WGDevice{}, derr
			}
		}
		return WGDevice{}, wgErr(op, ns, nil, err)
	}
	return wgDeviceFrom(d), nil
}

// ConfigureWireGuard applies cfg to the device name in ns in one wgctrl
// call. It fails with ErrNotFound when ns has no such device.
func (n *Netlink) ConfigureWireGuard(ns, name string, cfg WGConfig) error {
	op := "configure wireguard " + name
	wc, err := wgConfigFrom(cfg)
	if err != nil {
		return &Error{Op: op, NS: ns, Err: err}
	}
	c, err := newWGClient(n, ns)
	if err != nil {
		return wgErr(op, ns, nil, err)
	}
	defer c.Close()
	d, err := c.Device(name)
	err = n.staleToNotFound(name, err)
	if err == nil && d.Type == wgtypes.Userspace {
		err = n.checkUserspaceDevice(ns, name)
	}
	if err == nil {
		err = uapiErrno(c.ConfigureDevice(name, wc))
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if derr := n.nonDefaultDir(op, ns); derr != nil {
				return derr
			}
		}
		return wgErr(op, ns, nil, err)
	}
	return nil
}

var uapiErrnoRE = regexp.MustCompile(`errno=-?(\d+)`)

// uapiErrno turns wgctrl's userspace error text ("wguser: errno=-98")
// into an error that also unwraps to the errno, so kinds can be told.
func uapiErrno(err error) error {
	if err == nil {
		return nil
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return err
	}
	m := uapiErrnoRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	v, perr := strconv.Atoi(m[1])
	if perr != nil || v == 0 {
		return err
	}
	return fmt.Errorf("%w (%v)", unix.Errno(v), err)
}

// wgDeviceFrom converts a wgctrl device to nets' form.
func wgDeviceFrom(d *wgtypes.Device) WGDevice {
	out := WGDevice{
		Name:         d.Name,
		PrivateKey:   Key(d.PrivateKey),
		PublicKey:    Key(d.PublicKey),
		ListenPort:   d.ListenPort,
		FirewallMark: uint32(d.FirewallMark),
		Userspace:    d.Type == wgtypes.Userspace,
		Peers:        []WGPeer{},
	}
	if out.PrivateKey.IsZero() {
		// No private key, no public key (wgctrl derives one from the
		// zero key for userspace devices).
		out.PublicKey = Key{}
	}
	for _, p := range d.Peers {
		wp := WGPeer{
			PublicKey:           Key(p.PublicKey),
			PresharedKey:        Key(p.PresharedKey),
			PersistentKeepalive: p.PersistentKeepaliveInterval,
			RxBytes:             p.ReceiveBytes,
			TxBytes:             p.TransmitBytes,
			AllowedIPs:          []netip.Prefix{},
		}
		if p.Endpoint != nil {
			ap := p.Endpoint.AddrPort()
			wp.Endpoint = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
		if !p.LastHandshakeTime.IsZero() && p.LastHandshakeTime.UnixNano() != 0 {
			wp.LastHandshake = p.LastHandshakeTime
		}
		for _, ipn := range p.AllowedIPs {
			if pfx, ok := prefixFrom(ipn); ok {
				wp.AllowedIPs = append(wp.AllowedIPs, pfx)
			}
		}
		out.Peers = append(out.Peers, wp)
	}
	normalizeWG(&out)
	return out
}

// normalizeWG puts a device's lists in nets' canonical order: peers by
// public key (bytes), each peer's allowed IPs by address, then prefix
// length. Devices report them in no stable order (wireguard-go walks a
// Go map), so every Kernel implementation returns them this way.
func normalizeWG(d *WGDevice) {
	slices.SortFunc(d.Peers, func(a, b WGPeer) int {
		return slices.Compare(a.PublicKey[:], b.PublicKey[:])
	})
	for i := range d.Peers {
		slices.SortFunc(d.Peers[i].AllowedIPs, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
	}
}

func prefixFrom(ipn net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ipn.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := ipn.Mask.Size()
	if bits == 0 || bits != a.BitLen() && !(bits == 128 && a.Is4()) {
		return netip.Prefix{}, false
	}
	if bits == 128 && a.Is4() {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones), true
}

// maxKeepalive is the largest persistent keepalive WireGuard accepts
// (a 16-bit number of seconds).
const maxKeepalive = 65535 * time.Second

// wgConfigFrom converts nets' change to a wgctrl config, validating what
// wgctrl would pass on unchecked. Allowed IPs are masked (10.0.0.1/24
// becomes 10.0.0.0/24, as the device stores it). Errors never show keys.
func wgConfigFrom(cfg WGConfig) (wgtypes.Config, error) {
	var wc wgtypes.Config
	if cfg.PrivateKey != nil {
		k := wgtypes.Key(*cfg.PrivateKey)
		wc.PrivateKey = &k
	}
	if cfg.ListenPort != nil {
		if *cfg.ListenPort < 0 || *cfg.ListenPort > 65535 {
			return wc, fmt.Errorf("listen port %d out of range 0-65535", *cfg.ListenPort)
		}
		p := *cfg.ListenPort
		wc.ListenPort = &p
	}
	if cfg.FirewallMark != nil {
		m := int(*cfg.FirewallMark)
		wc.FirewallMark = &m
	}
	wc.ReplacePeers = cfg.ReplacePeers
	for i, p := range cfg.Peers {
		pc := wgtypes.PeerConfig{
			PublicKey:         wgtypes.Key(p.PublicKey),
			Remove:            p.Remove,
			UpdateOnly:        p.UpdateOnly,
			ReplaceAllowedIPs: p.ReplaceAllowedIPs,
		}
		if p.PublicKey.IsZero() {
			return wc, fmt.Errorf("peer %d has no public key", i+1)
		}
		if p.PresharedKey != nil {
			k := wgtypes.Key(*p.PresharedKey)
			pc.PresharedKey = &k
		}
		if p.Endpoint != nil {
			if !p.Endpoint.IsValid() || p.Endpoint.Port() == 0 {
				return wc, fmt.Errorf("peer %d: endpoint %v is not an address and port", i+1, *p.Endpoint)
			}
			pc.Endpoint = net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.Endpoint.Addr().Unmap(), p.Endpoint.Port()))
		}
		if p.PersistentKeepalive != nil {
			ka := *p.PersistentKeepalive
			if ka < 0 || ka > maxKeepalive || ka%time.Second != 0 {
				return wc, fmt.Errorf("peer %d: persistent keepalive %v is not a whole number of seconds in 0-65535", i+1, ka)
			}
			pc.PersistentKeepaliveInterval = &ka
		}
		for _, pfx := range p.AllowedIPs {
			if !pfx.IsValid() {
				return wc, fmt.Errorf("peer %d: invalid allowed IP prefix", i+1)
			}
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits())
			if pfx.Bits() > pfx.Addr().BitLen() {
				return wc, fmt.Errorf("peer %d: invalid allowed IP prefix %v", i+1, pfx)
			}
			pfx = pfx.Masked()
			pc.AllowedIPs = append(pc.AllowedIPs, net.IPNet{
				IP:   pfx.Addr().AsSlice(),
				Mask: net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen()),
			})
		}
		wc.Peers = append(wc.Peers, pc)
	}
	return wc, nil
}
