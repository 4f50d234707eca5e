package kernel

import "net/netip"

// routeRest is what a route shape of the encoder tests sets besides its
// destination, gateway, source, table and type.
type routeRest struct {
	prio   uint32
	tos    uint8
	proto  uint8
	scope  Scope
	mtu    uint32
	onlink bool
	dev    string
}

// eachRoute calls f with the route of every combination of dsts, gws,
// srcs, tables, types and rests, and the index in rests of its rest.
func eachRoute(dsts []netip.Prefix, gws, srcs []netip.Addr, tables []uint32, types []RouteType, rests []routeRest, f func(r Route, rest int)) {
	for _, dst := range dsts {
		for _, gw := range gws {
			for _, src := range srcs {
				for _, table := range tables {
					for _, typ := range types {
						for i, x := range rests {
							f(Route{Table: table, Dst: dst, TOS: x.tos, Priority: x.prio, Type: typ, Gateway: gw,
								Dev: x.dev, Src: src, Protocol: x.proto, Scope: x.scope, MTU: x.mtu, OnLink: x.onlink}, i)
						}
					}
				}
			}
		}
	}
}
