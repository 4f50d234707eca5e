package kernel

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Model is an in-memory Kernel: a faithful-enough simulation of Linux's
// network stack for plans (`nets plan` runs a recipe against a Model seeded
// from the live state) and for unit tests.
//
// It reproduces the kernel behaviours that decide what an ensure does,
// as measured on Linux 6.18 with iproute2 6.1:
//
//   - a new namespace holds lo (down, mtu 65536, no addresses) and the
//     default rules (IPv4 0 local, 32766 main, 32767 default; IPv6 0
//     local, 32766 main); bringing lo up adds 127.0.0.1/8 and ::1/128
//     with their local routes;
//   - an IPv4 address adds its local route (table local, type local,
//     scope host, src the primary address of its subnet) at once, and
//     while the link is up the connected route (table main, proto kernel,
//     scope link) for its prefix (or its peer's prefix) unless it is a
//     plain /32, and the broadcast route of prefixes shorter than /31;
//     an address in the subnet of an existing one is secondary: it adds
//     only its local route, and deleting the primary deletes its
//     secondaries (promote_secondaries is 0 in a new namespace);
//   - an IPv6 address on an up link adds its prefix route (main, metric
//     256, proto kernel) and its local route (table local, metric 0);
//   - taking a link down deletes every route through it except IPv4
//     local routes, its IPv6 addresses and its neighbours (permanent ones
//     too); bringing it up adds its IPv4 addresses' routes again;
//   - deleting a link deletes its addresses, every route through it in
//     every table, its neighbours, its bridge ports' membership,
//     macvlans on top of it and the other end of a veth (wherever that
//     lives); moving a link to another namespace deletes its addresses,
//     routes and neighbours, removes it from its bridge and takes it down;
//   - a new hardware address flushes the link's neighbours, permanent ones
//     included; an MTU below 1280 disables IPv6 on the link (its IPv6
//     addresses, routes and neighbours go);
//   - a gateway must be reachable through a link- or host-scope route
//     (ENETUNREACH "Nexthop has invalid gateway") unless onlink; a route
//     through a down link fails with ENETDOWN; IPv6 metric 0 means 1024;
//   - a rule with priority 0 gets the kernel's choice: the priority of
//     the second rule of its family minus one (0 when that is 0);
//     an identical rule (priority included) is EEXIST.
//
// Not modelled: IPv6 link-local autoconfiguration and DAD (no fe80::
// addresses or routes appear), carrier (veth peers need not be up),
// neighbour discovery (only entries set with SetNeigh exist), traffic.
//
// Exec records the command (see Execs), prints nothing and succeeds.
//
// Errors are *Error values with the errno the kernel returns and the
// matching Kind sentinel (ErrExist, ErrNotFound, ErrNoNetns, ...).
// A Model is safe for concurrent use.
type Model struct {
	mu        sync.Mutex
	nss       map[string]*mns
	nextIndex int32
	nextMAC   uint32
	execs     []ModelExec
	// userspaceWG: wireguard links are userspace devices, as on a kernel
	// without WireGuard (see SetUserspaceWireGuard).
	userspaceWG bool
}

// SetUserspaceWireGuard says whether the kernel the model stands for has
// no WireGuard, so that `link X type wireguard` makes a userspace device
// (Link.Userspace, WGDevice.Userspace) and changes say so. NewModelFrom
// and Seed take it from the kernel they copy when that kernel can tell
// (UserspaceWireGuarder); a NewModel has kernel WireGuard.
func (m *Model) SetUserspaceWireGuard(userspace bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.userspaceWG = userspace
}

// UserspaceWireGuard reports what SetUserspaceWireGuard set.
func (m *Model) UserspaceWireGuard() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.userspaceWG
}

var _ Kernel = (*Model)(nil)

// ModelExec is a command Exec was asked to run on a Model.
type ModelExec struct {
	NS   string
	Args []string
}

// mns is one namespace of a Model.
type mns struct {
	links   map[string]*Link
	addrs   map[addrKey]*maddr
	addrSeq uint64
	// addrIdx indexes addresses by every destination their own routes
	// can have (addrDsts): an address's subnet, secondaries and the
	// addresses sharing its routes are found there without a scan, so
	// adding or deleting one address costs O(1) in the number of
	// addresses (F-S: a scan per delete made rollbacks quadratic).
	addrIdx map[netip.Prefix][]*maddr
	routes  map[routeKey][]Route
	nroutes int
	// routeSlab is where addPrepared takes the one-route lists of the
	// routes it adds from.
	routeSlab []Route
	// srcMain counts the table-main routes by preferred source, so that
	// deleting an address scans the routes for ones preferring it only
	// when there are some.
	srcMain map[netip.Addr]int
	// keysByDst lists the keys in use per table and destination whose
	// metric is not the family's default (0, IPv6 1024), so that a
	// route of another metric than the one a `del` names is found
	// without a scan. Routes of the default metric, most of a big
	// table, are left out: the index stays small.
	keysByDst map[tableDst][]routeKey
	// byDst indexes routes by table and destination, for nexthop lookups.
	byDst map[tableDst][]routeKey
	// plens counts destinations per table, family and prefix length, so
	// nexthop lookups probe only the lengths in use.
	plens map[tableFamily]*[129]int32
	rules []Rule // ordered as the kernel lists them (family, then priority, then age)
	// ruleIdx holds the rules by everything but their priority (oldest
	// first), so that finding or checking a rule costs no scan: kept by
	// AddRule and DelRule, built by reindexRules wherever rules are set
	// wholesale.
	ruleIdx map[ruleKey][]Rule
	neighs  map[neighKey]Neigh
	wg      map[string]*WGDevice
	// mtuByUser marks bridges whose MTU was set explicitly; the others
	// follow their ports' smallest MTU (br_mtu_auto_adjust).
	mtuByUser map[string]bool
}

type maddr struct {
	Addr
	seq       uint64
	secondary bool
}

type addrKey struct {
	link         string
	prefix, peer netip.Prefix
}

type routeKey struct {
	table    uint32
	dst      netip.Prefix
	tos      uint8
	priority uint32
}

type tableDst struct {
	table uint32
	dst   netip.Prefix
}

type tableFamily struct {
	table uint32
	v6    bool
}

type neighKey struct {
	link string
	ip   netip.Addr
}

func keyOfAddr(a Addr) addrKey { return addrKey{a.Link, a.Prefix, a.Peer} }

// keyOfRoute gives r's identity, normalized as the kernel does: table 0
// is main, the prefix is masked.
func keyOfRoute(r Route) routeKey {
	k := routeKey{table: r.Table, dst: r.Dst.Masked(), tos: r.TOS, priority: r.Priority}
	if k.table == TableUnspec {
		k.table = TableMain
	}
	return k
}

// requestMetric is the metric a route request gets: IPv6 turns 0 into
// 1024 (IP6_RT_PRIO_USER); the kernel's own IPv6 local routes have 0.
func requestMetric(r Route) uint32 {
	if r.Dst.Addr().Is6() && r.Priority == 0 {
		return 1024
	}
	return r.Priority
}

// NewModel returns a Model holding only the Host namespace, fresh: lo down
// and the default rules.
func NewModel() *Model {
	m := &Model{nss: map[string]*mns{}}
	m.nss[Host] = m.freshNS()
	return m
}

func (m *Model) freshNS() *mns {
	n := &mns{
		links:     map[string]*Link{},
		addrs:     map[addrKey]*maddr{},
		addrIdx:   map[netip.Prefix][]*maddr{},
		srcMain:   map[netip.Addr]int{},
		routes:    map[routeKey][]Route{},
		byDst:     map[tableDst][]routeKey{},
		keysByDst: map[tableDst][]routeKey{},
		plens:     map[tableFamily]*[129]int32{},
		neighs:    map[neighKey]Neigh{},
		wg:        map[string]*WGDevice{},

		mtuByUser: map[string]bool{},
	}
	m.nextIndex++
	n.links["lo"] = &Link{Name: "lo", Index: 1, Kind: KindDevice, MTU: 65536, Address: net.HardwareAddr{0, 0, 0, 0, 0, 0}}
	n.rules = []Rule{
		{Family: 4, Priority: 0, Action: ActionLookup, Table: TableLocal},
		{Family: 4, Priority: 32766, Action: ActionLookup, Table: TableMain},
		{Family: 4, Priority: 32767, Action: ActionLookup, Table: TableDefault},
		{Family: 6, Priority: 0, Action: ActionLookup, Table: TableLocal},
		{Family: 6, Priority: 32766, Action: ActionLookup, Table: TableMain},
	}
	n.reindexRules()
	return n
}

// kerr builds the *Error a kernel would return.
func kerr(op, ns string, errno syscall.Errno, msg string) error {
	var kind error
	switch errno {
	case syscall.EEXIST:
		kind = ErrExist
	case syscall.ENODEV, syscall.ENOENT, syscall.ESRCH, syscall.EADDRNOTAVAIL:
		kind = ErrNotFound
	case syscall.EPERM:
		kind = ErrPerm
	case syscall.EOPNOTSUPP:
		kind = ErrNotSupp
	}
	return &Error{Op: op, NS: ns, Err: errno, Kind: kind, Message: msg}
}

func errNoNetns(op, ns string) error {
	return &Error{Op: op, NS: ns, Err: syscall.ENOENT, Kind: ErrNoNetns,
		Message: fmt.Sprintf("network namespace %q does not exist", ns)}
}

// ns returns the namespace or ErrNoNetns. Callers hold m.mu.
func (m *Model) ns(op, name string) (*mns, error) {
	if name == HostName {
		name = Host
	}
	n := m.nss[name]
	if n == nil {
		return nil, errNoNetns(op, name)
	}
	return n, nil
}

// ---- namespaces ----

// Namespaces lists the named namespaces, sorted.
func (m *Model) Namespaces() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for name := range m.nss {
		if name != Host {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// AddNamespace creates a named namespace holding lo (down) and the
// default rules.
func (m *Model) AddNamespace(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "add netns " + name
	if name == "" || name == HostName || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return kerr(op, Host, syscall.EINVAL, "invalid namespace name")
	}
	if m.nss[name] != nil {
		return kerr(op, Host, syscall.EEXIST, "")
	}
	m.nss[name] = m.freshNS()
	return nil
}

// DelNamespace deletes a named namespace: its links go with it (and the
// far ends of its veths, wherever they are); devices nets cannot create
// return to Host, down and without addresses.
func (m *Model) DelNamespace(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "del netns " + name
	if name == Host || name == HostName {
		return kerr(op, Host, syscall.EINVAL, "cannot delete the host namespace")
	}
	n, err := m.ns(op, name)
	if err != nil {
		return err
	}
	for _, l := range sortedLinks(n) {
		if n.links[l.Name] == nil || l.Name == "lo" {
			continue
		}
		if l.Kind == KindDevice {
			other := Host
			_ = m.moveLink(name, n, l.Name, other)
			continue
		}
		m.delLink(name, n, l.Name)
	}
	delete(m.nss, name)
	return nil
}

// ---- links ----

func sortedLinks(n *mns) []Link {
	out := make([]Link, 0, len(n.links))
	for _, l := range n.links {
		out = append(out, cloneLink(*l))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func cloneLink(l Link) Link {
	l.Address = slices.Clone(l.Address)
	if l.Veth != nil {
		v := *l.Veth
		l.Veth = &v
	}
	if l.VXLAN != nil {
		v := *l.VXLAN
		l.VXLAN = &v
	}
	if l.Macvlan != nil {
		v := *l.Macvlan
		l.Macvlan = &v
	}
	if l.Tun != nil {
		v := *l.Tun
		l.Tun = &v
	}
	return l
}

// Links lists the links of ns in index order.
func (m *Model) Links(ns string) ([]Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.ns("list links", ns)
	if err != nil {
		return nil, err
	}
	return sortedLinks(n), nil
}

func (m *Model) newMAC() net.HardwareAddr {
	m.nextMAC++
	v := m.nextMAC
	return net.HardwareAddr{0x02, 0x6e, 0x65, byte(v >> 16), byte(v >> 8), byte(v)}
}

// peerNS resolves a Veth.PeerNetns seen from ns to a namespace name.
func peerNS(ns, peerNetns string) string {
	switch peerNetns {
	case "":
		return ns
	case HostName:
		return Host
	}
	return peerNetns
}

// relNS expresses namespace target as seen from ns, for Veth.PeerNetns.
func relNS(ns, target string) string {
	switch {
	case target == ns:
		return ""
	case target == Host:
		return HostName
	}
	return target
}

// AddLink creates l. A veth creates both ends (the peer in
// l.Veth.PeerNetns); a wireguard link gets an empty device configuration.
func (m *Model) AddLink(ns string, l Link) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "add link " + l.Name
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if l.Name == "" || len(l.Name) > 15 || strings.ContainsAny(l.Name, "/ \t\n:") {
		return kerr(op, ns, syscall.EINVAL, "invalid link name")
	}
	if n.links[l.Name] != nil {
		return kerr(op, ns, syscall.EEXIST, "")
	}
	nl := cloneLink(l)
	nl.Up, nl.Master, nl.Index = false, "", 0
	switch l.Kind {
	case KindVeth:
		if l.Veth == nil || l.Veth.Peer == "" {
			return kerr(op, ns, syscall.EINVAL, "veth needs a peer name")
		}
		pns := peerNS(ns, l.Veth.PeerNetns)
		pn, err := m.ns(op, pns)
		if err != nil {
			return err
		}
		if pn.links[l.Veth.Peer] != nil || (pns == ns && l.Veth.Peer == l.Name) {
			return kerr(op, ns, syscall.EEXIST, "")
		}
		if nl.MTU == 0 {
			nl.MTU = 1500
		}
		if nl.Address == nil {
			nl.Address = m.newMAC()
		}
		m.nextIndex++
		nl.Index = m.nextIndex
		nl.Veth = &Veth{Peer: l.Veth.Peer, PeerNetns: relNS(ns, pns)}
		m.nextIndex++
		pn.links[l.Veth.Peer] = &Link{Name: l.Veth.Peer, Index: m.nextIndex, Kind: KindVeth, MTU: 1500,
			Address: m.newMAC(), Veth: &Veth{Peer: l.Name, PeerNetns: relNS(pns, ns)}}
	case KindBridge:
		if nl.MTU == 0 {
			nl.MTU = 1500
		} else {
			n.mtuByUser[l.Name] = true
		}
		if nl.Address == nil {
			nl.Address = m.newMAC()
		}
	case KindVXLAN:
		if l.VXLAN == nil {
			return kerr(op, ns, syscall.EINVAL, "vxlan needs an id")
		}
		if nl.VXLAN.DstPort == 0 {
			nl.VXLAN.DstPort = 8472
		}
		mtu := uint32(1500) // without a lower device
		if l.VXLAN.Dev != "" {
			low := n.links[l.VXLAN.Dev]
			if low == nil {
				return kerr(op, ns, syscall.ENODEV, "")
			}
			mtu = low.MTU - 50
		}
		if nl.MTU == 0 {
			nl.MTU = mtu
		}
		if nl.Address == nil {
			nl.Address = m.newMAC()
		}
	case KindMacvlan:
		if l.Macvlan == nil || n.links[l.Macvlan.Dev] == nil {
			return kerr(op, ns, syscall.ENODEV, "")
		}
		if nl.Macvlan.Mode == "" {
			nl.Macvlan.Mode = "vepa"
		}
		if nl.MTU == 0 {
			nl.MTU = n.links[l.Macvlan.Dev].MTU
		}
		if nl.Address == nil {
			nl.Address = m.newMAC()
		}
	case KindTun, KindTap:
		if nl.Tun == nil {
			nl.Tun = &Tun{User: -1, Group: -1}
		}
		if nl.MTU == 0 {
			nl.MTU = 1500
		}
		if l.Kind == KindTap && nl.Address == nil {
			nl.Address = m.newMAC()
		}
	case KindWireGuard:
		if nl.MTU == 0 {
			nl.MTU = 1420
		}
		if m.userspaceWG {
			nl.Userspace = true
		}
		n.wg[l.Name] = &WGDevice{Name: l.Name, Userspace: nl.Userspace}
	default:
		return kerr(op, ns, syscall.EOPNOTSUPP, fmt.Sprintf("unknown link kind %q", l.Kind))
	}
	if nl.Index == 0 {
		m.nextIndex++
		nl.Index = m.nextIndex
	}
	n.links[l.Name] = &nl
	// Attributes given at creation are set as `ip link add ... up master X` would.
	if l.Master != "" {
		if err := m.setMaster(ns, n, op, &nl, l.Master); err != nil {
			m.delLink(ns, n, l.Name)
			return err
		}
	}
	if l.Up {
		m.setUp(n, &nl, true)
	}
	return nil
}

// adjustBridgeMTU gives bridge br its ports' smallest MTU (1500 without
// ports) unless its MTU was set explicitly, as the kernel does.
func (n *mns) adjustBridgeMTU(br string) {
	b := n.links[br]
	if br == "" || b == nil || b.Kind != KindBridge || n.mtuByUser[br] {
		return
	}
	mtu := uint32(0)
	for _, l := range n.links {
		if l.Master == br && (mtu == 0 || l.MTU < mtu) {
			mtu = l.MTU
		}
	}
	if mtu == 0 {
		mtu = 1500
	}
	b.MTU = mtu
}

func (m *Model) setMaster(ns string, n *mns, op string, l *Link, master string) error {
	if master == "" {
		old := l.Master
		l.Master = ""
		n.adjustBridgeMTU(old)
		return nil
	}
	br := n.links[master]
	if br == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if br.Kind != KindBridge || master == l.Name {
		return kerr(op, ns, syscall.EOPNOTSUPP, "Device is not a bridge")
	}
	if l.Kind == KindBridge {
		return kerr(op, ns, syscall.ELOOP, "Can not enslave a bridge to a bridge")
	}
	old := l.Master
	l.Master = master
	n.adjustBridgeMTU(old)
	n.adjustBridgeMTU(master)
	return nil
}

// setUp changes l's administrative state with the kernel's side effects
// on addresses and routes.
func (m *Model) setUp(n *mns, l *Link, up bool) {
	if l.Up == up {
		return
	}
	l.Up = up
	if up {
		if l.Name == "lo" {
			m.addAddrLocked(n, Addr{Link: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8"), Scope: ScopeHost}, true)
			m.addAddrLocked(n, Addr{Link: "lo", Prefix: netip.MustParsePrefix("::1/128"), Scope: ScopeHost}, true)
		}
		for _, a := range n.sortedAddrs() {
			if a.Link == l.Name {
				n.addAddrRoutes(l, a)
			}
		}
		return
	}
	n.dropAddrs(func(a *maddr) bool { return a.Link == l.Name && a.Prefix.Addr().Is6() })
	n.filterRoutes(func(r Route) bool {
		return r.Dev == l.Name && !(r.Dst.Addr().Is4() && r.Type == RouteLocal)
	})
	for k := range n.neighs {
		if k.link == l.Name {
			delete(n.neighs, k) // neigh_ifdown flushes permanent entries too
		}
	}
}

// SetLink changes attributes of link `name`.
func (m *Model) SetLink(ns, name string, ch LinkChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "set link " + name
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	l := n.links[name]
	if l == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if ch.Netns != nil {
		// The kernel moves the link first and applies the rest there.
		if err := m.moveLink(ns, n, name, *ch.Netns); err != nil {
			return err
		}
		ns = *ch.Netns
		if ns == HostName {
			ns = Host
		}
		n = m.nss[ns]
	}
	if ch.Mode != nil {
		if l.Kind != KindMacvlan {
			return kerr(op, ns, syscall.EOPNOTSUPP, "mode applies to macvlan links only")
		}
		l.Macvlan.Mode = *ch.Mode
	}
	if ch.MTU != nil {
		if *ch.MTU < 68 && l.Name != "lo" || *ch.MTU > 65535 && l.Name != "lo" {
			return kerr(op, ns, syscall.EINVAL, "mtu out of range")
		}
		l.MTU = *ch.MTU
		if l.Kind == KindBridge {
			n.mtuByUser[name] = true
		}
		n.adjustBridgeMTU(l.Master)
		if l.MTU < 1280 {
			n.dropIPv6(name) // IPv6 needs 1280; the kernel disables it on the link
			for k := range n.neighs {
				if k.link == name && k.ip.Is6() {
					delete(n.neighs, k) // permanent ones too (measured)
				}
			}
		}
	}
	if ch.Address != nil {
		if len(ch.Address) != 6 || l.Kind == KindTun || l.Kind == KindWireGuard {
			return kerr(op, ns, syscall.EINVAL, "invalid address")
		}
		if !slices.Equal(l.Address, ch.Address) {
			// NETDEV_CHANGEADDR: the kernel flushes the link's
			// neighbours, permanent ones included.
			for k := range n.neighs {
				if k.link == name {
					delete(n.neighs, k)
				}
			}
		}
		l.Address = slices.Clone(net.HardwareAddr(ch.Address))
	}
	if ch.Alias != nil {
		l.Alias = *ch.Alias
	}
	if ch.Master != nil {
		if err := m.setMaster(ns, n, op, l, *ch.Master); err != nil {
			return err
		}
	}
	if ch.Up != nil {
		m.setUp(n, l, *ch.Up)
	}
	return nil
}

// dropIPv6 deletes a link's IPv6 addresses and routes.
func (n *mns) dropIPv6(name string) {
	n.dropAddrs(func(a *maddr) bool { return a.Link == name && a.Prefix.Addr().Is6() })
	n.filterRoutes(func(r Route) bool { return r.Dev == name && r.Dst.Addr().Is6() })
}

// moveLink moves link name from ns to target with the kernel's side
// effects. Callers hold m.mu.
func (m *Model) moveLink(ns string, n *mns, name, target string) error {
	op := "set link " + name + " netns " + target
	if target == HostName {
		target = Host
	}
	if target == ns {
		return nil
	}
	tn, err := m.ns(op, target)
	if err != nil {
		return err
	}
	l := n.links[name]
	if name == "lo" {
		return kerr(op, ns, syscall.EINVAL, "lo cannot move")
	}
	if tn.links[name] != nil {
		return kerr(op, ns, syscall.EEXIST, "")
	}
	m.dropDependents(n, name)
	oldMaster := l.Master
	l.Up, l.Master = false, ""
	for _, o := range n.links {
		if o.Master == name {
			o.Master = ""
		}
	}
	delete(n.links, name)
	n.adjustBridgeMTU(oldMaster)
	delete(n.mtuByUser, name)
	tn.links[name] = l
	if wg := n.wg[name]; wg != nil {
		delete(n.wg, name)
		tn.wg[name] = wg
	}
	if l.Veth != nil {
		pns := peerNS(ns, l.Veth.PeerNetns)
		if pn := m.nss[pns]; pn != nil && pn.links[l.Veth.Peer] != nil {
			pn.links[l.Veth.Peer].Veth.PeerNetns = relNS(pns, target)
		}
		l.Veth.PeerNetns = relNS(target, pns)
	}
	return nil
}

// dropDependents deletes a link's addresses, routes and neighbours.
func (m *Model) dropDependents(n *mns, name string) {
	n.dropAddrs(func(a *maddr) bool { return a.Link == name })
	n.filterRoutes(func(r Route) bool { return r.Dev == name })
	for k := range n.neighs {
		if k.link == name {
			delete(n.neighs, k)
		}
	}
}

// DelLink deletes link `name` with everything the kernel removes with it.
func (m *Model) DelLink(ns, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "del link " + name
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if n.links[name] == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if name == "lo" {
		return kerr(op, ns, syscall.EOPNOTSUPP, "")
	}
	m.delLink(ns, n, name)
	return nil
}

func (m *Model) delLink(ns string, n *mns, name string) {
	l := n.links[name]
	if l == nil {
		return
	}
	delete(n.links, name)
	delete(n.wg, name)
	delete(n.mtuByUser, name)
	m.dropDependents(n, name)
	n.adjustBridgeMTU(l.Master)
	for _, o := range sortedLinks(n) {
		if o.Master == name {
			n.links[o.Name].Master = ""
		}
		if upperOf(o, name) {
			m.delLink(ns, n, o.Name)
		}
	}
	if l.Veth != nil {
		pns := peerNS(ns, l.Veth.PeerNetns)
		if pn := m.nss[pns]; pn != nil {
			if p := pn.links[l.Veth.Peer]; p != nil && p.Kind == KindVeth {
				m.delLink(pns, pn, l.Veth.Peer)
			}
		}
	}
}

// upperOf reports whether link l sits on link lower and goes with it
// (a macvlan, or a vxlan with that dev).
func upperOf(l Link, lower string) bool {
	return l.Kind == KindMacvlan && l.Macvlan != nil && l.Macvlan.Dev == lower ||
		l.Kind == KindVXLAN && l.VXLAN != nil && l.VXLAN.Dev == lower
}

// ---- addresses ----

func (n *mns) sortedAddrs() []Addr {
	list := make([]*maddr, 0, len(n.addrs))
	for _, a := range n.addrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool {
		li, lj := n.links[list[i].Link], n.links[list[j].Link]
		if li != nil && lj != nil && li.Index != lj.Index {
			return li.Index < lj.Index
		}
		if list[i].Prefix.Addr().Is4() != list[j].Prefix.Addr().Is4() {
			return list[i].Prefix.Addr().Is4()
		}
		return list[i].seq < list[j].seq
	})
	out := make([]Addr, len(list))
	for i, a := range list {
		out[i] = a.Addr
	}
	return out
}

// Addrs lists the addresses of ns.
func (m *Model) Addrs(ns string) ([]Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.ns("list addrs", ns)
	if err != nil {
		return nil, err
	}
	return n.sortedAddrs(), nil
}

// AddAddr adds a (or, with replace, changes its attributes).
func (m *Model) AddAddr(ns string, a Addr, replace bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := nlAddrOp("add", a)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if n.links[a.Link] == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if !a.Prefix.IsValid() || (a.Peer.IsValid() && a.Peer.Addr().Is4() != a.Prefix.Addr().Is4()) {
		return kerr(op, ns, syscall.EINVAL, "invalid address")
	}
	if old := n.addrs[keyOfAddr(a)]; old != nil {
		if !replace {
			if a.Prefix.Addr().Is4() {
				return kerr(op, ns, syscall.EEXIST, "ipv4: Address already assigned.")
			}
			return kerr(op, ns, syscall.EEXIST, "")
		}
		// Like the kernel, replace keeps scope, label and broadcast (it
		// only updates flags and lifetimes, which the model has not).
		return nil
	}
	m.addAddrLocked(n, a, false)
	return nil
}

func (m *Model) addAddrLocked(n *mns, a Addr, quiet bool) {
	if n.addrs[keyOfAddr(a)] != nil {
		return
	}
	n.putAddr(a)
	l := n.links[a.Link]
	n.addAddrRoutes(l, a)
}

// putAddr records a new address, secondary when its IPv4 subnet (same
// link, prefix and peer) already has a primary.
func (n *mns) putAddr(a Addr) *maddr {
	n.addrSeq++
	ma := &maddr{Addr: a, seq: n.addrSeq}
	if a.Prefix.Addr().Is4() {
		ma.secondary = n.primary(a) != nil
	}
	n.addrs[keyOfAddr(a)] = ma
	for _, d := range addrDsts(a) {
		n.addrIdx[d] = append(n.addrIdx[d], ma)
	}
	return ma
}

// dropAddr forgets the address ma.
func (n *mns) dropAddr(ma *maddr) {
	delete(n.addrs, keyOfAddr(ma.Addr))
	for _, d := range addrDsts(ma.Addr) {
		list := slices.DeleteFunc(n.addrIdx[d], func(o *maddr) bool { return o == ma })
		if len(list) == 0 {
			delete(n.addrIdx, d)
		} else {
			n.addrIdx[d] = list
		}
	}
}

// dropAddrs forgets every address drop selects.
func (n *mns) dropAddrs(drop func(*maddr) bool) {
	var victims []*maddr
	for _, a := range n.addrs {
		if drop(a) {
			victims = append(victims, a)
		}
	}
	for _, a := range victims {
		n.dropAddr(a)
	}
}

// addrDsts lists the destinations (masked) the routes the kernel keeps
// for a can have (see addrRoutes): its host prefix, its prefix, its
// peer's, and its broadcast addresses. Two addresses of one link that
// share a route share one of these.
func addrDsts(a Addr) []netip.Prefix {
	ip := a.Prefix.Addr()
	out := make([]netip.Prefix, 0, 5)
	add := func(p netip.Prefix) {
		if p.IsValid() && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	add(netip.PrefixFrom(ip, ip.BitLen()))
	add(a.Prefix.Masked())
	if a.Peer.IsValid() {
		add(a.Peer.Masked())
	}
	if ip.Is4() {
		if a.Broadcast.IsValid() {
			add(netip.PrefixFrom(a.Broadcast, 32))
		}
		pfx := a.Prefix
		if a.Peer.IsValid() {
			pfx = a.Peer
		}
		add(netip.PrefixFrom(lastAddr(pfx), 32))
	}
	return out
}

// sameSubnet reports whether IPv4 addresses a and b are in one subnet:
// same link, prefix (masked, with its length) and peer.
func sameSubnet(a, b Addr) bool {
	return a.Link == b.Link && a.Prefix.Addr().Is4() && b.Prefix.Addr().Is4() &&
		a.Prefix.Masked() == b.Prefix.Masked() && a.Peer == b.Peer
}

// primary returns the primary address of a's IPv4 subnet (nil: none).
func (n *mns) primary(a Addr) *maddr {
	for _, o := range n.addrIdx[a.Prefix.Masked()] {
		if !o.secondary && sameSubnet(o.Addr, a) {
			return o
		}
	}
	return nil
}

// primaryFor returns the primary address a secondary a belongs to.
func (n *mns) primaryFor(a Addr) netip.Addr {
	if p := n.primary(a); p != nil {
		return p.Prefix.Addr()
	}
	return a.Prefix.Addr()
}

// secondariesOf returns the secondaries of primary address p, oldest
// first.
func (n *mns) secondariesOf(p *maddr) []*maddr {
	var out []*maddr
	if !p.Prefix.Addr().Is4() || p.secondary {
		return nil
	}
	for _, o := range n.addrIdx[p.Prefix.Masked()] {
		if o.secondary && sameSubnet(o.Addr, p.Addr) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *maddr) int { return cmpUint(a.seq, b.seq) })
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// addrRoutes gives the routes the kernel keeps for address a on link l.
func (n *mns) addrRoutes(l *Link, a Addr) []Route {
	ip := a.Prefix.Addr()
	if ip.Is6() {
		if !l.Up {
			return nil
		}
		rs := []Route{{Table: TableLocal, Dst: netip.PrefixFrom(ip, 128), Type: RouteLocal, Dev: l.Name, Protocol: 2}}
		if l.Name != "lo" { // ::1 on lo has only its local route
			rs = append(rs, Route{Table: TableMain, Dst: a.Prefix.Masked(), Priority: 256, Type: RouteUnicast, Dev: l.Name, Protocol: 2})
		}
		if a.Peer.IsValid() {
			rs = append(rs, Route{Table: TableMain, Dst: a.Peer.Masked(), Priority: 256, Type: RouteUnicast, Dev: l.Name, Protocol: 2})
		}
		return rs
	}
	secondary := false
	if ma := n.addrs[keyOfAddr(a)]; ma != nil {
		secondary = ma.secondary
	}
	src := n.primaryFor(a)
	if !secondary {
		src = ip
	}
	lo := l.Name == "lo"
	var rs []Route
	if lo && a.Prefix.Bits() < 32 {
		rs = append(rs, Route{Table: TableLocal, Dst: a.Prefix.Masked(), Type: RouteLocal, Dev: l.Name, Src: src, Protocol: 2, Scope: ScopeHost})
	}
	rs = append(rs, Route{Table: TableLocal, Dst: netip.PrefixFrom(ip, 32), Type: RouteLocal, Dev: l.Name, Src: src, Protocol: 2, Scope: ScopeHost})
	if !l.Up {
		return rs
	}
	if a.Broadcast.IsValid() {
		rs = append(rs, Route{Table: TableLocal, Dst: netip.PrefixFrom(a.Broadcast, 32), Type: RouteBroadcast, Dev: l.Name, Src: src, Protocol: 2, Scope: ScopeLink})
	}
	if secondary {
		return rs
	}
	pfx := a.Prefix
	if a.Peer.IsValid() {
		pfx = a.Peer
	}
	if pfx.Addr() != ip || pfx.Bits() < 32 {
		if !lo {
			rs = append(rs, Route{Table: TableMain, Dst: pfx.Masked(), Type: RouteUnicast, Dev: l.Name, Src: ip, Protocol: 2, Scope: ScopeLink})
		}
		if pfx.Bits() < 31 {
			rs = append(rs, Route{Table: TableLocal, Dst: netip.PrefixFrom(lastAddr(pfx), 32), Type: RouteBroadcast, Dev: l.Name, Src: ip, Protocol: 2, Scope: ScopeLink})
		}
	}
	return rs
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (n *mns) addAddrRoutes(l *Link, a Addr) {
	for _, r := range n.addrRoutes(l, a) {
		n.putRoute(r)
	}
}

// putRoute adds r unless an identical route exists (the kernel's own
// routes may share a key, e.g. two links in one subnet).
func (n *mns) putRoute(r Route) { n.putRouteIn(r, nil) }

// putRouteIn is putRoute that, when r is the first route of its key,
// stores it in slot (a slice of length 1 and capacity 1 nobody else
// uses) instead of allocating a list: Load gives each route the element
// of the dumped slice it came in.
func (n *mns) putRouteIn(r Route, slot []Route) {
	k := keyOfRoute(r)
	r.Table, r.Priority = k.table, k.priority
	list := n.routes[k]
	if slices.ContainsFunc(list, func(o Route) bool { return routeEqual(o, r) }) {
		return
	}
	if len(list) == 0 && slot != nil {
		slot[0] = r
		n.replaceRoutes(k, list, slot)
		return
	}
	n.replaceRoutes(k, list, append(list, r))
}

// setRoutes replaces the routes under key k, keeping the count and the
// nexthop index current.
func (n *mns) setRoutes(k routeKey, list []Route) { n.replaceRoutes(k, n.routes[k], list) }

// replaceRoutes is setRoutes for a caller that has just read prev, the
// routes under k (one map lookup less per route added or deleted).
func (n *mns) replaceRoutes(k routeKey, prev, list []Route) {
	n.nroutes += len(list) - len(prev)
	if k.table == TableMain {
		for _, r := range prev {
			if r.Src.IsValid() {
				if n.srcMain[r.Src]--; n.srcMain[r.Src] <= 0 {
					delete(n.srcMain, r.Src)
				}
			}
		}
		for _, r := range list {
			if r.Src.IsValid() {
				n.srcMain[r.Src]++
			}
		}
	}
	td := tableDst{k.table, k.dst}
	indexed := k.priority != requestMetric(Route{Dst: k.dst}) // see keysByDst
	if indexed && len(prev) == 0 && len(list) > 0 {
		n.keysByDst[td] = append(n.keysByDst[td], k)
	} else if indexed && len(prev) > 0 && len(list) == 0 {
		if keys := slices.DeleteFunc(n.keysByDst[td], func(x routeKey) bool { return x == k }); len(keys) == 0 {
			delete(n.keysByDst, td)
		} else {
			n.keysByDst[td] = keys
		}
	}
	if len(list) == 0 {
		delete(n.routes, k)
	} else {
		n.routes[k] = list
	}
	was, is := anyNexthopRoute(prev), anyNexthopRoute(list)
	if was == is {
		return
	}
	tf := tableFamily{k.table, k.dst.Addr().Is6()}
	if !is {
		keys := slices.DeleteFunc(n.byDst[td], func(x routeKey) bool { return x == k })
		if len(keys) == 0 {
			delete(n.byDst, td)
			n.plens[tf][k.dst.Bits()]--
		} else {
			n.byDst[td] = keys
		}
		return
	}
	if len(n.byDst[td]) == 0 {
		if n.plens[tf] == nil {
			n.plens[tf] = new([129]int32)
		}
		n.plens[tf][k.dst.Bits()]++
	}
	n.byDst[td] = append(n.byDst[td], k)
}

// nexthopRoute reports whether a gateway can be reached through r: a
// unicast or local route without a gateway (IPv4: of link or host
// scope). Only these are indexed for nexthop lookups.
func nexthopRoute(r Route) bool {
	return (r.Type == RouteUnicast || r.Type == RouteLocal) && !r.Gateway.IsValid() &&
		(r.Scope >= ScopeLink || r.Dst.Addr().Is6())
}

func anyNexthopRoute(list []Route) bool {
	for _, r := range list {
		if nexthopRoute(r) {
			return true
		}
	}
	return false
}

func (n *mns) delRouteExact(r Route) {
	k := keyOfRoute(r)
	list := n.routes[k]
	for i, o := range list {
		if routeEqual(o, r) {
			n.setRoutes(k, slices.Delete(slices.Clone(list), i, i+1))
			return
		}
	}
}

func (n *mns) filterRoutes(drop func(Route) bool) {
	for k, list := range n.routes {
		kept := make([]Route, 0, len(list))
		for _, r := range list {
			if !drop(r) {
				kept = append(kept, r)
			}
		}
		if len(kept) != len(list) {
			n.setRoutes(k, kept)
		}
	}
}

// DelAddr deletes the address with a's identity (and, for a primary
// IPv4 address, its secondaries).
func (m *Model) DelAddr(ns string, a Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := nlAddrOp("del", a)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	l := n.links[a.Link]
	if l == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	ma := n.addrs[keyOfAddr(a)]
	if ma == nil {
		if a.Prefix.Addr().Is4() {
			return kerr(op, ns, syscall.EADDRNOTAVAIL, "ipv4: Address not found.")
		}
		return kerr(op, ns, syscall.EADDRNOTAVAIL, "")
	}
	victims := append([]*maddr{ma}, n.secondariesOf(ma)...)
	var rs []Route
	for _, v := range victims {
		rs = append(rs, n.addrRoutes(l, v.Addr)...)
	}
	for _, v := range victims {
		n.dropAddr(v)
	}
	for _, r := range rs {
		n.delRouteExact(r)
	}
	// Routes other addresses still give stay (another prefix length of
	// the same address keeps its local route). Only addresses of the
	// link whose routes can share a destination with the deleted ones
	// can give one of them (addrIdx), so only those are looked at.
	var related []*maddr
	for _, r := range rs {
		for _, o := range n.addrIdx[r.Dst.Masked()] {
			if o.Link == a.Link && !slices.Contains(related, o) {
				related = append(related, o)
			}
		}
	}
	slices.SortFunc(related, func(a, b *maddr) int { return cmpUint(a.seq, b.seq) })
	for _, o := range related {
		n.addAddrRoutes(l, o.Addr)
	}
	for _, v := range victims {
		if ip := v.Prefix.Addr(); ip.Is4() && n.srcMain[ip] > 0 && !n.hasLocal(ip) {
			// fib_sync_down_addr: main-table routes preferring the
			// address as source go with it.
			n.filterRoutes(func(r Route) bool { return r.Table == TableMain && r.Src == ip })
		}
	}
	return nil
}

// hasLocal reports whether ip is still an address of some link.
func (n *mns) hasLocal(ip netip.Addr) bool {
	return n.hasSrc(ip, "")
}

// hasSrc reports whether ip may be a route's preferred source: an
// address of the namespace (IPv4) or of dev (IPv6, when dev is given).
func (n *mns) hasSrc(ip netip.Addr, dev string) bool {
	for _, a := range n.addrIdx[netip.PrefixFrom(ip, ip.BitLen())] {
		if a.Prefix.Addr() == ip && (ip.Is4() || dev == "" || a.Link == dev) {
			return true
		}
	}
	return false
}

// ---- routes ----

// Routes lists every route of ns, ordered by table, family, destination,
// TOS and metric.
func (m *Model) Routes(ns string) ([]Route, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.ns("list routes", ns)
	if err != nil {
		return nil, err
	}
	return n.sortedRoutes(), nil
}

func (n *mns) sortedRoutes() []Route {
	keys := make([]routeKey, 0, len(n.routes))
	for k := range n.routes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return routeKeyLess(keys[i], keys[j]) })
	out := make([]Route, 0, n.nroutes)
	for _, k := range keys {
		out = append(out, n.routes[k]...)
	}
	return out
}

func routeKeyLess(a, b routeKey) bool {
	if a.table != b.table {
		return a.table < b.table
	}
	if a.dst.Addr().Is4() != b.dst.Addr().Is4() {
		return a.dst.Addr().Is4()
	}
	if c := a.dst.Addr().Compare(b.dst.Addr()); c != 0 {
		return c < 0
	}
	if a.dst.Bits() != b.dst.Bits() {
		return a.dst.Bits() < b.dst.Bits()
	}
	if a.tos != b.tos {
		return a.tos < b.tos
	}
	return a.priority < b.priority
}

// routeEqual compares every field of two routes (after normalization).
func routeEqual(a, b Route) bool {
	ka, kb := keyOfRoute(a), keyOfRoute(b)
	return ka == kb && a.Type == b.Type && a.Gateway == b.Gateway && a.Dev == b.Dev && a.Src == b.Src &&
		a.Protocol == b.Protocol && a.Scope == b.Scope && a.MTU == b.MTU && a.OnLink == b.OnLink
}

// lookupNexthop finds the link- or host-scope route through which gw is
// reachable, as the kernel's fib_check_nh does: in table first, then in
// the local and main tables. oif, when set, must match.
func (n *mns) lookupNexthop(table uint32, gw netip.Addr, oif string) (Route, bool) {
	for _, t := range []uint32{table, TableLocal, TableMain, TableDefault} {
		lens := n.plens[tableFamily{t, gw.Is6()}]
		if lens == nil {
			continue
		}
		for bits := gw.BitLen(); bits >= 0; bits-- {
			if lens[bits] == 0 {
				continue
			}
			p, _ := gw.Prefix(bits)
			best, found := Route{}, false
			for _, k := range n.byDst[tableDst{t, p}] {
				for _, r := range n.routes[k] {
					if !nexthopRoute(r) {
						continue
					}
					if oif != "" && r.Dev != oif {
						continue
					}
					if !found || r.Priority < best.Priority {
						best, found = r, true
					}
				}
			}
			if found {
				return best, true
			}
		}
	}
	return Route{}, false
}

// AddRoute adds r, or with replace replaces the route with r's identity.
func (m *Model) AddRoute(ns string, r Route, replace bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The same texts as Netlink's, so plan and run errors read alike;
	// made only for an error (the cache of an Ensurer replays every
	// route it applies here).
	r0 := r
	op := func() string { return nlRouteOp("add", r0) }
	n := m.nss[ns]
	if ns == HostName {
		n = m.nss[Host]
	}
	if n == nil {
		_, err := m.ns(op(), ns)
		return err
	}
	if !r.Dst.IsValid() || (r.Gateway.IsValid() && r.Gateway.Is4() != r.Dst.Addr().Is4()) ||
		(r.Src.IsValid() && r.Src.Is4() != r.Dst.Addr().Is4()) {
		return kerr(op(), ns, syscall.EINVAL, "invalid address family")
	}
	r.Priority = requestMetric(r)
	k := keyOfRoute(r)
	r.Table, r.Dst = k.table, k.dst
	if r.Type == 0 {
		r.Type = RouteUnicast
	}
	v6 := r.Dst.Addr().Is6()
	if v6 {
		r.Scope = ScopeUniverse
	}
	switch r.Type {
	case RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		if r.Gateway.IsValid() || r.Dev != "" {
			return kerr(op(), ns, syscall.EINVAL, "Nexthop specified for a route without nexthop")
		}
	default:
		if r.Dev != "" {
			l := n.links[r.Dev]
			if l == nil {
				return kerr(op(), ns, syscall.ENODEV, "")
			}
			if !l.Up && !(r.Type == RouteLocal && !v6) && !r.Gateway.IsValid() {
				if v6 {
					return kerr(op(), ns, syscall.ENETDOWN, "Nexthop device is not up")
				}
				return kerr(op(), ns, syscall.ENETDOWN, "Device for nexthop is not up")
			}
		}
		if r.Gateway.IsValid() {
			switch {
			case r.OnLink:
				if r.Dev == "" {
					return kerr(op(), ns, syscall.EINVAL, "Nexthop device required for onlink")
				}
				if !n.links[r.Dev].Up {
					return kerr(op(), ns, syscall.ENETDOWN, "Nexthop device is not up")
				}
			case v6 && r.Gateway.IsLinkLocalUnicast():
				if r.Dev == "" {
					return kerr(op(), ns, syscall.ENODEV, "Egress device not specified")
				}
				if !n.links[r.Dev].Up {
					return kerr(op(), ns, syscall.ENETDOWN, "Nexthop device is not up")
				}
			default:
				nh, ok := n.lookupNexthop(r.Table, r.Gateway, r.Dev)
				if !ok || !n.links[nh.Dev].Up {
					if v6 {
						return kerr(op(), ns, syscall.EHOSTUNREACH, "")
					}
					return kerr(op(), ns, syscall.ENETUNREACH, "Nexthop has invalid gateway")
				}
				r.Dev = nh.Dev
			}
		} else if r.Dev == "" {
			if v6 {
				return kerr(op(), ns, syscall.ENODEV, "Egress device not specified")
			}
			return kerr(op(), ns, syscall.EINVAL, "Device not specified")
		}
	}
	if r.Src.IsValid() && !n.hasSrc(r.Src, r.Dev) {
		if v6 {
			return kerr(op(), ns, syscall.EINVAL, "Invalid source address.")
		}
		return kerr(op(), ns, syscall.EINVAL, "Invalid prefsrc address.")
	}
	list := n.routes[k]
	if len(list) > 0 {
		if !replace {
			return kerr(op(), ns, syscall.EEXIST, "")
		}
		list[0] = r
		return nil
	}
	n.replaceRoutes(k, list, []Route{r})
	return nil
}

// addPrepared adds r to namespace ns as AddRoute(ns, r, false) does, for
// an Ensurer replaying a route the kernel accepted (see replayAdded): r
// is as fillRoute made it, and ns held no route under r's key when the
// step was prepared. Only routes that AddRoute stores unchanged are taken
// (no gateway, whose device AddRoute would look up; a device, or a type
// that takes none); done is false for the others, which need AddRoute.
//
// Of AddRoute's checks it keeps the cheap ones that tell the cache from
// the kernel — the device exists and is up, the preferred source is an
// address — and skips the lookup under r's key: r is stored at once, and
// ok is false when the key turns out to have been held after all. ok
// false (also for an unknown namespace) means the cache has diverged from
// the kernel: the caller must read the namespace again, which also drops
// what this call stored.
func (m *Model) addPrepared(ns string, r Route) (ok, done bool) {
	if r.Gateway.IsValid() || (r.Dev == "" && !nexthopless(r.Type)) {
		return false, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.nss[ns]
	if ns == HostName {
		n = m.nss[Host]
	}
	if n == nil {
		return false, true
	}
	if r.Dev != "" {
		l := n.links[r.Dev]
		if l == nil || (!l.Up && !(r.Type == RouteLocal && r.Dst.Addr().Is4())) {
			return false, true
		}
	}
	if r.Src.IsValid() && !n.hasSrc(r.Src, r.Dev) {
		return false, true
	}
	if len(n.routeSlab) == 0 {
		// One array per 256 routes rather than one per route; each route
		// gets a slice of capacity 1, so that appending to it copies.
		n.routeSlab = make([]Route, 256)
	}
	list := n.routeSlab[:1:1]
	n.routeSlab = n.routeSlab[1:]
	list[0] = r
	had := len(n.routes)
	n.replaceRoutes(keyOfRoute(r), nil, list)
	return len(n.routes) > had, true
}

// nexthopless reports whether routes of type t take no device or gateway.
func nexthopless(t RouteType) bool {
	switch t {
	case RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		return true
	}
	return false
}

// DelRoute deletes the route with r's identity (the first of several the
// kernel keeps under one key, preferring one through r.Dev or r.Gateway
// when they are given).
func (m *Model) DelRoute(ns string, r Route) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r0 := r
	op := func() string { return nlRouteOp("del", r0) } // only for an error, see AddRoute
	n := m.nss[ns]
	if ns == HostName {
		n = m.nss[Host]
	}
	if n == nil {
		_, err := m.ns(op(), ns)
		return err
	}
	k := keyOfRoute(r)
	if r.Dst.Addr().Is6() && r.Priority == 0 && len(n.routes[k]) == 0 {
		k.priority = 1024 // IPv6 deletes without a metric match the default one
	}
	list := n.routes[k]
	for i, o := range list {
		if (r.Dev == "" || o.Dev == r.Dev) && (!r.Gateway.IsValid() || o.Gateway == r.Gateway) {
			if len(list) == 1 {
				n.replaceRoutes(k, list, nil) // the common case: no copy to make
			} else {
				n.replaceRoutes(k, list, slices.Delete(slices.Clone(list), i, i+1))
			}
			return nil
		}
	}
	if !n.tableExists(k.table) {
		return kerr(op(), ns, syscall.ESRCH, "FIB table does not exist.")
	}
	return kerr(op(), ns, syscall.ESRCH, "")
}

func (n *mns) tableExists(t uint32) bool {
	if t == TableMain || t == TableLocal || t == TableDefault {
		return true
	}
	for k := range n.routes { // only on an error path
		if k.table == t {
			return true
		}
	}
	return false
}

// ---- rules ----

// Rules lists the rules of ns: IPv4 first, each family by priority.
func (m *Model) Rules(ns string) ([]Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.ns("list rules", ns)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, len(n.rules))
	for i, r := range n.rules {
		out[i] = cloneRule(r)
	}
	return out, nil
}

func cloneRule(r Rule) Rule {
	if r.UID != nil {
		u := *r.UID
		r.UID = &u
	}
	if r.SuppressPrefixLen != nil {
		s := *r.SuppressPrefixLen
		r.SuppressPrefixLen = &s
	}
	return r
}

// ruleEqual compares every field (the rule's identity), normalizing an
// exact fwmark mask.
func ruleEqual(a, b Rule) bool {
	return a.Priority == b.Priority && ruleMatchEqual(a, b)
}

// ruleMatchEqual compares everything but the priority.
func ruleMatchEqual(a, b Rule) bool {
	ma, mb := a.Mask, b.Mask
	if a.Mark != 0 && ma == 0 {
		ma = 0xffffffff
	}
	if b.Mark != 0 && mb == 0 {
		mb = 0xffffffff
	}
	uidEq := (a.UID == nil) == (b.UID == nil) && (a.UID == nil || *a.UID == *b.UID)
	spEq := (a.SuppressPrefixLen == nil) == (b.SuppressPrefixLen == nil) &&
		(a.SuppressPrefixLen == nil || *a.SuppressPrefixLen == *b.SuppressPrefixLen)
	return a.Family == b.Family && a.Invert == b.Invert && a.Src == b.Src && a.Dst == b.Dst &&
		a.IIF == b.IIF && a.OIF == b.OIF && a.Mark == b.Mark && ma == mb && a.IPProto == b.IPProto &&
		a.SPort == b.SPort && a.DPort == b.DPort && uidEq && a.Action == b.Action &&
		a.Table == b.Table && a.Goto == b.Goto && spEq
}

// ruleKey is a rule's identity but its priority, comparable (see
// ruleMatchEqual): an exact fwmark mask is 0xffffffff.
type ruleKey struct {
	family            int
	invert            bool
	src, dst          netip.Prefix
	iif, oif          string
	mark, mask        uint32
	ipproto           uint8
	sport, dport      PortRange
	hasUID            bool
	uid               UIDRange
	action            RuleAction
	table, goto_      uint32
	hasSPL            bool
	suppressPrefixLen uint8
}

func keyOfRule(r Rule) ruleKey {
	k := ruleKey{family: r.Family, invert: r.Invert, src: r.Src, dst: r.Dst, iif: r.IIF, oif: r.OIF,
		mark: r.Mark, mask: r.Mask, ipproto: r.IPProto, sport: r.SPort, dport: r.DPort,
		action: r.Action, table: r.Table, goto_: r.Goto}
	if r.Mark != 0 && k.mask == 0 {
		k.mask = 0xffffffff
	}
	if r.UID != nil {
		k.hasUID, k.uid = true, *r.UID
	}
	if r.SuppressPrefixLen != nil {
		k.hasSPL, k.suppressPrefixLen = true, *r.SuppressPrefixLen
	}
	return k
}

// reindexRules builds ruleIdx from rules.
func (n *mns) reindexRules() {
	n.ruleIdx = map[ruleKey][]Rule{}
	for _, r := range n.rules {
		k := keyOfRule(r)
		n.ruleIdx[k] = append(n.ruleIdx[k], cloneRule(r))
	}
}

// rulesLike returns the rules equal to r but maybe for the priority, in
// the kernel's order (priority, then age). The caller must not change
// them.
func (n *mns) rulesLike(r Rule) []Rule {
	list := n.ruleIdx[keyOfRule(r)]
	if !slices.IsSortedFunc(list, func(a, b Rule) int { return cmpUint(uint64(a.Priority), uint64(b.Priority)) }) {
		list = slices.Clone(list)
		slices.SortStableFunc(list, func(a, b Rule) int { return cmpUint(uint64(a.Priority), uint64(b.Priority)) })
	}
	return list
}

// rulePos returns the index in rules of the first rule of r's family
// with a priority >= r's (or of a later family).
func (n *mns) rulePos(family int, prio uint32) int {
	i, _ := slices.BinarySearchFunc(n.rules, Rule{Family: family, Priority: prio}, func(a, b Rule) int {
		if a.Family != b.Family {
			return a.Family - b.Family
		}
		return cmpUint(uint64(a.Priority), uint64(b.Priority))
	})
	return i
}

// defaultRulePriority is the kernel's fib_default_rule_pref: the second
// rule of the family's priority minus one, or 0.
func defaultRulePriority(rules []Rule, family int) uint32 {
	i := 0
	for _, r := range rules {
		if r.Family != family {
			continue
		}
		if i == 1 {
			if r.Priority > 0 {
				return r.Priority - 1
			}
			return 0
		}
		i++
	}
	return 0
}

// AddRule adds r; priority 0 gets the kernel's choice.
func (m *Model) AddRule(ns string, r Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := ruleOp("add", r)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if r.Family != 4 && r.Family != 6 {
		return kerr(op, ns, syscall.EAFNOSUPPORT, "")
	}
	for _, p := range []netip.Prefix{r.Src, r.Dst} {
		if p.IsValid() && p.Addr().Is4() != (r.Family == 4) {
			return kerr(op, ns, syscall.EINVAL, "invalid address family")
		}
	}
	switch r.Action {
	case ActionLookup:
		if r.Table == 0 {
			return kerr(op, ns, syscall.EINVAL, "lookup needs a table")
		}
	case ActionGoto:
		if r.Goto == 0 || (r.Priority != 0 && r.Goto <= r.Priority) {
			return kerr(op, ns, syscall.EINVAL, "Backward goto not supported")
		}
	case ActionNop, ActionBlackhole, ActionUnreachable, ActionProhibit:
	default:
		return kerr(op, ns, syscall.EINVAL, "unknown rule action")
	}
	r = cloneRule(r)
	if r.Mark != 0 && r.Mask == 0xffffffff {
		r.Mask = 0
	}
	if r.Priority == 0 {
		r.Priority = defaultRulePriority(n.rules, r.Family)
	}
	k := keyOfRule(r)
	for _, o := range n.ruleIdx[k] {
		if o.Priority == r.Priority {
			return kerr(op, ns, syscall.EEXIST, "")
		}
	}
	// After every rule of a lower family or of its family and a priority <= r's.
	i := n.rulePos(r.Family, r.Priority+1)
	if r.Priority == ^uint32(0) {
		i = n.rulePos(r.Family+1, 0)
	}
	n.rules = slices.Insert(n.rules, i, r)
	n.ruleIdx[k] = append(n.ruleIdx[k], cloneRule(r))
	return nil
}

// DelRule deletes the rule equal to r.
func (m *Model) DelRule(ns string, r Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := ruleOp("del", r)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	k := keyOfRule(r)
	list := n.ruleIdx[k]
	j := slices.IndexFunc(list, func(o Rule) bool { return o.Priority == r.Priority })
	if j < 0 {
		return kerr(op, ns, syscall.ENOENT, "")
	}
	if list = slices.Delete(list, j, j+1); len(list) == 0 {
		delete(n.ruleIdx, k)
	} else {
		n.ruleIdx[k] = list
	}
	for i := n.rulePos(r.Family, r.Priority); i < len(n.rules) && n.rules[i].Family == r.Family && n.rules[i].Priority == r.Priority; i++ {
		if ruleEqual(n.rules[i], r) {
			n.rules = slices.Delete(n.rules, i, i+1)
			break
		}
	}
	return nil
}

// ---- neighbours ----

// Neighs lists the neighbour entries of ns.
func (m *Model) Neighs(ns string) ([]Neigh, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.ns("list neighs", ns)
	if err != nil {
		return nil, err
	}
	return n.sortedNeighs(), nil
}

func (n *mns) sortedNeighs() []Neigh {
	out := make([]Neigh, 0, len(n.neighs))
	for _, x := range n.neighs {
		x.LLAddr = slices.Clone(x.LLAddr)
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Link != out[j].Link {
			return out[i].Link < out[j].Link
		}
		return out[i].IP.Less(out[j].IP)
	})
	return out
}

// SetNeigh adds or replaces x; State 0 means permanent.
func (m *Model) SetNeigh(ns string, x Neigh) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := fmt.Sprintf("set neighbour %v dev %s", x.IP, x.Link)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if n.links[x.Link] == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if !x.IP.IsValid() {
		return kerr(op, ns, syscall.EINVAL, "")
	}
	if x.State == 0 {
		x.State = NeighPermanent
	}
	x.LLAddr = slices.Clone(x.LLAddr)
	n.neighs[neighKey{x.Link, x.IP}] = x
	return nil
}

// DelNeigh deletes the entry with x's identity.
func (m *Model) DelNeigh(ns string, x Neigh) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := fmt.Sprintf("del neighbour %v dev %s", x.IP, x.Link)
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	if n.links[x.Link] == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	k := neighKey{x.Link, x.IP}
	if _, ok := n.neighs[k]; !ok {
		return kerr(op, ns, syscall.ENOENT, "")
	}
	delete(n.neighs, k)
	return nil
}

// ---- WireGuard ----

func cloneWG(d WGDevice) WGDevice {
	peers := make([]WGPeer, len(d.Peers))
	for i, p := range d.Peers {
		p.AllowedIPs = slices.Clone(p.AllowedIPs)
		peers[i] = p
	}
	d.Peers = peers
	return d
}

// WireGuard reads the configuration of the wireguard link `name`.
func (m *Model) WireGuard(ns, name string) (WGDevice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "read wireguard " + name
	n, err := m.ns(op, ns)
	if err != nil {
		return WGDevice{}, err
	}
	d := n.wg[name]
	if d == nil {
		return WGDevice{}, kerr(op, ns, syscall.ENODEV, "")
	}
	return cloneWG(*d), nil
}

// ConfigureWireGuard applies cfg as wgctrl's ConfigureDevice does. An
// allowed IP belongs to one peer: adding it to a peer removes it from
// any other.
func (m *Model) ConfigureWireGuard(ns, name string, cfg WGConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "configure wireguard " + name
	n, err := m.ns(op, ns)
	if err != nil {
		return err
	}
	d := n.wg[name]
	if d == nil {
		return kerr(op, ns, syscall.ENODEV, "")
	}
	if cfg.ListenPort != nil && (*cfg.ListenPort < 0 || *cfg.ListenPort > 65535) {
		return kerr(op, ns, syscall.EINVAL, "listen port out of range")
	}
	if cfg.PrivateKey != nil {
		d.PrivateKey = *cfg.PrivateKey
		d.PublicKey = Key{}
		if !cfg.PrivateKey.IsZero() {
			d.PublicKey = publicKey(*cfg.PrivateKey)
		}
	}
	if cfg.ListenPort != nil {
		d.ListenPort = *cfg.ListenPort
	}
	if cfg.FirewallMark != nil {
		d.FirewallMark = *cfg.FirewallMark
	}
	if cfg.ReplacePeers {
		d.Peers = nil
	}
	for _, pc := range cfg.Peers {
		i := slices.IndexFunc(d.Peers, func(p WGPeer) bool { return p.PublicKey == pc.PublicKey })
		if pc.Remove {
			if i >= 0 {
				d.Peers = slices.Delete(d.Peers, i, i+1)
			}
			continue
		}
		if i < 0 {
			if pc.UpdateOnly {
				continue
			}
			d.Peers = append(d.Peers, WGPeer{PublicKey: pc.PublicKey})
			i = len(d.Peers) - 1
		}
		p := &d.Peers[i]
		if pc.PresharedKey != nil {
			p.PresharedKey = *pc.PresharedKey
		}
		if pc.Endpoint != nil {
			p.Endpoint = *pc.Endpoint
		}
		if pc.PersistentKeepalive != nil {
			p.PersistentKeepalive = *pc.PersistentKeepalive
		}
		if pc.ReplaceAllowedIPs {
			p.AllowedIPs = nil
		}
		for _, a := range pc.AllowedIPs {
			a = a.Masked()
			for j := range d.Peers {
				if j != i {
					d.Peers[j].AllowedIPs = slices.DeleteFunc(d.Peers[j].AllowedIPs, func(x netip.Prefix) bool { return x == a })
				}
			}
			if !slices.Contains(p.AllowedIPs, a) {
				p.AllowedIPs = append(p.AllowedIPs, a)
			}
		}
	}
	return nil
}

// ---- exec, close ----

// Exec records the command and succeeds without running anything: a
// plan cannot know what a program would do.
func (m *Model) Exec(_ context.Context, ns string, cmd Cmd) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.ns("exec", ns); err != nil {
		return err
	}
	m.execs = append(m.execs, ModelExec{NS: ns, Args: slices.Clone(cmd.Args)})
	return nil
}

// Execs returns the commands Exec recorded, in order.
func (m *Model) Execs() []ModelExec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.execs)
}

// Close does nothing; a Model holds no resources.
func (m *Model) Close() error { return nil }
