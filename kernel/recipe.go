package kernel

import (
	"bufio"
	"fmt"
	"iter"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file renders objects in recipe syntax (LANGUAGE.md, "Network
// objects") exactly as a user would write them, omitting defaults (table
// main, proto boot, metric 0, ...), so the output is minimal and can be
// pasted back into a recipe. Change texts, `show` and `nets save` use it.

// TableNames maps routing table ids to names and back. main (254), local
// (255) and default (253) are built in; more come from iproute2's
// rt_tables files (LoadTableNames) and `table N name X` declarations
// (Add). The nil *TableNames knows only the built-in names.
type TableNames struct {
	byID   map[uint32]string
	byName map[string]uint32
}

var builtinTables = map[string]uint32{"main": TableMain, "local": TableLocal, "default": TableDefault}

// NewTableNames returns the built-in names only.
func NewTableNames() *TableNames {
	t := &TableNames{byID: map[uint32]string{}, byName: map[string]uint32{}}
	for n, id := range builtinTables {
		t.byID[id], t.byName[n] = n, id
	}
	return t
}

// DefaultTablesDir is where iproute2 keeps rt_tables.
const DefaultTablesDir = "/etc/iproute2"

// LoadTableNames reads dir/rt_tables and dir/rt_tables.d/*.conf (dir ""
// means DefaultTablesDir) on top of the built-in names. Missing files are
// not an error; lines are "ID NAME" with # comments, as iproute2 reads
// them. Entries that contradict the built-ins or earlier entries are
// skipped, as iproute2 would use the first.
func LoadTableNames(dir string) (*TableNames, error) {
	if dir == "" {
		dir = DefaultTablesDir
	}
	t := NewTableNames()
	files := []string{filepath.Join(dir, "rt_tables")}
	more, err := filepath.Glob(filepath.Join(dir, "rt_tables.d", "*.conf"))
	if err != nil {
		return nil, err
	}
	sort.Strings(more)
	files = append(files, more...)
	for _, f := range files {
		if err := t.loadFile(f); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *TableNames) loadFile(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		id, err := strconv.ParseUint(fields[0], 0, 32)
		if err != nil || id == 0 {
			continue
		}
		_ = t.Add(uint32(id), fields[1]) // later contradicting lines lose, as in iproute2
	}
	return sc.Err()
}

// Add names table id. It fails for table 0, for renaming a built-in
// table, for a name that is a number or already names another table, and
// for a second name of a table. Adding a name a table already has is a
// no-op.
func (t *TableNames) Add(id uint32, name string) error {
	if t.byID == nil {
		*t = *NewTableNames()
	}
	switch {
	case id == 0:
		return fmt.Errorf("table 0 is not a table")
	case name == "" || name == "all" || strings.ContainsAny(name, " \t/#"):
		return fmt.Errorf("%q is not a valid table name", name)
	}
	if _, err := strconv.ParseUint(name, 0, 32); err == nil {
		return fmt.Errorf("table name %q is a number", name)
	}
	if old, ok := t.byID[id]; ok {
		if old == name {
			return nil
		}
		if _, builtin := builtinTables[old]; builtin {
			return fmt.Errorf("table %d is %q and cannot be renamed", id, old)
		}
		return fmt.Errorf("table %d is already named %q", id, old)
	}
	if other, ok := t.byName[name]; ok {
		return fmt.Errorf("table name %q already names table %d", name, other)
	}
	t.byID[id], t.byName[name] = name, id
	return nil
}

// Name returns the table's name, or its number in decimal.
func (t *TableNames) Name(id uint32) string {
	if t == nil {
		for n, i := range builtinTables {
			if i == id {
				return n
			}
		}
		return strconv.FormatUint(uint64(id), 10)
	}
	if n, ok := t.byID[id]; ok {
		return n
	}
	return strconv.FormatUint(uint64(id), 10)
}

// appendName appends Name(id) to b.
func (t *TableNames) appendName(b []byte, id uint32) []byte {
	if t == nil {
		for n, i := range builtinTables {
			if i == id {
				return append(b, n...)
			}
		}
	} else if n, ok := t.byID[id]; ok {
		return append(b, n...)
	}
	return strconv.AppendUint(b, uint64(id), 10)
}

// ID resolves a table name or number (decimal or 0x hex) to its id. It
// reports false for unknown names, 0 and "all".
func (t *TableNames) ID(s string) (uint32, bool) {
	if n, err := strconv.ParseUint(s, 0, 32); err == nil {
		return uint32(n), n != 0
	}
	if t == nil {
		id, ok := builtinTables[s]
		return id, ok
	}
	id, ok := t.byName[s]
	return id, ok
}

// All returns every name t knows (the built-in ones too) with its id, in
// no particular order.
func (t *TableNames) All() iter.Seq2[string, uint32] {
	return func(yield func(string, uint32) bool) {
		m := builtinTables
		if t != nil {
			m = t.byName
		}
		for name, id := range m {
			if !yield(name, id) {
				return
			}
		}
	}
}

// Clone returns an independent copy.
func (t *TableNames) Clone() *TableNames {
	c := NewTableNames()
	if t != nil {
		for id, n := range t.byID {
			c.byID[id], c.byName[n] = n, id
		}
	}
	return c
}

// FormatPrefix prints a prefix as recipes write it: a host prefix (/32,
// /128) as the bare address.
func FormatPrefix(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// quote writes s as a recipe string when it is not a plain word.
func quote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "$", `\$`)
	return `"` + r.Replace(s) + `"`
}

// defaultMTU is the MTU a new link of this kind gets without `mtu`.
func defaultMTU(l Link) uint32 {
	switch {
	case l.Name == "lo":
		return 65536
	case l.Kind == KindWireGuard:
		return 1420
	case l.Kind == KindVXLAN:
		return 1450
	}
	return 1500
}

// FormatLink renders a link: its creation (`link v0 type veth peer v1`)
// and its attributes (up, mtu when not the kind's default, master,
// alias). A link nets cannot create (eth0, lo) renders without a type.
// The hardware address is left out (most kinds get a random one).
func FormatLink(l Link) string {
	var b strings.Builder
	b.WriteString("link " + l.Name)
	b.WriteString(formatLinkKind(l.Kind, l.Veth, l.VXLAN, l.Macvlan, l.Tun))
	if l.Up {
		b.WriteString(" up")
	}
	if l.MTU != 0 && l.MTU != defaultMTU(l) && !(l.Kind == KindVXLAN && l.MTU == 1500) {
		fmt.Fprintf(&b, " mtu %d", l.MTU)
	}
	if l.Master != "" {
		b.WriteString(" master " + l.Master)
	}
	if l.Alias != "" {
		b.WriteString(" alias " + quote(l.Alias))
	}
	return b.String()
}

func formatLinkKind(kind string, veth *Veth, vx *VXLAN, mv *Macvlan, tun *Tun) string {
	var b strings.Builder
	switch kind {
	case "", KindDevice:
		return ""
	case KindVeth:
		b.WriteString(" type veth")
		if veth != nil {
			b.WriteString(" peer " + veth.Peer)
			if veth.PeerNetns != "" && veth.PeerNetns != "?" {
				b.WriteString(" netns " + veth.PeerNetns)
			}
		}
	case KindVXLAN:
		b.WriteString(" type vxlan")
		if vx != nil {
			fmt.Fprintf(&b, " id %d", vx.ID)
			if vx.Remote.IsValid() {
				b.WriteString(" remote " + vx.Remote.String())
			}
			if vx.Group.IsValid() {
				b.WriteString(" group " + vx.Group.String())
			}
			if vx.Local.IsValid() {
				b.WriteString(" local " + vx.Local.String())
			}
			if vx.Dev != "" {
				b.WriteString(" dev " + vx.Dev)
			}
			if vx.DstPort != 0 && vx.DstPort != 8472 {
				fmt.Fprintf(&b, " dstport %d", vx.DstPort)
			}
		}
	case KindMacvlan:
		b.WriteString(" type macvlan")
		if mv != nil {
			b.WriteString(" dev " + mv.Dev)
			if mv.Mode != "" && mv.Mode != "vepa" {
				b.WriteString(" mode " + mv.Mode)
			}
		}
	case KindTun, KindTap:
		b.WriteString(" type " + kind)
		if tun != nil {
			if tun.User >= 0 {
				fmt.Fprintf(&b, " user %d", tun.User)
			}
			if tun.Group >= 0 {
				fmt.Fprintf(&b, " group %d", tun.Group)
			}
		}
	default:
		b.WriteString(" type " + kind)
	}
	return b.String()
}

// ScopeName names a scope as ip(8) does (a number when it has no name).
func ScopeName(s Scope) string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// FormatAddr renders an address: `addr 10.0.0.1/24 dev eth0`, with peer,
// broadcast, label (unless it is the link's name) and scope (unless
// global) when set.
func FormatAddr(a Addr) string {
	var b strings.Builder
	b.WriteString("addr " + FormatPrefix(a.Prefix) + " dev " + a.Link)
	if a.Peer.IsValid() {
		b.WriteString(" peer " + FormatPrefix(a.Peer))
	}
	if a.Broadcast.IsValid() {
		b.WriteString(" broadcast " + a.Broadcast.String())
	}
	if a.Label != "" && a.Label != a.Link {
		b.WriteString(" label " + quote(a.Label))
	}
	if a.Scope != ScopeUniverse {
		b.WriteString(" scope " + ScopeName(a.Scope))
	}
	return b.String()
}

var protoNames = map[uint8]string{0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static",
	8: "gated", 9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk",
	16: "dhcp", 18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
	189: "rip", 192: "eigrp"}

// ProtoName names a route protocol as ip(8) does.
func ProtoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// ParseProto resolves a route protocol name or number.
func ParseProto(s string) (uint8, bool) {
	if n, err := strconv.ParseUint(s, 0, 8); err == nil {
		return uint8(n), true
	}
	for p, n := range protoNames {
		if n == s {
			return p, true
		}
	}
	return 0, false
}

var routeTypeNames = map[RouteType]string{RouteUnicast: "unicast", RouteLocal: "local", RouteBroadcast: "broadcast",
	RouteAnycast: "anycast", RouteMulticast: "multicast", RouteBlackhole: "blackhole",
	RouteUnreachable: "unreachable", RouteProhibit: "prohibit", RouteThrow: "throw"}

// RouteTypeName names a route type as ip(8) does.
func RouteTypeName(t RouteType) string {
	if n, ok := routeTypeNames[t]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}

// DefaultRouteScope is the scope ip(8) gives a new route: host for local
// routes, link for IPv4 unicast routes with a device and no gateway, link
// for broadcast and anycast, universe otherwise (always for IPv6).
func DefaultRouteScope(r Route) Scope {
	if r.Dst.Addr().Is6() {
		return ScopeUniverse
	}
	switch r.Type {
	case RouteLocal:
		return ScopeHost
	case RouteBroadcast, RouteAnycast, RouteMulticast:
		return ScopeLink
	case RouteUnicast, 0:
		if !r.Gateway.IsValid() && r.Dev != "" {
			return ScopeLink
		}
	}
	return ScopeUniverse
}

// DefaultMetric is the metric a route gets without `metric`: 0 for IPv4,
// 1024 for IPv6.
func DefaultMetric(dst netip.Prefix) uint32 {
	if dst.Addr().Is6() {
		return 1024
	}
	return 0
}

// formatDst renders a route destination: `default` for 0.0.0.0/0, and for
// ::/0 when the gateway says it is IPv6.
func formatDst(r Route) string {
	if r.Dst.Bits() == 0 && (r.Dst.Addr().Is4() || r.Gateway.Is6()) {
		return "default"
	}
	return FormatPrefix(r.Dst)
}

// appendDst appends formatDst(r) to b.
func appendDst(b []byte, r Route) []byte {
	switch {
	case r.Dst.Bits() == 0 && (r.Dst.Addr().Is4() || r.Gateway.Is6()):
		return append(b, "default"...)
	case !r.Dst.IsValid():
		return append(b, r.Dst.String()...)
	case r.Dst.Bits() == r.Dst.Addr().BitLen():
		return r.Dst.Addr().AppendTo(b)
	}
	return r.Dst.AppendTo(b)
}

// FormatRoute renders a route in recipe syntax, omitting defaults (table
// main, type unicast, metric 0 or IPv6's 1024, proto boot, the default
// scope). Table ids are named through names (nil: built-ins only).
func FormatRoute(r Route, names *TableNames) string {
	// Appended into a stack buffer: one allocation, the string (a plan
	// or run of a full table renders every route).
	var buf [160]byte
	return string(appendRoute(buf[:0], r, names))
}

// appendRoute appends FormatRoute(r, names) to b.
func appendRoute(b []byte, r Route, names *TableNames) []byte {
	b = append(b, "route "...)
	if r.Type != RouteUnicast && r.Type != 0 {
		b = append(append(b, RouteTypeName(r.Type)...), ' ')
	}
	b = appendDst(b, r)
	if r.TOS != 0 {
		b = strconv.AppendUint(append(b, " tos 0x"...), uint64(r.TOS), 16)
	}
	if r.Gateway.IsValid() {
		b = r.Gateway.AppendTo(append(b, " via "...))
	}
	if r.Dev != "" {
		b = append(append(b, " dev "...), r.Dev...)
	}
	if r.Table != TableMain && r.Table != TableUnspec {
		b = names.appendName(append(b, " table "...), r.Table)
	}
	if r.Priority != DefaultMetric(r.Dst) {
		b = strconv.AppendUint(append(b, " metric "...), uint64(r.Priority), 10)
	}
	if r.Src.IsValid() {
		b = r.Src.AppendTo(append(b, " src "...))
	}
	if r.Protocol != 3 && r.Protocol != 0 {
		b = append(append(b, " proto "...), ProtoName(r.Protocol)...)
	}
	if r.Scope != DefaultRouteScope(r) {
		b = append(append(b, " scope "...), ScopeName(r.Scope)...)
	}
	if r.MTU != 0 {
		b = strconv.AppendUint(append(b, " mtu "...), uint64(r.MTU), 10)
	}
	if r.OnLink {
		b = append(b, " onlink"...)
	}
	return b
}

var ipprotoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 33: "dccp"}

// IPProtoName names an IP protocol as ip-rule(8) does.
func IPProtoName(p uint8) string {
	if n, ok := ipprotoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

func formatPorts(p PortRange) string {
	if p.End == 0 || p.End == p.Start {
		return strconv.Itoa(int(p.Start))
	}
	return fmt.Sprintf("%d-%d", p.Start, p.End)
}

// FormatRule renders a rule in recipe syntax. An IPv6 rule without from
// or to says `from ::/0` so that it reads back as IPv6.
func FormatRule(r Rule, names *TableNames) string {
	var b strings.Builder
	b.WriteString("rule")
	if r.Invert {
		b.WriteString(" not")
	}
	if r.Src.IsValid() && r.Src.Bits() > 0 {
		b.WriteString(" from " + FormatPrefix(r.Src))
	}
	if r.Dst.IsValid() && r.Dst.Bits() > 0 {
		b.WriteString(" to " + FormatPrefix(r.Dst))
	}
	if r.Family == 6 && !(r.Src.IsValid() && r.Src.Bits() > 0) && !(r.Dst.IsValid() && r.Dst.Bits() > 0) {
		b.WriteString(" from ::/0")
	}
	if r.IIF != "" {
		b.WriteString(" iif " + r.IIF)
	}
	if r.OIF != "" {
		b.WriteString(" oif " + r.OIF)
	}
	if r.Mark != 0 || r.Mask != 0 {
		fmt.Fprintf(&b, " fwmark 0x%x", r.Mark)
		if r.Mask != 0 && r.Mask != 0xffffffff {
			fmt.Fprintf(&b, "/0x%x", r.Mask)
		}
	}
	if r.IPProto != 0 {
		b.WriteString(" ipproto " + IPProtoName(r.IPProto))
	}
	if r.SPort != (PortRange{}) {
		b.WriteString(" sport " + formatPorts(r.SPort))
	}
	if r.DPort != (PortRange{}) {
		b.WriteString(" dport " + formatPorts(r.DPort))
	}
	if r.UID != nil {
		fmt.Fprintf(&b, " uidrange %d-%d", r.UID.Start, r.UID.End)
	}
	switch r.Action {
	case ActionLookup:
		b.WriteString(" lookup " + names.Name(r.Table))
	case ActionGoto:
		fmt.Fprintf(&b, " goto %d", r.Goto)
	case ActionNop:
		b.WriteString(" nop")
	case ActionBlackhole:
		b.WriteString(" blackhole")
	case ActionUnreachable:
		b.WriteString(" unreachable")
	case ActionProhibit:
		b.WriteString(" prohibit")
	default:
		fmt.Fprintf(&b, " action %d", r.Action)
	}
	fmt.Fprintf(&b, " priority %d", r.Priority)
	if r.SuppressPrefixLen != nil {
		fmt.Fprintf(&b, " suppress_prefixlength %d", *r.SuppressPrefixLen)
	}
	return b.String()
}

// FormatNeigh renders a neighbour: `neigh IP lladdr MAC dev LINK
// [permanent]` (other states as `nud NAME`).
func FormatNeigh(n Neigh) string {
	var b strings.Builder
	b.WriteString("neigh " + n.IP.String())
	if len(n.LLAddr) > 0 {
		b.WriteString(" lladdr " + n.LLAddr.String())
	}
	b.WriteString(" dev " + n.Link)
	switch {
	case n.State&NeighPermanent != 0:
		b.WriteString(" permanent")
	case n.State&NeighNoARP != 0:
		b.WriteString(" nud noarp")
	case n.State&NeighReachable != 0:
		b.WriteString(" nud reachable")
	case n.State&NeighStale != 0:
		b.WriteString(" nud stale")
	}
	return b.String()
}

// formatKey renders a key as a recipe string: revealed in base64 or as
// the redacted (key).
func formatKey(k Key, reveal bool) string {
	if reveal {
		return `"` + k.Base64() + `"`
	}
	return "(key)"
}

// FormatWireGuard renders a device's configuration as a `wireguard NAME
// < ... >` block. Public keys are not secret and are always shown (they
// name the peers); the private and preshared keys print as (key) unless
// revealSecrets.
func FormatWireGuard(d WGDevice, revealSecrets bool) string {
	var b strings.Builder
	b.WriteString("wireguard " + d.Name + " <\n")
	if !d.PrivateKey.IsZero() {
		b.WriteString("  private-key " + formatKey(d.PrivateKey, revealSecrets) + "\n")
	}
	if d.ListenPort != 0 {
		fmt.Fprintf(&b, "  listen-port %d\n", d.ListenPort)
	}
	if d.FirewallMark != 0 {
		fmt.Fprintf(&b, "  fwmark 0x%x\n", d.FirewallMark)
	}
	for _, p := range d.Peers {
		b.WriteString("  peer " + formatKey(p.PublicKey, true) + " <\n")
		for _, l := range formatPeerAttrs(p, revealSecrets) {
			b.WriteString("    " + l + "\n")
		}
		b.WriteString("  >\n")
	}
	b.WriteString(">")
	return b.String()
}

func formatPeerAttrs(p WGPeer, reveal bool) []string {
	var out []string
	if !p.PresharedKey.IsZero() {
		out = append(out, "preshared-key "+formatKey(p.PresharedKey, reveal))
	}
	if p.Endpoint.IsValid() {
		out = append(out, "endpoint "+p.Endpoint.String())
	}
	if len(p.AllowedIPs) > 0 {
		s := make([]string, len(p.AllowedIPs))
		for i, a := range p.AllowedIPs {
			s[i] = a.String()
		}
		out = append(out, "allowed-ips "+strings.Join(s, ", "))
	}
	if p.PersistentKeepalive != 0 {
		out = append(out, fmt.Sprintf("persistent-keepalive %d", int(p.PersistentKeepalive/time.Second)))
	}
	return out
}

// FormatWant renders a want as the recipe statement that asks for it
// (`del ...` when Absent), on one line, secrets redacted. Restore-only
// wants render as the object they restore.
func FormatWant(w Want, names *TableNames) string {
	del := ""
	if w.Absent {
		del = "del "
	}
	s := ""
	switch {
	case w.Netns != nil:
		s = "netns " + w.Netns.Name
	case w.Link != nil:
		s = formatLinkWant(*w.Link)
	case w.Addr != nil:
		s = FormatAddr(*w.Addr)
	case w.Route != nil:
		s = FormatRoute(w.Route.Route, names)
	case w.Rule != nil:
		r := w.Rule.Rule
		s = FormatRule(r, names)
		if w.Rule.AnyPriority {
			s = strings.Replace(s, fmt.Sprintf(" priority %d", r.Priority), "", 1)
		}
	case w.Neigh != nil:
		s = FormatNeigh(*w.Neigh)
	case w.WireGuard != nil:
		s = "wireguard " + w.WireGuard.Name
	case w.LinkState != nil:
		s = "restore " + FormatLink(w.LinkState.Link)
	case w.NetnsState != nil:
		s = "restore netns " + w.NetnsState.Name
	default:
		s = "(empty want)"
	}
	if w.NS != Host {
		return "in netns " + w.NS + " < " + del + s + " >"
	}
	return del + s
}

func formatLinkWant(l LinkWant) string {
	var b strings.Builder
	b.WriteString("link " + l.Name + formatLinkKind(l.Kind, l.Veth, l.VXLAN, l.Macvlan, l.Tun))
	if l.Up != nil {
		if *l.Up {
			b.WriteString(" up")
		} else {
			b.WriteString(" down")
		}
	}
	if l.MTU != nil {
		fmt.Fprintf(&b, " mtu %d", *l.MTU)
	}
	if l.Address != nil {
		b.WriteString(" address " + l.Address.String())
	}
	if l.Master != nil {
		if *l.Master == "" {
			b.WriteString(" nomaster")
		} else {
			b.WriteString(" master " + *l.Master)
		}
	}
	if l.Netns != nil {
		n := *l.Netns
		if n == Host {
			n = HostName
		}
		b.WriteString(" netns " + n)
	}
	if l.Alias != nil {
		b.WriteString(" alias " + quote(*l.Alias))
	}
	return b.String()
}
