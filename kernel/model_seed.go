package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// NewModelFrom returns a Model holding a copy of k's live state (and
// whether k makes WireGuard links in userspace): the Host
// namespace and each of namespaces that k has, in full (links,
// addresses, routes of every table, rules, neighbours, WireGuard
// configurations); every other named namespace of k exists in the copy,
// fresh. Listed namespaces k does not have are skipped (a recipe being
// planned may create them). `nets plan` runs a recipe against it.
func NewModelFrom(k Kernel, namespaces []string) (*Model, error) {
	m := NewModel()
	return m, m.Seed(k, namespaces)
}

// Seed replaces m's state with a copy of k's, as NewModelFrom describes.
func (m *Model) Seed(k Kernel, namespaces []string) error {
	names, err := k.Namespaces()
	if err != nil {
		return err
	}
	userspaceWG := usesUserspaceWireGuard(k)
	m.mu.Lock()
	m.userspaceWG = userspaceWG
	m.nss = map[string]*mns{}
	for _, n := range names {
		m.nss[n] = m.freshNS()
	}
	m.nss[Host] = m.freshNS()
	m.mu.Unlock()
	seen := map[string]bool{}
	for _, ns := range append([]string{Host}, namespaces...) {
		if ns == HostName {
			ns = Host
		}
		if seen[ns] || (ns != Host && !slices.Contains(names, ns)) {
			continue
		}
		seen[ns] = true
		if err := m.Load(k, ns); err != nil {
			return err
		}
	}
	return nil
}

// Load replaces namespace ns of m (creating it if needed) with a copy of
// ns as k has it.
func (m *Model) Load(k Kernel, ns string) error {
	links, err := k.Links(ns)
	if err != nil {
		return err
	}
	addrs, err := k.Addrs(ns)
	if err != nil {
		return err
	}
	routes, err := k.Routes(ns)
	if err != nil {
		return err
	}
	rules, err := k.Rules(ns)
	if err != nil {
		return err
	}
	neighs, err := k.Neighs(ns)
	if err != nil {
		return err
	}
	wg := map[string]*WGDevice{}
	for _, l := range links {
		if l.Kind != KindWireGuard {
			continue
		}
		d, err := k.WireGuard(ns, l.Name)
		if err != nil {
			// A wireguard link whose device cannot be read (nobody
			// serves it, a stale socket): the link is still copied;
			// ensuring its configuration reads it again and reports.
			continue
		}
		d = cloneWG(d)
		wg[l.Name] = &d
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.freshNS()
	n.links = map[string]*Link{}
	n.routes = make(map[routeKey][]Route, len(routes)) // sized once: a full table is most of a namespace
	for _, l := range links {
		c := cloneLink(l)
		if c.Index > m.nextIndex {
			m.nextIndex = c.Index
		}
		n.links[l.Name] = &c
	}
	for _, a := range addrs {
		if n.addrs[keyOfAddr(a)] != nil {
			continue
		}
		n.putAddr(a)
	}
	for i, r := range routes {
		// routes is this call's own list (Kernel.Routes returns a new
		// one): its elements become the one-route lists, no allocation
		// per route.
		n.putRouteIn(r, routes[i:i+1:i+1])
	}
	n.rules = nil
	for _, r := range rules {
		n.rules = append(n.rules, cloneRule(r))
	}
	sort.SliceStable(n.rules, func(i, j int) bool {
		a, b := n.rules[i], n.rules[j]
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Priority < b.Priority
	})
	n.reindexRules()
	for _, x := range neighs {
		n.neighs[neighKey{x.Link, x.IP}] = x
	}
	for _, l := range n.links {
		if l.Kind == KindBridge {
			// A bridge whose MTU is not what its ports give it had it set.
			mtu := l.MTU
			n.adjustBridgeMTU(l.Name)
			if l.MTU != mtu {
				l.MTU = mtu
				n.mtuByUser[l.Name] = true
			}
		}
	}
	n.wg = wg
	m.nss[ns] = n
	return nil
}

// Dump returns the normalized full state of ns (see DumpState), or the
// error text.
func (m *Model) Dump(ns string) string {
	s, err := DumpState(m, ns)
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

// DumpState renders the full state of namespace ns of any Kernel as
// sorted recipe-syntax lines, normalized so that two kernels (or one
// kernel before and after a change and its undo) can be compared as
// text (rules prefixed "FAMILY/POSITION" and kept in the kernel's
// order): every link with all its attributes (hardware address included,
// except a bridge's, which the kernel derives from its ports; index
// excluded), addresses, routes of every table, rules in order,
// permanent and noarp neighbours (not the kernel's multicast ones), and WireGuard configurations (keys as
// public-key or fingerprint, never revealed).
//
// What the kernel does on its own timetable is left out, so comparisons
// do not flake: IPv6 link-local (fe80::/10) addresses and their routes,
// the per-link ff00::/8 multicast routes, and IPv6 addresses' local
// routes (they appear when duplicate address detection ends).
func DumpState(k Kernel, ns string) (string, error) {
	var lines []string
	links, err := k.Links(ns)
	if err != nil {
		return "", err
	}
	for _, l := range links {
		s := FormatLink(l)
		if l.Kind == KindDevice && l.Name != "lo" {
			s += " kind device"
		}
		if !l.Up {
			s += " down"
		}
		s += fmt.Sprintf(" mtu=%d", l.MTU)
		if l.Address != nil && l.Kind != KindBridge {
			// (a bridge's address follows its ports unless set)
			s += " address " + l.Address.String()
		}
		lines = append(lines, "1 "+s)
	}
	addrs, err := k.Addrs(ns)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast() {
			continue
		}
		lines = append(lines, "2 "+FormatAddr(a))
	}
	routes, err := k.Routes(ns)
	if err != nil {
		return "", err
	}
	for _, r := range routes {
		if ignoredRoute(r) {
			continue
		}
		if r.Dst.Addr().Is6() && r.Dev == "lo" && (r.Type == RouteBlackhole || r.Type == RouteUnreachable || r.Type == RouteProhibit) {
			r.Dev = ""
		}
		lines = append(lines, "3 "+FormatRoute(r, nil)+fmt.Sprintf(" table=%d metric=%d proto=%d scope=%d", r.Table, r.Priority, r.Protocol, r.Scope))
	}
	rules, err := k.Rules(ns)
	if err != nil {
		return "", err
	}
	// Rules keep the kernel's order (meaningful among rules of one
	// priority), each line prefixed with its family and position in the
	// listing: "4/00001 rule lookup main priority 32766".
	var ruleLines []string
	for i, r := range rules {
		ruleLines = append(ruleLines, fmt.Sprintf("4 %d/%05d %s", r.Family, i, FormatRule(r, nil)))
	}
	sort.Strings(ruleLines)
	neighs, err := k.Neighs(ns)
	if err != nil {
		return "", err
	}
	for _, x := range neighs {
		if !userNeigh(x) {
			continue
		}
		lines = append(lines, "5 "+FormatNeigh(x))
	}
	for _, l := range links {
		if l.Kind != KindWireGuard {
			continue
		}
		d, err := k.WireGuard(ns, l.Name)
		if err != nil {
			lines = append(lines, "6 wireguard "+l.Name+" unreadable: "+err.Error())
			continue
		}
		lines = append(lines, "6 "+dumpWG(d))
	}
	sort.Strings(lines)
	out := append(lines[:len(lines):len(lines)], ruleLines...)
	sort.SliceStable(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	for i := range out {
		out[i] = out[i][2:]
	}
	return strings.Join(out, "\n") + "\n", nil
}

// ignoredRoute reports the routes DumpState leaves out.
func ignoredRoute(r Route) bool {
	if !r.Dst.Addr().Is6() {
		return false
	}
	if r.Type == RouteMulticast && r.Dst == netip.MustParsePrefix("ff00::/8") {
		return true
	}
	if r.Type == RouteLocal && r.Protocol == 2 && r.Table == TableLocal {
		return true // follows the address once DAD completes
	}
	return r.Dst.Addr().IsLinkLocalUnicast() && r.Protocol == 2
}

func fingerprint(k Key) string {
	if k.IsZero() {
		return "none"
	}
	h := sha256.Sum256(k[:])
	return "sha256:" + hex.EncodeToString(h[:6])
}

func dumpWG(d WGDevice) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wireguard %s private-key %s listen-port %d fwmark 0x%x", d.Name, fingerprint(d.PrivateKey), d.ListenPort, d.FirewallMark)
	peers := append([]WGPeer(nil), d.Peers...)
	sort.Slice(peers, func(i, j int) bool { return peers[i].PublicKey.Base64() < peers[j].PublicKey.Base64() })
	for _, p := range peers {
		ips := make([]string, len(p.AllowedIPs))
		for i, a := range p.AllowedIPs {
			ips[i] = a.String()
		}
		sort.Strings(ips)
		fmt.Fprintf(&b, " | peer %s psk %s endpoint %v allowed-ips %s keepalive %v", p.PublicKey.Base64(),
			fingerprint(p.PresharedKey), p.Endpoint, strings.Join(ips, ","), p.PersistentKeepalive)
	}
	return b.String()
}
