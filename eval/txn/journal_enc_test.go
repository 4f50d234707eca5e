package txn

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nets-lang/nets/kernel"
)

// The hand-written encoder (journal_enc.go) against encoding/json, the
// library it stands in for: every line it writes must be byte for byte
// what json.Encoder wrote before it existed.

// libraryLine is the reference: v as appendRecords encoded every line
// before journal_enc.go (json.Encoder, SetEscapeHTML(false), newline).
func libraryLine(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return buf.Bytes()
}

// checkRecord compares appendStepLine with the library on r, and checks
// that the line reads back (as readJournal parses it) to r's inverse.
func checkRecord(t testing.TB, r record) {
	t.Helper()
	if !fastRecord(&r) {
		t.Fatalf("fastRecord is false for %#v", r)
	}
	seq := r.seq
	want := libraryLine(t, line{Seq: &seq, Inverse: r.inverse})
	prefix := []byte("previous line\n") // appends after what is there
	got := appendStepLine(append([]byte(nil), prefix...), &r)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("appendStepLine clobbered the buffer: %q", got)
	}
	got = got[len(prefix):]
	if !bytes.Equal(got, want) {
		t.Fatalf("appendStepLine differs from encoding/json for %#v\n got %s\nwant %s", r, got, want)
	}
	var back line
	if json.Unmarshal(want, &back) != nil {
		// encoding/json writes what it cannot read back (an invalid
		// prefix's MarshalText is "invalid Prefix"); the bytes are
		// equal, which is all that matters.
		return
	}
	var l line
	if err := json.Unmarshal(got, &l); err != nil {
		t.Fatalf("the line does not parse: %v\n%s", err, got)
	}
	if l.Seq == nil || *l.Seq != r.seq || !reflect.DeepEqual(l.Inverse, back.Inverse) {
		t.Fatalf("the line reads back as seq %v %#v, want %d %#v", l.Seq, l.Inverse, r.seq, back.Inverse)
	}
}

// Names that exercise every rule of JSON string escaping.
var escapeNames = []string{
	"", "eth0", "lab", "a b", `q"uote`, `back\slash`, "tab\tnl\ncr\rbs\bff\f",
	"ctl\x00\x01\x1f\x7f", "<html>&amp;", "caf\u00e9", "snow\u2603man", "emoji\U0001F600",
	"ls\u2028ps\u2029", "bad\xffutf8\xc3", "trunc\xe2\x80", "\xed\xa0\x80surrogate", "/slash",
}

var (
	addrs4 = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")}
	addrs6 = []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::"), netip.MustParseAddr("fe80::1%eth0"),
		netip.MustParseAddr("::ffff:10.1.2.3"), netip.MustParseAddr("fe80::2").WithZone(`z"o\ne<`)}
	prefixes = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("0.0.0.0/0"),
		netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/64"), netip.MustParsePrefix("::/0"),
		netip.MustParsePrefix("::ffff:10.0.0.0/104"), {}}
)

// TestAppendRouteEveryField sets and unsets every optional field of a
// route (all combinations), in IPv4 and IPv6, absent and present.
func TestAppendRouteEveryField(t *testing.T) {
	const optional = 9 // TOS Priority Gateway Dev Src MTU OnLink Set NS
	for _, v6 := range []bool{false, true} {
		dst, gw, src := prefixes[0], addrs4[0], netip.MustParseAddr("10.0.0.9")
		if v6 {
			dst, gw, src = prefixes[3], addrs6[0], netip.MustParseAddr("2001:db8::9")
		}
		for mask := range 1 << optional {
			on := func(i int) bool { return mask&(1<<i) != 0 }
			r := kernel.Route{Table: 254, Dst: dst, Type: kernel.RouteUnicast, Protocol: 3, Scope: kernel.ScopeLink}
			rw := kernel.RouteWant{}
			w := kernel.Want{Absent: mask&1 == 0, Exact: mask&2 == 0}
			if on(0) {
				r.TOS = 0x10
			}
			if on(1) {
				r.Priority = 1024
			}
			if on(2) {
				r.Gateway = gw
			}
			if on(3) {
				r.Dev = "eth0"
			}
			if on(4) {
				r.Src = src
			}
			if on(5) {
				r.MTU = 1400
			}
			if on(6) {
				r.OnLink = true
			}
			if on(7) {
				rw.Set = kernel.RouteSetDev | kernel.RouteSetGateway
			}
			if on(8) {
				w.NS = "lab"
			}
			rw.Route = r
			w.Route = &rw
			checkRecord(t, record{seq: mask, inverse: []kernel.Want{w}})
		}
	}
}

// TestAppendRouteValues tries each type, scope, table, address and
// prefix form, and names needing escapes in every string field.
func TestAppendRouteValues(t *testing.T) {
	seq := 0
	next := func() int { seq++; return seq }
	for typ := range 256 {
		r := kernel.Route{Table: uint32(typ) * 16777259, Dst: prefixes[typ%len(prefixes)], Type: kernel.RouteType(typ),
			Protocol: uint8(255 - typ), Scope: kernel.Scope(typ), TOS: uint8(typ), Priority: uint32(typ) << 24, MTU: uint32(typ) * 3}
		checkRecord(t, record{seq: next(), inverse: []kernel.Want{{Route: &kernel.RouteWant{Route: r, Set: kernel.RouteFields(typ * 257)}}}})
	}
	all := append(append([]netip.Addr{{}}, addrs4...), addrs6...)
	for _, a := range all {
		for _, p := range prefixes {
			r := kernel.Route{Table: 100, Dst: p, Type: kernel.RouteBlackhole, Gateway: a, Src: a}
			checkRecord(t, record{seq: next(), inverse: []kernel.Want{{NS: "x", Absent: true, Exact: true, Route: &kernel.RouteWant{Route: r}}}})
		}
	}
	for _, name := range escapeNames {
		r := kernel.Route{Table: 100, Dst: prefixes[1], Dev: name, Type: kernel.RouteUnicast}
		checkRecord(t, record{seq: next(), inverse: []kernel.Want{{NS: name, Route: &kernel.RouteWant{Route: r}}}})
	}
	// Sequence numbers at the edges, no inverse (omitted), several.
	for _, s := range []int{0, 1, -1, 1 << 40, -1 << 62} {
		checkRecord(t, record{seq: s})
		checkRecord(t, record{seq: s, inverse: []kernel.Want{}})
	}
	two := []kernel.Want{
		{Route: &kernel.RouteWant{Route: kernel.Route{Dst: prefixes[0]}}},
		{NS: "n", Absent: true, Neigh: &kernel.Neigh{Link: "e", IP: addrs4[0], State: kernel.NeighPermanent}},
		{}, // no field at all: {}
		{NS: "both", Route: &kernel.RouteWant{Route: kernel.Route{Dst: prefixes[3]}}, Neigh: &kernel.Neigh{IP: addrs6[0]}},
	}
	checkRecord(t, record{seq: 7, inverse: two})
}

// TestAppendNeigh covers neighbours: v4, v6 (zoned too), no address,
// link-layer addresses of every length up to 20 bytes (base64 padding),
// empty and nil, every state, escaped link names.
func TestAppendNeigh(t *testing.T) {
	seq := 0
	ips := append(append([]netip.Addr{{}}, addrs4...), addrs6...)
	for i, a := range ips {
		for n := 0; n <= 20; n++ {
			var ll net.HardwareAddr
			if n > 0 || i%2 == 0 {
				ll = make(net.HardwareAddr, n)
				for j := range ll {
					ll[j] = byte(0xf0 + j*37)
				}
			}
			nb := kernel.Neigh{Link: escapeNames[(i+n)%len(escapeNames)], IP: a, LLAddr: ll, State: kernel.NeighState(n * 3121)}
			seq++
			checkRecord(t, record{seq: seq, inverse: []kernel.Want{{NS: escapeNames[n%len(escapeNames)], Absent: n%2 == 0, Exact: n%3 == 0, Neigh: &nb}}})
		}
	}
	for _, st := range []kernel.NeighState{0, kernel.NeighPermanent, kernel.NeighNoARP, kernel.NeighReachable, kernel.NeighStale, 0xffff} {
		seq++
		checkRecord(t, record{seq: seq, inverse: []kernel.Want{{Neigh: &kernel.Neigh{Link: "eth0", IP: addrs6[2], LLAddr: net.HardwareAddr{1, 2, 3, 4, 5, 6}, State: st}}}})
	}
}

func TestAppendJSONString(t *testing.T) {
	strs := append([]string{}, escapeNames...)
	for c := range 256 { // every byte alone and amid text
		strs = append(strs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	for _, s := range strs {
		want := libraryLine(t, s)
		want = want[:len(want)-1]
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, encoding/json: %s", s, got, want)
		}
	}
}

func TestAppendUndoneLine(t *testing.T) {
	for _, seq := range []int{0, 1, 42, 99999, 1 << 50, -3} {
		s := seq
		if got, want := appendUndoneLine([]byte("x"), seq), append([]byte("x"), libraryLine(t, line{Undone: &s})...); !bytes.Equal(got, want) {
			t.Errorf("appendUndoneLine(%d) = %q, want %q", seq, got, want)
		}
	}
}

// TestFastWantShapes: only route and neighbour wants are encoded by hand;
// every other want goes through encoding/json (fastRecord false).
func TestFastWantShapes(t *testing.T) {
	others := []kernel.Want{
		{Netns: &kernel.NetnsWant{Name: "x"}},
		{Link: &kernel.LinkWant{Name: "x"}},
		{Addr: &kernel.Addr{Link: "x"}},
		{Rule: &kernel.RuleWant{}},
		{WireGuard: &kernel.WGWant{Name: "wg0"}},
		{LinkState: &kernel.LinkState{}},
		{NetnsState: &kernel.NetnsState{Name: "x"}},
		{Route: &kernel.RouteWant{}, Link: &kernel.LinkWant{Name: "x"}},
	}
	for _, w := range others {
		r := record{inverse: []kernel.Want{{Route: &kernel.RouteWant{}}, w}}
		if fastRecord(&r) {
			t.Errorf("fastRecord true for a record holding %s", kernel.FormatWant(w, nil))
		}
	}
}

// randomString is mostly a plausible name, sometimes anything.
func randomString(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return ""
	case 1:
		return escapeNames[rng.IntN(len(escapeNames))]
	}
	b := make([]byte, rng.IntN(12))
	for i := range b {
		if rng.IntN(3) == 0 {
			b[i] = byte(rng.IntN(256))
		} else {
			b[i] = byte('a' + rng.IntN(26))
		}
	}
	if rng.IntN(5) == 0 {
		b = utf8.AppendRune(b, rune(rng.IntN(0x110000)))
	}
	return string(b)
}

func randomAddr(rng *rand.Rand) netip.Addr {
	switch rng.IntN(5) {
	case 0:
		return netip.Addr{}
	case 1, 2:
		var a [4]byte
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		return netip.AddrFrom4(a)
	}
	var a [16]byte
	for i := range a {
		if rng.IntN(2) == 0 { // runs of zeros, for ::
			a[i] = byte(rng.IntN(256))
		}
	}
	ip := netip.AddrFrom16(a)
	if rng.IntN(6) == 0 {
		ip = ip.WithZone(randomString(rng))
	}
	return ip
}

func randomWant(rng *rand.Rand) kernel.Want {
	w := kernel.Want{Absent: rng.IntN(2) == 0, Exact: rng.IntN(2) == 0}
	if rng.IntN(2) == 0 {
		w.NS = randomString(rng)
	}
	k := rng.IntN(5)
	if k != 1 {
		dst := randomAddr(rng)
		p := netip.Prefix{}
		if dst.IsValid() {
			p, _ = dst.WithZone("").Prefix(rng.IntN(dst.BitLen() + 1))
		}
		r := kernel.Route{Table: rng.Uint32() >> rng.IntN(32), Dst: p, TOS: uint8(rng.IntN(3) * 8), Priority: rng.Uint32() >> rng.IntN(33),
			Type: kernel.RouteType(rng.IntN(12)), Gateway: randomAddr(rng), Dev: randomString(rng), Src: randomAddr(rng),
			Protocol: uint8(rng.IntN(256)), Scope: kernel.Scope(rng.IntN(256)), MTU: rng.Uint32() >> rng.IntN(33), OnLink: rng.IntN(2) == 0}
		w.Route = &kernel.RouteWant{Route: r, Set: kernel.RouteFields(rng.IntN(1 << 7))}
	}
	if k == 1 || k == 4 {
		var ll net.HardwareAddr
		if n := rng.IntN(10); n > 0 {
			ll = make(net.HardwareAddr, n)
			for i := range ll {
				ll[i] = byte(rng.IntN(256))
			}
		}
		w.Neigh = &kernel.Neigh{Link: randomString(rng), IP: randomAddr(rng), LLAddr: ll, State: kernel.NeighState(rng.IntN(1 << 16))}
	}
	return w
}

// TestAppendRandom compares the two encoders on random records.
func TestAppendRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, uint64(time.Now().UnixNano())))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		inv := make([]kernel.Want, rng.IntN(3)+rng.IntN(2))
		for j := range inv {
			inv[j] = randomWant(rng)
		}
		checkRecord(t, record{seq: i, inverse: inv})
	}
}

// FuzzAppendStepLine: strings and numbers from the fuzzer in every
// field the encoder writes.
func FuzzAppendStepLine(f *testing.F) {
	f.Add("lab", "eth0", uint32(100), []byte{10, 0, 0, 0}, uint8(24), uint8(6), uint32(0), []byte{1, 2, 3, 4, 5, 6}, "", true)
	f.Add("ns\"\\\n", "d\u2028\xff", uint32(1<<31), []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint8(64), uint8(1), uint32(1024), []byte{}, "z<%>", false)
	f.Fuzz(func(t *testing.T, ns, dev string, table uint32, ipb []byte, bits, typ uint8, metric uint32, ll []byte, zone string, absent bool) {
		var ip netip.Addr
		switch {
		case len(ipb) >= 16:
			ip = netip.AddrFrom16([16]byte(ipb[:16])).WithZone(zone)
		case len(ipb) >= 4:
			ip = netip.AddrFrom4([4]byte(ipb[:4]))
		}
		p := netip.PrefixFrom(ip, int(bits)) // invalid when bits is too long: encodes as ""
		r := kernel.Route{Table: table, Dst: p, Type: kernel.RouteType(typ), Priority: metric, Dev: dev, Gateway: ip, Src: ip,
			Protocol: typ, Scope: kernel.Scope(bits), MTU: metric ^ table, OnLink: !absent}
		inv := []kernel.Want{
			{NS: ns, Absent: absent, Exact: !absent, Route: &kernel.RouteWant{Route: r, Set: kernel.RouteFields(table)}},
			{NS: dev, Neigh: &kernel.Neigh{Link: ns, IP: ip, LLAddr: ll, State: kernel.NeighState(metric)}},
		}
		checkRecord(t, record{seq: int(metric), inverse: inv})
	})
}

// TestAppendRecordsFile: the journal file appendRecords writes (header,
// hand-encoded and library-encoded records, across appends) is exactly
// what encoding/json wrote for every line, and reads back to the same
// records.
func TestAppendRecordsFile(t *testing.T) {
	dir := t.TempDir()
	j := &journal{dir: dir, path: filepath.Join(dir, "journal"), header: line{
		Journal: journalVersion, ID: "0123456789abcdef", PID: 42, Recipe: "/a/<b>&c.nets",
		Started: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), Version: "v1.2.3"}}
	rng := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	want.Write(libraryLine(t, j.header))
	var all []record
	for batch := range 5 {
		var recs []record
		for i := range 50 + batch*100 {
			r := record{seq: len(all), inverse: []kernel.Want{randomWant(rng)}}
			if i%17 == 3 { // a want encoding/json still encodes
				r.inverse = append(r.inverse, kernel.Want{NS: "lab<>", Link: &kernel.LinkWant{Name: "x&y", MTU: new(uint32(9000))}})
			}
			recs = append(recs, r)
			all = append(all, r)
			seq := r.seq
			want.Write(libraryLine(t, line{Seq: &seq, Inverse: r.inverse}))
		}
		if err := j.appendRecords(recs); err != nil {
			t.Fatal(err)
		}
	}
	j.markUndone(3)
	s := 3
	want.Write(libraryLine(t, line{Undone: &s}))
	j.f.Close()
	got, err := os.ReadFile(j.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("the journal has %d lines, encoding/json wrote %d", len(gl), len(wl))
	}
	info, recs, err := readJournal(j.path)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != j.header.ID || info.Recipe != j.header.Recipe || len(recs) != len(all) || !recs[3].undone {
		t.Fatalf("read back %+v, %d records (want %d), record 3 undone %v", info, len(recs), len(all), recs[3].undone)
	}
}

// BenchmarkStepLines encodes the inverses of 8192 added routes (one
// bulk batch) by hand and, for comparison, with encoding/json.
func BenchmarkStepLines(b *testing.B) {
	recs := make([]record, 8192)
	for i := range recs {
		r := kernel.Route{Table: 100, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			Type: kernel.RouteBlackhole, Protocol: 3}
		recs[i] = record{seq: i, inverse: []kernel.Want{{Absent: true, Exact: true, Route: &kernel.RouteWant{Route: r}}}}
	}
	b.Run("hand", func(b *testing.B) {
		var buf []byte
		for range b.N {
			buf = buf[:0]
			for i := range recs {
				buf = appendStepLine(buf, &recs[i])
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for range b.N {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			for _, r := range recs {
				seq := r.seq
				if err := enc.Encode(line{Seq: &seq, Inverse: r.inverse}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
