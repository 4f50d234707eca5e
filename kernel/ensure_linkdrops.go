package kernel

import "net/netip"

// Notes of the '-' changes a link change makes the kernel make by itself.
const (
	noteDropDown = "the kernel drops it when the link goes down"
	noteDropIPv6 = "the kernel drops it: an mtu below 1280 disables IPv6 on the link"
)

// linkDrops lists, as '-' changes with a note saying why, the
// dependents of link cur (in ns) that the kernel deletes by itself when
// ch is applied, so that plan and run say so (QA F-R): taking the link
// down deletes its IPv6 addresses, the routes through it (but IPv4 local
// ones, which come back with it) and its neighbours, permanent ones too;
// an MTU below 1280 disables IPv6 on it, deleting its IPv6 addresses,
// routes and neighbours. Routes and addresses the kernel made itself
// (IPv6 link-local ones, connected and local routes) are not listed:
// they follow the addresses. A new hardware address flushes the link's
// neighbours too, but prepLink puts the permanent ones back at once, so
// nothing is listed for it. The undo of such a change restores the
// whole link state (linkDiff).
func (e *Ensurer) linkDrops(n *mns, ns string, cur Link, ch LinkChange) []Change {
	down := ch.Up != nil && !*ch.Up && cur.Up
	noV6 := !down && ch.MTU != nil && *ch.MTU < 1280 && cur.MTU >= 1280
	if !down && !noV6 {
		return nil
	}
	note := noteDropDown
	if noV6 {
		note = noteDropIPv6
	}
	var out []Change
	add := func(text string) { out = append(out, Change{Mark: '-', NS: ns, Text: text, Note: note}) }
	kernelLL := func(a netip.Addr) bool { return a.Is6() && a.IsLinkLocalUnicast() }
	for _, a := range n.sortedAddrs() {
		if a.Link == cur.Name && a.Prefix.Addr().Is6() && !kernelLL(a.Prefix.Addr()) {
			add(FormatAddr(a))
		}
	}
	for _, r := range n.sortedRoutes() {
		if r.Dev != cur.Name || r.Protocol == 2 || devless(r) {
			continue
		}
		if r.Dst.Addr().Is6() || down && r.Type != RouteLocal {
			add(FormatRoute(r, e.Names))
		}
	}
	for _, x := range n.sortedNeighs() {
		if x.Link == cur.Name && userNeigh(x) && (down || x.IP.Is6()) {
			add(FormatNeigh(x))
		}
	}
	return out
}

// dropsIPv6 reports whether ch disables IPv6 on a link (an MTU below
// 1280), so that IPv6 neighbours cannot be set on it afterwards.
func dropsIPv6(ch LinkChange) bool { return ch.MTU != nil && *ch.MTU < 1280 }
