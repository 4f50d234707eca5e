package kernel

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/nets-lang/nets/lang"
)

// This file turns a namespace's live state into a recipe (`nets save`)
// and renders parts of it for `show`. The rendering of single objects is
// recipe.go's (FormatAddr, FormatRoute, ...); what is added here is the
// choice of objects (configuration, not what the kernel derives by
// itself), their dependency order, and secret handling.

// SaveOptions configures Save, SaveJSON and Show.
type SaveOptions struct {
	// Secrets reveals WireGuard private and preshared keys (base64). Without
	// it each secret is written as a variable the recipe does not define
	// ($wg0_private_key, $wg0_peer1_psk), so the saved recipe fails `nets
	// check` and `nets run` loudly, naming what is missing, until the user
	// defines it (`let wg0_private_key = readkey("wg0.key")`) or saves again
	// with Secrets.
	Secrets bool
	// Names names routing tables (nil: only main, local and default).
	// Tables that have a name other than a built-in one are declared at the
	// top of the recipe (`table 100 name vpn`) and referred to by name.
	Names *TableNames
}

// TableDecl is a `table ID name NAME` declaration of a saved recipe.
type TableDecl struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// Config is the configuration of one namespace as Save sees it: the
// objects a recipe must state to rebuild it, in dependency order.
//
// Left out, because the kernel makes them itself: IPv4 127.0.0.1/8 and
// IPv6 ::1 on lo; addresses the kernel marks as its own (IFA_PROTO,
// Linux ≥ 5.18: link-local, loopback, router advertisement); on kernels
// that do not mark them, IPv6 link-local (fe80::/64) addresses whose
// interface identifier is the link's EUI-64 (or, on links without a
// hardware address, random: one with bits set in the first half of its identifier,
// which hand-made ones like fe80::1 do not have); routes of protocol kernel (connected,
// local, broadcast, IPv6 prefix, link-local and multicast routes) and
// the IPv6 multicast routes (ff00::/8); the default rules (IPv4 0 lookup
// local, 32766 lookup main, 32767 lookup default; IPv6 0 lookup local,
// 32766 lookup main); neighbours that are not permanent; lo's state when
// it is down with default attributes.
type Config struct {
	NS string `json:"ns"`
	// Tables are the named tables the routes and rules refer to.
	Tables []TableDecl `json:"tables,omitempty"`
	// Netns are the named namespaces veth peers live in (besides host).
	Netns []string `json:"netns,omitempty"`
	// Links in creation order: lo first, then every link after the
	// links it needs (bridge before port, lower link before macvlan or
	// vxlan, the first end of a veth pair before the second).
	Links []SavedLink `json:"links"`
	// WireGuard holds the configuration of every wireguard link.
	WireGuard []WGDevice `json:"wireguard,omitempty"`
	// Addrs in link order; within a link and family in kernel order (the
	// first address of a subnet is its primary).
	Addrs []Addr `json:"addrs"`
	// Routes of every table: routes without a gateway first (a gateway
	// must be reachable when its route is added), then by table, family,
	// destination, TOS and metric.
	Routes []Route `json:"routes"`
	// Rules in kernel order, IPv4 first.
	Rules []Rule `json:"rules"`
	// Neighs are the permanent neighbour entries, in link order.
	Neighs []Neigh `json:"neighs"`
	// Skipped are links a recipe cannot recreate, left out with their
	// addresses, routes and neighbours (and the links stacked on them);
	// the recipe says so in a comment.
	Skipped []SkippedLink `json:"skipped,omitempty"`

	names *TableNames
}

// SkippedLink is a link Save leaves out, and why.
type SkippedLink struct {
	Name   string `json:"ifname"`
	Reason string `json:"reason"`
}

// creatableKind reports whether `link X type KIND` can create a link of
// kind (the kinds the language knows). Links of other kinds (physical
// devices, ifb, dummy, ...) are saved and shown without `type`: a recipe
// can ensure their attributes, addresses and routes, not their existence.
func creatableKind(kind string) bool {
	switch kind {
	case KindVeth, KindBridge, KindVXLAN, KindMacvlan, KindTun, KindTap, KindWireGuard:
		return true
	}
	return false
}

// linkComment is the comment a saved or shown link of a kind nets cannot
// create gets before its statement, "" for lo and creatable kinds.
func linkComment(l Link) string {
	switch {
	case l.Name == "lo" || creatableKind(l.Kind):
		return ""
	case l.Kind == KindDevice || l.Kind == "":
		return "# " + l.Name + ": a device nets does not create; it must exist"
	}
	return "# " + l.Name + ": kind " + l.Kind + " is not created by nets; it must exist"
}

// unsaveable says why no recipe can recreate l, "" when one can.
func unsaveable(l Link) string {
	if l.Kind == KindVeth && (l.Veth == nil || l.Veth.Peer == "?" || l.Veth.PeerNetns == "?") {
		return "a veth whose peer is in a namespace without a name"
	}
	return ""
}

// SavedLink is a link of a Config. Create says whether this statement
// creates the link (false for lo, devices nets cannot create, and the
// second end of a veth pair whose first end creates both).
type SavedLink struct {
	Link
	Create bool `json:"create"`
}

// Save returns the configuration of namespace ns of k as a recipe that
// `nets run` (or `nets run -n NS`) restores: named tables, the
// namespaces veth peers live in, links with their kind, creation
// parameters and attributes (up or down, mtu unless the kind's default,
// hardware address for kinds whose address is random, master, alias),
// WireGuard configurations, addresses, routes of every table, rules and
// permanent neighbours — what the kernel derives by itself is left out
// (see Config). The text is in canonical form (lang.Format) and its
// order is deterministic and dependency-correct.
//
// A veth pair is written once: from the end whose name sorts first when
// both ends live in ns (the other end gets its own attribute line), and
// from the end in ns with `peer P netns NS` when the peer lives
// elsewhere. Saving the peer's namespace writes the same pair from the
// other end, which is idempotent when both recipes run.
//
// Each kind of object is read in one dump, which Netlink retries while
// the kernel flags it inconsistent (NLM_F_DUMP_INTR); the dumps of the
// different kinds are not atomic together, so Save reads the whole
// configuration again until two reads in a row agree (ReadStableConfig).
func Save(k Kernel, ns string, opts SaveOptions) (string, error) {
	c, err := ReadStableConfig(k, ns, opts.Names)
	if err != nil {
		return "", err
	}
	return c.Recipe(opts.Secrets)
}

// stableReads bounds ReadStableConfig's attempts.
const stableReads = 5

// ReadStableConfig reads the configuration of ns (see ReadConfig) until
// two reads in a row agree, so that a change made while it was read
// (an address added after the links were listed, on a link that was
// not) cannot give a configuration that never existed. It fails when
// the configuration keeps changing.
func ReadStableConfig(k Kernel, ns string, names *TableNames) (*Config, error) {
	prev, err := ReadConfig(k, ns, names)
	if err != nil {
		return nil, err
	}
	for range stableReads {
		c, err := ReadConfig(k, ns, names)
		if err != nil {
			return nil, err
		}
		if slices.Equal(prev.lines(true), c.lines(true)) {
			return c, nil
		}
		prev = c
	}
	return nil, &Error{Op: "save", NS: ns,
		Err: fmt.Errorf("the configuration changed during each of %d reads in a row; try again", stableReads+1)}
}

// ReadConfig reads the configuration of namespace ns of k (see Config).
// names names routing tables (nil: built-ins only).
func ReadConfig(k Kernel, ns string, names *TableNames) (*Config, error) {
	return ReadConfigParts(k, ns, names, nil, PartAll)
}

// Parts selects parts of a Config for ReadConfigParts.
type Parts uint8

// Parts of a Config.
const (
	PartLinks Parts = 1 << iota
	PartWireGuard
	PartAddrs
	PartRoutes
	PartRules
	PartNeighs
	PartAll = PartLinks | PartWireGuard | PartAddrs | PartRoutes | PartRules | PartNeighs
)

// ReadConfigParts reads the parts of the configuration of ns that parts
// selects and takes the others from prev (nil: they are empty). A
// monitor uses it to re-read only what an event touched.
func ReadConfigParts(k Kernel, ns string, names *TableNames, prev *Config, parts Parts) (*Config, error) {
	c := &Config{NS: ns, names: names, Links: []SavedLink{}, Addrs: []Addr{}, Routes: []Route{}, Rules: []Rule{}, Neighs: []Neigh{}}
	if prev != nil {
		// Copies: the parts are re-sorted below, and prev must not change.
		c.Links, c.WireGuard = slices.Clone(prev.Links), slices.Clone(prev.WireGuard)
		c.Addrs, c.Routes = slices.Clone(prev.Addrs), slices.Clone(prev.Routes)
		c.Rules, c.Neighs = slices.Clone(prev.Rules), slices.Clone(prev.Neighs)
	}
	if parts&PartLinks != 0 {
		links, err := k.Links(ns)
		if err != nil {
			return nil, err
		}
		c.Skipped = nil
		skip := map[string]bool{}
		for changed := true; changed; {
			changed = false
			for _, l := range links {
				if skip[l.Name] {
					continue
				}
				why := unsaveable(l)
				switch {
				case why != "":
				case l.Macvlan != nil && skip[l.Macvlan.Dev]:
					why = "a macvlan on " + l.Macvlan.Dev + ", which is not saved"
				case l.VXLAN != nil && skip[l.VXLAN.Dev]:
					why = "a vxlan on " + l.VXLAN.Dev + ", which is not saved"
				default:
					continue
				}
				skip[l.Name], changed = true, true
				c.Skipped = append(c.Skipped, SkippedLink{Name: l.Name, Reason: why})
			}
		}
		sort.Slice(c.Skipped, func(i, j int) bool { return c.Skipped[i].Name < c.Skipped[j].Name })
		kept := links[:0:0]
		for _, l := range links {
			if !skip[l.Name] {
				if skip[l.Master] {
					l.Master = ""
				}
				kept = append(kept, l)
			}
		}
		c.Links = orderLinks(kept)
	} else if prev != nil {
		c.Skipped = prev.Skipped
	}
	skipped := map[string]bool{}
	for _, l := range c.Skipped {
		skipped[l.Name] = true
	}
	linkPos := map[string]int{}
	byName := map[string]Link{}
	for i, l := range c.Links {
		linkPos[l.Name] = i
		byName[l.Name] = l.Link
	}
	for _, l := range c.Links {
		if l.Create && l.Kind == KindVeth && l.Veth != nil {
			if p := l.Veth.PeerNetns; p != "" && p != "?" && p != HostName && p != ns && !slices.Contains(c.Netns, p) {
				c.Netns = append(c.Netns, p)
			}
		}
	}
	sort.Strings(c.Netns)
	if parts&PartWireGuard != 0 {
		c.WireGuard = nil
		for _, l := range c.Links {
			if l.Kind == KindWireGuard {
				d, err := k.WireGuard(ns, l.Name)
				if err != nil {
					return nil, fmt.Errorf("save: wireguard %s: %w", l.Name, err)
				}
				c.WireGuard = append(c.WireGuard, d)
			}
		}
	}

	if parts&PartAddrs != 0 {
		addrs, err := k.Addrs(ns)
		if err != nil {
			return nil, err
		}
		c.Addrs = []Addr{}
		known := protoKnown(addrs)
		for _, a := range addrs {
			if !kernelAddr(a, byName[a.Link], known) && !skipped[a.Link] {
				c.Addrs = append(c.Addrs, a)
			}
		}
	}
	sort.SliceStable(c.Addrs, func(i, j int) bool {
		a, b := c.Addrs[i], c.Addrs[j]
		if pa, pb := linkPos[a.Link], linkPos[b.Link]; pa != pb {
			return pa < pb
		}
		return a.Prefix.Addr().Is4() && b.Prefix.Addr().Is6()
	})

	if parts&PartRoutes != 0 {
		routes, err := k.Routes(ns)
		if err != nil {
			return nil, err
		}
		c.Routes = []Route{}
		for _, r := range routes {
			if kernelRoute(r) || skipped[r.Dev] {
				continue
			}
			if r.Type == RouteBlackhole || r.Type == RouteUnreachable || r.Type == RouteProhibit {
				r.Dev = "" // IPv6 reads these back through lo
			}
			c.Routes = append(c.Routes, r)
		}
		sort.SliceStable(c.Routes, func(i, j int) bool { return routeLess(c.Routes[i], c.Routes[j]) })
	}

	if parts&PartRules != 0 {
		rules, err := k.Rules(ns)
		if err != nil {
			return nil, err
		}
		c.Rules = []Rule{}
		for _, r := range rules {
			if !defaultRule(r) {
				c.Rules = append(c.Rules, r)
			}
		}
		sort.SliceStable(c.Rules, func(i, j int) bool { return c.Rules[i].Family < c.Rules[j].Family })
	}

	if parts&PartNeighs != 0 {
		neighs, err := k.Neighs(ns)
		if err != nil {
			return nil, err
		}
		c.Neighs = []Neigh{}
		for _, n := range neighs {
			if n.State&NeighPermanent != 0 && !skipped[n.Link] {
				c.Neighs = append(c.Neighs, n)
			}
		}
	}
	sort.SliceStable(c.Neighs, func(i, j int) bool {
		a, b := c.Neighs[i], c.Neighs[j]
		if pa, pb := linkPos[a.Link], linkPos[b.Link]; pa != pb {
			return pa < pb
		}
		return a.IP.Less(b.IP)
	})

	tables := map[uint32]bool{}
	for _, r := range c.Routes {
		tables[r.Table] = true
	}
	for _, r := range c.Rules {
		if r.Action == ActionLookup {
			tables[r.Table] = true
		}
	}
	for id := range tables {
		name := names.Name(id)
		if _, builtin := builtinTables[name]; !builtin && name != fmt.Sprint(id) {
			c.Tables = append(c.Tables, TableDecl{ID: id, Name: name})
		}
	}
	sort.Slice(c.Tables, func(i, j int) bool { return c.Tables[i].ID < c.Tables[j].ID })
	return c, nil
}

// protoKnown reports whether the kernel that listed addrs says who made
// its addresses (IFA_PROTO): then at least one of them, lo's ::1 or a
// link-local address, carries a kernel protocol.
func protoKnown(addrs []Addr) bool {
	for _, a := range addrs {
		if a.Proto != 0 {
			return true
		}
	}
	return false
}

// kernelAddr reports whether the kernel made a by itself. known says
// whether a.Proto can be trusted (see protoKnown).
func kernelAddr(a Addr, l Link, known bool) bool {
	ip := a.Prefix.Addr()
	if a.Link == "lo" && !a.Peer.IsValid() &&
		(a.Prefix == netip.MustParsePrefix("127.0.0.1/8") || a.Prefix == netip.MustParsePrefix("::1/128")) {
		return true
	}
	switch a.Proto {
	case AddrProtoKernelLo, AddrProtoKernelRA, AddrProtoKernelLL:
		return true
	}
	if ip.Is6() && ip.IsLinkLocalUnicast() && a.Prefix.Bits() == 64 && !a.Peer.IsValid() {
		if known {
			// IFA_PROTO (Linux ≥ 5.18) marks the kernel's link-local
			// addresses (IFAPROT_KERNEL_LL, measured on 6.18), whatever
			// the link's hardware address became since: a bridge's
			// changes when its first port joins.
			return false
		}
		// A kernel that does not say: it derives a link's link-local
		// address from its hardware address (addr_gen_mode eui64, the
		// default), or, on a link without one (tun, wireguard), makes a
		// random interface identifier. Addr does not carry
		// IFA_F_PERMANENT (both kinds have it), so: the EUI-64 one is
		// the kernel's, and without a hardware address so is one whose
		// identifier has bits set in its first half (hand-made ones
		// such as fe80::1 do not).
		b := ip.As16()
		if eui := eui64(l.Address); eui != nil {
			return slices.Equal(b[8:], eui)
		}
		return b[8]|b[9]|b[10]|b[11] != 0
	}
	return false
}

// eui64 returns the modified EUI-64 interface identifier of a 48-bit
// hardware address (RFC 4291 appendix A), nil for other addresses.
func eui64(mac net.HardwareAddr) []byte {
	if len(mac) != 6 {
		return nil
	}
	return []byte{mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
}

// kernelRoute reports whether the kernel made r by itself.
func kernelRoute(r Route) bool {
	switch {
	case r.Protocol == 2: // proto kernel: connected, local, broadcast, prefix routes
		return true
	case r.Type == RouteLocal || r.Type == RouteBroadcast || r.Type == RouteMulticast:
		return r.Table == TableLocal
	case r.Dst.Addr().Is6() && r.Dst.Addr().IsMulticast():
		return true
	}
	return false
}

// defaultRule reports whether r is one of the rules a new namespace has.
func defaultRule(r Rule) bool {
	if r.Invert || r.Src.IsValid() && r.Src.Bits() > 0 || r.Dst.IsValid() && r.Dst.Bits() > 0 ||
		r.IIF != "" || r.OIF != "" || r.Mark != 0 || r.Mask != 0 || r.IPProto != 0 ||
		r.SPort != (PortRange{}) || r.DPort != (PortRange{}) || r.UID != nil || r.SuppressPrefixLen != nil ||
		r.Action != ActionLookup {
		return false
	}
	switch {
	case r.Priority == 0 && r.Table == TableLocal:
		return true
	case r.Priority == 32766 && r.Table == TableMain:
		return true
	case r.Priority == 32767 && r.Table == TableDefault && r.Family == 4:
		return true
	}
	return false
}

// routeLess orders routes for save and show: routes without a gateway
// first (a gateway must be reachable when its route is added), then by
// identity (the model's order).
func routeLess(a, b Route) bool {
	if ga, gb := a.Gateway.IsValid(), b.Gateway.IsValid(); ga != gb {
		return gb
	}
	return routeKeyLess(keyOfRoute(a), keyOfRoute(b))
}

// orderLinks puts links in creation order: lo first, then repeatedly the
// name-wise first link whose dependencies (master, lower link, the veth
// end that creates it) are placed. A dependency cycle, which the kernel
// does not allow, is broken by name order.
func orderLinks(links []Link) []SavedLink {
	byName := map[string]Link{}
	for _, l := range links {
		byName[l.Name] = l
	}
	create := map[string]bool{}
	deps := map[string][]string{}
	for _, l := range links {
		add := func(d string) {
			if _, ok := byName[d]; ok && d != l.Name && d != "?" {
				deps[l.Name] = append(deps[l.Name], d)
			}
		}
		switch {
		case l.Name == "lo" || !creatableKind(l.Kind):
		case l.Kind == KindVeth && l.Veth != nil && l.Veth.PeerNetns == "" && l.Veth.Peer != "?":
			if _, ok := byName[l.Veth.Peer]; ok && l.Veth.Peer < l.Name {
				add(l.Veth.Peer) // the peer's statement creates this end
			} else {
				create[l.Name] = true
			}
		default:
			create[l.Name] = true
		}
		add(l.Master)
		if l.Macvlan != nil {
			add(l.Macvlan.Dev)
		}
		if l.VXLAN != nil {
			add(l.VXLAN.Dev)
		}
	}
	var out []SavedLink
	placed := map[string]bool{}
	if lo, ok := byName["lo"]; ok {
		out = append(out, SavedLink{Link: lo})
		placed["lo"] = true
	}
	names := make([]string, 0, len(links))
	for _, l := range links {
		if !placed[l.Name] {
			names = append(names, l.Name)
		}
	}
	sort.Strings(names)
	for len(names) > 0 {
		pick := -1
		for i, n := range names {
			ready := true
			for _, d := range deps[n] {
				if !placed[d] {
					ready = false
					break
				}
			}
			if ready {
				pick = i
				break
			}
		}
		if pick < 0 {
			pick = 0
		}
		n := names[pick]
		out = append(out, SavedLink{Link: byName[n], Create: create[n]})
		placed[n] = true
		names = append(names[:pick], names[pick+1:]...)
	}
	return out
}

// randomMAC reports whether links of l's kind get a random hardware
// address, which a faithful restore must therefore state.
func randomMAC(l Link) bool {
	switch l.Kind {
	case KindVeth, KindBridge, KindVXLAN, KindMacvlan, KindTap:
		return len(l.Address) > 0
	}
	return false
}

// saveMTUDefault is the MTU l gets when created without `mtu` (lower is
// the MTU of its lower link, 0 when none).
func saveMTUDefault(l Link, lower uint32) uint32 {
	switch {
	case l.Name == "lo":
		return 65536
	case l.Kind == KindWireGuard:
		return 1420
	case l.Kind == KindVXLAN:
		if lower != 0 {
			if l.VXLAN != nil && (l.VXLAN.Remote.Is6() || l.VXLAN.Group.Is6() || l.VXLAN.Local.Is6()) {
				return lower - 70
			}
			return lower - 50
		}
		return 1450
	case l.Kind == KindMacvlan && lower != 0:
		return lower
	}
	return 1500
}

// linkLine renders the statement of a saved link; "" when there is
// nothing to say (lo down with default attributes). mtus are the links'
// MTUs by name, for kinds whose default MTU is their lower link's.
func linkLine(l SavedLink, ns string, mtus map[string]uint32) string {
	var b strings.Builder
	b.WriteString("link " + l.Name)
	if l.Create {
		veth := l.Veth
		if veth != nil && veth.PeerNetns == ns && ns != Host {
			v := *veth
			v.PeerNetns = ""
			veth = &v
		}
		b.WriteString(formatLinkKind(l.Kind, veth, l.VXLAN, l.Macvlan, l.Tun))
	}
	attrs := 0
	if l.Up {
		b.WriteString(" up")
		attrs++
	} else if l.Name != "lo" {
		b.WriteString(" down")
	}
	lower := uint32(0)
	switch {
	case l.VXLAN != nil && l.VXLAN.Dev != "":
		lower = mtus[l.VXLAN.Dev]
	case l.Macvlan != nil:
		lower = mtus[l.Macvlan.Dev]
	}
	if l.MTU != 0 && l.MTU != saveMTUDefault(l.Link, lower) {
		fmt.Fprintf(&b, " mtu %d", l.MTU)
		attrs++
	}
	if randomMAC(l.Link) {
		b.WriteString(" address " + l.Address.String())
	}
	if l.Master != "" {
		b.WriteString(" master " + l.Master)
	}
	if l.Alias != "" {
		b.WriteString(" alias " + quote(l.Alias))
		attrs++
	}
	if l.Name == "lo" && attrs == 0 {
		return ""
	}
	return b.String()
}

// keyVar is the variable a redacted key of device dev is written as.
func keyVar(dev, what string) string {
	var b strings.Builder
	for _, r := range dev {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "wg_" + s
	}
	return "$" + s + "_" + what
}

// wireguardBlock renders d as a `wireguard` block: secrets in base64
// with reveal, else as undefined variables with a comment saying so.
func wireguardBlock(d WGDevice, reveal bool) string {
	var b strings.Builder
	b.WriteString("wireguard " + d.Name + " <\n")
	key := func(k Key, v string) string {
		if reveal {
			return `"` + k.Base64() + `"`
		}
		return v
	}
	var vars []string
	if !d.PrivateKey.IsZero() && !reveal {
		vars = append(vars, keyVar(d.Name, "private_key"))
	}
	for i, p := range d.Peers {
		if !p.PresharedKey.IsZero() && !reveal {
			vars = append(vars, keyVar(d.Name, fmt.Sprintf("peer%d_psk", i+1)))
		}
	}
	if len(vars) > 0 {
		b.WriteString("  # secrets not saved (nets save --secrets writes them): define " + strings.Join(vars, ", ") + "\n")
		b.WriteString("  # before this block, e.g. let " + strings.TrimPrefix(vars[0], "$") + " = readkey(\"" + d.Name + ".key\")\n")
	}
	if !d.PrivateKey.IsZero() {
		b.WriteString("  private-key " + key(d.PrivateKey, keyVar(d.Name, "private_key")) + "\n")
	}
	if d.ListenPort != 0 {
		fmt.Fprintf(&b, "  listen-port %d\n", d.ListenPort)
	}
	if d.FirewallMark != 0 {
		fmt.Fprintf(&b, "  fwmark 0x%x\n", d.FirewallMark)
	}
	for i, p := range d.Peers {
		b.WriteString("  peer \"" + p.PublicKey.Base64() + "\" <\n")
		if !p.PresharedKey.IsZero() {
			b.WriteString("    preshared-key " + key(p.PresharedKey, keyVar(d.Name, fmt.Sprintf("peer%d_psk", i+1))) + "\n")
		}
		p.PresharedKey = Key{}
		for _, l := range formatPeerAttrs(p, false) {
			b.WriteString("    " + l + "\n")
		}
		b.WriteString("  >\n")
	}
	b.WriteString(">")
	return b.String()
}

// Recipe renders c as a recipe in canonical form; reveal writes WireGuard
// secrets in base64 (see SaveOptions.Secrets).
func (c *Config) Recipe(reveal bool) (string, error) {
	return canonical(c.lines(reveal))
}

func (c *Config) lines(reveal bool) []string {
	var out []string
	for _, t := range c.Tables {
		out = append(out, fmt.Sprintf("table %d name %s", t.ID, quote(t.Name)))
	}
	for _, n := range c.Netns {
		out = append(out, "netns "+n)
	}
	for _, l := range c.Skipped {
		out = append(out, "# not saved: link "+l.Name+" ("+l.Reason+"), nor its addresses, routes and neighbours")
	}
	out = append(out, c.linkLines()...)
	for _, d := range c.WireGuard {
		out = append(out, wireguardBlock(d, reveal))
	}
	for _, a := range c.Addrs {
		out = append(out, FormatAddr(a))
	}
	for _, r := range c.Routes {
		out = append(out, FormatRoute(r, c.names))
	}
	for _, r := range c.Rules {
		out = append(out, FormatRule(r, c.names))
	}
	for _, n := range c.Neighs {
		out = append(out, FormatNeigh(n))
	}
	return out
}

func (c *Config) linkLines() []string {
	mtus := map[string]uint32{}
	for _, l := range c.Links {
		mtus[l.Name] = l.MTU
	}
	var out []string
	for _, l := range c.Links {
		if s := linkLine(l, c.NS, mtus); s != "" {
			if cm := linkComment(l.Link); cm != "" {
				out = append(out, cm)
			}
			out = append(out, s)
		}
	}
	return out
}

// canonical joins statements and prints them as lang.Format does. An
// error means a renderer wrote something the language does not accept,
// which is a bug worth reporting with the text.
func canonical(stmts []string) (string, error) {
	if len(stmts) == 0 {
		return "", nil
	}
	src := strings.Join(stmts, "\n") + "\n"
	f, err := lang.Parse("save", []byte(src))
	if err != nil {
		return "", fmt.Errorf("save: rendered recipe does not parse: %v\n%s", err, src)
	}
	return string(lang.Format(f)), nil
}
