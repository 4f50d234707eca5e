package lang

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// errorTests are inputs with the exact diagnostics they give, one
// `line:col: message` per line (parse errors, or check errors when the
// input parses), in the style of mvdan/sh's error tables.
var errorTests = []struct {
	src, want string
}{
	// Lexical and syntax errors.
	{"link eth0 up\nlink eth1 !up", `2:11: unexpected character "!", expected an argument`},
	{`print "abc`, `1:7: string is never closed: missing '"'`},
	{"print \"abc\nprint 1", `1:7: string is never closed: missing '"'`},
	{`print "a\qb"`, `1:9: unknown escape sequence "\\q" in string`},
	{"in netns x < link v0 up", `1:12: block is never closed: missing ">"`},
	{"link a up >", "1:11: unexpected \">\" at end of statement\n  hint: outside brackets < and > delimit blocks; write the comparison in parentheses: ($a > $b)"},
	{"let x = $a < 3", "1:12: unexpected \"<\" at end of statement\n  hint: outside brackets < and > delimit blocks; write the comparison in parentheses: ($a < $b)"},
	{"link a \\  \n  up", ""},
	{"lokup 100", "1:1: unknown statement \"lokup\"\n  hint: did you mean `lookup`? It is an option of rule, not a statement; end the previous line with `\\` to continue it"},
	{"rule fwmark 0x1\n  lookup 100", "2:3: unknown statement \"lookup\"\n  hint: lookup is an option of rule, not a statement; end the previous line with `\\` to continue it"},
	{"rout default via 10.0.0.1", "1:1: unknown statement \"rout\"\n  hint: did you mean `route`?"},
	{"pirnt 1", "1:1: unknown statement \"pirnt\"\n  hint: did you mean `print`?"},
	{"del foo x", `1:5: unknown network object "foo"`},
	{"$x = 1", "1:1: a statement cannot start with variable $x\n  hint: write `set x = ...` to assign"},
	{"let = 1", `1:5: unexpected "=", expected a variable name after let`},
	{"let x 1", `1:7: unexpected "1", expected "="`},
	{"let x = ", `1:9: unexpected end of file, expected an expression`},
	{"let x = (1 + 2", `1:15: unexpected end of file, expected ")" to close "(" at 1:9`},
	{"let x = [1, 2", `1:14: unexpected end of file, expected "]" to close "[" at 1:9`},
	{"let x = {a: 1", `1:14: unexpected end of file, expected "}" to close "{" at 1:9`},
	{"let x = {1: 2}", `1:10: invalid record key "1"`},
	{`print "${1 + }"`, `1:14: unexpected }, expected an expression`},
	{"let x = veth-$i", "1:14: variable $i directly after a word\n  hint: write ${i} to interpolate a variable into a word"},
	{"let x = 1 == 2 == 3", `1:16: comparisons do not chain; use parentheses`},
	{"if $x > 2 < print 1 >", `1:7: unexpected ">", expected "<" to open a block`},
	{"else < print 1 >", `1:1: else without a preceding if`},
	{"for i range(0, 3) < print 1 >", `1:7: unexpected "range", expected "in"`},
	{"def 1x() < >", `1:5: unexpected "1x", expected a function name after def`},
	{"def let() < >", `1:5: "let" is a keyword and cannot name a function`},
	{"include common.nets", `1:9: unexpected "common.nets", expected a quoted path after include`},
	{`include "${x}.nets"`, `1:9: include path cannot use ${} interpolation`},
	{"exec", `1:5: unexpected end of file, expected a program to exec`},
	{"show", `1:5: unexpected end of file, expected what to show (links, addrs, routes, rules, neigh, netns, wireguard)`},
	{"in lab < >", `1:4: unexpected "lab", expected "netns" after in`},
	{"link a \\ up", `1:8: unexpected \ (a continuation backslash must end the line), expected an argument`},
	{"link a up\nlink b (\nlink c down", `3:6: unexpected "c", expected ")" to close "(" at 2:8`},
	{"print 1\nlet = 2\nlink x !\nprint 3", "2:5: unexpected \"=\", expected a variable name after let\n3:8: unexpected character \"!\", expected an argument"},
	{"let x = $r.1a", `1:12: invalid field name "1a"`},
	{"in netns x <\n  link a !\n  link b up\n  let = 1\n>\nlet = 2", "2:10: unexpected character \"!\", expected an argument\n4:7: unexpected \"=\", expected a variable name after let\n6:5: unexpected \"=\", expected a variable name after let"},
	{"wireguard w <\n  peer genkey() <\n    endpoint (\n  >\n>\nprint 1", "4:3: unexpected \">\", expected an expression"},

	// Names and scopes.
	{"print $uplnk", "1:7: undefined variable $uplnk"},
	{"let uplink = 1\nprint $uplnk", "2:7: undefined variable $uplnk\n  hint: did you mean `$uplink`?"},
	{"let x = 1\nlet x = 2", "2:5: x is already defined in this scope (at 1:5)\n  hint: use `set x = ...` to rebind it"},
	{"let x = 1\nif $x == 1 < let x = 2 >", ""},
	{"set y = 1", "1:5: set of undefined variable y (use let to define it)"},
	{"let count = 1\nset cuont = 2", "2:5: set of undefined variable cuont (use let to define it)\n  hint: did you mean `count`?"},
	{"for $i in range(3) < print $i >\nprint $i", "2:7: undefined variable $i"},
	{"for $i in range(3) < link veth-${i} up >\nlink veth-${i} up", "2:13: undefined variable i in ${i}\n  hint: ${name} interpolates the variable $name"},
	{"let name = 1\nprint \"${nmae} ${true}\"", "2:10: undefined variable nmae in ${nmae}\n  hint: did you mean `${name}`?"},
	{"def f($a) < print $b >", "1:19: undefined variable $b"},
	{"def f($a, $a) < >", "1:11: duplicate parameter $a"},
	{"paire(a, b)", "1:1: undefined function paire"},
	{"def pair($a, $b) < >\npiar(a, b)", "2:1: undefined function piar\n  hint: did you mean `pair`?"},
	{"def pair($a, $b) < >\npair(a)", "2:1: pair takes 2 arguments, got 1"},
	{"let k = genkey(1)", "1:9: genkey takes 0 arguments, got 1"},
	{"let k = pubkey()", "1:9: pubkey takes 1 argument, got 0"},
	{"let e = env()", "1:9: env takes 1 to 2 arguments, got 0"},
	{"let k = genky()", "1:9: undefined function genky\n  hint: did you mean `genkey`?"},
	{"def genkey() < >", "1:5: genkey is a builtin function and cannot be redefined"},
	{"def f() < >\ndef f() < >", "2:5: function f is already defined (at 1:5)"},
	{`let r = {a: 1, a: 2}`, "1:16: duplicate record key a"},
	{`let x = "a" - 1`, "1:13: cannot apply - to string and int"},
	{`let x = 1m - 2`, "1:12: cannot apply - to duration and int"},
	{"let i = 1\nprint \"${i + 1}\"", "2:12: cannot apply + to string and int\n  hint: `i` here is the word \"i\" (a string); the variable is written `$i`"},
	{"let idx = 1\nprint \"${1 + idy}\"", "2:12: cannot apply + to int and string\n  hint: `idy` here is the word \"idy\" (a string); did you mean `$idx`?"},
	{"print (\"r\").a", "1:13: a string has no field a (only records have fields)"},
	{"print -\"x\"", "1:7: cannot negate a string"},
	{"print -(10.0.0.1)", "1:7: cannot negate an address"},
	{"link foo type veth peer", "1:20: peer needs a value (an interface name)"},
	{"table 100 name gaming\nrule fwmark 1 lookup gamming", "2:22: unknown table \"gamming\"\n  hint: did you mean `gaming`?"},
	{"rule fwmark 1 lookup gamming\ntable 100 name gaming", "1:22: unknown table \"gamming\"\n  hint: did you mean `gaming`? (named on line 2, after this use)"},
	{"rule fwmark 1 lookup gaming\ntable 100 name gaming", "1:22: unknown table \"gaming\"\n  hint: it is named on line 2, after this use: move `table ID name gaming` before it"},
	{"route fe80::/64 via 10.0.0.1 dev lo", "1:21: 10.0.0.1 is IPv4 but the destination fe80::/64 is IPv6\n  hint: an IPv6 route needs an IPv6 gateway (IPv4 routes may use IPv6 gateways, not the reverse)"},
	{"route 10.0.0.0/8 via fe80::1 dev lo", ""},
	{"route 2001:db8::/32 via fe80::1 dev lo", ""},
	{"rule fwmark 1 lookup mian", "1:22: unknown table \"mian\"\n  hint: did you mean `main`?"},
	{"print 30s + 1m30s; print 2 * 30s; print 1m / 2; print 1m - 30s; print 30s * 2", ""},
	{`let x = 30s / 0`, "1:15: division by zero"},
	{`let x = 10.0.0.1 + 1`, "1:18: cannot apply + to address and int"},
	{`let x = 1 / 0`, "1:13: division by zero"},
	{`let x = -"a"`, "1:9: cannot negate a string"},

	// Includes.
	{`include "missing.nets"`, `1:9: include file "missing.nets" not found (looked for missing.nets)`},
	{`include "a.nets"`, "b.nets:1:1: include cycle: a.nets includes b.nets includes a.nets"},
	{`include "bad.nets"`, "bad.nets:2:5: unexpected \"=\", expected a variable name after let"},
	{"include \"defs.nets\"\nhello(1)\nprint $greeting", ""},

	// Network statements: schema.
	{"route 10.0.0.300/8 dev eth0", `1:7: "10.0.0.300" is not an IP address`},
	{"route 10.0.0.0/8 via 10.0.0.300", `1:22: "10.0.0.300" is not an IP address`},
	{"route 10.0.0.1/8 dev eth0", "1:7: \"10.0.0.1/8\" is not a network prefix: it has host bits set\n  hint: did you mean `10.0.0.0/8`?"},
	{"route 10.0.0.0/8", "1:1: route needs via or dev"},
	{"route 10.0.0.0/8 dev eth0 src fe80::1", "1:31: fe80::1 is IPv6 but dst 10.0.0.0/8 is IPv4"},
	{"route 10.0.0.0/8 via fe80::1 dev eth0", ""},
	{"rule from 10.0.0.0/8 to fd00::/8 lookup 100", "1:25: fd00::/8 is IPv6 but from 10.0.0.0/8 is IPv4"},
	{"rule from all to fd00::/8 lookup 100", ""},
	{"addr 10.200.0.1 peer fd00::2 dev wg0", "1:22: fd00::2 is IPv6 but prefix 10.200.0.1 is IPv4"},
	{"route blackhole 10.0.0.0/8 via 10.0.0.1", "1:28: a blackhole route has no via"},
	{"route 10.0.0.0/8 via 10.0.0.1 metrc 5", "1:31: unknown route option \"metrc\"\n  hint: did you mean `metric`?"},
	{"route 10.0.0.0/8 dev eth0 table 0", "1:33: 0 is not a table (ids are 1 to 4294967295)"},
	{"route 10.0.0.0/8 dev eth0 table gamng\ntable 100 name gaming", "1:33: unknown table \"gamng\"\n  hint: did you mean `gaming`? (named on line 2, after this use)"},
	{"table 100 name gaming\nroute 10.0.0.0/8 dev eth0 table gamng", "2:33: unknown table \"gamng\"\n  hint: did you mean `gaming`?"},
	{"table 254 name mine", "1:11: table 254 is the built-in table main and cannot be renamed"},
	{"table main name mine", "1:12: table main is built in and cannot be renamed"},
	{"table 100 name local", "1:16: local is a built-in table name"},
	{"table 100 name a\ntable 101 name a", "2:16: table name a is already table 100"},
	{"rule fwmark 0xZZ lookup 100", `1:13: "0xZZ" is not a mark (N or N/MASK, 32-bit, decimal or 0x hex)`},
	{"rule fwmark 0x1 lokup 100", "1:17: unknown rule option \"lokup\"\n  hint: did you mean `lookup`?"},
	{"rule fwmark 0x1", "1:1: rule needs one of lookup, goto, nop, blackhole, unreachable, prohibit\n  hint: usage: " + ruleUsage},
	{"rule lookup 100 goto 5", "1:17: goto cannot be combined with lookup"},
	{"rule sport 2000-1000 lookup 100", `1:12: "2000-1000" is not a port or port range (N or N-M, 0 to 65535)`},
	{"rule uidrange x lookup 100", `1:15: "x" is not a uid range (A-B)`},
	{"rule from 10.0.0.0/8 from 10.1.0.0/16 lookup 100", "1:22: from given twice"},
	{"rule lookup 100 suppress_prefixlength 129", "1:39: 129 is out of range (0 to 128)"},
	{"link eth0 mtu 9x", `1:15: "9x" is not a number`},
	{"link eth0 mtu 70000", "1:15: 70000 is out of range (68 to 65535)"},
	{"link eth0 up down", "1:14: down cannot be combined with up"},
	{"link vx type vxlan id 1 remote 192.0.2.1 group 239.1.1.1", "1:42: group cannot be combined with remote"},
	{"link eth0 address aa:bb:cc", `1:19: "aa:bb:cc" is not a MAC address`},
	{"link eth0 type vlan", "1:16: \"vlan\" is not a link type (one of veth, bridge, vxlan, macvlan, tun, tap, wireguard)\n  hint: did you mean `vxlan`?"},
	{"link v0 type veth", "1:1: veth link needs peer\n  hint: usage: " + linkUsage},
	{"link v0 peer v1", "1:9: peer needs `type KIND` first"},
	{"link averyveryverylongname up", `1:6: "averyveryverylongname" is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)`},
	{"link eth0 mtu", "1:11: mtu needs a value (a number)"},
	{"link", "1:1: link: missing name\n  hint: usage: " + linkUsage},
	{"addr 10.0.0.1/24", "1:1: addr needs dev\n  hint: usage: " + addrUsage},
	{"addr 10.0.0.1/33 dev eth0", `1:6: "10.0.0.1/33" is not an IP prefix`},
	{"neigh 10.0.0.1 lladdr zz dev eth0", `1:23: "zz" is not a MAC address`},
	{"netns a/b", `1:7: "a/b" is not a valid namespace name`},
	{"in netns a/b < >", `1:10: "a/b" is not a valid namespace name`},
	{"netns a b", "1:9: netns takes no further arguments\n  hint: usage: netns NAME"},
	{"peer abc < >", "1:1: peer is only allowed inside a wireguard block"},
	{"del peer abc", "1:5: peer is only allowed inside a wireguard block"},
	{"wireguard w < del peer abc >", `1:24: "abc" is not a WireGuard key (want 44 characters of base64, as wg genkey writes)`},
	{"wireguard wg0 < link x up >", "1:17: link is not allowed inside a wireguard block"},
	{"wireguard wg0 < listen-port 70000 >", "1:29: 70000 is out of range (0 to 65535)"},
	{"wireguard wg0 < peer genkey() < endpoint 2001:db8::1:51820 > >", `1:42: "2001:db8::1:51820" is not an endpoint (HOST:PORT or [IPv6]:PORT)`},
	{"wireguard wg0 < peer genkey() < allowed-ips 10.0.0.0/8, 10.0.0.300 > >", `1:57: "10.0.0.300" is not an IP prefix or address`},
	{"wireguard wg0 < peer genkey() < persistent-keepalive 1.5s > >", `1:54: "1.5s" is not a number of seconds (0 to 65535, or a duration like 25s)`},
	{"wireguard wg0 < private-key \"notakey\" >", `1:29: "notakey" is not a WireGuard key (want 44 characters of base64, as wg genkey writes)`},
	{"link eth0 up < >", "1:14: link takes no block"},
	{"del table 100", "1:5: del table is not supported"},
	{"route 10.0.0.0/8 via 10.0.0.1 table 100, 101", "1:37: table takes one value, not a list"},
	{"show rutes", "1:6: cannot show \"rutes\" (one of links, addrs, routes, rules, neigh, netns, wireguard)\n  hint: did you mean `routes`?"},
	{"show routes table 0", "1:19: 0 is not a table (ids are 1 to 4294967295)"},
	{"show routes table nope", "1:19: unknown table \"nope\"\n  hint: name it first with `table ID name nope`"},
}

var (
	ruleUsage = Lookup("", "rule").Usage
	linkUsage = Lookup("", "link").Usage
	addrUsage = Lookup("", "addr").Usage
)

// testFS holds the include files of the error tests.
var testFS = fstest.MapFS{
	"a.nets":    {Data: []byte("include \"b.nets\"\n")},
	"b.nets":    {Data: []byte("include \"a.nets\"\n")},
	"bad.nets":  {Data: []byte("print 1\nlet = 2\n")},
	"defs.nets": {Data: []byte("let greeting = \"hi\"\ndef hello($x) < print $x >\n")},
}

func testReadFile(path string) ([]byte, error) {
	b, err := testFS.ReadFile(path)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil, fs.ErrNotExist
	}
	return b, err
}

// diagText renders diagnostics as `line:col: msg` lines (with the file
// name only for other files than the test's), hints indented.
func diagText(ds Diagnostics) string {
	var lines []string
	for _, d := range ds {
		loc := d.Location()
		if d.Pos.Filename == "" {
			loc = strings.TrimPrefix(loc, ":")
		}
		lines = append(lines, loc+": "+d.Msg)
		if d.Hint != "" {
			lines = append(lines, "  hint: "+d.Hint)
		}
	}
	return strings.Join(lines, "\n")
}

// parseCheck parses src (no file name) and, when it parses, checks it.
func parseCheck(src string) Diagnostics {
	f, err := Parse("", []byte(src))
	if err != nil {
		return err.(Diagnostics)
	}
	return Check(f, CheckOptions{ReadFile: testReadFile})
}

func TestErrors(t *testing.T) {
	for _, tc := range errorTests {
		got := diagText(parseCheck(tc.src))
		if got != tc.want {
			t.Errorf("%q:\n got: %s\nwant: %s", tc.src, got, tc.want)
		}
	}
	if len(errorTests) < 40 {
		t.Errorf("only %d error tests", len(errorTests))
	}
}
