package builtins

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// w types a word as an expression would (value.FromWord).
func w(s string) value.Value { return value.FromWord(s) }

func s(x string) value.Value { return value.String(x) }

func i(n int64) value.Value { return value.Int(n) }

func list(vs ...value.Value) value.List { return value.List(vs) }

type callTest struct {
	name string
	args []value.Value
	want value.Value // compared with value.Equal; nil when err is set
	err  string      // exact error message
}

func runCalls(t *testing.T, env Env, tests []callTest) {
	t.Helper()
	for _, tt := range tests {
		got, err := Call(env, tt.name, tt.args)
		desc := tt.name + "(" + reprArgs(tt.args) + ")"
		if tt.err != "" {
			if err == nil {
				t.Errorf("%s = %s %v, want error %q", desc, got.Type(), value.Repr(got), tt.err)
			} else if err.Error() != tt.err {
				t.Errorf("%s error:\n got %q\nwant %q", desc, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", desc, err)
			continue
		}
		if got.Type() != tt.want.Type() || !value.Equal(got, tt.want) {
			t.Errorf("%s = %s %s, want %s %s", desc, got.Type(), value.Repr(got), tt.want.Type(), value.Repr(tt.want))
		}
	}
}

func reprArgs(args []value.Value) string {
	var parts []string
	for _, a := range args {
		if a == nil {
			parts = append(parts, "nil")
			continue
		}
		parts = append(parts, value.Repr(a))
	}
	return strings.Join(parts, ", ")
}

func TestTable(t *testing.T) {
	want := []string{"env", "genkey", "genpsk", "has_link", "has_netns", "host", "int", "len", "loadkey", "pubkey", "range", "readkey", "string", "subnet", "writekey"}
	if got := Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	ar := Arities()
	tab := Table()
	if len(ar) != len(want) || len(tab) != len(want) {
		t.Errorf("Arities has %d, Table %d entries, want %d", len(ar), len(tab), len(want))
	}
	for _, n := range want {
		b, ok := Lookup(n)
		if !ok || b.Name != n || tab[n] != b {
			t.Errorf("Lookup(%q) = %v, %v", n, b, ok)
			continue
		}
		if b.Min < 0 || b.Min > b.Max || ar[n] != [2]int{b.Min, b.Max} {
			t.Errorf("%s: arity %d..%d, Arities %v", n, b.Min, b.Max, ar[n])
		}
		if strings.TrimSpace(b.Doc) == "" || b.Fn == nil {
			t.Errorf("%s: no Doc or Fn", n)
		}
		if !strings.HasPrefix(b.Help(), b.Usage()+"\n    ") {
			t.Errorf("%s: Help() = %q", n, b.Help())
		}
	}
	if ar["env"] != [2]int{1, 2} || ar["genkey"] != [2]int{0, 0} || ar["subnet"] != [2]int{3, 3} || ar["range"] != [2]int{1, 3} {
		t.Errorf("Arities = %v", ar)
	}
	if _, ok := Lookup("nope"); ok {
		t.Errorf("Lookup(nope) found something")
	}
	// Table returns a copy.
	delete(tab, "env")
	if _, ok := Lookup("env"); !ok || len(Table()) != len(want) {
		t.Errorf("Table() is not a copy")
	}
	if !sort.StringsAreSorted(Names()) {
		t.Errorf("Names not sorted")
	}
}

func TestArity(t *testing.T) {
	runCalls(t, &StaticEnv{}, []callTest{
		{name: "genkey", args: []value.Value{i(1)}, err: "genkey: takes no arguments (genkey()), got 1"},
		{name: "pubkey", err: "pubkey: takes 1 argument (pubkey(K)), got 0"},
		{name: "pubkey", args: []value.Value{s("a"), s("b")}, err: "pubkey: takes 1 argument (pubkey(K)), got 2"},
		{name: "env", err: "env: takes at least 1 argument (env(NAME[, DEFAULT])), got 0"},
		{name: "env", args: []value.Value{s("a"), s("b"), s("c")}, err: "env: takes at most 2 arguments (env(NAME[, DEFAULT])), got 3"},
		{name: "subnet", args: []value.Value{w("10.0.0.0/8")}, err: "subnet: takes 3 arguments (subnet(PREFIX, NEWBITS, NUM)), got 1"},
		{name: "range", args: []value.Value{i(1), i(2), i(3), i(4)}, err: "range: takes at most 3 arguments (range([A, ]B[, STEP])), got 4"},
		{name: "len", args: []value.Value{nil}, err: "len: argument 1 has no value"},
		{name: "nope", err: "unknown function nope (builtins: env, genkey, genpsk, has_link, has_netns, host, int, len, loadkey, pubkey, range, readkey, string, subnet, writekey)"},
	})
}

func TestCallRecoversPanic(t *testing.T) {
	b := &Builtin{Name: "boom", Min: 0, Max: 0, Fn: func(Env, []value.Value) (value.Value, error) { panic("oops") }}
	if _, err := b.Call(&StaticEnv{}, nil); err == nil || err.Error() != "boom: internal error: oops" {
		t.Errorf("panic: %v", err)
	}
	nilResult := &Builtin{Name: "nothing", Fn: func(Env, []value.Value) (value.Value, error) { return nil, nil }}
	if _, err := nilResult.Call(&StaticEnv{}, nil); err == nil || err.Error() != "nothing: internal error: no result" {
		t.Errorf("nil result: %v", err)
	}
}

func TestUnpackArgs(t *testing.T) {
	k := testPriv()
	var (
		anyV   value.Value
		str    string
		n64    int64
		n      int
		b      bool
		a      netip.Addr
		p      netip.Prefix
		hw     net.HardwareAddr
		d      time.Duration
		key    kernel.Key
		l      value.List
		r      value.Record
		unsupp float64
	)
	rec, _ := value.NewRecord(value.RecordField{Name: "a", Value: i(1)})
	ok := []struct {
		arg   value.Value
		ptr   any
		check func() bool
	}{
		{i(3), &anyV, func() bool { return value.Equal(anyV, i(3)) }},
		{s("x"), &str, func() bool { return str == "x" }},
		{i(-5), &n64, func() bool { return n64 == -5 }},
		{i(7), &n, func() bool { return n == 7 }},
		{value.Bool(true), &b, func() bool { return b }},
		{w("10.0.0.1"), &a, func() bool { return a == netip.MustParseAddr("10.0.0.1") }},
		{s("2001:db8::1"), &a, func() bool { return a == netip.MustParseAddr("2001:db8::1") }},
		{w("10.0.0.0/8"), &p, func() bool { return p == netip.MustParsePrefix("10.0.0.0/8") }},
		{w("10.0.0.1"), &p, func() bool { return p == netip.MustParsePrefix("10.0.0.1/32") }},
		{w("2001:db8::1"), &p, func() bool { return p == netip.MustParsePrefix("2001:db8::1/128") }},
		{s("10.1.0.0/16"), &p, func() bool { return p == netip.MustParsePrefix("10.1.0.0/16") }},
		{s("10.1.0.1"), &p, func() bool { return p == netip.MustParsePrefix("10.1.0.1/32") }},
		{w("aa:bb:cc:dd:ee:ff"), &hw, func() bool { return hw.String() == "aa:bb:cc:dd:ee:ff" }},
		{s("AA:BB:CC:DD:EE:01"), &hw, func() bool { return hw.String() == "aa:bb:cc:dd:ee:01" }},
		{w("30s"), &d, func() bool { return d == 30*time.Second }},
		{i(25), &d, func() bool { return d == 25*time.Second }},
		{s("1m"), &d, func() bool { return d == time.Minute }},
		{value.Key{Key: k}, &key, func() bool { return key == k }},
		{s(k.Base64() + "\n"), &key, func() bool { return key == k }},
		{list(i(1)), &l, func() bool { return len(l) == 1 }},
		{rec, &r, func() bool { return r.Len() == 1 }},
	}
	for _, tt := range ok {
		if err := UnpackArgs("f", []value.Value{tt.arg}, "X", tt.ptr); err != nil || !tt.check() {
			t.Errorf("unpack %s into %T: %v", value.Repr(tt.arg), tt.ptr, err)
		}
	}

	bad := []struct {
		arg value.Value
		ptr any
		err string
	}{
		{i(1), &str, "f: argument 1 must be string, not int"},
		{s("1"), &n64, `f: argument 1 must be int, not string "1"`},
		{w("1s"), &n, "f: argument 1 must be int, not duration"},
		{i(1), &b, "f: argument 1 must be bool, not int"},
		{w("10.0.0.0/8"), &a, "f: argument 1 must be address, not prefix"},
		{s("10.0.0.300"), &a, `f: argument 1 must be address, not string "10.0.0.300"`},
		{i(1), &p, "f: argument 1 must be prefix, not int"},
		{s("010.0.0.0/16"), &p, `f: argument 1 must be prefix, not string "010.0.0.0/16"`},
		{w("fe80::1%eth0"), &p, "f: argument 1 must be prefix, not address fe80::1%eth0 (an address with a zone is not a prefix)"},
		{s("fe80::1%eth0"), &p, "f: argument 1 must be prefix, not address fe80::1%eth0 (an address with a zone is not a prefix)"},
		{i(1), &hw, "f: argument 1 must be mac, not int"},
		{s("zz:bb:cc:dd:ee:ff"), &hw, `f: argument 1 must be mac, not string "zz:bb:cc:dd:ee:ff"`},
		{value.Bool(false), &d, "f: argument 1 must be duration, not bool"},
		{s("soon"), &d, `f: argument 1 must be duration, not string "soon"`},
		{i(math.MaxInt64), &d, "f: argument 1 9223372036854775807 seconds is too long for a duration"},
		{i(1), &key, "f: argument 1 must be key, not int"},
		{s("c2VjcmV0LWJ1dC1ub3QtYS1rZXk="), &key, "f: argument 1 must be key, not a string that holds none (want 44 characters of base64, as wg genkey writes)"},
		{s("x"), &l, `f: argument 1 must be list, not string "x"`},
		{list(), &r, "f: argument 1 must be record, not list"},
		{i(1), &unsupp, "f: argument 1 cannot be unpacked: internal error: unsupported target *float64"},
	}
	for _, tt := range bad {
		err := UnpackArgs("f", []value.Value{tt.arg}, "X", tt.ptr)
		if err == nil || err.Error() != tt.err {
			t.Errorf("unpack %s into %T: error\n got %v\nwant %q", value.Repr(tt.arg), tt.ptr, err, tt.err)
		}
	}

	// Optional parameters keep their values when absent.
	str, n64 = "keep", 9
	if err := UnpackArgs("f", []value.Value{s("a")}, "A", &str, "B?", &n64, "C", &n); err != nil || str != "a" || n64 != 9 {
		t.Errorf("optional: %v %q %d", err, str, n64)
	}
	if err := UnpackArgs("f", nil, "A", &str); err == nil || err.Error() != "f: missing argument 1 (A)" {
		t.Errorf("missing: %v", err)
	}
	if err := UnpackArgs("f", []value.Value{i(1), i(2)}, "A", &n); err == nil || err.Error() != "f: got 2 arguments, want at most 1" {
		t.Errorf("too many: %v", err)
	}
	if err := UnpackArgs("f", nil, "A"); err == nil || err.Error() != "f: internal error: UnpackArgs needs name, pointer pairs" {
		t.Errorf("odd pairs: %v", err)
	}
	if err := UnpackArgs("f", []value.Value{i(1)}, 1, &n); err == nil || err.Error() != "f: internal error: UnpackArgs parameter 1 has no name" {
		t.Errorf("unnamed: %v", err)
	}
	if err := UnpackArgs("f", []value.Value{nil}, "A", &n); err == nil || err.Error() != "f: argument 1 has no value" {
		t.Errorf("nil arg: %v", err)
	}
}

func TestEnv(t *testing.T) {
	k := testPriv()
	env := &StaticEnv{Vars: map[string]string{
		"UPLINK": "eth1",
		"EMPTY":  "",
		"PORT":   "51820",
		"BADINT": "51820x",
		"LAN":    "10.1.0.0/24",
		"GW":     " 10.1.0.1\n",
		"KEY":    k.Base64(),
		"FLAG":   "true",
		"WAIT":   "30s",
	}}
	runCalls(t, env, []callTest{
		{name: "env", args: []value.Value{s("UPLINK")}, want: s("eth1")},
		{name: "env", args: []value.Value{s("EMPTY")}, want: s("")},
		{name: "env", args: []value.Value{s("PORT")}, want: s("51820")},
		{name: "env", args: []value.Value{s("UPLINK"), s("eth0")}, want: s("eth1")},
		{name: "env", args: []value.Value{s("NOPE"), s("eth0")}, want: s("eth0")},
		{name: "env", args: []value.Value{s("NOPE"), i(7)}, want: i(7)},
		{name: "env", args: []value.Value{s("PORT"), i(7)}, want: i(51820)},
		{name: "env", args: []value.Value{s("LAN"), w("10.0.0.0/8")}, want: w("10.1.0.0/24")},
		{name: "env", args: []value.Value{s("GW"), w("10.0.0.1")}, want: w("10.1.0.1")},
		{name: "env", args: []value.Value{s("FLAG"), value.Bool(false)}, want: value.Bool(true)},
		{name: "env", args: []value.Value{s("WAIT"), w("1m")}, want: w("30s")},
		{name: "env", args: []value.Value{s("KEY"), value.Key{}}, want: value.Key{Key: k}},
		{name: "env", args: []value.Value{s("NOPE")}, err: `env: NOPE is not set (give a default: env("NOPE", "..."))`},
		{name: "env", args: []value.Value{s("BADINT"), i(1)}, err: "env: BADINT does not hold an int, the type of its default"},
		{name: "env", args: []value.Value{s("UPLINK"), w("10.0.0.1")}, err: "env: UPLINK does not hold an address, the type of its default"},
		{name: "env", args: []value.Value{s("UPLINK"), value.Key{}}, err: "env: UPLINK does not hold a WireGuard key (want 44 characters of base64), and its default is a key"},
		{name: "env", args: []value.Value{s("NOPE"), list()}, err: "env: DEFAULT must be a single value, not a list"},
		{name: "env", args: []value.Value{s("")}, err: "env: the variable name is empty"},
		{name: "env", args: []value.Value{i(1)}, err: "env: argument 1 must be string, not int"},
	})
}

func TestRange(t *testing.T) {
	runCalls(t, &StaticEnv{}, []callTest{
		{name: "range", args: []value.Value{i(4)}, want: list(i(0), i(1), i(2), i(3))},
		{name: "range", args: []value.Value{i(0)}, want: list()},
		{name: "range", args: []value.Value{i(-3)}, want: list()},
		{name: "range", args: []value.Value{i(0), i(4)}, want: list(i(0), i(1), i(2), i(3))},
		{name: "range", args: []value.Value{i(2), i(5)}, want: list(i(2), i(3), i(4))},
		{name: "range", args: []value.Value{i(5), i(2)}, want: list()},
		{name: "range", args: []value.Value{i(0), i(10), i(3)}, want: list(i(0), i(3), i(6), i(9))},
		{name: "range", args: []value.Value{i(3), i(0), i(-1)}, want: list(i(3), i(2), i(1))},
		{name: "range", args: []value.Value{i(0), i(3), i(-1)}, want: list()},
		{name: "range", args: []value.Value{i(math.MaxInt64 - 1), i(math.MaxInt64)}, want: list(i(math.MaxInt64 - 1))},
		{name: "range", args: []value.Value{i(math.MinInt64), i(math.MinInt64 + 2)}, want: list(i(math.MinInt64), i(math.MinInt64+1))},
		{name: "range", args: []value.Value{i(math.MaxInt64), i(math.MinInt64), i(math.MinInt64)}, want: list(i(math.MaxInt64), i(-1))},
		{name: "range", args: []value.Value{i(0), i(math.MaxInt64), i(math.MaxInt64)}, want: list(i(0))},
		{name: "range", args: []value.Value{i(0), i(10), i(0)}, err: "range: STEP must not be 0"},
		{name: "range", args: []value.Value{i(math.MinInt64), i(math.MaxInt64)}, err: "range: 18446744073709551615 elements is too many (at most 1048576)"},
		{name: "range", args: []value.Value{i(1 << 21)}, err: "range: 2097152 elements is too many (at most 1048576)"},
		{name: "range", args: []value.Value{s("4")}, err: `range: argument 1 must be int, not string "4"`},
		{name: "range", args: []value.Value{i(0), w("1s")}, err: "range: argument 2 must be int, not duration"},
	})
}

func TestLenStringInt(t *testing.T) {
	k := testPriv()
	r, _ := value.NewRecord(value.RecordField{Name: "a", Value: i(1)}, value.RecordField{Name: "b", Value: value.Key{Key: k}})
	runCalls(t, &StaticEnv{}, []callTest{
		{name: "len", args: []value.Value{s("veth0")}, want: i(5)},
		{name: "len", args: []value.Value{s("")}, want: i(0)},
		{name: "len", args: []value.Value{s("grüß")}, want: i(4)},
		{name: "len", args: []value.Value{list(i(1), i(2))}, want: i(2)},
		{name: "len", args: []value.Value{r}, want: i(2)},
		{name: "len", args: []value.Value{i(3)}, err: "len: argument 1 must be string, list or record, not int"},
		{name: "len", args: []value.Value{value.Key{Key: k}}, err: "len: argument 1 must be string, list or record, not key"},

		{name: "string", args: []value.Value{value.Key{Key: k}}, want: s(k.Base64())},
		{name: "string", args: []value.Value{s("x")}, want: s("x")},
		{name: "string", args: []value.Value{i(-42)}, want: s("-42")},
		{name: "string", args: []value.Value{w("0x10")}, want: s("16")},
		{name: "string", args: []value.Value{value.Bool(true)}, want: s("true")},
		{name: "string", args: []value.Value{w("2001:DB8::1")}, want: s("2001:db8::1")},
		{name: "string", args: []value.Value{w("10.0.0.1/24")}, want: s("10.0.0.1/24")},
		{name: "string", args: []value.Value{w("AA:BB:CC:DD:EE:FF")}, want: s("aa:bb:cc:dd:ee:ff")},
		{name: "string", args: []value.Value{w("90s")}, want: s("1m30s")},
		{name: "string", args: []value.Value{list(s("a"), i(1))}, want: s(`["a", 1]`)},
		{name: "string", args: []value.Value{r}, want: s("{a: 1, b: (key)}")},

		{name: "int", args: []value.Value{i(5)}, want: i(5)},
		{name: "int", args: []value.Value{s("51820")}, want: i(51820)},
		{name: "int", args: []value.Value{s("0xff")}, want: i(255)},
		{name: "int", args: []value.Value{s("-3")}, want: i(-3)},
		{name: "int", args: []value.Value{s(" 7\n")}, want: i(7)},
		{name: "int", args: []value.Value{s("7x")}, err: `int: "7x" is not an int (want decimal digits or 0x and hex digits)`},
		{name: "int", args: []value.Value{s("99999999999999999999")}, err: "int: 99999999999999999999 is too large for an int (64 bits)"},
		{name: "int", args: []value.Value{w("10.0.0.1")}, err: "int: argument 1 must be string or int, not address"},
		{name: "int", args: []value.Value{w("30s")}, err: "int: argument 1 must be string or int, not duration"},
	})
}

func TestHasLinkNetns(t *testing.T) {
	env := &StaticEnv{Links: []string{"lo", "eth0"}, Netns: []string{"lab"}}
	runCalls(t, env, []callTest{
		{name: "has_link", args: []value.Value{s("eth0")}, want: value.Bool(true)},
		{name: "has_link", args: []value.Value{s("eth1")}, want: value.Bool(false)},
		{name: "has_link", args: []value.Value{s("")}, err: "has_link: the link name is empty"},
		{name: "has_link", args: []value.Value{i(1)}, err: "has_link: argument 1 must be string, not int"},
		{name: "has_netns", args: []value.Value{s("lab")}, want: value.Bool(true)},
		{name: "has_netns", args: []value.Value{s("eth0")}, want: value.Bool(false)},
		{name: "has_netns", args: []value.Value{s("")}, err: "has_netns: the namespace name is empty"},
		{name: "has_netns", args: []value.Value{list()}, err: "has_netns: argument 1 must be string, not list"},
	})
	failing := &StaticEnv{Err: errors.New("netlink: permission denied")}
	runCalls(t, failing, []callTest{
		{name: "has_link", args: []value.Value{s("eth0")}, err: "has_link: netlink: permission denied"},
		{name: "has_netns", args: []value.Value{s("lab")}, err: "has_netns: netlink: permission denied"},
	})
}

// Terraform's documented examples and the edge cases of its own tests.
func TestHostSubnet(t *testing.T) {
	runCalls(t, &StaticEnv{}, []callTest{
		// cidrhost
		{name: "host", args: []value.Value{w("10.12.112.0/20"), i(16)}, want: w("10.12.112.16")},
		{name: "host", args: []value.Value{w("10.12.112.0/20"), i(268)}, want: w("10.12.113.12")},
		{name: "host", args: []value.Value{w("fd00:fd12:3456:7890:00a2::/72"), i(34)}, want: w("fd00:fd12:3456:7890::22")},
		{name: "host", args: []value.Value{s("10.12.112.0/20"), i(16)}, want: w("10.12.112.16")},
		{name: "host", args: []value.Value{w("10.0.0.0/8"), i(2)}, want: w("10.0.0.2")},
		{name: "host", args: []value.Value{w("10.0.0.0/8"), i(-2)}, want: w("10.255.255.254")},
		{name: "host", args: []value.Value{w("10.0.0.0/24"), i(-1)}, want: w("10.0.0.255")},
		{name: "host", args: []value.Value{w("10.0.0.0/24"), i(-256)}, want: w("10.0.0.0")},
		{name: "host", args: []value.Value{w("10.0.0.5/24"), i(1)}, want: w("10.0.0.1")},
		{name: "host", args: []value.Value{w("10.0.0.0/32"), i(0)}, want: w("10.0.0.0")},
		{name: "host", args: []value.Value{w("10.0.0.0/32"), i(-1)}, want: w("10.0.0.0")},
		{name: "host", args: []value.Value{w("10.0.0.7"), i(0)}, want: w("10.0.0.7")},
		{name: "host", args: []value.Value{w("0.0.0.0/0"), i(-1)}, want: w("255.255.255.255")},
		{name: "host", args: []value.Value{w("10.0.0.0/31"), i(-2)}, want: w("10.0.0.0")},
		{name: "host", args: []value.Value{w("2001:db8::/64"), i(-1)}, want: w("2001:db8::ffff:ffff:ffff:ffff")},
		{name: "host", args: []value.Value{w("::/0"), i(math.MaxInt64)}, want: w("::7fff:ffff:ffff:ffff")},
		{name: "host", args: []value.Value{w("::/0"), i(math.MinInt64)}, want: w("ffff:ffff:ffff:ffff:8000::")},
		{name: "host", args: []value.Value{w("10.0.0.0/32"), i(1)}, err: "host: prefix of 32 does not accommodate a host numbered 1 (10.0.0.0/32 has hosts 0 to 0, or -1 to -1 counting from the end)"},
		{name: "host", args: []value.Value{w("10.0.0.0/31"), i(-3)}, err: "host: prefix of 31 does not accommodate a host numbered -3 (10.0.0.0/31 has hosts 0 to 1, or -2 to -1 counting from the end)"},
		{name: "host", args: []value.Value{w("10.0.0.0/24"), i(256)}, err: "host: prefix of 24 does not accommodate a host numbered 256 (10.0.0.0/24 has hosts 0 to 255, or -256 to -1 counting from the end)"},
		{name: "host", args: []value.Value{w("10.0.0.0/24"), i(-257)}, err: "host: prefix of 24 does not accommodate a host numbered -257 (10.0.0.0/24 has hosts 0 to 255, or -256 to -1 counting from the end)"},
		{name: "host", args: []value.Value{s("not a cidr"), i(1)}, err: `host: argument 1 must be prefix, not string "not a cidr"`},
		{name: "host", args: []value.Value{w("10.0.0.0/24"), s("1")}, err: `host: argument 2 must be int, not string "1"`},

		// cidrsubnet
		{name: "subnet", args: []value.Value{w("172.16.0.0/12"), i(4), i(2)}, want: w("172.18.0.0/16")},
		{name: "subnet", args: []value.Value{w("10.1.2.0/24"), i(4), i(15)}, want: w("10.1.2.240/28")},
		{name: "subnet", args: []value.Value{w("fd00:fd12:3456:7890::/56"), i(16), i(162)}, want: w("fd00:fd12:3456:7800:a200::/72")},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(8), i(2)}, want: w("10.0.2.0/24")},
		{name: "subnet", args: []value.Value{w("10.0.0.5/16"), i(8), i(0)}, want: w("10.0.0.0/24")},
		{name: "subnet", args: []value.Value{w("10.0.0.0/8"), i(0), i(0)}, want: w("10.0.0.0/8")},
		{name: "subnet", args: []value.Value{w("10.0.0.0/30"), i(2), i(3)}, want: w("10.0.0.3/32")},
		{name: "subnet", args: []value.Value{w("2001:db8::/32"), i(32), i(1)}, want: w("2001:db8:0:1::/64")},
		{name: "subnet", args: []value.Value{w("2001:db8::/32"), i(32), i(4294967295)}, want: w("2001:db8:ffff:ffff::/64")},
		{name: "subnet", args: []value.Value{w("::/80"), i(16), i(65534)}, want: w("::fffe:0:0/96")},
		{name: "subnet", args: []value.Value{w("::/80"), i(16), i(65535)}, want: w("::ffff:0:0/96")},
		{name: "subnet", args: []value.Value{s("10.0.0.0/16"), i(8), i(1)}, want: w("10.0.1.0/24")},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(8), i(300)}, err: "subnet: prefix extension of 8 does not accommodate a subnet numbered 300 (numbers 0 to 255 fit)"},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(8), i(256)}, err: "subnet: prefix extension of 8 does not accommodate a subnet numbered 256 (numbers 0 to 255 fit)"},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(8), i(-1)}, err: "subnet: NUM must be 0 or more, not -1"},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(17), i(0)}, err: "subnet: insufficient address space to extend prefix of 16 by 17"},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), i(-1), i(0)}, err: "subnet: NEWBITS must be 0 or more, not -1"},
		{name: "subnet", args: []value.Value{w("2001:db8::/32"), i(33), i(0)}, err: "subnet: may not extend prefix by more than 32 bits"},
		{name: "subnet", args: []value.Value{w("2001:db8::/120"), i(9), i(0)}, err: "subnet: insufficient address space to extend prefix of 120 by 9"},
		{name: "subnet", args: []value.Value{s("010.0.0.0/16"), i(8), i(0)}, err: `subnet: argument 1 must be prefix, not string "010.0.0.0/16"`},
		{name: "subnet", args: []value.Value{s("fe80::%eth0/64"), i(8), i(0)}, err: `subnet: argument 1 must be prefix, not string "fe80::%eth0/64"`},
		{name: "subnet", args: []value.Value{w("10.0.0.0/16"), w("8"), s("x")}, err: `subnet: argument 3 must be int, not string "x"`},
	})
}
