package lang

import (
	"strings"
	"testing"
)

// parseTests are inputs that must parse (and format to themselves).
var parseTests = []string{
	"in netns gaming < table 100; rule fwmark 0x1 lookup 100 >",
	"wireguard wg0 < private-key readkey(\"a.key\"); peer pubkey($kb) < endpoint [2001:db8::1]:51820; allowed-ips 10.0.0.0/8, fd00::/64; persistent-keepalive 25 > >",
	"rule not fwmark 51820 lookup 51820",
	"rule lookup main suppress_prefixlength 0",
	"addr 10.200.0.1 peer 10.200.0.2 dev wg0",
	"for $i in range(0, 4) < link veth-${i} type veth peer vpeer-${i} >",
	"def pair($a, $b) < link $a type veth peer $b >",
	"if ($n > 2) < print 1 > else < print 2 >",
	"exec ping -c 1 10.0.0.2",
	"show routes table all",
	"del route 10.0.0.0/8 table 100",
	"addr ${host($p, 1)}/24 dev eth0",
	"link $dev up",
	"peer pubkey($kb) < >",
	"neigh fe80::1 lladdr aa:bb:cc:dd:ee:ff dev eth0",
	"rule fwmark 0x1/0xff sport 1000-2000 uidrange 1000-2000 lookup 100",
	"let ep = 192.0.2.1:51820",
	"let d = 25s",
	"in netns host",
	"in netns $ns < link lo up >",
	"route default via fe80::1 dev eth0",
	"link x alias \"a \\\"quoted\\\" alias\"",
	"let r = {name: \"x\", port: 51820}",
	"print $r.name + string($l[0])",
	"set x = -1",
	"assert has_link(\"eth0\") and not has_netns(\"lab\"), \"msg\"",
	"let b = $x in [1, 2, 3]",
	"let c = ($a < $b) or ($a >= $b)",
	"include \"common.nets\"",
	"fail \"stop: ${$why}\"",
	"exec sh -c \"echo ${$x} > /dev/null\"",
	"route 10.0.0.0/8 via (host($p, 1)) dev veth-${i}",
	"link ${prefix}-a type veth peer ${prefix}-b",
}

func TestParseFormatsToItself(t *testing.T) {
	for _, src := range parseTests {
		f, err := Parse("", []byte(src))
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		want := src
		if strings.Contains(src, ";") {
			// Multi-statement blocks are expanded; check the round trip.
			roundTrip(t, src, []byte(src))
			continue
		}
		if got := strings.TrimSuffix(string(Format(f)), "\n"); got != want {
			t.Errorf("Format(%q) = %q", src, got)
		}
	}
}

// TestParseShapes checks the node kinds the parser builds for key samples.
func TestParseShapes(t *testing.T) {
	first := func(src string) Stmt {
		t.Helper()
		f, err := Parse("t.nets", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		return f.Stmts[0]
	}

	in := first("in netns gaming < table 100; rule fwmark 0x1 lookup 100 >").(*InNetns)
	if Keyword(in.NS) != "gaming" || len(in.Block.Stmts) != 2 {
		t.Errorf("in netns: %+v", in)
	}
	rule := in.Block.Stmts[1].(*NetStmt)
	d, ds := Decode(rule)
	if len(ds) != 0 || Keyword(d.Value("fwmark")) != "0x1" || Keyword(d.Value("lookup")) != "100" {
		t.Errorf("rule decode: %v %+v", ds, d.Fields)
	}

	wg := first("wireguard wg0 <\n private-key readkey(\"a.key\")\n peer pubkey($kb) <\n  endpoint [2001:db8::1]:51820\n  allowed-ips 10.0.0.0/8, fd00::/64\n  persistent-keepalive 25\n >\n>").(*NetStmt)
	if wg.Verb != "wireguard" || len(wg.Block.Stmts) != 2 {
		t.Fatalf("wireguard: %+v", wg)
	}
	pk := wg.Block.Stmts[0].(*NetStmt)
	if pk.Parent != "wireguard" || pk.Verb != "private-key" {
		t.Errorf("private-key: %+v", pk)
	}
	if c, ok := pk.Args[0].(*Call); !ok || c.Name.Name != "readkey" {
		t.Errorf("private-key arg: %#v", pk.Args[0])
	}
	peer := wg.Block.Stmts[1].(*NetStmt)
	if peer.Verb != "peer" || len(peer.Block.Stmts) != 3 {
		t.Fatalf("peer: %+v", peer)
	}
	ep := peer.Block.Stmts[0].(*NetStmt)
	if ep.Parent != "peer" || Keyword(ep.Args[0]) != "[2001:db8::1]:51820" {
		t.Errorf("endpoint: %+v", ep)
	}
	v, err := ParseWord(TEndpoint, Keyword(ep.Args[0]))
	if err != nil || v.(Endpoint).Port != 51820 || v.(Endpoint).Addr.String() != "2001:db8::1" {
		t.Errorf("endpoint value: %v %v", v, err)
	}
	ips := peer.Block.Stmts[1].(*NetStmt)
	if l, ok := ips.Args[0].(*List); !ok || !l.Bare || len(l.Elems) != 2 {
		t.Errorf("allowed-ips: %#v", ips.Args[0])
	}

	loop := first("for $i in range(0, 4) < link veth-${i} type veth peer vpeer-${i} >").(*For)
	link := loop.Body.Stmts[0].(*NetStmt)
	w := link.Args[0].(*Word)
	if len(w.Parts) != 2 || w.Parts[0].Lit != "veth-" || w.Parts[1].Expr.(*Word).Parts[0].Lit != "i" {
		t.Errorf("veth-${i}: %#v", w.Parts)
	}
	ld, lds := Decode(link)
	if len(lds) != 0 || ld.Kind != "veth" || ld.Get("peer") == nil {
		t.Errorf("link decode: %v %+v", lds, ld)
	}

	veth := first("link a type veth peer b netns lab").(*NetStmt)
	vd, _ := Decode(veth)
	if Keyword(vd.Value("peer-netns")) != "lab" || vd.Has("netns") {
		t.Errorf("veth peer netns: %+v", vd.Fields)
	}

	addr := first("addr ${host($p, 1)}/24 dev eth0").(*NetStmt)
	aw := addr.Args[0].(*Word)
	if len(aw.Parts) != 2 || aw.Parts[1].Lit != "/24" {
		t.Errorf("interpolated word: %#v", aw.Parts)
	}
	if _, ok := aw.Parts[0].Expr.(*Call); !ok {
		t.Errorf("interpolation is a call: %#v", aw.Parts[0].Expr)
	}

	iff := first("if ($n > 2) < print 1 > else if $n == 1 < print 2 > else < print 3 >").(*If)
	if _, ok := iff.Cond.(*Paren); !ok || iff.ElseIf == nil || iff.ElseIf.Else == nil {
		t.Errorf("if: %+v", iff)
	}

	ex := first("exec ping -c 1 10.0.0.2").(*Exec)
	if len(ex.Args) != 4 || Keyword(ex.Args[1]) != "-c" {
		t.Errorf("exec: %#v", ex.Args)
	}

	// A name glued to "(" is a call in exec's arguments too; with a
	// space, or after other word text, it is not.
	ex = first("exec echo f($k) g ($k) x-h(1) len(\"ab\")").(*Exec)
	if len(ex.Args) != 7 {
		t.Fatalf("exec args: %d %#v", len(ex.Args), ex.Args)
	}
	if c, ok := ex.Args[1].(*Call); !ok || c.Name.Name != "f" || len(c.Args) != 1 {
		t.Errorf("exec f($k): %#v", ex.Args[1])
	}
	if Keyword(ex.Args[2]) != "g" || Keyword(ex.Args[4]) != "x-h" {
		t.Errorf("exec words: %#v", ex.Args)
	}
	if _, ok := ex.Args[6].(*Call); !ok {
		t.Errorf("exec len(...): %#v", ex.Args[6])
	}

	sh := first("show routes table all").(*Show)
	sd, sds := DecodeShow(sh)
	if len(sds) != 0 || Keyword(sd.Value("table")) != "all" {
		t.Errorf("show: %v %+v", sds, sd)
	}

	del := first("del route 10.0.0.0/8 table 100").(*NetStmt)
	if !del.Del || del.Verb != "route" {
		t.Errorf("del: %+v", del)
	}
	rd, rds := Decode(del)
	if len(rds) != 0 || Keyword(rd.Value("dst")) != "10.0.0.0/8" {
		t.Errorf("del route decode: %v %+v", rds, rd.Fields)
	}

	bh := first("route blackhole 10.0.0.0/8 table 100").(*NetStmt)
	bd, bds := Decode(bh)
	if len(bds) != 0 || Keyword(bd.Value("type")) != "blackhole" || Keyword(bd.Value("dst")) != "10.0.0.0/8" {
		t.Errorf("blackhole route: %v %+v", bds, bd.Fields)
	}

	rec := first("let r = {name: \"x\", port:51820}").(*Let)
	r := rec.Value.(*Record)
	if len(r.Fields) != 2 || r.Fields[1].Key.Name != "port" || Keyword(r.Fields[1].Value) != "51820" {
		t.Errorf("record: %#v", r.Fields)
	}

	sel := first("print $r.a.b[0]").(*Print)
	if ix, ok := sel.Value.(*Index); !ok || ix.X.(*Selector).Field.Name != "b" {
		t.Errorf("selector/index: %#v", sel.Value)
	}
}

func TestPositions(t *testing.T) {
	f, err := Parse("p.nets", []byte("let x = 1\n  route 10.0.0.0/8 via $gw\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Stmts[1].(*NetStmt)
	if r.Pos().Line != 2 || r.Pos().Column != 3 || r.End().Column != 27 || r.Pos().Filename != "p.nets" {
		t.Errorf("route span %v-%v", r.Pos(), r.End())
	}
	v := r.Args[2].(*Var)
	if v.Pos().Column != 24 || v.End().Column != 27 {
		t.Errorf("var span %v-%v", v.Pos(), v.End())
	}
}

func TestIncomplete(t *testing.T) {
	for src, want := range map[string]bool{
		"link a up":                  false,
		"in netns x <":               true,
		"in netns x < link a up":     true,
		"in netns x < link a up >":   false,
		"wireguard w <\n peer k <\n": true,
		"link a \\":                  true,
		"link a \\\n":                true,
		"let x = [1,\n":              true,
		"let x = f(1,":               true,
		"print \"${1 +":              true,
		"print \"abc":                true,
		"link a )":                   false,
		"if $x < print 1 >":          false,
		"":                           false,
		"# just a comment":           false,
	} {
		if got := Incomplete([]byte(src)); got != want {
			t.Errorf("Incomplete(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestNeverPanics(t *testing.T) {
	inputs := []string{
		"\x00\x01\x02\xff\xfe", "<<<<<<<<", ">>>>>", "${${${", "\"${\"${\"", "{{{{", "}}}}",
		strings.Repeat("(", 10000), strings.Repeat("[", 10000), strings.Repeat("< ", 10000),
		strings.Repeat("link x up\n", 1000) + "\xff", strings.Repeat("!\n", 500),
		"\xef\xbb\xbflink a up", "link a\r\nlink b\r\n",
	}
	for _, src := range inputs {
		_, err := Parse("g.nets", []byte(src))
		if err != nil {
			for _, d := range err.(Diagnostics) {
				if strings.Contains(d.Msg, "internal") {
					t.Errorf("%.20q: %v", src, d)
				}
			}
		}
	}
}

func TestDynamicLinkKind(t *testing.T) {
	f, err := Parse("", []byte("link $a type $k peer $b mtu 1500"))
	if err != nil {
		t.Fatal(err)
	}
	d, ds := Decode(f.Stmts[0].(*NetStmt))
	if len(ds) != 0 || d.Kind != "" || !d.Has("peer") || !d.Has("mtu") {
		t.Errorf("dynamic kind: %v %+v", ds, d.Fields)
	}
}

func TestCheckOptionsPredeclared(t *testing.T) {
	f, err := Parse("", []byte("print $x\nf(1, 2)\nlet y = ff(1)"))
	if err != nil {
		t.Fatal(err)
	}
	ds := Check(f, CheckOptions{Vars: []string{"x"}, Funcs: map[string]Arity{"f": {2, 2}}})
	if got := diagText(ds); got != "3:9: undefined function ff\n  hint: did you mean `f`?" {
		t.Errorf("got %q", got)
	}
}
