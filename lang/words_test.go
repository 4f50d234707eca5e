package lang

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseWord(t *testing.T) {
	for _, tc := range []struct {
		t    WordType
		in   string
		want string // fmt %v of the value, or "error: msg"
	}{
		{TAddr, "10.0.0.1", "10.0.0.1"},
		{TAddr, "fe80::1%eth0", "fe80::1%eth0"},
		{TAddr, "10.0.0.300", `error: "10.0.0.300" is not an IP address`},
		{TPrefix, "10.0.0.1", "10.0.0.1/32"},
		{TPrefix, "fe80::1", "fe80::1/128"},
		{TPrefix, "10.0.0.1/24", "10.0.0.1/24"},
		{TPrefix, "10.0.0.1/40", `error: "10.0.0.1/40" is not an IP prefix`},
		{TPrefix, "x/8", `error: "x" is not an IP address`},
		{TNet, "10.0.0.0/8", "10.0.0.0/8"},
		{TNet, "10.0.0.1/8", `error: "10.0.0.1/8" is not a network prefix: it has host bits set`},
		{TMAC, "aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"},
		{TMAC, "aa:bb", `error: "aa:bb" is not a MAC address`},
		{TUint, "0x10", "16"},
		{TUint, "4294967295", "4294967295"},
		{TUint, "4294967296", "error: 4294967296 is out of range (0 to 4294967295)"},
		{TUint, "-1", `error: "-1" is not a number`},
		{TUint, "0x", `error: "0x" is not a number`},
		{TMark, "0x1", "{1 4294967295}"},
		{TMark, "0x1/0xff", "{1 255}"},
		{TMark, "51820", "{51820 4294967295}"},
		{TMark, "0xZZ", `error: "0xZZ" is not a mark (N or N/MASK, 32-bit, decimal or 0x hex)`},
		{TPortRange, "443", "{443 443}"},
		{TPortRange, "1000-2000", "{1000 2000}"},
		{TPortRange, "70000", `error: "70000" is not a port or port range (N or N-M, 0 to 65535)`},
		{TUIDRange, "1000-1999", "{1000 1999}"},
		{TDuration, "1m30s", "1m30s"},
		{TDuration, "soon", `error: "soon" is not a duration (like 25s or 1m30s)`},
		{TSeconds, "25", "25s"},
		{TSeconds, "2m", "2m0s"},
		{TEndpoint, "192.0.2.1:51820", "192.0.2.1:51820"},
		{TEndpoint, "[2001:db8::1]:51820", "[2001:db8::1]:51820"},
		{TEndpoint, "vpn.example.com:51820", "vpn.example.com:51820"},
		{TEndpoint, "192.0.2.1", `error: "192.0.2.1" is not an endpoint (HOST:PORT or [IPv6]:PORT)`},
		{TEndpoint, "192.0.2.1:0", `error: "192.0.2.1:0" is not an endpoint (HOST:PORT or [IPv6]:PORT)`},
		{TKey, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", fmt.Sprint([32]byte{})},
		{TKey, "c2hvcnQga2V5IG1hdGVyaWFs", `error: the string (24 characters) is not a WireGuard key (want 44 characters of base64, as wg genkey writes)`},
		{TTable, "main", "{254 main}"},
		{TTable, "100", "{100 }"},
		{TTable, "gaming", "{0 gaming}"},
		{TTable, "0", "error: 0 is not a table (ids are 1 to 4294967295)"},
		{TTable, "4294967296", "error: 4294967296 is not a table (ids are 1 to 4294967295)"},
		{TTable, "a b", `error: "a b" is not a table (an id 1 to 4294967295 or a name)`},
		{TProto, "static", "4"},
		{TProto, "300", `error: "300" is not a route protocol (a number 0-255 or a name like static, kernel, boot)`},
		{TIPProto, "udp", "17"},
		{TIPProto, "33", "33"},
		{TScope, "link", "253"},
		{TScope, "planet", `error: "planet" is not a scope (global, site, link, host, nowhere or 0-255)`},
		{TIfName, "eth0", "eth0"},
		{TIfName, "a/b", `error: "a/b" is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)`},
		{TNetnsName, "lab", "lab"},
		{TNetnsName, "..", `error: ".." is not a valid namespace name`},
		{TInt, "-12", "-12"},
		{TInt, "0x10", "16"},
		{TBool, "true", "true"},
		{TBool, "yes", `error: "yes" is not a bool (true or false)`},
		{TString, "anything at all", "anything at all"},
	} {
		v, err := ParseWord(tc.t, tc.in)
		got := fmt.Sprint(v)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("ParseWord(%v, %q) = %s, want %s", tc.t, tc.in, got, tc.want)
		}
	}
}

func TestParseLiteral(t *testing.T) {
	for in, want := range map[string]any{
		"10.50.0.0/16":         netip.MustParsePrefix("10.50.0.0/16"),
		"10.0.0.1":             netip.MustParseAddr("10.0.0.1"),
		"fe80::1":              netip.MustParseAddr("fe80::1"),
		"42":                   int64(42),
		"0x1":                  int64(1),
		"-3":                   int64(-3),
		"30s":                  30 * time.Second,
		"true":                 true,
		"false":                false,
		"eth0":                 "eth0",
		"1000-2000":            "1000-2000",
		"0x1/0xff":             "0x1/0xff",
		"aa:bb:cc:dd:ee:ff":    "aa:bb:cc:dd:ee:ff",
		"":                     "",
		"99999999999999999999": "99999999999999999999",
	} {
		got, _ := ParseLiteral(in)
		if got != want {
			t.Errorf("ParseLiteral(%q) = %#v, want %#v", in, got, want)
		}
	}
	if Shape("10.0.0.0/8") != TPrefix || Shape("x") != TString || Shape("30s") != TDuration {
		t.Error("Shape")
	}
}

func TestSchemas(t *testing.T) {
	for _, s := range Schemas() {
		if !strings.HasPrefix(s.Usage, s.Verb) {
			t.Errorf("%s: usage %q does not start with the verb", s.Verb, s.Usage)
		}
		if Lookup(s.Parent, s.Verb) != s {
			t.Errorf("%s: Lookup does not find it", s.Verb)
		}
		for _, p := range append(append([]*Param{}, s.Positional...), s.Options...) {
			if p.Type.String() == fmt.Sprintf("WordType(%d)", int(p.Type)) {
				t.Errorf("%s %s: type has no name", s.Verb, p.Name)
			}
			if p.Type == TEnum && len(p.Enum) == 0 {
				t.Errorf("%s %s: enum without values", s.Verb, p.Name)
			}
		}
	}
	if got := strings.Join(Verbs("peer"), " "); got != "preshared-key endpoint allowed-ips persistent-keepalive" {
		t.Errorf("Verbs(peer) = %s", got)
	}
}

func TestInspect(t *testing.T) {
	f, err := Parse("", []byte("for $i in range(0, 2) < link veth-${$i + 1} up >\nprint {a: [$x]}.a[0]"))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	Inspect(f, func(n Node) bool {
		if v, ok := n.(*Var); ok {
			vars = append(vars, v.Name)
		}
		return true
	})
	if strings.Join(vars, ",") != "i,x" {
		t.Errorf("vars found: %v", vars)
	}
	count := 0
	Inspect(f, func(n Node) bool { count++; _, isFor := n.(*For); return !isFor })
	// File, For (children pruned), Print, Index, Selector, Record,
	// RecordField, Ident a, List, Var x, Ident a (the field), Word 0.
	if count != 12 {
		t.Errorf("visited %d nodes, want 12", count)
	}
}

func TestParseFileAndHelpers(t *testing.T) {
	f, err := ParseFile("testdata/contract.nets")
	if err != nil || f.Filename != "testdata/contract.nets" || len(f.Stmts) == 0 {
		t.Fatalf("ParseFile: %v", err)
	}
	_, err = ParseFile("testdata/nope.nets")
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/nope.nets:1:1: open testdata/nope.nets") {
		t.Errorf("ParseFile of a missing file: %v", err)
	}
	if got := QuoteString("a\"b\\c\n${d}"); got != `"a\"b\\c\n\${d}"` {
		t.Errorf("QuoteString = %s", got)
	}
	d := Errorf(f.Stmts[0], "bad %s", "thing")
	if d.Error() != "testdata/contract.nets:2:1: bad thing" || d.End.Line != 2 {
		t.Errorf("Errorf = %v (end %v)", d, d.End)
	}
	if IncludePath("/a/b/c.nets", "d.nets") != "/a/b/d.nets" || IncludePath("x.nets", "/abs/y.nets") != "/abs/y.nets" {
		t.Error("IncludePath")
	}
}
