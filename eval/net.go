package eval

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/user"
	"strconv"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// args reads the decoded fields of one network statement, converting
// each on demand (convert) and remembering the first error.
type args struct {
	e  *evaluator
	sc *scope
	d  *lang.Decoded
}

// get converts field name; ok is false when it is absent.
func (a *args) get(name string) (any, bool, error) {
	f := a.d.Get(name)
	if f == nil {
		return nil, false, nil
	}
	if f.Value == nil { // a flag
		return true, true, nil
	}
	v, err := a.e.convert(f.Param, f.Value, a.sc)
	return v, err == nil, err
}

func (a *args) has(name string) bool { return a.d.Has(name) }

// node returns the source node of field name (the statement when absent).
func (a *args) node(name string) lang.Node {
	if f := a.d.Get(name); f != nil {
		if f.Value != nil {
			return f.Value
		}
		return f.Key
	}
	return a.d.Stmt
}

// netStmt evaluates a network statement: it decodes the arguments
// against the statement's schema, converts them, builds the kernel.Want
// and ensures it through the transaction.
func (e *evaluator) netStmt(s *lang.NetStmt, sc *scope) error {
	d, ds := e.decode(s) // lang.Decode, remembered (batch.go)
	if len(ds) > 0 {
		return ds[0]
	}
	if e.wg != nil && s.Parent == "" {
		return errorf(s, "%s is not allowed inside a wireguard block", s.Verb)
	}
	if s.Parent != "" && e.wg == nil {
		return errorf(s, "%s is only allowed inside a wireguard block", s.Verb)
	}
	a := &args{e: e, sc: sc, d: d}
	switch s.Parent {
	case "wireguard":
		return e.wgStmt(s, a)
	case "peer":
		return e.peerStmt(s, a)
	}
	switch s.Verb {
	case "netns":
		return e.netnsStmt(s, a)
	case "link":
		return e.linkStmt(s, a)
	case "addr":
		return e.addrStmt(s, a)
	case "route":
		return e.routeStmt(s, a)
	case "neigh":
		return e.neighStmt(s, a)
	case "table":
		return e.tableStmt(s, a)
	case "rule":
		return e.ruleStmt(s, a)
	case "wireguard":
		return e.wireguardStmt(s, a)
	}
	return errorf(s, "internal error: no evaluator for %s", s.Verb)
}

// ensure hands w to the transaction and reports its changes to
// OnChange (Result.Changes are the transaction's, see run).
func (e *evaluator) ensure(n lang.Node, w kernel.Want) error {
	if w.NS == kernel.HostName {
		w.NS = kernel.Host
	}
	if e.plan {
		if err := e.seed(w.NS); err != nil {
			return errAt(n, err)
		}
	}
	if batchable(w) {
		return e.queue(n, w) // applied by the next flush (batch.go)
	}
	if err := e.flush(); err != nil {
		return err
	}
	step, err := e.tx.Ensure(w)
	if err != nil {
		if e.ctx.Err() != nil && !errors.Is(err, e.ctx.Err()) {
			err = fmt.Errorf("%w (interrupted: %v)", err, e.ctx.Err())
		}
		return e.netErr(n, err)
	}
	if e.o.OnChange != nil {
		for _, c := range step.Changes {
			e.o.OnChange(c)
		}
	}
	return nil
}

func (e *evaluator) netnsStmt(s *lang.NetStmt, a *args) error {
	v, _, err := a.get("name")
	if err != nil {
		return err
	}
	name := v.(string)
	if name == kernel.HostName {
		if s.Del {
			return errorf(a.node("name"), "the host namespace cannot be deleted")
		}
		return nil
	}
	if e.plan {
		if err := e.seed(name); err != nil {
			return errAt(s, err)
		}
	}
	return e.ensure(s, kernel.Want{NS: kernel.Host, Absent: s.Del, Netns: &kernel.NetnsWant{Name: name}})
}

// str, u32 etc. read converted fields of known types.
func (a *args) str(name string) (string, bool, error) {
	v, ok, err := a.get(name)
	if !ok || err != nil {
		return "", false, err
	}
	s, _ := v.(string)
	return s, true, nil
}

func (a *args) uint(name string) (uint64, bool, error) {
	v, ok, err := a.get(name)
	if !ok || err != nil {
		return 0, false, err
	}
	n, _ := v.(uint64)
	return n, true, nil
}

func (a *args) addr(name string) (netip.Addr, bool, error) {
	v, ok, err := a.get(name)
	if !ok || err != nil {
		return netip.Addr{}, false, err
	}
	x, _ := v.(netip.Addr)
	return x, true, nil
}

func (a *args) prefix(name string) (netip.Prefix, bool, error) {
	v, ok, err := a.get(name)
	if !ok || err != nil {
		return netip.Prefix{}, false, err
	}
	x, _ := v.(netip.Prefix)
	return x, true, nil
}

// nsArg reads a namespace-name field: "host" is kernel.Host.
func (a *args) nsArg(name string) (string, bool, error) {
	s, ok, err := a.str(name)
	if !ok || err != nil {
		return "", ok, err
	}
	return normNS(s), true, nil
}

func (e *evaluator) linkStmt(s *lang.NetStmt, a *args) error {
	name, _, err := a.str("name")
	if err != nil {
		return err
	}
	lw := &kernel.LinkWant{Name: name}
	w := kernel.Want{NS: e.ns, Absent: s.Del, Link: lw}
	if s.Del {
		return e.ensure(s, w)
	}
	if kind, ok, err := a.str("type"); err != nil {
		return err
	} else if ok {
		lw.Kind = kind
	}
	switch lw.Kind {
	case kernel.KindVeth:
		peer, ok, err := a.str("peer")
		if err != nil {
			return err
		}
		if !ok {
			return errorf(s, "a veth link needs `peer NAME`")
		}
		v := &kernel.Veth{Peer: peer}
		if pn, ok, err := a.str("peer-netns"); err != nil {
			return err
		} else if !ok {
			// Where the peer lives is not stated: a veth of that name
			// whose peer has that name satisfies it wherever the peer
			// was moved (`ip link set v1 netns lab` after creating the
			// pair), instead of being re-created on every run. A new
			// pair gets its peer in this namespace.
			if cur, err := e.currentLink(name); err != nil {
				return errAt(s, err)
			} else if cur != nil && cur.Kind == kernel.KindVeth && cur.Veth != nil &&
				cur.Veth.Peer == peer && cur.Veth.PeerNetns != "?" {
				v.PeerNetns = cur.Veth.PeerNetns
			}
		} else {
			// Veth.PeerNetns is relative to this end: "" is the same
			// namespace, "host" the one nets started in.
			switch ns := normNS(pn); {
			case ns == e.ns:
				v.PeerNetns = ""
			case ns == kernel.Host:
				v.PeerNetns = kernel.HostName
			default:
				if err := e.checkNS(a.node("peer-netns"), ns); err != nil {
					return err
				}
				v.PeerNetns = ns
			}
		}
		lw.Veth = v
	case kernel.KindVXLAN:
		vx := &kernel.VXLAN{}
		id, _, err := a.uint("id")
		if err != nil {
			return err
		}
		vx.ID = uint32(id)
		for _, f := range []struct {
			name string
			dst  *netip.Addr
		}{{"remote", &vx.Remote}, {"group", &vx.Group}, {"local", &vx.Local}} {
			if x, ok, err := a.addr(f.name); err != nil {
				return err
			} else if ok {
				*f.dst = x
			}
		}
		if dev, ok, err := a.str("dev"); err != nil {
			return err
		} else if ok {
			vx.Dev = dev
		}
		if p, ok, err := a.uint("dstport"); err != nil {
			return err
		} else if ok {
			vx.DstPort = uint16(p)
		}
		lw.VXLAN = vx
	case kernel.KindMacvlan:
		mv := &kernel.Macvlan{}
		dev, _, err := a.str("dev")
		if err != nil {
			return err
		}
		mv.Dev = dev
		if m, ok, err := a.str("mode"); err != nil {
			return err
		} else if ok {
			mv.Mode = m
		}
		lw.Macvlan = mv
	case kernel.KindTun, kernel.KindTap:
		if a.has("user") || a.has("group") {
			t := &kernel.Tun{User: -1, Group: -1}
			if u, ok, err := a.str("user"); err != nil {
				return err
			} else if ok {
				if t.User, err = lookupID(u, true); err != nil {
					return errAt(a.node("user"), err)
				}
			}
			if g, ok, err := a.str("group"); err != nil {
				return err
			} else if ok {
				if t.Group, err = lookupID(g, false); err != nil {
					return errAt(a.node("group"), err)
				}
			}
			lw.Tun = t
		}
	}
	if a.has("up") {
		lw.Up = ptr(true)
	}
	if a.has("down") {
		lw.Up = ptr(false)
	}
	if n, ok, err := a.uint("mtu"); err != nil {
		return err
	} else if ok {
		lw.MTU = ptr(uint32(n))
	}
	if v, ok, err := a.get("address"); err != nil {
		return err
	} else if ok {
		lw.Address = v.(net.HardwareAddr)
	}
	if m, ok, err := a.str("master"); err != nil {
		return err
	} else if ok {
		lw.Master = ptr(m)
	}
	if a.has("nomaster") {
		lw.Master = ptr("")
	}
	if al, ok, err := a.str("alias"); err != nil {
		return err
	} else if ok {
		lw.Alias = ptr(al)
	}
	if ns, ok, err := a.nsArg("netns"); err != nil {
		return err
	} else if ok {
		if err := e.checkNS(a.node("netns"), ns); err != nil {
			return err
		}
		lw.Netns = ptr(ns)
	}
	return e.ensure(s, w)
}

func ptr[T any](v T) *T { return &v }

// currentLink returns the link called name in the current namespace as
// the transaction sees it now, or nil.
func (e *evaluator) currentLink(name string) (*kernel.Link, error) {
	ls, err := e.kern().Links(e.ns)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].Name == name {
			return &ls[i], nil
		}
	}
	return nil, nil
}

// lookupID resolves a tun/tap owner: a number, or a user (group) name.
func lookupID(s string, isUser bool) (int, error) {
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return int(n), nil
	}
	if isUser {
		u, err := user.Lookup(s)
		if err != nil {
			return 0, fmt.Errorf("no user %q", s)
		}
		n, err := strconv.Atoi(u.Uid)
		return n, err
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, fmt.Errorf("no group %q", s)
	}
	n, err := strconv.Atoi(g.Gid)
	return n, err
}

func (e *evaluator) addrStmt(s *lang.NetStmt, a *args) error {
	pfx, _, err := a.prefix("prefix")
	if err != nil {
		return err
	}
	dev, _, err := a.str("dev")
	if err != nil {
		return err
	}
	ad := &kernel.Addr{Link: dev, Prefix: pfx}
	if p, ok, err := a.prefix("peer"); err != nil {
		return err
	} else if ok {
		if p.Addr().Is4() != pfx.Addr().Is4() {
			return errorf(a.node("peer"), "peer %s is not of the address family of %s", p, pfx)
		}
		ad.Peer = p
	}
	if !s.Del {
		if b, ok, err := a.addr("broadcast"); err != nil {
			return err
		} else if ok {
			ad.Broadcast = b
		}
		if l, ok, err := a.str("label"); err != nil {
			return err
		} else if ok {
			ad.Label = l
		}
		if v, ok, err := a.get("scope"); err != nil {
			return err
		} else if ok {
			ad.Scope = kernel.Scope(v.(uint8))
		}
	}
	return e.ensure(s, kernel.Want{NS: e.ns, Absent: s.Del, Addr: ad})
}

// tableID resolves a table argument (an id, a built-in name, a name from
// rt_tables or declared by the recipe).
func (e *evaluator) tableID(a *args, field string) (uint32, bool, error) {
	v, ok, err := a.get(field)
	if !ok || err != nil {
		return 0, ok, err
	}
	ref, isRef := v.(lang.TableRef)
	if !isRef {
		return 0, false, errorf(a.node(field), "%v is not a routing table here", v)
	}
	if ref.ID != 0 {
		return ref.ID, true, nil
	}
	id, found := e.names.ID(ref.Name)
	if !found {
		known := append([]string{"main", "local", "default"}, e.declared...)
		return 0, false, lang.Diagnostic{Pos: posOf(a.node(field)), End: endOf(a.node(field)),
			Msg: fmt.Sprintf("unknown table %q", ref.Name), Hint: lang.TableHint(ref.Name, known)}
	}
	return id, true, nil
}

var routeTypes = map[string]kernel.RouteType{
	"unicast": kernel.RouteUnicast, "blackhole": kernel.RouteBlackhole, "unreachable": kernel.RouteUnreachable,
	"prohibit": kernel.RouteProhibit, "throw": kernel.RouteThrow,
}

func (e *evaluator) routeStmt(s *lang.NetStmt, a *args) error {
	r := kernel.Route{Type: kernel.RouteUnicast}
	var set kernel.RouteFields
	if t, ok, err := a.str("type"); err != nil {
		return err
	} else if ok {
		r.Type = routeTypes[t]
	}
	via, hasVia, err := a.addr("via")
	if err != nil {
		return err
	}
	src, hasSrc, err := a.addr("src")
	if err != nil {
		return err
	}
	dst, _, err := a.get("dst")
	if err != nil {
		return err
	}
	switch d := dst.(type) {
	case string: // default
		r.Dst = netip.MustParsePrefix("0.0.0.0/0")
		if hasVia && via.Is6() || !hasVia && hasSrc && src.Is6() {
			r.Dst = netip.MustParsePrefix("::/0")
		}
	case netip.Prefix:
		r.Dst = d
	}
	if hasVia {
		if via.Is4() != r.Dst.Addr().Is4() {
			return errorf(a.node("via"), "gateway %s is not of the address family of %s", via, kernel.FormatPrefix(r.Dst))
		}
		r.Gateway = via
		set |= kernel.RouteSetGateway
	}
	if hasSrc {
		if src.Is4() != r.Dst.Addr().Is4() {
			return errorf(a.node("src"), "source %s is not of the address family of %s", src, kernel.FormatPrefix(r.Dst))
		}
		r.Src = src
		set |= kernel.RouteSetSrc
	}
	if dev, ok, err := a.str("dev"); err != nil {
		return err
	} else if ok {
		r.Dev = dev
		set |= kernel.RouteSetDev
	}
	if id, ok, err := e.tableID(a, "table"); err != nil {
		return err
	} else if ok {
		r.Table = id
	} else if e.table != 0 {
		r.Table = e.table
	} else {
		r.Table = kernel.TableMain
	}
	if m, ok, err := a.uint("metric"); err != nil {
		return err
	} else if ok {
		r.Priority = uint32(m)
	}
	if v, ok, err := a.get("proto"); err != nil {
		return err
	} else if ok {
		r.Protocol = v.(uint8)
		set |= kernel.RouteSetProtocol
	}
	if v, ok, err := a.get("scope"); err != nil {
		return err
	} else if ok {
		r.Scope = kernel.Scope(v.(uint8))
		set |= kernel.RouteSetScope
	}
	if m, ok, err := a.uint("mtu"); err != nil {
		return err
	} else if ok {
		r.MTU = uint32(m)
		set |= kernel.RouteSetMTU
	}
	if a.has("onlink") {
		r.OnLink = true
		set |= kernel.RouteSetOnLink
	}
	return e.ensure(s, kernel.Want{NS: e.ns, Absent: s.Del, Route: e.newRouteWant(kernel.RouteWant{Route: r, Set: set})})
}

// routeWantSlab is how many RouteWants newRouteWant allocates at once.
const routeWantSlab = 64

// newRouteWant returns a pointer to a copy of rw. A recipe of 100k routes
// makes 100k of them, each referenced only until its batch is applied
// (the transaction copies what it keeps): they come from slabs of
// routeWantSlab, one allocation per slab instead of one per route.
func (e *evaluator) newRouteWant(rw kernel.RouteWant) *kernel.RouteWant {
	if len(e.rws) == 0 {
		e.rws = make([]kernel.RouteWant, routeWantSlab)
	}
	p := &e.rws[0]
	e.rws = e.rws[1:]
	*p = rw
	return p
}

func (e *evaluator) neighStmt(s *lang.NetStmt, a *args) error {
	ip, _, err := a.addr("addr")
	if err != nil {
		return err
	}
	dev, _, err := a.str("dev")
	if err != nil {
		return err
	}
	n := &kernel.Neigh{Link: dev, IP: ip, State: kernel.NeighPermanent}
	if !s.Del {
		v, _, err := a.get("lladdr")
		if err != nil {
			return err
		}
		n.LLAddr, _ = v.(net.HardwareAddr)
	}
	return e.ensure(s, kernel.Want{NS: e.ns, Absent: s.Del, Neigh: n})
}

// tableStmt declares a table name (`table ID name NAME`) and, with a
// block, runs the block with routes defaulting to that table.
func (e *evaluator) tableStmt(s *lang.NetStmt, a *args) error {
	if s.Del {
		return errorf(s, "del table is not supported")
	}
	v, _, err := a.get("table")
	if err != nil {
		return err
	}
	ref, _ := v.(lang.TableRef)
	if name, ok, err := a.str("name"); err != nil {
		return err
	} else if ok {
		if ref.ID == 0 {
			return errorf(a.node("table"), "table %q needs a numeric id to be named", ref.Name)
		}
		if err := e.names.Add(ref.ID, name); err != nil {
			return errAt(a.node("name"), err)
		}
		e.declared = append(e.declared, name)
	}
	id, _, err := e.tableID(a, "table")
	if err != nil {
		return err
	}
	if s.Block == nil {
		return nil
	}
	saved := e.table
	e.table = id
	defer func() { e.table = saved }()
	return e.block(s.Block, a.sc)
}

func (e *evaluator) ruleStmt(s *lang.NetStmt, a *args) error {
	r := kernel.Rule{}
	rw := &kernel.RuleWant{}
	r.Invert = a.has("not")
	fam := 0
	setFam := func(field string, p netip.Prefix) error {
		f := 4
		if p.Addr().Is6() {
			f = 6
		}
		if fam != 0 && fam != f {
			return errorf(a.node(field), "%s %s is IPv%d but the rule is IPv%d", field, kernel.FormatPrefix(p), f, fam)
		}
		fam = f
		return nil
	}
	for _, sel := range []struct {
		name string
		dst  *netip.Prefix
	}{{"from", &r.Src}, {"to", &r.Dst}} {
		v, ok, err := a.get(sel.name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if p, isPfx := v.(netip.Prefix); isPfx {
			if err := setFam(sel.name, p); err != nil {
				return err
			}
			*sel.dst = p
		}
	}
	if fam == 0 {
		fam = 4
	}
	r.Family = fam
	if v, ok, err := a.str("iif"); err != nil {
		return err
	} else if ok {
		r.IIF = v
	}
	if v, ok, err := a.str("oif"); err != nil {
		return err
	} else if ok {
		r.OIF = v
	}
	if v, ok, err := a.get("fwmark"); err != nil {
		return err
	} else if ok {
		m := v.(lang.Mark)
		r.Mark, r.Mask = m.Value, m.Mask
	}
	if v, ok, err := a.get("ipproto"); err != nil {
		return err
	} else if ok {
		r.IPProto = v.(uint8)
	}
	if v, ok, err := a.get("sport"); err != nil {
		return err
	} else if ok {
		p := v.(lang.PortRange)
		r.SPort = kernel.PortRange{Start: p.Start, End: p.End}
	}
	if v, ok, err := a.get("dport"); err != nil {
		return err
	} else if ok {
		p := v.(lang.PortRange)
		r.DPort = kernel.PortRange{Start: p.Start, End: p.End}
	}
	if v, ok, err := a.get("uidrange"); err != nil {
		return err
	} else if ok {
		u := v.(lang.UIDRange)
		r.UID = &kernel.UIDRange{Start: u.Start, End: u.End}
	}
	switch {
	case a.has("lookup"):
		id, _, err := e.tableID(a, "lookup")
		if err != nil {
			return err
		}
		r.Action, r.Table = kernel.ActionLookup, id
	case a.has("goto"):
		n, _, err := a.uint("goto")
		if err != nil {
			return err
		}
		r.Action, r.Goto = kernel.ActionGoto, uint32(n)
	case a.has("nop"):
		r.Action = kernel.ActionNop
	case a.has("blackhole"):
		r.Action = kernel.ActionBlackhole
	case a.has("unreachable"):
		r.Action = kernel.ActionUnreachable
	case a.has("prohibit"):
		r.Action = kernel.ActionProhibit
	default:
		return errorf(s, "rule needs one of lookup, goto, nop, blackhole, unreachable, prohibit (del rule too: it names the rule)")
	}
	if n, ok, err := a.uint("priority"); err != nil {
		return err
	} else if ok {
		r.Priority = uint32(n)
	} else {
		rw.AnyPriority = true
	}
	if n, ok, err := a.uint("suppress_prefixlength"); err != nil {
		return err
	} else if ok {
		r.SuppressPrefixLen = ptr(uint8(n))
	}
	rw.Rule = r
	return e.ensure(s, kernel.Want{NS: e.ns, Absent: s.Del, Rule: rw})
}

// ---- WireGuard ----

// wgBuild collects the statements of a wireguard block.
type wgBuild struct {
	w     *kernel.WGWant
	seen  map[string]lang.Node
	peers map[kernel.Key]bool
}

func (b *wgBuild) once(s *lang.NetStmt, what string) error {
	if prev, dup := b.seen[what]; dup {
		p := posOf(prev)
		return errorf(s, "%s given twice in wireguard %s (first at %d:%d)", what, b.w.Name, p.Line, p.Column)
	}
	b.seen[what] = s
	return nil
}

// wireguardStmt ensures a WireGuard device's configuration: the block's
// statements are collected into one kernel.WGWant (scripting statements
// such as for and if may build it), ensured when the block ends.
// `del wireguard NAME` deletes the wireguard link NAME.
func (e *evaluator) wireguardStmt(s *lang.NetStmt, a *args) error {
	name, _, err := a.str("name")
	if err != nil {
		return err
	}
	if s.Del {
		links, err := e.kern().Links(e.ns)
		if err != nil {
			return errAt(s, err)
		}
		for _, l := range links {
			if l.Name == name && l.Kind != kernel.KindWireGuard {
				return errorf(a.node("name"), "%s is a %s link, not a wireguard device (use `del link %s`)", name, l.Kind, name)
			}
		}
		return e.ensure(s, kernel.Want{NS: e.ns, Absent: true, Link: &kernel.LinkWant{Name: name}})
	}
	b := &wgBuild{w: &kernel.WGWant{Name: name}, seen: map[string]lang.Node{}, peers: map[kernel.Key]bool{}}
	saved := e.wg
	e.wg = b
	err = e.block(s.Block, a.sc)
	e.wg = saved
	if err != nil {
		return err
	}
	return e.ensure(s, kernel.Want{NS: e.ns, WireGuard: b.w})
}

func (e *evaluator) wgStmt(s *lang.NetStmt, a *args) error {
	b := e.wg
	if e.peer != nil {
		return errorf(s, "%s is not allowed inside a peer block", s.Verb)
	}
	if s.Verb != "peer" {
		if s.Del {
			return errorf(s, "del %s is not supported", s.Verb)
		}
		if err := b.once(s, s.Verb); err != nil {
			return err
		}
	}
	switch s.Verb {
	case "private-key":
		v, _, err := a.get("key")
		if err != nil {
			return err
		}
		b.w.PrivateKey = ptr(keyOf(v))
	case "listen-port":
		n, _, err := a.uint("port")
		if err != nil {
			return err
		}
		b.w.ListenPort = ptr(int(n))
	case "fwmark":
		n, _, err := a.uint("mark")
		if err != nil {
			return err
		}
		b.w.FirewallMark = ptr(uint32(n))
	case "replace-peers":
		b.w.ReplacePeers = true
	case "peer":
		v, _, err := a.get("key")
		if err != nil {
			return err
		}
		p := kernel.WGPeerWant{PublicKey: keyOf(v), Remove: s.Del}
		if b.peers[p.PublicKey] {
			return errorf(a.node("key"), "peer %s given twice in wireguard %s", lang.FormatExpr(a.node("key").(lang.Expr)), b.w.Name)
		}
		b.peers[p.PublicKey] = true
		if s.Del && s.Block != nil {
			return errorf(s.Block, "del peer takes no block")
		}
		e.peer = &p
		err = e.block(s.Block, a.sc)
		e.peer = nil
		if err != nil {
			return err
		}
		b.w.Peers = append(b.w.Peers, p)
	default:
		return errorf(s, "internal error: no evaluator for %s", s.Verb)
	}
	return nil
}

func (e *evaluator) peerStmt(s *lang.NetStmt, a *args) error {
	p := e.peer
	if p == nil {
		return errorf(s, "%s is only allowed inside a peer block", s.Verb)
	}
	if s.Del {
		return errorf(s, "del %s is not supported", s.Verb)
	}
	switch s.Verb {
	case "preshared-key":
		if p.PresharedKey != nil {
			return errorf(s, "preshared-key given twice for this peer")
		}
		v, _, err := a.get("key")
		if err != nil {
			return err
		}
		p.PresharedKey = ptr(keyOf(v))
	case "endpoint":
		if p.Endpoint != nil {
			return errorf(s, "endpoint given twice for this peer")
		}
		v, _, err := a.get("endpoint")
		if err != nil {
			return err
		}
		ep := v.(lang.Endpoint)
		ip := ep.Addr
		if !ip.IsValid() {
			if ip, err = e.resolve(ep.Host); err != nil {
				return errAt(a.node("endpoint"), err)
			}
		}
		p.Endpoint = ptr(netip.AddrPortFrom(ip.Unmap(), ep.Port))
	case "allowed-ips":
		if p.AllowedIPs != nil {
			return errorf(s, "allowed-ips given twice for this peer (list them all in one, separated by commas)")
		}
		v, _, err := a.get("prefixes")
		if err != nil {
			return err
		}
		ips := []netip.Prefix{}
		for _, x := range v.([]any) {
			ips = append(ips, x.(netip.Prefix).Masked())
		}
		p.AllowedIPs = ips
	case "persistent-keepalive":
		if p.PersistentKeepalive != nil {
			return errorf(s, "persistent-keepalive given twice for this peer")
		}
		v, _, err := a.get("interval")
		if err != nil {
			return err
		}
		p.PersistentKeepalive = ptr(v.(time.Duration))
	default:
		return errorf(s, "internal error: no evaluator for %s", s.Verb)
	}
	return nil
}

// resolve looks a WireGuard endpoint's host name up once per run; the
// first address returned is used (IPv4 preferred, as wg(8) does).
func (e *evaluator) resolve(host string) (netip.Addr, error) {
	if a, ok := e.resolved[host]; ok {
		return a, nil
	}
	var addrs []netip.Addr
	var err error
	if e.o.LookupHost != nil {
		addrs, err = e.o.LookupHost(e.ctx, host)
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(e.ctx, "ip", host)
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("endpoint: cannot resolve %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("endpoint: %q has no addresses", host)
	}
	best := addrs[0]
	for _, a := range addrs {
		if a.Unmap().Is4() {
			best = a
			break
		}
	}
	best = best.Unmap()
	e.resolved[host] = best
	return best, nil
}
