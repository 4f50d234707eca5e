package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// op is one kernel primitive call of a Step, or (fn) a compound restore
// that runs further ensures when applied.
type op struct {
	ns string
	do func(k Kernel) error
	// volatile lists every namespace the call changes when that is more
	// than ns (links, addresses, namespaces). The call is replayed on the
	// cache (a Model, which reproduces the kernel's side effects) only
	// when all of them are cached; otherwise they are read again.
	volatile []string
	fn       func(e *Ensurer, s *Step) error
	// route, when set, makes the op a single route change (and do is
	// nil): adding *route (with replace when routeReplace), or deleting
	// it when routeDel. Only newRouteStep sets it, and it makes a plain
	// add only for a route whose key held none when it was prepared
	// (replayAdded relies on that). ApplyAll and a Flight send runs of them to a
	// RouteBatcher. The route is where the step keeps it (a route step's
	// inverse, see newRouteStep), so that a step holds no copy of its own.
	route        *Route
	routeDel     bool
	routeReplace bool
	// created lists links (namespace, name) the call creates with a
	// hardware address the kernel picks; the cache does not know it.
	created [][2]string
}

// call makes the op's kernel call on k.
func (o *op) call(k Kernel) error {
	switch {
	case o.route == nil:
		return o.do(k)
	case o.routeDel:
		return k.DelRoute(o.ns, *o.route)
	}
	return k.AddRoute(o.ns, *o.route, o.routeReplace)
}

// routeOp returns the route change of an op with a route.
func (o *op) routeOp() RouteOp {
	return RouteOp{Del: o.routeDel, Replace: o.routeReplace, Route: *o.route}
}

// RouteOp is one route change in a batch.
type RouteOp struct {
	Del     bool // delete Route (by identity, Dev and Gateway when set)
	Replace bool // add with replace
	Route   Route
}

// RouteBatcher is implemented by kernels that can send many route
// changes of one namespace at once (pipelined netlink requests).
// RouteBatch applies ops in order and stops at the first failure,
// returning its index and error; on success it returns len(ops), nil.
type RouteBatcher interface {
	RouteBatch(ns string, ops []RouteOp) (int, error)
}

// Ensurer turns Wants into Steps against a Kernel and applies them.
//
// It caches each namespace's state (every kind dumped once per namespace,
// kept in maps keyed by identity) and keeps the cache current as it
// applies steps: each kernel call that succeeded is replayed on the cache,
// a Model, which reproduces the kernel's side effects (a link's or
// address's routes, secondaries, dependents); a call touching a namespace
// that is not cached, or that the cache refuses, makes it read the
// namespaces involved again. Ensuring or undoing n routes, addresses or
// rules therefore costs O(n), not a dump or a scan per ensure. When the
// Kernel is a *Model the Ensurer reads it directly. Call Invalidate after
// anything else may have changed a namespace (exec).
//
// An Ensurer is not safe for concurrent use.
type Ensurer struct {
	k Kernel
	// Names renders table names in Change texts; nil means only the
	// built-in names (main, local, default).
	Names *TableNames

	cache  *Model
	direct bool
	loaded map[string]bool
	// macUnknown marks namespaces where links were created with a
	// hardware address the kernel chose; captures that must recreate a
	// link read them first.
	macUnknown map[string]bool

	// fixups are routes a restore could only bring back as onlink (their
	// gateway was not reachable then); each later step retries them
	// exactly. See restoreLink.
	fixups   []Want
	fixingUp bool
}

// NewEnsurer returns an Ensurer working on k.
func NewEnsurer(k Kernel) *Ensurer {
	e := &Ensurer{k: k, loaded: map[string]bool{}, macUnknown: map[string]bool{}}
	if m, ok := k.(*Model); ok {
		e.cache, e.direct = m, true
	} else {
		e.cache = NewModel()
	}
	return e
}

// Kernel returns the kernel the Ensurer works on.
func (e *Ensurer) Kernel() Kernel { return e.k }

// Invalidate forgets what the Ensurer knows about ns; the next Prepare
// touching it reads it again.
func (e *Ensurer) Invalidate(ns string) {
	if ns == HostName {
		ns = Host
	}
	delete(e.loaded, ns)
	delete(e.macUnknown, ns)
}

// InvalidateAll forgets every namespace.
func (e *Ensurer) InvalidateAll() {
	clear(e.loaded)
	clear(e.macUnknown)
}

// refreshMACs reads the hardware addresses the kernel gave the links of
// ns into the cache.
func (e *Ensurer) refreshMACs(ns string) error {
	if e.direct || !e.macUnknown[ns] {
		return nil
	}
	links, err := e.k.Links(ns)
	if err != nil {
		return err
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	n := e.cache.nss[ns]
	if n == nil {
		return errNoNetns("read links", ns)
	}
	for _, l := range links {
		if c := n.links[l.Name]; c != nil {
			c.Address = l.Address
		}
	}
	delete(e.macUnknown, ns)
	return nil
}

// state returns the cached state of ns, reading it from the kernel once.
func (e *Ensurer) state(ns string) (*mns, error) {
	if ns == HostName {
		ns = Host
	}
	if !e.direct && !e.loaded[ns] {
		if err := e.cache.Load(e.k, ns); err != nil {
			e.cache.mu.Lock()
			delete(e.cache.nss, ns)
			e.cache.mu.Unlock()
			return nil, err
		}
		e.loaded[ns] = true
		delete(e.macUnknown, ns)
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	n := e.cache.nss[ns]
	if n == nil {
		return nil, errNoNetns("read state", ns)
	}
	return n, nil
}

// Prepare reads the current state and computes the changes w needs and
// the Wants that undo them. It changes nothing. For the restore-only
// forms (LinkState, NetnsState) the work is decided when the step is
// applied, against the state at that moment; their Changes are filled in
// by Apply and they have no Inverse.
func (e *Ensurer) Prepare(w Want) (*Step, error) {
	if w.NS == HostName {
		w.NS = Host
	}
	n := 0
	for _, set := range []bool{w.Netns != nil, w.Link != nil, w.Addr != nil, w.Route != nil, w.Rule != nil,
		w.Neigh != nil, w.WireGuard != nil, w.LinkState != nil, w.NetnsState != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("ensure: a want needs exactly one object, has %d", n)
	}
	if w.Route != nil {
		return e.prepRoute(w) // (ensure_route.go)
	}
	s := &Step{Want: w}
	var err error
	switch {
	case w.Netns != nil:
		err = e.prepNetns(s, w)
	case w.Link != nil:
		err = e.prepLink(s, w)
	case w.Addr != nil:
		err = e.prepAddr(s, w)
	case w.Rule != nil:
		err = e.prepRule(s, w)
	case w.Neigh != nil:
		err = e.prepNeigh(s, w)
	case w.WireGuard != nil:
		err = e.prepWG(s, w)
	case w.LinkState != nil:
		if w.Absent {
			return nil, errors.New("ensure: a link state cannot be absent")
		}
		st := *w.LinkState
		s.ops = append(s.ops, op{ns: w.NS, fn: func(e *Ensurer, s *Step) error { return e.restoreLink(s, w.NS, st, true) }})
	case w.NetnsState != nil:
		if w.Absent {
			return nil, errors.New("ensure: a namespace state cannot be absent")
		}
		st := *w.NetnsState
		s.ops = append(s.ops, op{ns: st.Name, fn: func(e *Ensurer, s *Step) error { return e.restoreNetns(s, st) }})
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Apply makes the step's changes, in order. A kernel error is returned
// as the kernel reported it (a *Error: errors.Is(err, ErrExist) etc. work
// and the ext-ack text is kept); the Ensurer then reads the namespace
// again before its next use.
func (e *Ensurer) Apply(s *Step) error {
	for _, o := range s.ops {
		var err error
		if o.fn != nil {
			err = o.fn(e, s)
		} else {
			err = o.call(e.k)
		}
		if err != nil {
			e.Invalidate(o.ns)
			for _, ns := range o.volatile {
				e.Invalidate(ns)
			}
			return err
		}
		if e.direct || o.fn != nil {
			continue
		}
		e.replay(o)
	}
	s.ops = nil
	e.retryFixups()
	return nil
}

// replay repeats a call the kernel accepted on the cache, or forgets the
// namespaces it touched when the cache cannot follow.
func (e *Ensurer) replay(o op) {
	nss := append([]string{o.ns}, o.volatile...)
	for i, ns := range nss {
		if ns == HostName {
			nss[i] = Host
		}
	}
	forget := func() {
		for _, ns := range nss {
			e.Invalidate(ns)
		}
	}
	for _, ns := range nss {
		if !e.loaded[ns] {
			forget()
			return
		}
	}
	if err := o.call(e.cache); err != nil {
		forget() // the cache disagrees; read the truth next time
		return
	}
	if len(o.created) == 0 {
		return
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	for _, c := range o.created {
		if n := e.cache.nss[c[0]]; n != nil {
			if l := n.links[c[1]]; l != nil {
				l.Address = nil
				e.macUnknown[c[0]] = true
			}
			if w := n.wg[c[1]]; w != nil {
				delete(n.wg, c[1]) // read the device itself when needed
			}
		}
	}
}

// retryFixups tries to restore exactly the routes a restore had to add
// as onlink, now that a later step (typically an address's undo) may
// have made their gateways reachable again.
func (e *Ensurer) retryFixups() {
	if len(e.fixups) == 0 || e.fixingUp {
		return
	}
	e.fixingUp = true
	defer func() { e.fixingUp = false }()
	kept := e.fixups[:0]
	for _, w := range e.fixups {
		r := w.Route.Route
		n, err := e.state(w.NS)
		if err != nil {
			kept = append(kept, w)
			continue
		}
		e.cache.mu.Lock()
		_, reachable := n.lookupNexthop(keyOfRoute(r).table, r.Gateway, r.Dev)
		e.cache.mu.Unlock()
		if !reachable { // not yet: do not bother the kernel
			kept = append(kept, w)
			continue
		}
		if _, err := e.Ensure(w); err != nil {
			kept = append(kept, w)
		}
	}
	e.fixups = kept
}

// PendingFixups lists the routes restores could bring back only with
// `onlink` so far, because their gateways were unreachable when they
// were restored (the kernel had kept them after the address that made
// the gateway reachable went). Each later Apply retries them exactly.
func (e *Ensurer) PendingFixups() []Want { return slices.Clone(e.fixups) }

// ApplyAll applies steps in order, as Apply on each would. When the
// kernel is a RouteBatcher, consecutive steps that are each a single
// route change in the same namespace go to it as one batch. It returns
// how many steps were applied completely; on failure, the error is that
// of step steps[n].
func (e *Ensurer) ApplyAll(steps []*Step) (int, error) {
	rb, batching := e.k.(RouteBatcher)
	for i := 0; i < len(steps); {
		j := i
		if batching {
			j = runEnd(steps, i)
		}
		if j-i < 2 {
			if err := e.Apply(steps[i]); err != nil {
				return i, err
			}
			i++
			continue
		}
		ns := steps[i].ops[0].ns
		ops := make([]RouteOp, j-i)
		for x := i; x < j; x++ {
			ops[x-i] = steps[x].ops[0].routeOp()
		}
		n, err := rb.RouteBatch(ns, ops)
		e.batchApplied(ns, steps[i:j], n, err)
		if err != nil {
			return i + n, err
		}
		i = j
	}
	return len(steps), nil
}

// Ensure prepares and applies w.
func (e *Ensurer) Ensure(w Want) (*Step, error) {
	s, err := e.Prepare(w)
	if err != nil {
		return nil, err
	}
	return s, e.Apply(s)
}

// EnsureAll ensures each want in order, continuing past failures (as a
// rollback must), and returns the steps made and every error joined.
// Rolling back a run is EnsureAll over each step's Inverse, newest step
// first.
func (e *Ensurer) EnsureAll(ws []Want) ([]*Step, error) {
	var steps []*Step
	var errs []error
	for _, w := range ws {
		s, err := e.Ensure(w)
		if s != nil {
			steps = append(steps, s)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", FormatWant(w, e.Names), err))
		}
	}
	return steps, errors.Join(errs...)
}

func (s *Step) change(mark byte, ns, text string) {
	s.Changes = append(s.Changes, Change{Mark: mark, NS: ns, Text: text})
}

// ---- namespaces ----

func (e *Ensurer) prepNetns(s *Step, w Want) error {
	name := w.Netns.Name
	if name == "" || name == HostName {
		if w.Absent {
			return &Error{Op: "del netns host", Err: syscall.EINVAL, Kind: ErrPerm, Message: "the host namespace cannot be deleted"}
		}
		return nil // host always exists
	}
	names, err := e.k.Namespaces()
	if err != nil {
		return err
	}
	exists := slices.Contains(names, name)
	switch {
	case exists == !w.Absent:
		return nil
	case !w.Absent:
		s.change('+', Host, "netns "+name)
		s.Inverse = []Want{{Absent: true, Netns: &NetnsWant{Name: name}}}
		s.ops = append(s.ops, op{ns: name, volatile: []string{name},
			do: func(k Kernel) error { return k.AddNamespace(name) }})
		return nil
	}
	st, touched, err := e.captureNetns(name)
	if err != nil {
		return err
	}
	s.change('-', Host, "netns "+name)
	s.Inverse = []Want{{NetnsState: st}}
	var peers [][2]string // veth ends elsewhere that go with the namespace
	for _, l := range st.Links {
		if l.Peer != nil && l.PeerNS != name {
			peers = append(peers, [2]string{l.PeerNS, l.Peer.Link.Name})
		}
	}
	s.ops = append(s.ops, op{ns: name, volatile: append(touched, name),
		do: func(k Kernel) error {
			if err := k.DelNamespace(name); err != nil {
				return err
			}
			return waitGone(k, peers)
		}})
	return nil
}

// waitGone waits until the links (namespace, name) are gone: the kernel
// tears a deleted namespace down asynchronously, and the far ends of its
// veths vanish a moment after DelNamespace returns. Waiting makes the
// deletion's effects visible before the next step (and its undo).
func waitGone(k Kernel, links [][2]string) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, nl := range links {
		for {
			ls, err := k.Links(nl[0])
			if err != nil || !slices.ContainsFunc(ls, func(l Link) bool { return l.Name == nl[1] && l.Kind == KindVeth }) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("netns deletion: link %s in %s still exists after 5s", nl[1], nsWord(nl[0]))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// captureNetns records what deleting namespace name destroys.
func (e *Ensurer) captureNetns(name string) (*NetnsState, []string, error) {
	n, err := e.state(name)
	if err != nil {
		return nil, nil, err
	}
	st := &NetnsState{Name: name}
	var touched []string
	links := sortedLinks(n)
	// Bridges first, so ports find their master when restored; lower
	// devices before the macvlans on them (those restore as Uppers).
	slices.SortStableFunc(links, func(a, b Link) int {
		return boolInt(a.Kind != KindBridge) - boolInt(b.Kind != KindBridge)
	})
	done := map[string]bool{}
	for _, l := range links {
		if done[l.Name] {
			continue
		}
		if l.Kind == KindMacvlan && l.Macvlan != nil && n.links[l.Macvlan.Dev] != nil ||
			l.Kind == KindVXLAN && l.VXLAN != nil && n.links[l.VXLAN.Dev] != nil {
			continue // restored with its lower device
		}
		if l.Kind == KindDevice && l.Name != "lo" {
			continue // the kernel returns it to the initial namespace
		}
		ls, err := e.captureLink(name, l.Name, true, true)
		if err != nil {
			return nil, nil, err
		}
		ls.Ports = nil // ports restore their own master
		if ls.Peer != nil && ls.PeerNS == name {
			done[ls.Peer.Link.Name] = true
		} else if ls.Peer != nil {
			touched = append(touched, ls.PeerNS)
		}
		st.Links = append(st.Links, *ls)
	}
	for _, r := range n.sortedRoutes() {
		if devless(r) && r.Protocol != 2 {
			r.Dev = ""
			st.Routes = append(st.Routes, r)
		}
	}
	for _, r := range n.rules {
		st.Rules = append(st.Rules, cloneRule(r))
	}
	return st, touched, nil
}

// devless reports whether a route goes through no link: blackhole,
// unreachable, prohibit and throw routes (the kernel reports IPv6 ones
// on lo).
func devless(r Route) bool {
	return nexthopless(r.Type) || r.Dev == ""
}

// userNeigh reports whether a neighbour entry is configuration (permanent
// or noarp, not the kernel's own multicast entries).
func userNeigh(x Neigh) bool {
	return x.State&(NeighPermanent|NeighNoARP) != 0 && !x.IP.IsMulticast()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- links ----

// captureLink records link name of ns with everything the kernel removes
// with it. withPeer also records a veth's other end; needMAC makes sure
// the hardware addresses are the kernel's (the link will be recreated).
func (e *Ensurer) captureLink(ns, name string, withPeer, needMAC bool) (*LinkState, error) {
	n, err := e.state(ns)
	if err != nil {
		return nil, err
	}
	if needMAC {
		if err := e.refreshMACs(ns); err != nil {
			return nil, err
		}
	}
	l := n.links[name]
	if l == nil {
		return nil, kerr("read link "+name, ns, syscall.ENODEV, "")
	}
	st := &LinkState{Link: cloneLink(*l)}
	for _, a := range n.sortedAddrs() {
		if a.Link == name && !(a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast()) {
			st.Addrs = append(st.Addrs, a)
		}
	}
	for _, r := range n.sortedRoutes() {
		if r.Dev == name && r.Protocol != 2 && !devless(r) {
			st.Routes = append(st.Routes, r)
		}
	}
	for _, x := range n.sortedNeighs() {
		if x.Link == name && userNeigh(x) {
			st.Neighs = append(st.Neighs, x)
		}
	}
	for _, o := range sortedLinks(n) {
		if o.Master == name {
			st.Ports = append(st.Ports, o.Name)
		}
		if upperOf(o, name) {
			up, err := e.captureLink(ns, o.Name, false, needMAC)
			if err != nil {
				return nil, err
			}
			st.Uppers = append(st.Uppers, *up)
		}
	}
	if d := n.wg[name]; d != nil {
		c := cloneWG(*d)
		st.WireGuard = &c
	}
	if withPeer && l.Veth != nil && l.Veth.PeerNetns != "?" {
		pns := peerNS(ns, l.Veth.PeerNetns)
		peer, err := e.captureLink(pns, l.Veth.Peer, false, needMAC)
		if err == nil {
			st.Peer, st.PeerNS = peer, pns
		} else if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoNetns) {
			return nil, err
		}
	}
	return st, nil
}

// sameCreation reports whether link cur (in ns) matches the kind and
// stated creation parameters of w.
func sameCreation(ns string, cur *Link, kind string, veth *Veth, vx *VXLAN, mv *Macvlan, tun *Tun) (bool, string) {
	if cur.Kind != kind {
		return false, "type " + cur.Kind + " -> " + kind
	}
	switch kind {
	case KindVeth:
		if veth != nil && cur.Veth != nil {
			if veth.Peer != cur.Veth.Peer {
				return false, "peer " + cur.Veth.Peer + " -> " + veth.Peer
			}
			if cur.Veth.PeerNetns != "?" && peerNS(ns, veth.PeerNetns) != peerNS(ns, cur.Veth.PeerNetns) {
				return false, "peer netns " + nsWord(peerNS(ns, cur.Veth.PeerNetns)) + " -> " + nsWord(peerNS(ns, veth.PeerNetns))
			}
		}
	case KindVXLAN:
		if vx != nil && cur.VXLAN != nil {
			c := *cur.VXLAN
			want := *vx
			if want.DstPort == 0 {
				want.DstPort = c.DstPort
			}
			if want != c {
				return false, "vxlan parameters differ"
			}
		}
	case KindMacvlan:
		if mv != nil && cur.Macvlan != nil && mv.Dev != cur.Macvlan.Dev {
			return false, "dev " + cur.Macvlan.Dev + " -> " + mv.Dev
		}
	case KindTun, KindTap:
		if tun != nil && cur.Tun != nil && *tun != *cur.Tun {
			return false, "owner differs"
		}
	}
	return true, ""
}

func nsWord(ns string) string {
	if ns == Host {
		return HostName
	}
	return ns
}

func (e *Ensurer) prepLink(s *Step, w Want) error {
	lw := *w.Link
	ns := w.NS
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	if lw.Address != nil {
		// Comparing (and undoing) a hardware address needs the kernel's.
		if err := e.refreshMACs(ns); err != nil {
			return err
		}
	}
	cur := n.links[lw.Name]
	if w.Absent {
		if cur == nil {
			return nil
		}
		st, err := e.captureLink(ns, lw.Name, true, true)
		if err != nil {
			return err
		}
		s.change('-', ns, FormatLink(*cur))
		s.Inverse = []Want{{NS: ns, LinkState: st}}
		vol := []string{ns}
		if st.Peer != nil {
			vol = append(vol, st.PeerNS)
		}
		name := lw.Name
		s.ops = append(s.ops, op{ns: ns, volatile: vol, do: func(k Kernel) error { return k.DelLink(ns, name) }})
		return nil
	}

	target := ns
	if lw.Netns != nil {
		target = *lw.Netns
		if target == HostName {
			target = Host
		}
	}
	if cur == nil && target != ns {
		// Already moved? Then the remaining attributes apply there.
		tn, err := e.state(target)
		if err != nil {
			return err
		}
		if tn.links[lw.Name] != nil {
			sub := lw
			sub.Netns = nil
			return e.prepLink(s, Want{NS: target, Link: &sub})
		}
	}
	if cur == nil {
		if lw.Kind == "" {
			return kerr("link "+lw.Name, ns, syscall.ENODEV, fmt.Sprintf("link %q does not exist (give a type to create it)", lw.Name))
		}
		return e.createLink(s, target, ns, lw)
	}
	if lw.Kind != "" {
		if same, why := sameCreation(ns, cur, lw.Kind, lw.Veth, lw.VXLAN, lw.Macvlan, lw.Tun); !same {
			if !creatableKind(cur.Kind) {
				// Replacing means deleting it, and an undo could not
				// create it again (lo cannot be deleted at all).
				return &Error{Op: "link " + lw.Name + " type " + lw.Kind, NS: ns, Kind: ErrNotSupp, Field: "type",
					Err: fmt.Errorf("%s is %s, which nets cannot create again: it is not replaced by a %s",
						lw.Name, linkKindPhrase(*cur), lw.Kind)}
			}
			st, err := e.captureLink(ns, lw.Name, true, true)
			if err != nil {
				return err
			}
			s.change('-', ns, FormatLink(*cur)+" (replaced: "+why+")")
			vol := []string{ns}
			if st.Peer != nil {
				vol = append(vol, st.PeerNS)
			}
			name := lw.Name
			s.ops = append(s.ops, op{ns: ns, volatile: vol, do: func(k Kernel) error { return k.DelLink(ns, name) }})
			if err := e.createLink(s, target, ns, lw); err != nil {
				return err
			}
			// Restoring the old link replaces whatever has its name then.
			s.Inverse = []Want{{NS: ns, LinkState: st}}
			return nil
		}
	}
	// Same link: move it, then change attributes in place.
	at := *cur
	if target != ns {
		// Complete (peer, hardware addresses): if a failure deletes the
		// link meanwhile, restoring this state must recreate it exactly.
		st, err := e.captureLink(ns, lw.Name, true, true)
		if err != nil {
			return err
		}
		s.change('~', ns, "link "+lw.Name+" netns "+nsWord(ns)+" -> "+nsWord(target))
		name, t := lw.Name, target
		vol := []string{ns, target}
		if cur.Veth != nil && cur.Veth.PeerNetns != "?" {
			vol = append(vol, peerNS(ns, cur.Veth.PeerNetns)) // its PeerNetns changes
		}
		s.ops = append(s.ops, op{ns: ns, volatile: vol, do: func(k Kernel) error {
			return k.SetLink(ns, name, LinkChange{Netns: &t})
		}})
		back := ns
		s.Inverse = []Want{{NS: target, Link: &LinkWant{Name: name, Netns: &back}}, {NS: ns, LinkState: st}}
		at.Up, at.Master = false, "" // the kernel takes a moved link down and out of its bridge
	}
	ch, texts, restoreAll := linkDiff(at, lw)
	if len(texts) == 0 {
		return nil
	}
	for _, t := range texts {
		s.change('~', target, "link "+lw.Name+" "+t)
	}
	if target == ns {
		s.Changes = append(s.Changes, e.linkDrops(n, ns, *cur, ch)...)
		if restoreAll {
			st, err := e.captureLink(ns, lw.Name, true, true)
			if err != nil {
				return err
			}
			s.Inverse = []Want{{NS: ns, LinkState: st}}
		} else {
			s.Inverse = []Want{{NS: ns, Link: linkUndo(*cur, ch)}}
		}
	}
	name := lw.Name
	// A new hardware address makes the kernel flush the link's
	// neighbours, permanent ones included; the recipe did not ask for
	// that, so the permanent ones are put back right after.
	var keepNeighs []Neigh
	if ch.Address != nil && target == ns {
		for _, x := range n.sortedNeighs() {
			if x.Link == name && userNeigh(x) && !(x.IP.Is6() && dropsIPv6(ch)) && !(ch.Up != nil && !*ch.Up) {
				keepNeighs = append(keepNeighs, x)
			}
		}
	}
	s.ops = append(s.ops, op{ns: target, volatile: []string{target}, do: func(k Kernel) error {
		if err := k.SetLink(target, name, ch); err != nil {
			return err
		}
		for _, x := range keepNeighs {
			if err := k.SetNeigh(target, x); err != nil {
				return err
			}
		}
		return nil
	}})
	return nil
}

// linkDiff compares the stated attributes of w with link cur. It returns
// the in-place change, its texts, and whether undoing it needs the full
// link state (taking a link up or down drops routes and IPv6 addresses;
// an MTU below 1280 disables IPv6).
func linkDiff(cur Link, w LinkWant) (LinkChange, []string, bool) {
	var ch LinkChange
	var texts []string
	full := false
	if w.Macvlan != nil && cur.Macvlan != nil && w.Macvlan.Mode != "" && w.Macvlan.Mode != cur.Macvlan.Mode {
		m := w.Macvlan.Mode
		ch.Mode = &m
		texts = append(texts, "mode "+cur.Macvlan.Mode+" -> "+m)
	}
	if w.MTU != nil && *w.MTU != cur.MTU {
		v := *w.MTU
		ch.MTU = &v
		texts = append(texts, fmt.Sprintf("mtu %d -> %d", cur.MTU, v))
		if v < 1280 || cur.MTU < 1280 {
			full = true
		}
	}
	if w.Address != nil && w.Address.String() != cur.Address.String() {
		ch.Address = slices.Clone(w.Address)
		texts = append(texts, "address "+cur.Address.String()+" -> "+w.Address.String())
		// The kernel flushes the link's neighbours, permanent ones
		// included (NETDEV_CHANGEADDR): undoing must bring them back.
		full = true
	}
	if w.Master != nil && *w.Master != cur.Master {
		v := *w.Master
		ch.Master = &v
		texts = append(texts, masterWord(cur.Master)+" -> "+masterWord(v))
	}
	if w.Alias != nil && *w.Alias != cur.Alias {
		v := *w.Alias
		ch.Alias = &v
		texts = append(texts, "alias "+quote(cur.Alias)+" -> "+quote(v))
	}
	if w.Up != nil && *w.Up != cur.Up {
		v := *w.Up
		ch.Up = &v
		texts = append(texts, upWord(cur.Up)+" -> "+upWord(v))
		full = true
	}
	return ch, texts, full
}

// neighStateWord renders a neighbour state as FormatNeigh does:
// "permanent" or "nud NAME".
func neighStateWord(st NeighState) string {
	switch {
	case st == 0 || st&NeighPermanent != 0: // 0 is SetNeigh's permanent
		return "permanent"
	case st&NeighNoARP != 0:
		return "nud noarp"
	case st&NeighReachable != 0:
		return "nud reachable"
	case st&NeighStale != 0:
		return "nud stale"
	}
	return fmt.Sprintf("nud 0x%x", uint16(st))
}

func masterWord(m string) string {
	if m == "" {
		return "nomaster"
	}
	return "master " + m
}

func upWord(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// linkUndo is the attribute ensure that undoes ch on cur.
func linkUndo(cur Link, ch LinkChange) *LinkWant {
	u := &LinkWant{Name: cur.Name}
	if ch.MTU != nil {
		v := cur.MTU
		u.MTU = &v
	}
	if ch.Address != nil {
		u.Address = slices.Clone(cur.Address)
	}
	if ch.Master != nil {
		v := cur.Master
		u.Master = &v
	}
	if ch.Alias != nil {
		v := cur.Alias
		u.Alias = &v
	}
	if ch.Up != nil {
		v := cur.Up
		u.Up = &v
	}
	if ch.Mode != nil && cur.Macvlan != nil {
		u.Kind = KindMacvlan
		mv := *cur.Macvlan
		u.Macvlan = &mv
	}
	return u
}

// createLink adds the ops creating lw in ns (stated relative to from).
func (e *Ensurer) createLink(s *Step, ns, from string, lw LinkWant) error {
	l := Link{Name: lw.Name, Kind: lw.Kind, Address: slices.Clone(lw.Address)}
	if lw.Up != nil {
		l.Up = *lw.Up
	}
	if lw.MTU != nil {
		l.MTU = *lw.MTU
	}
	if lw.Master != nil {
		l.Master = *lw.Master
	}
	if lw.Alias != nil {
		l.Alias = *lw.Alias
	}
	vol := []string{ns}
	var created [][2]string
	if lw.Address == nil {
		created = append(created, [2]string{ns, lw.Name})
	}
	if lw.Veth != nil {
		v := *lw.Veth
		abs := peerNS(from, v.PeerNetns)
		if err := e.checkPeerFree(from, lw.Name, abs, v.Peer); err != nil {
			return err
		}
		v.PeerNetns = relNS(ns, abs)
		l.Veth = &v
		vol = append(vol, abs)
		created = append(created, [2]string{abs, v.Peer})
	}
	if lw.VXLAN != nil {
		v := *lw.VXLAN
		l.VXLAN = &v
	}
	if lw.Macvlan != nil {
		v := *lw.Macvlan
		l.Macvlan = &v
	}
	if lw.Tun != nil {
		v := *lw.Tun
		l.Tun = &v
	}
	text := FormatLink(l)
	if lw.Netns != nil && ns != from {
		text += " netns " + nsWord(ns)
	}
	s.change('+', from, text)
	if lw.Kind == KindWireGuard && usesUserspaceWireGuard(e.k) {
		s.Changes[len(s.Changes)-1].Note = NoteUserspaceWireGuard
	}
	s.Inverse = []Want{{NS: ns, Absent: true, Link: &LinkWant{Name: lw.Name}}}
	s.ops = append(s.ops, op{ns: ns, volatile: vol, created: created, do: func(k Kernel) error { return k.AddLink(ns, l) }})
	return nil
}

// checkPeerFree fails when the veth peer name `peer` is taken in the
// peer's namespace pns by a link that creating `name` (in from) does not
// delete first, so that the error names the peer instead of the kernel's
// bare EEXIST on the whole statement (F-L). The other end of the link
// `name` is about to replace (same name in from) is not a clash.
func (e *Ensurer) checkPeerFree(from, name, pns, peer string) error {
	pn, err := e.state(pns)
	if err != nil {
		if errors.Is(err, ErrNoNetns) {
			return nil // the namespace is made later in the run, or the add fails on it
		}
		return err
	}
	l := pn.links[peer]
	if l == nil || (pns == from && peer == name) {
		return nil
	}
	if n, err := e.state(from); err == nil {
		if cur := n.links[name]; cur != nil && cur.Veth != nil && cur.Veth.Peer == peer && peerNS(from, cur.Veth.PeerNetns) == pns {
			return nil // the current pair, deleted before the new one is made
		}
	}
	where := ""
	if pns != from {
		where = " in netns " + nsWord(pns)
	}
	return &Error{Op: "link " + name + " type veth", NS: from, Kind: ErrExist, Field: "peer",
		Err: &peerExistsError{peer: peer, where: where, what: linkKindPhrase(*l)}}
}

// peerExistsError says a veth peer name is taken; it unwraps to EEXIST,
// which the kernel would have returned.
type peerExistsError struct{ peer, where, what string }

func (e *peerExistsError) Error() string {
	return "peer " + e.peer + " already exists" + e.where + " (" + e.what + ")"
}

func (e *peerExistsError) Unwrap() error { return syscall.EEXIST }

// linkKindPhrase names what kind of link l is, for messages: "a bridge".
func linkKindPhrase(l Link) string {
	switch l.Kind {
	case KindDevice, "":
		if l.Name == "lo" {
			return "the loopback device"
		}
		return "a device"
	case KindWireGuard:
		return "a wireguard link"
	case KindVeth, KindBridge, KindVXLAN, KindMacvlan, KindTun, KindTap:
		return "a " + l.Kind
	}
	return "a link of kind " + l.Kind
}

// restoreLink makes link st.Link of ns exactly as recorded, with its
// dependents; it runs when its step is applied.
func (e *Ensurer) restoreLink(s *Step, ns string, st LinkState, withPeer bool) error {
	l := st.Link
	lw := LinkWant{Name: l.Name, Kind: l.Kind, Veth: l.Veth, VXLAN: l.VXLAN, Macvlan: l.Macvlan, Tun: l.Tun,
		MTU: &l.MTU, Alias: &l.Alias, Master: &l.Master, Up: &l.Up}
	if l.Kind == KindDevice {
		lw.Kind, lw.Veth, lw.VXLAN, lw.Macvlan, lw.Tun = "", nil, nil, nil, nil
	}
	if l.Kind != KindTun && l.Kind != KindWireGuard && len(l.Address) > 0 {
		lw.Address = l.Address
	}
	if l.Veth != nil && l.Veth.PeerNetns == "?" {
		lw.Veth = &Veth{Peer: l.Veth.Peer}
	}
	if l.MTU == 0 {
		lw.MTU = nil
	}
	if err := e.sub(s, Want{NS: ns, Link: &lw}); err != nil {
		return err
	}
	if st.WireGuard != nil {
		d := cloneWG(*st.WireGuard)
		if err := e.sub(s, Want{NS: ns, WireGuard: &WGWant{Name: l.Name, Restore: &d}}); err != nil {
			return err
		}
	}
	// Addresses, exactly (IPv6 link-local ones are the kernel's).
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	want := map[addrKey]bool{}
	for _, a := range st.Addrs {
		want[keyOfAddr(a)] = true
	}
	for _, a := range n.sortedAddrs() {
		if a.Link == l.Name && !want[keyOfAddr(a)] && !(a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast()) {
			if err := e.sub(s, Want{NS: ns, Absent: true, Exact: true, Addr: &a}); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	for _, a := range st.Addrs {
		if err := e.sub(s, Want{NS: ns, Addr: &a, Exact: true}); err != nil {
			return err
		}
	}
	// Routes through the link, exactly (the kernel's own follow the addresses).
	if n, err = e.state(ns); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, r := range st.Routes {
		keep[routeString(r)] = true
	}
	for _, r := range n.sortedRoutes() {
		if r.Dev == l.Name && r.Protocol != 2 && !devless(r) && !keep[routeString(r)] {
			if err := e.sub(s, Want{NS: ns, Absent: true, Exact: true, Route: &RouteWant{Route: r, Set: routeAll}}); err != nil {
				return err
			}
		}
	}
	for _, r := range st.Routes {
		w := Want{NS: ns, Route: &RouteWant{Route: r, Set: routeAll}}
		err := e.sub(s, w)
		if errors.Is(err, syscall.ENETUNREACH) && r.Gateway.IsValid() && !r.OnLink {
			// The kernel kept this route after its gateway became
			// unreachable (an address went before the link did); the
			// address's own undo comes later. Restore it onlink for now
			// and exactly once the gateway is reachable again.
			on := r
			on.OnLink = true
			err = e.sub(s, Want{NS: ns, Route: &RouteWant{Route: on, Set: routeAll}})
			if err == nil {
				e.fixups = append(e.fixups, w)
			}
		}
		if err != nil {
			return err
		}
	}
	// Permanent neighbours, exactly.
	if n, err = e.state(ns); err != nil {
		return err
	}
	keepN := map[neighKey]bool{}
	for _, x := range st.Neighs {
		keepN[neighKey{x.Link, x.IP}] = true
	}
	for _, x := range n.sortedNeighs() {
		if x.Link == l.Name && userNeigh(x) && !keepN[neighKey{x.Link, x.IP}] {
			if err := e.sub(s, Want{NS: ns, Absent: true, Neigh: &x}); err != nil {
				return err
			}
		}
	}
	for _, x := range st.Neighs {
		if err := e.sub(s, Want{NS: ns, Neigh: &x}); err != nil {
			return err
		}
	}
	for _, p := range st.Ports {
		master := l.Name
		if err := e.sub(s, Want{NS: ns, Link: &LinkWant{Name: p, Master: &master}}); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	for _, up := range st.Uppers {
		if err := e.restoreLink(s, ns, up, false); err != nil {
			return err
		}
	}
	if withPeer && st.Peer != nil {
		if err := e.restoreLink(s, st.PeerNS, *st.Peer, false); err != nil {
			return err
		}
	}
	return nil
}

// sub runs a nested ensure of a compound step, collecting its changes.
func (e *Ensurer) sub(s *Step, w Want) error {
	ss, err := e.Ensure(w)
	if ss != nil {
		s.Changes = append(s.Changes, ss.Changes...)
	}
	return err
}

func (e *Ensurer) restoreNetns(s *Step, st NetnsState) error {
	if err := e.sub(s, Want{Netns: &NetnsWant{Name: st.Name}}); err != nil {
		return err
	}
	ns := st.Name
	for _, ls := range st.Links {
		if err := e.restoreLink(s, ns, ls, true); err != nil {
			return err
		}
	}
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, r := range st.Routes {
		keep[routeString(r)] = true
	}
	for _, r := range n.sortedRoutes() {
		if devless(r) && r.Protocol != 2 && !keep[routeString(r)] {
			r.Dev = ""
			if err := e.sub(s, Want{NS: ns, Absent: true, Exact: true, Route: &RouteWant{Route: r, Set: routeAll}}); err != nil {
				return err
			}
		}
	}
	for _, r := range st.Routes {
		if err := e.sub(s, Want{NS: ns, Route: &RouteWant{Route: r, Set: routeAll}}); err != nil {
			return err
		}
	}
	if n, err = e.state(ns); err != nil {
		return err
	}
	for _, r := range slices.Clone(n.rules) {
		if !slices.ContainsFunc(st.Rules, func(o Rule) bool { return ruleEqual(o, r) }) {
			if err := e.sub(s, Want{NS: ns, Absent: true, Rule: &RuleWant{Rule: r}}); err != nil {
				return err
			}
		}
	}
	for _, r := range st.Rules {
		if err := e.sub(s, Want{NS: ns, Rule: &RuleWant{Rule: r}}); err != nil {
			return err
		}
	}
	return nil
}

// ---- addresses ----

// ipv6Scope is the scope the kernel gives an IPv6 address
// (ipv6_addr_scope): host for ::1, link for fe80::/10, site for the
// deprecated fec0::/10, global otherwise.
func ipv6Scope(ip netip.Addr) Scope {
	switch {
	case ip.IsLoopback():
		return ScopeHost
	case ip.IsLinkLocalUnicast():
		return ScopeLink
	case netip.MustParsePrefix("fec0::/10").Contains(ip):
		return ScopeSite
	}
	return ScopeUniverse
}

func (e *Ensurer) prepAddr(s *Step, w Want) error {
	a := *w.Addr
	ns := w.NS
	if !a.Prefix.IsValid() {
		return fmt.Errorf("ensure addr: no address")
	}
	if ip := a.Prefix.Addr(); !w.Absent && ip.Is6() && a.Scope != ScopeUniverse && a.Scope != ipv6Scope(ip) {
		// The kernel derives an IPv6 address's scope from the address
		// and ignores the one asked for (measured: `scope link` on
		// fd00:1::1 gives scope global), so the ensure could never hold.
		return &Error{Op: "addr " + FormatPrefix(a.Prefix) + " dev " + a.Link, NS: ns, Kind: ErrNotSupp, Field: "scope",
			Err: fmt.Errorf("the kernel gives an IPv6 address the scope of its kind (%s is %s): leave out `scope %s`",
				ip, ScopeName(ipv6Scope(ip)), ScopeName(a.Scope))}
	}
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	cur := n.addrs[keyOfAddr(a)]
	if w.Absent {
		if !w.Exact {
			if cur, err = e.anyLengthAddr(n, ns, a, cur); err != nil {
				return err
			}
		}
		if cur == nil {
			return nil
		}
		s.change('-', ns, FormatAddr(cur.Addr))
		s.Inverse = addrDelInverse(n, ns, cur)
		old := cur.Addr
		s.ops = append(s.ops, op{ns: ns, volatile: []string{ns}, do: func(k Kernel) error { return k.DelAddr(ns, old) }})
		return nil
	}
	if cur == nil {
		s.change('+', ns, FormatAddr(a))
		s.Inverse = []Want{{NS: ns, Absent: true, Exact: true, Addr: &Addr{Link: a.Link, Prefix: a.Prefix, Peer: a.Peer}}}
		s.ops = append(s.ops, op{ns: ns, volatile: []string{ns}, do: func(k Kernel) error { return k.AddAddr(ns, a, false) }})
		return nil
	}
	next := cur.Addr
	if w.Exact {
		next.Broadcast, next.Label, next.Scope = a.Broadcast, a.Label, a.Scope
	}
	if a.Broadcast.IsValid() {
		next.Broadcast = a.Broadcast
	}
	if a.Label != "" {
		next.Label = a.Label
	}
	if a.Scope != ScopeUniverse {
		next.Scope = a.Scope
	}
	if next == cur.Addr {
		return nil
	}
	// The kernel's replace keeps an address's scope, label and broadcast
	// (it only updates flags and lifetimes), so a change means deleting
	// and adding it again, with the deletion's side effects to undo.
	s.change('~', ns, FormatAddr(cur.Addr)+" -> "+strings.TrimPrefix(FormatAddr(next), "addr "))
	s.Inverse = addrDelInverse(n, ns, cur)
	old := cur.Addr
	s.ops = append(s.ops, op{ns: ns, volatile: []string{ns}, do: func(k Kernel) error {
		if err := k.DelAddr(ns, old); err != nil {
			return err
		}
		return k.AddAddr(ns, next, false)
	}})
	return nil
}

// addrDelInverse is what undoes deleting cur: the address itself, the
// secondaries the kernel deletes with a primary, and the main-table
// routes that preferred it as source.
func addrDelInverse(n *mns, ns string, cur *maddr) []Want {
	inv := []Want{{NS: ns, Addr: ptr(cur.Addr), Exact: true}}
	ip := cur.Prefix.Addr()
	if !ip.Is4() {
		return inv
	}
	for _, o := range n.secondariesOf(cur) {
		inv = append(inv, Want{NS: ns, Addr: ptr(o.Addr), Exact: true})
	}
	if n.srcMain[ip] == 0 {
		return inv // no main-table route prefers it (the common case: no scan)
	}
	for _, r := range n.sortedRoutes() {
		if r.Table == TableMain && r.Src == ip && r.Protocol != 2 {
			inv = append(inv, Want{NS: ns, Route: &RouteWant{Route: r, Set: routeAll}})
		}
	}
	return inv
}

func ptr[T any](v T) *T { return &v }

// ---- rules ----

// normRule puts a wanted rule in the form the kernel reports.
func normRule(r Rule) Rule {
	r = cloneRule(r)
	if r.Src.IsValid() && r.Src.Bits() == 0 {
		r.Src = netip.Prefix{}
	}
	if r.Dst.IsValid() && r.Dst.Bits() == 0 {
		r.Dst = netip.Prefix{}
	}
	if r.Mark != 0 && r.Mask == 0xffffffff {
		r.Mask = 0
	}
	r.Src, r.Dst = r.Src.Masked(), r.Dst.Masked()
	if r.Family == 0 {
		r.Family = 4
		if r.Src.Addr().Is6() || r.Dst.Addr().Is6() {
			r.Family = 6
		}
	}
	return r
}

func (e *Ensurer) prepRule(s *Step, w Want) error {
	rw := *w.Rule
	ns := w.NS
	r := normRule(rw.Rule)
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	var matches []Rule
	for _, o := range n.rulesLike(r) { // in kernel order
		if rw.AnyPriority || o.Priority == r.Priority {
			matches = append(matches, cloneRule(o))
		}
	}
	if w.Absent {
		for _, m := range matches {
			m := m
			s.change('-', ns, FormatRule(m, e.Names))
			s.Inverse = append([]Want{{NS: ns, Rule: &RuleWant{Rule: m}}}, s.Inverse...)
			s.ops = append(s.ops, op{ns: ns, do: func(k Kernel) error { return delRule(k, ns, m) }})
		}
		return nil
	}
	if len(matches) > 0 {
		return nil
	}
	if rw.AnyPriority || r.Priority == 0 {
		// The kernel's own choice, made explicit so the inverse is exact.
		r.Priority = defaultRulePriority(n.rules, r.Family)
	}
	s.change('+', ns, FormatRule(r, e.Names))
	s.Inverse = []Want{{NS: ns, Absent: true, Rule: &RuleWant{Rule: r}}}
	s.ops = append(s.ops, op{ns: ns, do: func(k Kernel) error { return k.AddRule(ns, r) }})
	return nil
}

// ---- neighbours ----

func (e *Ensurer) prepNeigh(s *Step, w Want) error {
	x := *w.Neigh
	ns := w.NS
	if x.State == 0 {
		x.State = NeighPermanent
	}
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	cur, ok := n.neighs[neighKey{x.Link, x.IP}]
	if w.Absent {
		if !ok {
			return nil
		}
		s.change('-', ns, FormatNeigh(cur))
		s.Inverse = []Want{{NS: ns, Neigh: &cur}}
		s.ops = append(s.ops, op{ns: ns, do: func(k Kernel) error { return k.DelNeigh(ns, cur) }})
		return nil
	}
	if ok && (x.LLAddr == nil || x.LLAddr.String() == cur.LLAddr.String()) && x.State == cur.State {
		return nil
	}
	if x.LLAddr == nil && ok {
		x.LLAddr = cur.LLAddr
	}
	if ok {
		// One line per attribute, as links print: `~ neigh IP dev L lladdr A -> B`.
		id := "neigh " + x.IP.String() + " dev " + x.Link
		if cur.LLAddr.String() != x.LLAddr.String() {
			s.change('~', ns, id+" lladdr "+cur.LLAddr.String()+" -> "+x.LLAddr.String())
		}
		if cur.State != x.State {
			s.change('~', ns, id+" "+neighStateWord(cur.State)+" -> "+neighStateWord(x.State))
		}
		s.Inverse = []Want{{NS: ns, Neigh: &cur}}
	} else {
		s.change('+', ns, FormatNeigh(x))
		s.Inverse = []Want{{NS: ns, Absent: true, Neigh: &Neigh{Link: x.Link, IP: x.IP}}}
	}
	s.ops = append(s.ops, op{ns: ns, do: func(k Kernel) error { return k.SetNeigh(ns, x) }})
	return nil
}

// ---- WireGuard ----

func (e *Ensurer) prepWG(s *Step, w Want) error {
	ww := *w.WireGuard
	ns := w.NS
	if w.Absent {
		return &Error{Op: "del wireguard " + ww.Name, NS: ns, Err: ErrNotSupp, Kind: ErrNotSupp,
			Message: "delete the link to remove a WireGuard device"}
	}
	n, err := e.state(ns)
	if err != nil {
		return err
	}
	l := n.links[ww.Name]
	if l == nil {
		return kerr("wireguard "+ww.Name, ns, syscall.ENODEV, fmt.Sprintf("link %q does not exist", ww.Name))
	}
	cd := n.wg[ww.Name]
	if cd == nil {
		d, err := e.k.WireGuard(ns, ww.Name)
		if err != nil {
			return err
		}
		cd = &d
		if !e.direct {
			e.cache.mu.Lock()
			n.wg[ww.Name] = &d
			e.cache.mu.Unlock()
		}
	}
	cur := cloneWG(*cd)
	target := wgTarget(cur, ww)
	cfg, texts := wgDiff(cur, target)
	if len(texts) == 0 {
		return nil
	}
	for _, t := range texts {
		s.change(t[0], ns, "wireguard "+ww.Name+" "+t[2:])
	}
	prev := cloneWG(cur)
	s.Inverse = []Want{{NS: ns, WireGuard: &WGWant{Name: ww.Name, Restore: &prev}}}
	name := ww.Name
	s.ops = append(s.ops, op{ns: ns, do: func(k Kernel) error { return k.ConfigureWireGuard(ns, name, cfg) }})
	return nil
}

// wgTarget is the configuration cur has after ensuring w.
func wgTarget(cur WGDevice, w WGWant) WGDevice {
	if w.Restore != nil {
		t := cloneWG(*w.Restore)
		t.Name = cur.Name
		return t
	}
	t := cloneWG(cur)
	if w.PrivateKey != nil {
		t.PrivateKey = *w.PrivateKey
	}
	if w.ListenPort != nil {
		t.ListenPort = *w.ListenPort
	}
	if w.FirewallMark != nil {
		t.FirewallMark = *w.FirewallMark
	}
	if w.ReplacePeers {
		t.Peers = slices.DeleteFunc(t.Peers, func(p WGPeer) bool {
			return !slices.ContainsFunc(w.Peers, func(pw WGPeerWant) bool { return pw.PublicKey == p.PublicKey && !pw.Remove })
		})
	}
	for _, pw := range w.Peers {
		i := slices.IndexFunc(t.Peers, func(p WGPeer) bool { return p.PublicKey == pw.PublicKey })
		if pw.Remove {
			if i >= 0 {
				t.Peers = slices.Delete(t.Peers, i, i+1)
			}
			continue
		}
		if i < 0 {
			t.Peers = append(t.Peers, WGPeer{PublicKey: pw.PublicKey})
			i = len(t.Peers) - 1
		}
		p := &t.Peers[i]
		if pw.PresharedKey != nil {
			p.PresharedKey = *pw.PresharedKey
		}
		if pw.Endpoint != nil {
			p.Endpoint = *pw.Endpoint
		}
		if pw.PersistentKeepalive != nil {
			p.PersistentKeepalive = *pw.PersistentKeepalive
		}
		if pw.AllowedIPs != nil {
			p.AllowedIPs = nil
			for _, a := range pw.AllowedIPs {
				a = a.Masked()
				if !slices.Contains(p.AllowedIPs, a) {
					p.AllowedIPs = append(p.AllowedIPs, a)
				}
				// An allowed IP belongs to one peer; the kernel moves it.
				for j := range t.Peers {
					if j != i {
						t.Peers[j].AllowedIPs = slices.DeleteFunc(t.Peers[j].AllowedIPs, func(x netip.Prefix) bool { return x == a })
					}
				}
			}
		}
	}
	return t
}

func sameIPs(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func ipsText(ips []netip.Prefix) string {
	if len(ips) == 0 {
		return "(none)"
	}
	s := make([]string, len(ips))
	for i, a := range ips {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// wgDiff computes the configuration turning cur into target without
// touching unchanged peers, and the change texts ("+ ...", "~ ...").
func wgDiff(cur, target WGDevice) (WGConfig, []string) {
	var cfg WGConfig
	var texts []string
	if cur.PrivateKey != target.PrivateKey {
		k := target.PrivateKey
		cfg.PrivateKey = &k
		texts = append(texts, "~ private-key (key)")
	}
	if cur.ListenPort != target.ListenPort {
		v := target.ListenPort
		cfg.ListenPort = &v
		texts = append(texts, fmt.Sprintf("~ listen-port %d -> %d", cur.ListenPort, v))
	}
	if cur.FirewallMark != target.FirewallMark {
		v := target.FirewallMark
		cfg.FirewallMark = &v
		texts = append(texts, fmt.Sprintf("~ fwmark 0x%x -> 0x%x", cur.FirewallMark, v))
	}
	for _, p := range cur.Peers {
		if !slices.ContainsFunc(target.Peers, func(t WGPeer) bool { return t.PublicKey == p.PublicKey }) {
			cfg.Peers = append(cfg.Peers, WGPeerConfig{PublicKey: p.PublicKey, Remove: true})
			texts = append(texts, "- peer "+p.PublicKey.Base64())
		}
	}
	for _, t := range target.Peers {
		i := slices.IndexFunc(cur.Peers, func(p WGPeer) bool { return p.PublicKey == t.PublicKey })
		pc := WGPeerConfig{PublicKey: t.PublicKey}
		var parts []string
		if i < 0 {
			pc.PresharedKey, pc.PersistentKeepalive = ptr(t.PresharedKey), ptr(t.PersistentKeepalive)
			if t.Endpoint.IsValid() {
				pc.Endpoint = ptr(t.Endpoint)
			}
			pc.ReplaceAllowedIPs, pc.AllowedIPs = true, slices.Clone(t.AllowedIPs)
			cfg.Peers = append(cfg.Peers, pc)
			texts = append(texts, strings.TrimRight("+ peer "+t.PublicKey.Base64()+" "+strings.Join(formatPeerAttrs(t, false), " "), " "))
			continue
		}
		c := cur.Peers[i]
		if c.PresharedKey != t.PresharedKey {
			pc.PresharedKey = ptr(t.PresharedKey)
			parts = append(parts, "preshared-key (key)")
		}
		if c.Endpoint != t.Endpoint && t.Endpoint.IsValid() {
			pc.Endpoint = ptr(t.Endpoint)
			parts = append(parts, fmt.Sprintf("endpoint %v -> %v", c.Endpoint, t.Endpoint))
		}
		if c.PersistentKeepalive != t.PersistentKeepalive {
			pc.PersistentKeepalive = ptr(t.PersistentKeepalive)
			parts = append(parts, fmt.Sprintf("persistent-keepalive %d -> %d", int(c.PersistentKeepalive.Seconds()), int(t.PersistentKeepalive.Seconds())))
		}
		if !sameIPs(c.AllowedIPs, t.AllowedIPs) {
			pc.ReplaceAllowedIPs, pc.AllowedIPs = true, slices.Clone(t.AllowedIPs)
			parts = append(parts, "allowed-ips "+ipsText(c.AllowedIPs)+" -> "+ipsText(t.AllowedIPs))
		}
		if len(parts) > 0 {
			pc.UpdateOnly = true
			cfg.Peers = append(cfg.Peers, pc)
			texts = append(texts, "~ peer "+t.PublicKey.Base64()+" "+strings.Join(parts, ", "))
		}
	}
	return cfg, texts
}

// publicKey derives a WireGuard public key from a private key.
func publicKey(priv Key) Key {
	return Key(wgtypes.Key(priv).PublicKey())
}
