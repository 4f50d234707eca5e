package kernel

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func nlFamily(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func nlIP(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

func nlAddr(ip net.IP, fam uint8) netip.Addr {
	if len(ip) == 0 {
		return netip.Addr{}
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	if fam == unix.AF_INET {
		return a.Unmap()
	}
	return a
}

// linkNames maps ifindex to name for ns.
func (n *Netlink) linkNames(ns string) (map[uint32]string, error) {
	lms, err := n.dumpLinks(ns)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32]string, len(lms))
	for _, lm := range lms {
		m[lm.m.Index] = lm.m.Attributes.Name
	}
	return m, nil
}

// Addrs lists the IPv4 and IPv6 addresses of ns.
//
// A point-to-point address reads back with Prefix = the local address
// as a host prefix (/32, /128) and Peer = the peer with the prefix length
// the kernel keeps for it, as `ip addr` shows `inet A peer P/len`. A v4
// label equal to the link's name (the kernel's default) reads as "".
func (n *Netlink) Addrs(ns string) ([]Addr, error) {
	names, err := n.linkNames(ns)
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		msgs, err := n.dump("list addresses", ns, unix.RTM_GETADDR, &rtnetlink.AddressMessage{Family: fam})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWADDR {
				continue
			}
			var am rtnetlink.AddressMessage
			if err := am.UnmarshalBinary(m.Data); err != nil {
				return nil, nlWrap("list addresses: decode", ns, err)
			}
			if am.Family != fam || am.Attributes == nil {
				continue
			}
			at := am.Attributes
			a := Addr{Link: names[am.Index], Scope: Scope(am.Scope)}
			local, addr := nlAddr(at.Local, fam), nlAddr(at.Address, fam)
			switch {
			case local.IsValid() && addr.IsValid() && local != addr:
				a.Prefix = netip.PrefixFrom(local, local.BitLen())
				a.Peer = netip.PrefixFrom(addr, int(am.PrefixLength))
			case local.IsValid():
				a.Prefix = netip.PrefixFrom(local, int(am.PrefixLength))
			default:
				a.Prefix = netip.PrefixFrom(addr, int(am.PrefixLength))
			}
			a.Proto = nlAddrProto(m.Data)
			if fam == unix.AF_INET {
				a.Broadcast = nlAddr(at.Broadcast, fam)
				if at.Label != a.Link {
					a.Label = at.Label
				}
			}
			out = append(out, a)
		}
	}
	return out, nil
}

func (n *Netlink) addrMsg(ns string, a Addr) (*rtnetlink.AddressMessage, error) {
	if !a.Prefix.IsValid() {
		return nil, nlOpErr("address", ns, nil, "invalid address prefix")
	}
	idx, err := n.linkIndex(ns, a.Link)
	if err != nil {
		return nil, err
	}
	local := a.Prefix.Addr()
	m := &rtnetlink.AddressMessage{
		Family:       nlFamily(local),
		PrefixLength: uint8(a.Prefix.Bits()),
		Scope:        uint8(a.Scope),
		Index:        idx,
		Attributes:   &rtnetlink.AddressAttributes{Local: nlIP(local), Address: nlIP(local)},
	}
	if a.Peer.IsValid() {
		if a.Peer.Addr().Is4() != local.Is4() {
			return nil, nlOpErr("address", ns, nil, "peer %v and address %v differ in family", a.Peer, local)
		}
		// As iproute2: with a peer the prefix length is the peer's.
		m.PrefixLength = uint8(a.Peer.Bits())
		m.Attributes.Address = nlIP(a.Peer.Addr())
	}
	if a.Broadcast.IsValid() {
		m.Attributes.Broadcast = nlIP(a.Broadcast)
	}
	m.Attributes.Label = a.Label
	return m, nil
}

func nlAddrOp(verb string, a Addr) string {
	s := fmt.Sprintf("%s address %v", verb, a.Prefix)
	if a.Peer.IsValid() {
		s += fmt.Sprintf(" peer %v", a.Peer)
	}
	return s + " dev " + a.Link
}

// AddAddr adds a (NLM_F_EXCL); with replace it sends NLM_F_REPLACE,
// which succeeds on an existing address but, as measured on Linux 6.18,
// changes only its flags, lifetimes and metric: label, broadcast and
// scope of an existing address stay as they were (v4 and v6), so
// changing those takes a delete and an add.
func (n *Netlink) AddAddr(ns string, a Addr, replace bool) error {
	op := nlAddrOp("add", a)
	m, err := n.addrMsg(ns, a)
	if err != nil {
		return nlWrap(op, ns, err)
	}
	flags := netlink.Create | netlink.Excl
	if replace {
		flags = netlink.Create | netlink.Replace
	}
	return n.request(op, ns, unix.RTM_NEWADDR, flags, m)
}

// DelAddr deletes the address with a's identity.
func (n *Netlink) DelAddr(ns string, a Addr) error {
	op := nlAddrOp("del", a)
	m, err := n.addrMsg(ns, a)
	if err != nil {
		return nlWrap(op, ns, err)
	}
	m.Attributes.Broadcast, m.Attributes.Label, m.Scope = nil, "", 0
	return n.request(op, ns, unix.RTM_DELADDR, 0, m)
}

// Neighs lists the IPv4 and IPv6 neighbour entries of ns that have a
// link-layer address. Entries for multicast addresses (which the kernel
// makes itself, e.g. ff02::16 nud noarp for MLD, and which cannot be
// configured) and unresolved ones (incomplete, failed) are left out.
func (n *Netlink) Neighs(ns string) ([]Neigh, error) {
	names, err := n.linkNames(ns)
	if err != nil {
		return nil, err
	}
	var out []Neigh
	for _, fam := range []uint16{unix.AF_INET, unix.AF_INET6} {
		msgs, err := n.dump("list neighbours", ns, unix.RTM_GETNEIGH, &rtnetlink.NeighMessage{Family: fam})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWNEIGH {
				continue
			}
			var nm rtnetlink.NeighMessage
			if err := nm.UnmarshalBinary(m.Data); err != nil {
				return nil, nlWrap("list neighbours: decode", ns, err)
			}
			if nm.Family != fam || nm.Attributes == nil {
				continue
			}
			ip := nlAddr(nm.Attributes.Address, uint8(fam))
			if ip.IsMulticast() || nm.State&(unix.NUD_INCOMPLETE|unix.NUD_FAILED) != 0 || nm.State == unix.NUD_NONE {
				continue
			}
			out = append(out, Neigh{
				Link:   names[nm.Index],
				IP:     ip,
				LLAddr: nm.Attributes.LLAddress,
				State:  NeighState(nm.State),
			})
		}
	}
	return out, nil
}

func (n *Netlink) neighMsg(ns string, nb Neigh) (*rtnetlink.NeighMessage, error) {
	if !nb.IP.IsValid() {
		return nil, nlOpErr("neighbour", ns, nil, "invalid neighbour address")
	}
	idx, err := n.linkIndex(ns, nb.Link)
	if err != nil {
		return nil, err
	}
	return &rtnetlink.NeighMessage{
		Family:     uint16(nlFamily(nb.IP)),
		Index:      idx,
		Attributes: &rtnetlink.NeighAttributes{Address: nlIP(nb.IP)},
	}, nil
}

// SetNeigh adds or replaces n (state permanent when n.State is 0).
func (n *Netlink) SetNeigh(ns string, nb Neigh) error {
	op := fmt.Sprintf("set neighbour %v dev %s", nb.IP, nb.Link)
	m, err := n.neighMsg(ns, nb)
	if err != nil {
		return nlWrap(op, ns, err)
	}
	m.State = uint16(nb.State)
	if m.State == 0 {
		m.State = uint16(NeighPermanent)
	}
	m.Attributes.LLAddress = nb.LLAddr
	return n.request(op, ns, unix.RTM_NEWNEIGH, netlink.Create|netlink.Replace, m)
}

// DelNeigh deletes the entry with nb's identity.
func (n *Netlink) DelNeigh(ns string, nb Neigh) error {
	op := fmt.Sprintf("del neighbour %v dev %s", nb.IP, nb.Link)
	m, err := n.neighMsg(ns, nb)
	if err != nil {
		return nlWrap(op, ns, err)
	}
	return n.request(op, ns, unix.RTM_DELNEIGH, 0, m)
}

// ifaProto is IFA_PROTO (linux/if_addr.h, Linux ≥ 5.18), which
// golang.org/x/sys/unix and rtnetlink's AddressAttributes do not have:
// who made the address (see Addr.Proto).
const ifaProto = 11

// nlAddrProto returns the IFA_PROTO attribute of an RTM_NEWADDR message
// body (0 when absent). rtnetlink's decoder skips attributes it does not
// know, so this reads the attributes after the ifaddrmsg header with
// netlink's attribute decoder.
func nlAddrProto(b []byte) uint8 {
	if len(b) < unix.SizeofIfAddrmsg {
		return 0
	}
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfAddrmsg:])
	if err != nil {
		return 0
	}
	var p uint8
	for ad.Next() {
		if ad.Type() == ifaProto && len(ad.Bytes()) == 1 {
			p = ad.Uint8()
		}
	}
	if ad.Err() != nil {
		return 0
	}
	return p
}
