package kernel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/jsimonetti/rtnetlink/v2/driver"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rawLink holds the link attributes rtnetlink's LinkMessage does not
// decode (IFLA_LINK_NETNSID, and the raw IFLA_INFO_DATA of kinds it has
// no driver for, such as tun).
type rawLink struct {
	link     uint32 // IFLA_LINK: peer / lower device index
	hasLink  bool
	netnsID  int32 // IFLA_LINK_NETNSID, -1 when absent
	infoKind string
	infoData []byte
}

func decodeRawLink(b []byte) rawLink {
	r := rawLink{netnsID: -1}
	if len(b) < unix.SizeofIfInfomsg {
		return r
	}
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return r
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_LINK:
			r.link, r.hasLink = ad.Uint32(), true
		case unix.IFLA_LINK_NETNSID:
			r.netnsID = ad.Int32()
		case unix.IFLA_LINKINFO:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case unix.IFLA_INFO_KIND:
						r.infoKind = nad.String()
					case unix.IFLA_INFO_DATA:
						r.infoData = nad.Bytes()
					}
				}
				return nil
			})
		}
	}
	return r
}

type linkMsg struct {
	m   rtnetlink.LinkMessage
	raw rawLink
}

func (n *Netlink) dumpLinks(ns string) ([]linkMsg, error) {
	msgs, err := n.dump("list links", ns, unix.RTM_GETLINK, &rtnetlink.LinkMessage{})
	if err != nil {
		return nil, err
	}
	out := make([]linkMsg, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK {
			continue
		}
		var lm rtnetlink.LinkMessage
		if err := lm.UnmarshalBinary(m.Data); err != nil {
			return nil, nlWrap("list links: decode", ns, err)
		}
		out = append(out, linkMsg{m: lm, raw: decodeRawLink(m.Data)})
	}
	return out, nil
}

// linkIndex returns the ifindex of link name in ns (ErrNotFound if none).
func (n *Netlink) linkIndex(ns, name string) (uint32, error) {
	lm, err := n.getLink(ns, &rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{Name: name}})
	if err != nil {
		return 0, err
	}
	return lm.m.Index, nil
}

// getLink fetches one link by index or name (RTM_GETLINK without dump).
func (n *Netlink) getLink(ns string, req *rtnetlink.LinkMessage) (*linkMsg, error) {
	what := fmt.Sprint(req.Index)
	if req.Attributes != nil && req.Attributes.Name != "" {
		what = req.Attributes.Name
	}
	msgs, err := n.get("get link "+what, ns, unix.RTM_GETLINK, req)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK {
			continue
		}
		var lm rtnetlink.LinkMessage
		if err := lm.UnmarshalBinary(m.Data); err != nil {
			return nil, nlWrap("get link "+what+": decode", ns, err)
		}
		return &linkMsg{m: lm, raw: decodeRawLink(m.Data)}, nil
	}
	return nil, nlOpErr("get link "+what, ns, ErrNotFound, "no link %s", what)
}

// nsResolver maps the netns ids one namespace uses for its peers
// (IFLA_LINK_NETNSID) to namespace names, asking the kernel for the id it
// has given each known namespace (RTM_GETNSID with NETNSA_FD).
type nsResolver struct {
	n     *Netlink
	from  string
	ids   map[int32]string
	ready bool
}

func (r *nsResolver) name(id int32) string {
	if !r.ready {
		r.ready = true
		r.ids = map[int32]string{}
		cands := []string{Host}
		if names, err := r.n.Namespaces(); err == nil {
			cands = append(cands, names...)
		}
		for _, cand := range cands {
			if cand == r.from {
				continue
			}
			f, err := r.n.OpenNS(cand)
			if err != nil {
				continue
			}
			nsid, err := r.n.nsid(r.from, f)
			f.Close()
			if err == nil && nsid >= 0 {
				if _, dup := r.ids[nsid]; !dup {
					r.ids[nsid] = cand
				}
			}
		}
	}
	name, ok := r.ids[id]
	if !ok {
		return "?"
	}
	return name
}

// nsid returns the id namespace `from` has assigned to the namespace f,
// or -1 when it has none.
func (n *Netlink) nsid(from string, f *os.File) (int32, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NETNSA_FD, uint32(f.Fd()))
	attrs, err := ae.Encode()
	if err != nil {
		return -1, err
	}
	body := append(make([]byte, 4), attrs...) // struct rtgenmsg, padded
	msgs, err := n.get("get netns id", from, unix.RTM_GETNSID, rawBody(body))
	runtime.KeepAlive(f)
	if err != nil {
		return -1, err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNSID || len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return -1, err
		}
		id := int32(-1)
		for ad.Next() {
			if ad.Type() == unix.NETNSA_NSID {
				id = ad.Int32()
			}
		}
		return id, ad.Err()
	}
	return -1, nil
}

var nlMacvlanModes = map[string]driver.MacvlanMode{
	"private":  driver.MacvlanModePrivate,
	"vepa":     driver.MacvlanModeVEPA,
	"bridge":   driver.MacvlanModeBridge,
	"passthru": driver.MacvlanModePassthru,
	"source":   driver.MacvlanModeSource,
}

// Links lists the links of ns with their kind and kind parameters.
func (n *Netlink) Links(ns string) ([]Link, error) {
	lms, err := n.dumpLinks(ns)
	if err != nil {
		return nil, err
	}
	byIndex := map[uint32]string{}
	for _, lm := range lms {
		byIndex[lm.m.Index] = lm.m.Attributes.Name
	}
	res := &nsResolver{n: n, from: ns}
	links := make([]Link, 0, len(lms))
	for _, lm := range lms {
		a := lm.m.Attributes
		l := Link{
			Name:    a.Name,
			Index:   int32(lm.m.Index),
			Kind:    KindDevice,
			Up:      lm.m.Flags&unix.IFF_UP != 0,
			MTU:     a.MTU,
			Address: a.Address,
		}
		if a.Master != nil && *a.Master != 0 {
			l.Master = byIndex[*a.Master]
		}
		if a.Alias != nil {
			l.Alias = *a.Alias
		}
		lower := func() string { // IFLA_LINK as a name in this namespace
			if !lm.raw.hasLink || lm.raw.netnsID >= 0 {
				return "?"
			}
			if s, ok := byIndex[lm.raw.link]; ok {
				return s
			}
			return "?"
		}
		switch lm.raw.infoKind {
		case "":
		case "veth":
			l.Kind = KindVeth
			l.Veth = &Veth{Peer: "?"}
			if lm.raw.hasLink {
				if lm.raw.netnsID < 0 {
					if s, ok := byIndex[lm.raw.link]; ok {
						l.Veth.Peer = s
					}
				} else {
					peerNS := res.name(lm.raw.netnsID)
					l.Veth.PeerNetns = peerNS
					if peerNS != "?" {
						if pl, err := n.getLink(peerNS, &rtnetlink.LinkMessage{Index: lm.raw.link}); err == nil {
							l.Veth.Peer = pl.m.Attributes.Name
						}
						if peerNS == Host {
							l.Veth.PeerNetns = HostName
						}
					}
				}
			}
		case "bridge":
			l.Kind = KindBridge
		case "vxlan":
			l.Kind = KindVXLAN
			l.VXLAN = &VXLAN{}
			if a.Info != nil {
				if d, ok := a.Info.Data.(*driver.Vxlan); ok {
					l.VXLAN = nlVXLANFrom(d, byIndex)
				}
			}
		case "macvlan":
			l.Kind = KindMacvlan
			l.Macvlan = &Macvlan{Dev: lower()}
			if a.Info != nil {
				if d, ok := a.Info.Data.(*driver.Macvlan); ok && d.Mode != nil {
					l.Macvlan.Mode = d.Mode.String()
				}
			}
		case "tun":
			l.Kind, l.Tun = nlDecodeTun(lm.raw.infoData)
			if l.Kind == KindTun && n.isUserspaceWG(ns, l.Name) {
				l.Kind, l.Tun, l.Userspace = KindWireGuard, nil, true
			}
		case "wireguard":
			l.Kind = KindWireGuard
		default:
			l.Kind = lm.raw.infoKind
		}
		links = append(links, l)
	}
	return links, nil
}

// isUserspaceWG reports whether tun link name in ns is served by nets'
// userspace WireGuard helper: the WireGuard engineer's hook decides when
// present; otherwise a UAPI socket of that name in WireGuardDir says so.
func (n *Netlink) isUserspaceWG(ns, name string) bool {
	if userspaceWGIs != nil {
		return userspaceWGIs(n, ns, name)
	}
	_, err := os.Stat(filepath.Join(n.wgDir, name+".sock"))
	return err == nil
}

func nlVXLANFrom(d *driver.Vxlan, byIndex map[uint32]string) *VXLAN {
	v := &VXLAN{}
	if d.ID != nil {
		v.ID = *d.ID
	}
	addr := func(ip net.IP) netip.Addr {
		a, _ := netip.AddrFromSlice(ip)
		return a.Unmap()
	}
	for _, g := range []net.IP{d.Group, d.Group6} {
		if len(g) == 0 {
			continue
		}
		if a := addr(g); a.IsMulticast() {
			v.Group = a
		} else if a.IsValid() && !a.IsUnspecified() {
			v.Remote = a
		}
	}
	for _, l := range []net.IP{d.Local, d.Local6} {
		if a := addr(l); len(l) > 0 && a.IsValid() && !a.IsUnspecified() {
			v.Local = a
		}
	}
	if d.Link != nil && *d.Link != 0 {
		v.Dev = byIndex[*d.Link]
	}
	if d.Port != nil {
		v.DstPort = *d.Port
	}
	return v
}

// nlDecodeTun reads IFLA_INFO_DATA of a tun/tap link (rtnetlink has no tun
// driver, so this decodes the three attributes it needs itself).
func nlDecodeTun(b []byte) (string, *Tun) {
	kind, t := KindTun, &Tun{User: -1, Group: -1}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return kind, t
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_TUN_TYPE:
			if ad.Uint8() == unix.IFF_TAP {
				kind = KindTap
			}
		case unix.IFLA_TUN_OWNER:
			t.User = int(int32(ad.Uint32()))
		case unix.IFLA_TUN_GROUP:
			t.Group = int(int32(ad.Uint32()))
		}
	}
	return kind, t
}

// AddLink creates l in ns. Kind parameters and MTU/address go into the
// creating request; up, master and alias are applied right after, and
// the link is deleted again if that fails. A bridge's MTU is set right
// after creation too, because only an MTU set on an existing bridge
// stays when ports join (see the Model's rule).
func (n *Netlink) AddLink(ns string, l Link) error {
	op := "add link " + l.Name
	if l.Name == "" {
		return nlOpErr(op, ns, nil, "link needs a name")
	}
	switch l.Kind {
	case KindTun, KindTap:
		if err := n.addTun(ns, l); err != nil {
			return err
		}
	case KindWireGuard:
		if err := n.addWireGuard(ns, l); err != nil {
			return err
		}
	case KindBridge:
		// A bridge's MTU given in RTM_NEWLINK is not "set by the user":
		// the kernel re-derives it (the smallest MTU of its ports) as
		// soon as a port joins, so `link br0 type bridge mtu 9000` would
		// not hold once ports are added. An MTU set with RTM_SETLINK
		// afterwards sticks (br_mtu_auto_adjust stops), so it is set
		// below with the other attributes. Measured on Linux 6.18 with
		// ip(8): `ip link add br0 mtu 9000 type bridge` + a 1400 port
		// gives 1400; `ip link set br0 mtu 9000` then stays 9000.
		create := l
		create.MTU = 0
		if err := n.addLinkNetlink(ns, create); err != nil {
			return err
		}
	default:
		if err := n.addLinkNetlink(ns, l); err != nil {
			return err
		}
	}
	ch := LinkChange{}
	if l.Up {
		up := true
		ch.Up = &up
	}
	if l.Master != "" {
		ch.Master = &l.Master
	}
	if l.Alias != "" {
		ch.Alias = &l.Alias
	}
	if l.Kind == KindBridge && l.MTU != 0 {
		ch.MTU = &l.MTU
	}
	if l.Kind == KindTun || l.Kind == KindTap || l.Kind == KindWireGuard {
		if l.MTU != 0 {
			ch.MTU = &l.MTU
		}
		if l.Address != nil {
			ch.Address = l.Address
		}
	}
	if ch.Up != nil || ch.Master != nil || ch.Alias != nil || ch.MTU != nil || ch.Address != nil {
		if err := n.SetLink(ns, l.Name, ch); err != nil {
			_ = n.DelLink(ns, l.Name)
			return err
		}
	}
	return nil
}

func (n *Netlink) addLinkNetlink(ns string, l Link) error {
	op := "add link " + l.Name + " type " + l.Kind
	attrs := &rtnetlink.LinkAttributes{Name: l.Name, MTU: l.MTU, Address: l.Address}
	switch l.Kind {
	case KindVeth:
		if l.Veth == nil || l.Veth.Peer == "" {
			return nlOpErr(op, ns, nil, "veth needs a peer name")
		}
		peer := &rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{Name: l.Veth.Peer}}
		if pns := l.Veth.PeerNetns; pns != "" && pns != ns && !(pns == HostName && ns == Host) {
			if pns == HostName {
				pns = Host
			}
			f, err := n.OpenNS(pns)
			if err != nil {
				return err
			}
			defer f.Close() // open until the request is done
			peer.Attributes.NetNS = rtnetlink.NetNSForFD(uint32(f.Fd()))
		}
		attrs.Info = &rtnetlink.LinkInfo{Kind: "veth", Data: &driver.Veth{PeerInfo: peer}}
	case KindBridge:
		attrs.Info = &rtnetlink.LinkInfo{Kind: "bridge"}
	case KindVXLAN:
		if l.VXLAN == nil {
			return nlOpErr(op, ns, nil, "vxlan needs an id")
		}
		v := l.VXLAN
		d := &driver.Vxlan{ID: &v.ID}
		for _, a := range []netip.Addr{v.Remote, v.Group} {
			if !a.IsValid() {
				continue
			}
			if a.Is4() {
				d.Group = a.AsSlice()
			} else {
				d.Group6 = a.AsSlice()
			}
		}
		if v.Local.IsValid() {
			if v.Local.Is4() {
				d.Local = v.Local.AsSlice()
			} else {
				d.Local6 = v.Local.AsSlice()
			}
		}
		if v.Dev != "" {
			idx, err := n.linkIndex(ns, v.Dev)
			if err != nil {
				return err
			}
			d.Link = &idx
		}
		if v.DstPort != 0 {
			d.Port = &v.DstPort
		}
		attrs.Info = &rtnetlink.LinkInfo{Kind: "vxlan", Data: d}
	case KindMacvlan:
		if l.Macvlan == nil || l.Macvlan.Dev == "" {
			return nlOpErr(op, ns, nil, "macvlan needs a lower device (dev)")
		}
		idx, err := n.linkIndex(ns, l.Macvlan.Dev)
		if err != nil {
			return err
		}
		attrs.Type = idx // rtnetlink encodes this field as IFLA_LINK
		d := &driver.Macvlan{}
		if l.Macvlan.Mode != "" {
			m, ok := nlMacvlanModes[l.Macvlan.Mode]
			if !ok {
				return nlOpErr(op, ns, nil, "unknown macvlan mode %q", l.Macvlan.Mode)
			}
			d.Mode = &m
		}
		attrs.Info = &rtnetlink.LinkInfo{Kind: "macvlan", Data: d}
	case "", KindDevice:
		return nlOpErr(op, ns, ErrNotSupp, "a link of kind %q cannot be created", l.Kind)
	default:
		attrs.Info = &rtnetlink.LinkInfo{Kind: l.Kind}
	}
	body := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: attrs}
	return n.request(op, ns, unix.RTM_NEWLINK, netlink.Create|netlink.Excl, body)
}

// addTun creates a persistent tun or tap device as `ip tuntap add` does:
// TUNSETIFF, TUNSETOWNER/TUNSETGROUP and TUNSETPERSIST on /dev/net/tun,
// done on a thread inside ns because the device is created in the
// namespace of the opener. There is no netlink way to create one.
func (n *Netlink) addTun(ns string, l Link) error {
	op := "add link " + l.Name + " type " + l.Kind
	// TUNSETIFF attaches to an existing persistent device of that name
	// instead of failing, so check first.
	if _, err := n.linkIndex(ns, l.Name); err == nil {
		return &Error{Op: op, NS: ns, Err: unix.EEXIST, Kind: ErrExist}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	t := l.Tun
	if t == nil {
		t = &Tun{User: -1, Group: -1}
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if l.Kind == KindTap {
		flags = unix.IFF_TAP | unix.IFF_NO_PI
	}
	err := n.Do(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq(l.Name)
		if err != nil {
			return err
		}
		ifr.SetUint16(flags)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			return fmt.Errorf("TUNSETIFF: %w", err)
		}
		if t.User >= 0 {
			if err := unix.IoctlSetInt(fd, unix.TUNSETOWNER, t.User); err != nil {
				return fmt.Errorf("TUNSETOWNER %d: %w", t.User, err)
			}
		}
		if t.Group >= 0 {
			if err := unix.IoctlSetInt(fd, unix.TUNSETGROUP, t.Group); err != nil {
				return fmt.Errorf("TUNSETGROUP %d: %w", t.Group, err)
			}
		}
		if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
			return fmt.Errorf("TUNSETPERSIST: %w", err)
		}
		return nil
	})
	if err != nil {
		// Closing the fd of a non-persistent device removed it.
		return nlWrap(op, ns, err)
	}
	return nil
}

// addWireGuard creates a kernel WireGuard link, or, when the kernel has
// no WireGuard support, a userspace device through the WireGuard hook.
func (n *Netlink) addWireGuard(ns string, l Link) error {
	op := "add link " + l.Name + " type wireguard"
	var kerr error
	if !l.Userspace {
		attrs := &rtnetlink.LinkAttributes{Name: l.Name, MTU: l.MTU, Address: l.Address,
			Info: &rtnetlink.LinkInfo{Kind: "wireguard"}}
		body := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: attrs}
		kerr = n.request(op, ns, unix.RTM_NEWLINK, netlink.Create|netlink.Excl, body)
		if kerr == nil || !errors.Is(kerr, ErrNotSupp) {
			return kerr
		}
	}
	if userspaceWGStart == nil {
		if kerr != nil {
			return kerr
		}
		return nlOpErr(op, ns, ErrNotSupp, "no userspace WireGuard implementation")
	}
	if _, err := n.linkIndex(ns, l.Name); err == nil {
		return &Error{Op: op, NS: ns, Err: unix.EEXIST, Kind: ErrExist}
	}
	return nlWrap(op, ns, userspaceWGStart(n, ns, l.Name))
}

// SetLink changes attributes of link name in place. The namespace move,
// if any, comes last.
func (n *Netlink) SetLink(ns, name string, ch LinkChange) error {
	op := "set link " + name
	attrs := &rtnetlink.LinkAttributes{Name: name}
	msg := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: attrs}
	any := false
	if ch.Up != nil {
		msg.Change = unix.IFF_UP
		if *ch.Up {
			msg.Flags = unix.IFF_UP
		}
		any = true
	}
	if ch.MTU != nil {
		if *ch.MTU == 0 {
			return nlOpErr(op, ns, nil, "mtu 0")
		}
		attrs.MTU, any = *ch.MTU, true
	}
	if ch.Address != nil {
		attrs.Address, any = ch.Address, true
	}
	if ch.Alias != nil {
		attrs.Alias, any = ch.Alias, true
	}
	if ch.Master != nil {
		var idx uint32
		if *ch.Master != "" {
			var err error
			if idx, err = n.linkIndex(ns, *ch.Master); err != nil {
				return err
			}
		}
		attrs.Master, any = &idx, true
	}
	if any {
		if err := n.request(op, ns, unix.RTM_NEWLINK, 0, msg); err != nil {
			return err
		}
	}
	if ch.Mode != nil {
		m, ok := nlMacvlanModes[*ch.Mode]
		if !ok {
			return nlOpErr(op, ns, nil, "unknown macvlan mode %q", *ch.Mode)
		}
		body := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{
			Name: name, Info: &rtnetlink.LinkInfo{Kind: "macvlan", Data: &driver.Macvlan{Mode: &m}}}}
		if err := n.request(op+" mode "+*ch.Mode, ns, unix.RTM_NEWLINK, 0, body); err != nil {
			return err
		}
	}
	if ch.Netns != nil {
		target := *ch.Netns
		if target == HostName {
			target = Host
		}
		f, err := n.OpenNS(target)
		if err != nil {
			return err
		}
		defer f.Close()
		body := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{
			Name: name, NetNS: rtnetlink.NetNSForFD(uint32(f.Fd()))}}
		if err := n.request(op+" netns "+*ch.Netns, ns, unix.RTM_NEWLINK, 0, body); err != nil {
			return err
		}
	}
	return nil
}

// DelLink deletes link name (both ends of a veth; a userspace WireGuard
// device by stopping its helper).
func (n *Netlink) DelLink(ns, name string) error {
	op := "del link " + name
	if userspaceWGStop != nil {
		if lm, err := n.getLink(ns, &rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{Name: name}}); err == nil &&
			lm.raw.infoKind == "tun" && n.isUserspaceWG(ns, name) {
			return nlWrap(op, ns, userspaceWGStop(n, ns, name))
		}
	}
	body := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{Name: name}}
	return n.request(op, ns, unix.RTM_DELLINK, 0, body)
}
