package kernel

import (
	"fmt"
	"net/netip"
	"strings"
)

// ---- routes ----

// routeAll states every route attribute (inverses restore exactly).
const routeAll = RouteSetGateway | RouteSetDev | RouteSetSrc | RouteSetProtocol | RouteSetScope | RouteSetMTU | RouteSetOnLink

func routeString(r Route) string {
	k := keyOfRoute(r)
	return fmt.Sprintf("%d %s %d %d %d %s %s %s %d %d %d %v", k.table, k.dst, k.tos, k.priority, r.Type, r.Gateway, r.Dev, r.Src, r.Protocol, r.Scope, r.MTU, r.OnLink)
}

// fillRoute gives a wanted route ip(8)'s defaults for what was not stated.
func fillRoute(rw RouteWant) Route {
	r := rw.Route
	if r.Dst.Bits() == 0 && r.Dst.Addr().Is4() && r.Gateway.Is6() {
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0) // `default via` an IPv6 gateway
	}
	r.Priority = requestMetric(r)
	k := keyOfRoute(r)
	r.Table, r.Dst = k.table, k.dst
	if r.Type == 0 {
		r.Type = RouteUnicast
	}
	if devless(r) {
		r.Dev = ""
	}
	if rw.Set&RouteSetProtocol == 0 {
		r.Protocol = 3 // boot
	}
	if rw.Set&RouteSetScope == 0 {
		r.Scope = DefaultRouteScope(r)
	}
	if r.Dst.Addr().Is6() {
		r.Scope = ScopeUniverse
	}
	return r
}

// routeSatisfies reports whether existing route cur satisfies the wanted
// route r with stated attributes set.
func routeSatisfies(cur, r Route, set RouteFields) bool {
	if cur.Type != r.Type {
		return false
	}
	switch {
	case set&RouteSetGateway != 0 && cur.Gateway != r.Gateway,
		set&RouteSetDev != 0 && cur.Dev != r.Dev,
		set&RouteSetSrc != 0 && cur.Src != r.Src,
		set&RouteSetProtocol != 0 && cur.Protocol != r.Protocol,
		set&RouteSetScope != 0 && cur.Scope != r.Scope && !r.Dst.Addr().Is6(),
		set&RouteSetMTU != 0 && cur.MTU != r.MTU,
		set&RouteSetOnLink != 0 && cur.OnLink != r.OnLink:
		return false
	}
	return true
}

// routeAttrs renders a route's attributes (everything but its identity).
func routeAttrs(r Route) string {
	full := FormatRoute(r, nil)
	id := FormatRoute(Route{Table: TableMain, Dst: r.Dst, TOS: r.TOS, Priority: DefaultMetric(r.Dst), Type: RouteUnicast,
		Protocol: 3, Scope: DefaultRouteScope(Route{Dst: r.Dst, Type: RouteUnicast})}, nil)
	attrs := strings.TrimSpace(strings.Replace(full, strings.TrimPrefix(id, "route "), "", 1))
	attrs = strings.TrimPrefix(attrs, "route")
	// table and metric are identity; drop them from the attribute text.
	words := strings.Fields(attrs)
	var out []string
	for i := 0; i < len(words); i++ {
		if (words[i] == "table" || words[i] == "metric") && i+1 < len(words) {
			i++
			continue
		}
		out = append(out, words[i])
	}
	if len(out) == 0 {
		return "unicast"
	}
	return strings.Join(out, " ")
}

// routeIdentity renders `route DST [tos] [table T] [metric N]`.
func (e *Ensurer) routeIdentity(r Route) string {
	s := "route " + formatDst(r)
	if r.TOS != 0 {
		s += fmt.Sprintf(" tos 0x%x", r.TOS)
	}
	if r.Table != TableMain {
		s += " table " + e.Names.Name(r.Table)
	}
	if r.Priority != DefaultMetric(r.Dst) {
		s += fmt.Sprintf(" metric %d", r.Priority)
	}
	return s
}

// routeStep is a route ensure's Step together with everything it points
// to but its inverse, in one allocation (a run or a rollback of a full
// table prepares one per route; separately they were seven).
type routeStep struct {
	Step
	ops [1]op
	ch  [1]Change
}

// routeInverse is a route step's Inverse with its RouteWant, allocated
// apart from the routeStep: a transaction may keep the inverses of every
// step it made, never the steps.
type routeInverse struct {
	inv [1]Want
	rw  RouteWant
}

// newRouteStep returns the Step for w that makes change text (mark m)
// with o, undone by inv (whose Route is set to the RouteWant rw). The
// step's kernel call takes its route from the inverse when that is the
// same route (an add is undone by deleting what it added, a delete by
// adding back what it deleted): 144 bytes per route less, which a full
// table's worth of steps allocates as it loads.
func newRouteStep(w Want, m byte, text string, o RouteOp, inv Want, rw RouteWant) *Step {
	rs := &routeStep{Step: Step{Want: w}}
	rs.ch[0] = Change{Mark: m, NS: w.NS, Text: text}
	rs.Changes = rs.ch[:]
	ri := &routeInverse{inv: [1]Want{inv}, rw: rw}
	ri.inv[0].Route = &ri.rw
	rs.Inverse = ri.inv[:]
	route := &ri.rw.Route
	if ri.rw.Route != o.Route {
		// A replace, undone by putting back the route it replaces.
		route = new(Route)
		*route = o.Route
	}
	rs.ops[0] = op{ns: w.NS, route: route, routeDel: o.Del, routeReplace: o.Replace}
	rs.Step.ops = rs.ops[:]
	return &rs.Step
}

// prepRoute prepares a route want (Prepare has normalized w.NS).
func (e *Ensurer) prepRoute(w Want) (*Step, error) {
	rw := w.Route
	ns := w.NS
	if !rw.Route.Dst.IsValid() {
		return nil, fmt.Errorf("ensure route: no destination")
	}
	r := fillRoute(*rw)
	n, err := e.state(ns)
	if err != nil {
		return nil, err
	}
	k := keyOfRoute(r)
	cands := n.routes[k]
	if w.Absent {
		// The route with this identity and the stated attributes (type
		// only when stated) must not exist; one that differs in them is
		// another route and stays, as with `ip route del`.
		var cur *Route
		for i := range cands {
			t := r
			if rw.Route.Type == 0 {
				t.Type = cands[i].Type
			}
			if routeSatisfies(cands[i], t, rw.Set) {
				cur = &cands[i]
				break
			}
		}
		if !w.Exact && rw.Route.Priority == 0 {
			// No metric stated: any metric, as `ip route del` (see
			// anyMetricRoute).
			if cur, err = e.anyMetricRoute(n, ns, r, *rw, cur); err != nil {
				return nil, err
			}
		}
		if cur == nil {
			return &Step{Want: w}, nil
		}
		c := *cur
		return newRouteStep(w, '-', FormatRoute(c, e.Names), RouteOp{Del: true, Route: c},
			Want{NS: ns}, RouteWant{Route: c, Set: routeAll}), nil
	}
	for i := range cands {
		if routeSatisfies(cands[i], r, rw.Set) {
			return &Step{Want: w}, nil
		}
	}
	if len(cands) == 0 {
		return newRouteStep(w, '+', FormatRoute(r, e.Names), RouteOp{Route: r},
			Want{NS: ns, Absent: true, Exact: true}, RouteWant{Route: r, Set: rw.Set & (RouteSetDev | RouteSetGateway)}), nil
	}
	cur := cands[0]
	return newRouteStep(w, '~', e.routeIdentity(r)+" "+routeAttrs(cur)+" -> "+routeAttrs(r), RouteOp{Replace: true, Route: r},
		Want{NS: ns}, RouteWant{Route: cur, Set: routeAll}), nil
}
