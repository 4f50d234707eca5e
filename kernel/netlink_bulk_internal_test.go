package kernel

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rtnetlinkRouteMsg is the request AddRoute (or, for a delete, DelRoute)
// sends for o, encoded by rtnetlink and netlink: the reference
// appendRouteMsg must equal.
func rtnetlinkRouteMsg(t *testing.T, o RouteOp, oif, seq uint32, ack bool) []byte {
	t.Helper()
	m, err := nlRouteKey(o.Route)
	if err != nil {
		t.Fatal(err)
	}
	typ, flags := netlink.HeaderType(unix.RTM_NEWROUTE), netlink.Request|netlink.Create|netlink.Excl
	if o.Replace {
		flags = netlink.Request | netlink.Create | netlink.Replace
	}
	if o.Del {
		m.Type, m.Scope = unix.RTN_UNSPEC, unix.RT_SCOPE_NOWHERE
		typ, flags = unix.RTM_DELROUTE, netlink.Request
	} else {
		nlRouteAttrs(m, o.Route)
		m.Attributes.OutIface = oif
	}
	if ack {
		flags |= netlink.Acknowledge
	}
	body, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := netlink.Message{Header: netlink.Header{Length: uint32(16 + len(body)), Type: typ, Flags: flags, Sequence: seq},
		Data: body}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppendRouteMsg: the hand-written encoder of batched route requests
// writes exactly the bytes rtnetlink's RouteMessage.MarshalBinary (and
// netlink's Message.MarshalBinary) make of the message AddRoute and
// DelRoute build, for every combination of route fields, op kind,
// interface, sequence number and ack flag, and appends without touching
// what the buffer held.
func TestAppendRouteMsg(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	dsts := []netip.Prefix{p("10.1.0.0/16"), p("10.1.2.3/16"), p("0.0.0.0/0"), p("10.9.9.9/32"), p("fd00:1::/48"),
		p("fd00:1::1/128"), p("::/0"), p("::ffff:10.0.0.0/104")}
	gws := []netip.Addr{{}, a("10.9.0.2"), a("fd00:9::2"), a("fe80::1%v0"), a("::ffff:10.9.0.2")}
	srcs := []netip.Addr{{}, a("10.9.0.1"), a("fd00:9::1")}
	tables := []uint32{0, TableMain, TableLocal, 100, 255, 256, 1000, 1 << 31}
	types := []RouteType{0, RouteUnicast, RouteLocal, RouteBlackhole, RouteUnreachable}
	type shape struct {
		rest     routeRest
		oif      uint32
		seq      uint32
		ack      bool
		del, rep bool
	}
	shapes := []shape{
		{},
		{rest: routeRest{prio: 7, tos: 0x10, proto: 3, scope: ScopeLink, mtu: 1400, onlink: true, dev: "v0"}, oif: 3, seq: 1, ack: true},
		{rest: routeRest{prio: 1024, proto: 4, scope: ScopeHost, dev: "v0"}, oif: 70000, seq: 0xffffffff, rep: true},
		{rest: routeRest{prio: 7, tos: 0x10, proto: 3, mtu: 1400, onlink: true, dev: "v0"}, seq: 5, del: true},
		{rest: routeRest{mtu: 65535}, seq: 9, ack: true, del: true},
		{rest: routeRest{mtu: 9000, proto: 186, scope: ScopeUniverse}, seq: 2, rep: true, ack: true},
	}
	rests := make([]routeRest, len(shapes))
	for i, sh := range shapes {
		rests[i] = sh.rest
	}
	prefix := []byte{1, 2, 3}
	n := 0
	eachRoute(dsts, gws, srcs, tables, types, rests, func(r Route, i int) {
		sh := shapes[i]
		o := RouteOp{Del: sh.del, Replace: sh.rep, Route: r}
		want := rtnetlinkRouteMsg(t, o, sh.oif, sh.seq, sh.ack)
		got := appendRouteMsg(append([]byte(nil), prefix...), o, sh.oif, sh.seq, sh.ack)
		if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("%+v (oif %d, seq %d, ack %v):\nappendRouteMsg % x\nrtnetlink      % x",
				o, sh.oif, sh.seq, sh.ack, got[len(prefix):], want)
		}
		if len(want) > routeMsgMax {
			t.Fatalf("%+v: %d bytes, more than routeMsgMax (%d)", o, len(want), routeMsgMax)
		}
		n++
	})
	t.Logf("%d shapes equal", n)
}

// TestAppendRouteMsgAllocs: encoding into a buffer with room allocates
// nothing.
func TestAppendRouteMsgAllocs(t *testing.T) {
	o := RouteOp{Route: Route{Table: 1000, Dst: netip.MustParsePrefix("fd00:1::/48"), Type: RouteUnicast,
		Gateway: netip.MustParseAddr("fd00:9::2"), Src: netip.MustParseAddr("fd00:9::1"), Dev: "v0", Protocol: 3, MTU: 1400}}
	via := o
	via.Route.Dst = netip.MustParsePrefix("10.1.0.0/16") // RTA_VIA
	buf := make([]byte, 0, 2*routeMsgMax)
	if n := testing.AllocsPerRun(100, func() { buf = appendRouteMsg(appendRouteMsg(buf[:0], o, 3, 1, false), via, 3, 2, true) }); n != 0 {
		t.Errorf("appendRouteMsg allocates %v times per 2 requests", n)
	}
}

// TestDecodeRouteMsg: the allocation-free decoder of dumped routes reads
// exactly what rtnetlink's RouteMessage.UnmarshalBinary reads, for every
// route shape the encoder test makes (as the kernel reports them: with
// RTA_TABLE, and with RTA_PREF, RTA_EXPIRES, RTA_MARK, RTA_VIA and
// metrics besides the MTU), and on corrupted and truncated copies of
// them it either agrees with rtnetlink or leaves the message to it; it
// never takes a message rtnetlink refuses.
func TestDecodeRouteMsg(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	var bodies [][]byte
	for _, dst := range []netip.Prefix{p("10.1.0.0/16"), p("0.0.0.0/0"), p("fd00:1::/48"), p("::/0")} {
		for _, gw := range []netip.Addr{{}, a("10.9.0.2"), a("fd00:9::2")} {
			for _, src := range []netip.Addr{{}, a("10.9.0.1"), a("fd00:9::1")} {
				for _, table := range []uint32{TableMain, 100, 1000} {
					for _, extra := range []int{0, 1, 2, 3} {
						r := Route{Table: table, Dst: dst, Type: RouteUnicast, Gateway: gw, Src: src, Protocol: 3, Priority: 5}
						m, err := nlRouteKey(r)
						if err != nil {
							t.Fatal(err)
						}
						nlRouteAttrs(m, r)
						m.Attributes.OutIface = 2
						m.Flags |= uint32(extra) << 9 // RTM_F_CLONED (0x200) among them
						switch extra {
						case 1:
							m.Attributes.Metrics = &rtnetlink.RouteMetrics{MTU: 1400, AdvMSS: 1360, InitCwnd: 10}
							pref, exp := uint8(0), uint32(30)
							m.Attributes.Pref, m.Attributes.Expires, m.Attributes.Mark = &pref, &exp, 7
						case 2:
							m.Attributes.Via = &rtnetlink.RouteVia{Family: unix.AF_INET6, Addr: a("fd00:9::2").AsSlice()}
						case 3:
							m.Attributes.Multipath = []rtnetlink.NextHop{{Hop: rtnetlink.RTNextHop{IfIndex: 2}, Gateway: a("10.9.0.7").AsSlice()}}
						}
						b, err := m.MarshalBinary()
						if err != nil {
							t.Fatal(err)
						}
						bodies = append(bodies, b)
					}
				}
			}
		}
	}
	names := map[uint32]string{2: "v0"}
	check := func(b []byte) (fast bool) {
		t.Helper()
		got, ok := decodeRouteMsg(b)
		var lm rtnetlink.RouteMessage
		lerr := lm.UnmarshalBinary(slices.Clone(b))
		if !ok {
			return false
		}
		if lerr != nil {
			t.Fatalf("% x: decodeRouteMsg took a message rtnetlink refuses (%v)", b, lerr)
		}
		want := routeMsgOf(&lm)
		if !reflect.DeepEqual(got, want) || got.route(names) != want.route(names) {
			t.Fatalf("% x:\ndecodeRouteMsg %+v\nrtnetlink      %+v", b, got, want)
		}
		return true
	}
	fast := 0
	for _, b := range bodies {
		if check(b) {
			fast++
		}
	}
	if fast < len(bodies)*3/4 { // all but the multipath ones
		t.Fatalf("only %d of %d well-formed messages decoded without rtnetlink", fast, len(bodies))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := slices.Clone(bodies[rng.IntN(len(bodies))])
		switch rng.IntN(3) {
		case 0:
			b = b[:rng.IntN(len(b)+1)]
		default:
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
		}
		check(b)
	}
}
