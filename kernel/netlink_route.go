package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Routes lists the IPv4 and IPv6 routes of every table of ns (cloned
// cache entries excluded). The table is read from RTA_TABLE, since the
// header's one-byte field says 252 (RT_TABLE_COMPAT) for ids ≥ 256.
func (n *Netlink) Routes(ns string) ([]Route, error) {
	names, err := n.linkNames(ns)
	if err != nil {
		return nil, err
	}
	var dumps [2][]netlink.Message
	fams := [2]uint8{unix.AF_INET, unix.AF_INET6}
	for i, fam := range fams {
		if dumps[i], err = n.dump("list routes", ns, unix.RTM_GETROUTE, &rtnetlink.RouteMessage{Family: fam}); err != nil {
			return nil, err
		}
	}
	out := make([]Route, 0, len(dumps[0])+len(dumps[1])) // one allocation for a table of any size
	for i, fam := range fams {
		for _, m := range dumps[i] {
			if m.Header.Type != unix.RTM_NEWROUTE {
				continue
			}
			rm, ok := decodeRouteMsg(m.Data)
			if !ok {
				// Something the fast decoder does not take: rtnetlink
				// decides, and reports what it cannot decode.
				var lm rtnetlink.RouteMessage
				if err := lm.UnmarshalBinary(m.Data); err != nil {
					return nil, nlWrap("list routes: decode", ns, err)
				}
				rm = routeMsgOf(&lm)
			}
			if rm.family != fam || rm.flags&unix.RTM_F_CLONED != 0 {
				continue
			}
			out = append(out, rm.route(names))
		}
		dumps[i] = nil
	}
	if len(out) == 0 {
		return nil, nil // as before: no routes is a nil list
	}
	return out, nil
}

// routeMsg is what Routes reads of an RTM_NEWROUTE message.
type routeMsg struct {
	family, dstLen, tos, table, proto, scope, typ uint8
	flags                                         uint32
	dst, src, gw                                  net.IP
	oif, prio, tableAttr, mtu                     uint32
}

// routeMsgOf takes what Routes reads from a message rtnetlink decoded.
func routeMsgOf(lm *rtnetlink.RouteMessage) routeMsg {
	at := lm.Attributes
	m := routeMsg{family: lm.Family, dstLen: lm.DstLength, tos: lm.Tos, table: lm.Table, proto: lm.Protocol,
		scope: lm.Scope, typ: lm.Type, flags: lm.Flags, dst: at.Dst, src: at.Src, gw: at.Gateway,
		oif: at.OutIface, prio: at.Priority, tableAttr: at.Table}
	if at.Metrics != nil {
		m.mtu = at.Metrics.MTU
	}
	return m
}

// decodeRouteMsg decodes b, an RTM_NEWROUTE message body, as rtnetlink's
// RouteMessage.UnmarshalBinary does, without allocating (addresses point
// into b): a dump of a full table decodes 100k of them. It reports false
// for anything it does not take exactly as rtnetlink does (malformed or
// unusual attributes, RTA_MULTIPATH), which the caller then hands to
// rtnetlink. TestDecodeRouteMsg compares the two on every route shape
// and on corrupted messages.
func decodeRouteMsg(b []byte) (routeMsg, bool) {
	ne := binary.NativeEndian
	if len(b) < unix.SizeofRtMsg {
		return routeMsg{}, false
	}
	m := routeMsg{family: b[0], dstLen: b[1], tos: b[3], table: b[4], proto: b[5], scope: b[6], typ: b[7],
		flags: ne.Uint32(b[8:12])}
	for a := b[unix.SizeofRtMsg:]; len(a) > 0; {
		if len(a) < 4 {
			return routeMsg{}, false
		}
		l := int(ne.Uint16(a))
		if l < 4 || l > len(a) {
			return routeMsg{}, false
		}
		typ, data := ne.Uint16(a[2:])&^(netlink.Nested|netlink.NetByteOrder), a[4:l]
		a = a[min(len(a), (l+3)&^3):]
		switch typ {
		case unix.RTA_DST, unix.RTA_PREFSRC, unix.RTA_GATEWAY:
			if len(data) != 4 && len(data) != 16 {
				return routeMsg{}, false
			}
			ip := net.IP(data[:len(data):len(data)])
			switch typ {
			case unix.RTA_DST:
				m.dst = ip
			case unix.RTA_PREFSRC:
				m.src = ip
			default:
				m.gw = ip
			}
		case unix.RTA_OIF, unix.RTA_PRIORITY, unix.RTA_TABLE, unix.RTA_MARK, unix.RTA_EXPIRES:
			if len(data) != 4 {
				return routeMsg{}, false
			}
			switch v := ne.Uint32(data); typ {
			case unix.RTA_OIF:
				m.oif = v
			case unix.RTA_PRIORITY:
				m.prio = v
			case unix.RTA_TABLE:
				m.tableAttr = v
			}
		case unix.RTA_PREF:
			if len(data) != 1 {
				return routeMsg{}, false
			}
		case unix.RTA_VIA:
			if len(data) < 2 {
				return routeMsg{}, false
			}
		case unix.RTA_METRICS:
			mtu, ok := decodeRouteMetrics(data)
			if !ok {
				return routeMsg{}, false
			}
			m.mtu = mtu
		case unix.RTA_MULTIPATH:
			return routeMsg{}, false
		}
	}
	return m, true
}

// decodeRouteMetrics decodes RTA_METRICS as rtnetlink does and returns
// RTAX_MTU; false for what rtnetlink might refuse.
func decodeRouteMetrics(b []byte) (uint32, bool) {
	ne := binary.NativeEndian
	mtu := uint32(0)
	for len(b) > 0 {
		if len(b) < 4 {
			return 0, false
		}
		l := int(ne.Uint16(b))
		if l < 4 || l > len(b) {
			return 0, false
		}
		typ, data := ne.Uint16(b[2:])&^(netlink.Nested|netlink.NetByteOrder), b[4:l]
		b = b[min(len(b), (l+3)&^3):]
		switch typ {
		case unix.RTAX_ADVMSS, unix.RTAX_FEATURES, unix.RTAX_INITCWND, unix.RTAX_INITRWND, unix.RTAX_MTU:
			if len(data) != 4 {
				return 0, false
			}
			if typ == unix.RTAX_MTU {
				mtu = ne.Uint32(data)
			}
		}
	}
	return mtu, true
}

// route is the Route m describes, its output interface named through
// names.
func (m *routeMsg) route(names map[uint32]string) Route {
	fam := m.family
	r := Route{
		Table:    uint32(m.table),
		TOS:      m.tos,
		Priority: m.prio,
		Type:     RouteType(m.typ),
		Gateway:  nlAddr(m.gw, fam),
		Src:      nlAddr(m.src, fam),
		Protocol: m.proto,
		Scope:    Scope(m.scope),
		OnLink:   m.flags&unix.RTNH_F_ONLINK != 0,
	}
	if m.tableAttr != 0 {
		r.Table = m.tableAttr
	}
	dst := nlAddr(m.dst, fam)
	if !dst.IsValid() {
		dst = netip.IPv4Unspecified()
		if fam == unix.AF_INET6 {
			dst = netip.IPv6Unspecified()
		}
	}
	r.Dst = netip.PrefixFrom(dst, int(m.dstLen))
	if m.oif != 0 {
		r.Dev = names[m.oif]
	}
	r.MTU = m.mtu
	return r
}

func nlRouteOp(verb string, r Route) string {
	s := fmt.Sprintf("%s route %v", verb, r.Dst)
	if r.Table != 0 && r.Table != TableMain {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Priority != 0 {
		s += fmt.Sprintf(" metric %d", r.Priority)
	}
	return s
}

// nlRouteKey fills the identity part of a route message: family, dst,
// tos, table (RT_TABLE_UNSPEC in the header plus RTA_TABLE for ids that
// do not fit a byte) and priority.
func nlRouteKey(r Route) (*rtnetlink.RouteMessage, error) {
	if !r.Dst.IsValid() {
		return nil, fmt.Errorf("invalid destination")
	}
	table := r.Table
	if table == TableUnspec {
		table = TableMain
	}
	dst := r.Dst.Masked()
	m := &rtnetlink.RouteMessage{
		Family:    nlFamily(dst.Addr()),
		DstLength: uint8(dst.Bits()),
		Tos:       r.TOS,
		Attributes: rtnetlink.RouteAttributes{
			Table:    table,
			Priority: r.Priority,
		},
	}
	if table < 256 {
		m.Table = uint8(table)
	}
	if m.Family == unix.AF_INET6 && m.Attributes.Priority == 0 {
		// The kernel stores IPv6 metric 0 as 1024 (IP6_RT_PRIO_USER);
		// say so, so that a delete does not match any metric.
		m.Attributes.Priority = 1024
	}
	if dst.Bits() > 0 || !dst.Addr().IsUnspecified() {
		m.Attributes.Dst = nlIP(dst.Addr())
	}
	return m, nil
}

// nlRouteAttrs fills in everything of an RTM_NEWROUTE message for r but
// its identity (nlRouteKey) and the output interface, which AddRoute and
// the pipelined RouteBatch resolve each their own way.
func nlRouteAttrs(m *rtnetlink.RouteMessage, r Route) {
	m.Type = uint8(r.Type)
	if m.Type == 0 {
		m.Type = unix.RTN_UNICAST
	}
	m.Protocol, m.Scope = r.Protocol, uint8(r.Scope)
	if r.OnLink {
		m.Flags |= unix.RTNH_F_ONLINK
	}
	if r.Gateway.IsValid() {
		m.Attributes.Gateway = nlIP(r.Gateway)
		if r.Gateway.Is4() != r.Dst.Addr().Is4() {
			// A next hop of the other family (RFC 5549) goes in RTA_VIA.
			m.Attributes.Gateway = nil
			m.Attributes.Via = &rtnetlink.RouteVia{Family: uint16(nlFamily(r.Gateway)), Addr: nlIP(r.Gateway)}
		}
	}
	if r.Src.IsValid() {
		m.Attributes.Src = nlIP(r.Src)
	}
	if r.MTU != 0 {
		m.Attributes.Metrics = &rtnetlink.RouteMetrics{MTU: r.MTU}
	}
}

// AddRoute adds r (NLM_F_EXCL), or with replace replaces the route with
// r's identity (NLM_F_REPLACE, creating it when absent). A zero Type
// means unicast.
func (n *Netlink) AddRoute(ns string, r Route, replace bool) error {
	op := nlRouteOp("add", r)
	m, err := nlRouteKey(r)
	if err != nil {
		return nlOpErr(op, ns, nil, "%v", err)
	}
	nlRouteAttrs(m, r)
	if r.Dev != "" {
		idx, err := n.linkIndex(ns, r.Dev)
		if err != nil {
			return nlWrap(op, ns, err)
		}
		m.Attributes.OutIface = idx
	}
	flags := netlink.Create | netlink.Excl
	if replace {
		flags = netlink.Create | netlink.Replace
	}
	err = n.request(op, ns, unix.RTM_NEWROUTE, flags, m)
	if err != nil && r.Src.Is6() && errors.Is(err, unix.EINVAL) && n.tentative(ns, r.Src) {
		// An IPv6 source address is usable only once duplicate address
		// detection has ended (about a second after it was added on a
		// link with carrier): `addr X; route ... src X` in one recipe
		// would otherwise fail every time. Wait for it, bounded.
		deadline := time.Now().Add(dadWait)
		for time.Now().Before(deadline) && n.tentative(ns, r.Src) {
			time.Sleep(50 * time.Millisecond)
		}
		if n.tentative(ns, r.Src) {
			var ke *Error
			if errors.As(err, &ke) {
				ke.Message = strings.TrimPrefix(ke.Message+"; ", "; ") +
					fmt.Sprintf("source %v is still tentative after %v (duplicate address detection; does its link have carrier?)", r.Src, dadWait)
			}
			return err
		}
		err = n.request(op, ns, unix.RTM_NEWROUTE, flags, m)
	}
	return err
}

// dadWait bounds how long AddRoute waits for an IPv6 source address to
// finish duplicate address detection.
const dadWait = 5 * time.Second

// tentative reports whether ip is an address of ns that is still
// tentative (IFA_F_TENTATIVE: duplicate address detection running).
func (n *Netlink) tentative(ns string, ip netip.Addr) bool {
	fam := nlFamily(ip)
	msgs, err := n.dump("list addresses", ns, unix.RTM_GETADDR, &rtnetlink.AddressMessage{Family: fam})
	if err != nil {
		return false
	}
	for _, msg := range msgs {
		var am rtnetlink.AddressMessage
		if msg.Header.Type != unix.RTM_NEWADDR || am.UnmarshalBinary(msg.Data) != nil || am.Attributes == nil {
			continue
		}
		local := nlAddr(am.Attributes.Local, fam)
		if !local.IsValid() {
			local = nlAddr(am.Attributes.Address, fam)
		}
		if local == ip {
			return (uint32(am.Flags)|am.Attributes.Flags)&unix.IFA_F_TENTATIVE != 0
		}
	}
	return false
}

// DelRoute deletes the route with r's identity: type RTN_UNSPEC and scope
// RT_SCOPE_NOWHERE match any type and scope, as iproute2 sends them. As
// with `ip route del`, a zero Priority on an IPv4 route matches any
// metric (the kernel picks the lowest); on IPv6 it means 1024, the metric
// the kernel gave the route.
func (n *Netlink) DelRoute(ns string, r Route) error {
	op := nlRouteOp("del", r)
	m, err := nlRouteKey(r)
	if err != nil {
		return nlOpErr(op, ns, nil, "%v", err)
	}
	m.Type, m.Scope = unix.RTN_UNSPEC, unix.RT_SCOPE_NOWHERE
	return n.request(op, ns, unix.RTM_DELROUTE, 0, m)
}
