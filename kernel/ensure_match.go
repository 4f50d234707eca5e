package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// A `del` states an object's identity as ip(8) lets one: `del route
// 10.0.0.0/8` without a metric, `del addr 10.1.1.9 dev d1` without a
// prefix length. ip(8) deletes what the kernel then matches (an IPv4
// route of any metric, the address whatever its length); nets does the
// same when exactly one object matches and refuses when several do,
// listing them. Counting every candidate (the one with the default
// metric or the host prefix too) keeps a `del` idempotent: a second run
// finds nothing, never the next candidate. Inverses (Want.Exact) always
// match exactly: replaying one must never delete a neighbouring object
// the run did not make.

// ErrAmbiguous is the Kind of the error of a `del` that matches several
// objects (a route without a metric that exists with several metrics,
// an address without a prefix length that a link has with several).
var ErrAmbiguous = errors.New("ambiguous")

// ambiguousError says a `del` matches several objects.
type ambiguousError struct {
	what    string   // "routes", "addresses"
	matches []string // the candidates, in recipe syntax
	hint    string   // what to add to pick one
}

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("matches %d %s (%s); %s", len(e.matches), e.what, strings.Join(e.matches, "; "), e.hint)
}

// anyMetricRoute finds the route `del route` without a metric means: the
// route of the same table, destination and TOS, of any metric, with the
// stated attributes: exact (the match at the default metric, or nil) or
// one of another metric that the kernel did not make (an IPv6 address's
// prefix route is not what `del route` without a metric means). It
// returns nil when there is none and an error when there are several.
func (e *Ensurer) anyMetricRoute(n *mns, ns string, r Route, rw RouteWant, exact *Route) (*Route, error) {
	k := keyOfRoute(r)
	var found []Route
	if exact != nil {
		found = append(found, *exact)
	}
	others := n.keysByDst[tableDst{k.table, k.dst}] // the keys of a metric other than the default
	if def := requestMetric(Route{Dst: k.dst}); k.priority != def {
		// Not reached from prepRoute (an unstated metric is the
		// default), but keep the function honest: the default metric
		// is not in the index.
		others = append(slices.Clone(others), routeKey{k.table, k.dst, k.tos, def})
	}
	for _, key := range others {
		if key.tos != k.tos || key.priority == k.priority {
			continue
		}
		for _, c := range n.routes[key] {
			if c.Protocol == 2 {
				continue
			}
			t := r
			t.Priority = c.Priority
			if rw.Route.Type == 0 {
				t.Type = c.Type
			}
			if routeSatisfies(c, t, rw.Set) {
				found = append(found, c)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	slices.SortFunc(found, func(a, b Route) int { return int(a.Priority) - int(b.Priority) })
	amb := &ambiguousError{what: "routes", hint: "say which with `metric N`, `via` or `dev`"}
	for _, c := range found {
		amb.matches = append(amb.matches, FormatRoute(c, e.Names))
	}
	return nil, &Error{Op: "del " + e.routeIdentity(r), NS: ns, Err: amb, Kind: ErrAmbiguous}
}

// anyLengthAddr finds the address `del addr A dev L` means when A is a
// bare address (a host prefix: A and A/32 read alike): the one address
// of L whose local address is A, whatever its prefix length or peer. It
// returns nil when there is none and an error when there are several.
// exact is the address with a's identity (nil: none).
func (e *Ensurer) anyLengthAddr(n *mns, ns string, a Addr, exact *maddr) (*maddr, error) {
	ip := a.Prefix.Addr()
	if a.Peer.IsValid() || a.Prefix.Bits() != ip.BitLen() {
		return exact, nil // a length (or peer) was stated
	}
	var found []*maddr
	for _, o := range n.addrIdx[netip.PrefixFrom(ip, ip.BitLen())] {
		if o.Link == a.Link && o.Prefix.Addr() == ip {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	slices.SortFunc(found, func(a, b *maddr) int { return cmpUint(a.seq, b.seq) })
	amb := &ambiguousError{what: "addresses", hint: "a bare address (or /" + fmt.Sprint(ip.BitLen()) + ") in `del` stands for any prefix length; say which with the length"}
	for _, o := range found {
		amb.matches = append(amb.matches, FormatAddr(o.Addr))
	}
	return nil, &Error{Op: "del addr " + ip.String() + " dev " + a.Link, NS: ns, Err: amb, Kind: ErrAmbiguous}
}
