package kernel

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// formatRouteRef is FormatRoute as it was written with strings.Builder
// and fmt before it appended into one buffer: the reference the faster
// one must equal.
func formatRouteRef(r Route, names *TableNames) string {
	var b strings.Builder
	b.WriteString("route ")
	if r.Type != RouteUnicast && r.Type != 0 {
		b.WriteString(RouteTypeName(r.Type) + " ")
	}
	b.WriteString(formatDst(r))
	if r.TOS != 0 {
		fmt.Fprintf(&b, " tos 0x%x", r.TOS)
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via " + r.Gateway.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Table != TableMain && r.Table != TableUnspec {
		b.WriteString(" table " + names.Name(r.Table))
	}
	if r.Priority != DefaultMetric(r.Dst) {
		fmt.Fprintf(&b, " metric %d", r.Priority)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Protocol != 3 && r.Protocol != 0 {
		b.WriteString(" proto " + ProtoName(r.Protocol))
	}
	if r.Scope != DefaultRouteScope(r) {
		b.WriteString(" scope " + ScopeName(r.Scope))
	}
	if r.MTU != 0 {
		fmt.Fprintf(&b, " mtu %d", r.MTU)
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// TestFormatRouteShapes: FormatRoute renders every combination of route
// fields exactly as the reference does, with and without table names.
func TestFormatRouteShapes(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	names := NewTableNames()
	if err := names.Add(100, "isp1"); err != nil {
		t.Fatal(err)
	}
	dsts := []netip.Prefix{{}, p("10.1.0.0/16"), p("10.1.2.3/16"), p("0.0.0.0/0"), p("10.9.9.9/32"), p("fd00:1::/48"),
		p("fd00:1::1/128"), p("::/0"), p("::ffff:10.0.0.0/104"), p("::ffff:10.0.0.1/128")}
	gws := []netip.Addr{{}, a("10.9.0.2"), a("fd00:9::2"), a("fe80::1%v0"), a("::ffff:10.9.0.2")}
	srcs := []netip.Addr{{}, a("10.9.0.1"), a("fd00:9::1")}
	tables := []uint32{TableUnspec, TableMain, TableLocal, TableDefault, 100, 256, 1 << 31}
	types := []RouteType{0, RouteUnicast, RouteLocal, RouteBlackhole, RouteType(99)}
	rests := []routeRest{{}, {prio: 7, tos: 0x1f, proto: 3, scope: ScopeLink, mtu: 1400, onlink: true, dev: "eth0"},
		{prio: 1024, proto: 4, scope: ScopeHost, dev: "v0"}, {proto: 200, scope: Scope(77), mtu: 65535}, {scope: ScopeUniverse}}
	n := 0
	eachRoute(dsts, gws, srcs, tables, types, rests, func(r Route, _ int) {
		for _, tn := range []*TableNames{nil, names} {
			if got, want := FormatRoute(r, tn), formatRouteRef(r, tn); got != want {
				t.Fatalf("%+v:\nFormatRoute %q\nreference   %q", r, got, want)
			}
			n++
		}
	})
	t.Logf("%d shapes equal", n)
}

// TestFormatRouteAllocs: a typical route renders with one allocation,
// its string.
func TestFormatRouteAllocs(t *testing.T) {
	r := Route{Table: 100, Dst: netip.MustParsePrefix("10.0.0.0/24"), Type: RouteBlackhole, Protocol: 3}
	if n := testing.AllocsPerRun(100, func() { _ = FormatRoute(r, nil) }); n != 1 {
		t.Errorf("FormatRoute allocates %v times", n)
	}
}
