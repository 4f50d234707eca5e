package value

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

func addr(s string) Value   { return Addr{netip.MustParseAddr(s)} }
func prefix(s string) Value { return Prefix{netip.MustParsePrefix(s)} }
func mac(s string) Value {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return MAC{hw}
}
func rec(kv ...any) Record {
	var fs []RecordField
	for i := 0; i < len(kv); i += 2 {
		fs = append(fs, RecordField{kv[i].(string), kv[i+1].(Value)})
	}
	r, err := NewRecord(fs...)
	if err != nil {
		panic(err)
	}
	return r
}

var testKey = func() Key {
	var k kernel.Key
	for i := range k {
		k[i] = byte(i + 1)
	}
	return Key{k}
}()

func TestFromWord(t *testing.T) {
	tests := []struct {
		word string
		want Value
	}{
		{"42", Int(42)},
		{"0", Int(0)},
		{"-7", Int(-7)},
		{"0x1", Int(1)},
		{"0xff", Int(255)},
		{"0XFF", Int(255)},
		{"0xffffffff", Int(4294967295)},
		{"9223372036854775807", Int(math.MaxInt64)},
		{"-9223372036854775808", Int(math.MinInt64)},
		{"30s", Duration(30 * time.Second)},
		{"1m30s", Duration(90 * time.Second)},
		{"100ms", Duration(100 * time.Millisecond)},
		{"2h", Duration(2 * time.Hour)},
		{"10.50.0.0/16", prefix("10.50.0.0/16")},
		{"10.0.0.1/24", prefix("10.0.0.1/24")},
		{"fe80::1/64", prefix("fe80::1/64")},
		{"::/0", prefix("::/0")},
		{"10.0.0.1", addr("10.0.0.1")},
		{"2001:db8::1", addr("2001:db8::1")},
		{"::1", addr("::1")},
		{"aa:bb:cc:dd:ee:ff", mac("aa:bb:cc:dd:ee:ff")},
		{"AA:BB:CC:DD:EE:0F", mac("aa:bb:cc:dd:ee:0f")},
		{"true", Bool(true)},
		{"false", Bool(false)},
		// Everything else is a string.
		{"eth0", String("eth0")},
		{"veth-a", String("veth-a")},
		{"0x1/0xff", String("0x1/0xff")},
		{"1000-2000", String("1000-2000")},
		{"192.0.2.1:51820", String("192.0.2.1:51820")},
		{"[2001:db8::1]:51820", String("[2001:db8::1]:51820")},
		{"10.0.0.300", String("10.0.0.300")},
		{"10.0.0.0/33", String("10.0.0.0/33")},
		{"1.5", String("1.5")},
		{"0b101", String("0b101")},
		{"1_000", String("1_000")},
		{"0x", String("0x")},
		{"-", String("-")},
		{"", String("")},
		{"aa:bb:cc:dd:ee", String("aa:bb:cc:dd:ee")},
		{"aa-bb-cc-dd-ee-ff", String("aa-bb-cc-dd-ee-ff")},
		{"True", String("True")},
		{"99999999999999999999", String("99999999999999999999")},
	}
	for _, tt := range tests {
		got := FromWord(tt.word)
		if got.Type() != tt.want.Type() || !Equal(got, tt.want) {
			t.Errorf("FromWord(%q) = %s %v, want %s %v", tt.word, got.Type(), got, tt.want.Type(), tt.want)
		}
	}
}

func TestParseWordErrors(t *testing.T) {
	for word, want := range map[string]string{
		"99999999999999999999": "99999999999999999999 is too large for an int (64 bits)",
		"9223372036854775808":  "9223372036854775808 is too large for an int (64 bits)",
		"-9223372036854775809": "-9223372036854775809 is too large for an int (64 bits)",
		"0x10000000000000000":  "0x10000000000000000 is too large for an int (64 bits)",
		"0x8000000000000000":   "0x8000000000000000 is too large for an int (64 bits)",
	} {
		_, err := ParseWord(word)
		if err == nil || err.Error() != want {
			t.Errorf("ParseWord(%q) error = %v, want %q", word, err, want)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
		repr string
	}{
		{String("a \"b\"\n\\"), "a \"b\"\n\\", `"a \"b\"\n\\"`},
		{Int(-3), "-3", "-3"},
		{Bool(true), "true", "true"},
		{addr("2001:0db8:0::1"), "2001:db8::1", "2001:db8::1"},
		{prefix("10.0.0.1/24"), "10.0.0.1/24", "10.0.0.1/24"},
		{mac("AA:BB:CC:DD:EE:FF"), "aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"},
		{Duration(0), "0s", "0s"},
		{Duration(30 * time.Second), "30s", "30s"},
		{Duration(90 * time.Second), "1m30s", "1m30s"},
		{Duration(2 * time.Hour), "2h", "2h"},
		{Duration(time.Hour + 5*time.Second), "1h5s", "1h5s"},
		{Duration(1500 * time.Millisecond), "1.5s", "1.5s"},
		{Duration(-30 * time.Second), "-30s", "-30s"},
		{testKey, "(key)", "(key)"},
		{List{}, "[]", "[]"},
		{List{Int(1), String("a"), addr("10.0.0.1"), testKey}, `[1, "a", 10.0.0.1, (key)]`, `[1, "a", 10.0.0.1, (key)]`},
		{rec("name", String("x"), "port", Int(51820)), `{name: "x", port: 51820}`, `{name: "x", port: 51820}`},
		{rec(), "{}", "{}"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%s.String() = %q, want %q", tt.v.Type(), got, tt.want)
		}
		if got := Repr(tt.v); got != tt.repr {
			t.Errorf("Repr(%s) = %q, want %q", tt.v.Type(), got, tt.repr)
		}
	}
}

// Durations print in a form FromWord reads back as the same value.
func TestDurationRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 59 * time.Second, 61 * time.Second, time.Hour, 25*time.Hour + time.Minute, time.Millisecond, 1234567 * time.Microsecond} {
		v := Duration(d)
		back := FromWord(v.String())
		if !Equal(back, v) {
			t.Errorf("%v printed as %q reads back as %s %v", d, v.String(), back.Type(), back)
		}
	}
}

// A key never shows its bytes: not through String, fmt verbs, JSON,
// Repr, or a list holding it.
func TestKeyRedacted(t *testing.T) {
	secret := testKey.Base64()
	outs := []string{
		testKey.String(), Repr(testKey),
		fmt.Sprint(testKey), fmt.Sprintf("%v %+v %#v %s %x %X %q %d", testKey, testKey, testKey, testKey, testKey, testKey, testKey, testKey),
		List{testKey}.String(), rec("k", testKey).String(),
	}
	js, err := json.Marshal(testKey)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js))
	for _, o := range outs {
		if strings.Contains(o, secret) || strings.Contains(o, "0102030405") || strings.Contains(o, "[1 2 3") {
			t.Errorf("key revealed: %q", o)
		}
	}
}

func TestBinary(t *testing.T) {
	l12 := List{Int(1), Int(2)}
	r := rec("name", String("x"), "port", Int(51820))
	tests := []struct {
		x    Value
		op   string
		y    Value
		want Value
		err  string
	}{
		// ints
		{Int(2), "+", Int(3), Int(5), ""},
		{Int(2), "-", Int(3), Int(-1), ""},
		{Int(4), "*", Int(-3), Int(-12), ""},
		{Int(7), "/", Int(2), Int(3), ""},
		{Int(-7), "/", Int(2), Int(-3), ""},
		{Int(0), "*", Int(math.MinInt64), Int(0), ""},
		{Int(1), "/", Int(0), nil, "division by zero"},
		{Int(math.MaxInt64), "+", Int(1), nil, "int overflow: 9223372036854775807 + 1"},
		{Int(math.MinInt64), "+", Int(-1), nil, "int overflow: -9223372036854775808 + -1"},
		{Int(math.MinInt64), "-", Int(1), nil, "int overflow: -9223372036854775808 - 1"},
		{Int(0), "-", Int(math.MinInt64), nil, "int overflow: 0 - -9223372036854775808"},
		{Int(-1), "-", Int(math.MaxInt64), Int(math.MinInt64), ""},
		{Int(math.MaxInt64), "*", Int(2), nil, "int overflow: 9223372036854775807 * 2"},
		{Int(-1), "*", Int(math.MinInt64), nil, "int overflow: -1 * -9223372036854775808"},
		{Int(math.MinInt64), "*", Int(-1), nil, "int overflow: -9223372036854775808 * -1"},
		{Int(math.MinInt64), "/", Int(-1), nil, "int overflow: -9223372036854775808 / -1"},
		{Int(1 << 32), "*", Int(1 << 31), nil, "int overflow: 4294967296 * 2147483648"},
		// durations
		{Duration(time.Second), "+", Duration(time.Minute), Duration(61 * time.Second), ""},
		{Duration(time.Minute), "-", Duration(time.Second), Duration(59 * time.Second), ""},
		{Duration(time.Second), "*", Int(3), Duration(3 * time.Second), ""},
		{Int(3), "*", Duration(time.Second), Duration(3 * time.Second), ""},
		{Duration(time.Minute), "/", Int(4), Duration(15 * time.Second), ""},
		{Duration(time.Minute), "/", Int(0), nil, "division by zero"},
		{Duration(math.MaxInt64), "+", Duration(1), nil, "duration overflows"},
		{Duration(time.Hour), "*", Int(math.MaxInt64), nil, "duration overflows"},
		{Duration(time.Second), "+", Int(1), nil, "cannot apply + to duration and int"},
		// strings and lists
		{String("veth-"), "+", String("a"), String("veth-a"), ""},
		{l12, "+", List{String("x")}, List{Int(1), Int(2), String("x")}, ""},
		{List{}, "+", List{}, List{}, ""},
		{String("a"), "+", Int(1), nil, `cannot apply + to string and int (convert with string(...) first, or interpolate: "${...}")`},
		{String("a"), "-", String("b"), nil, "cannot apply - to string and string"},
		{l12, "*", Int(2), nil, "cannot apply * to list and int"},
		{addr("10.0.0.1"), "+", Int(1), nil, "cannot apply + to address and int"},
		{Bool(true), "+", Bool(true), nil, "cannot apply + to bool and bool"},
		// equality, every type
		{Int(1), "==", Int(1), Bool(true), ""},
		{Int(1), "!=", Int(1), Bool(false), ""},
		{String("a"), "==", String("b"), Bool(false), ""},
		{Bool(true), "==", Bool(true), Bool(true), ""},
		{addr("2001:db8::1"), "==", addr("2001:db8:0::1"), Bool(true), ""},
		{addr("10.0.0.1"), "==", addr("::ffff:10.0.0.1"), Bool(false), ""},
		{prefix("10.0.0.0/24"), "==", prefix("10.0.0.0/24"), Bool(true), ""},
		{prefix("10.0.0.1/24"), "==", prefix("10.0.0.0/24"), Bool(false), ""},
		{mac("aa:bb:cc:dd:ee:ff"), "==", mac("AA:BB:CC:DD:EE:FF"), Bool(true), ""},
		{mac("aa:bb:cc:dd:ee:ff"), "!=", mac("aa:bb:cc:dd:ee:fe"), Bool(true), ""},
		{Duration(time.Minute), "==", Duration(60 * time.Second), Bool(true), ""},
		{testKey, "==", testKey, Bool(true), ""},
		{testKey, "==", Key{}, Bool(false), ""},
		{l12, "==", List{Int(1), Int(2)}, Bool(true), ""},
		{l12, "==", List{Int(2), Int(1)}, Bool(false), ""},
		{l12, "==", List{Int(1)}, Bool(false), ""},
		{r, "==", rec("port", Int(51820), "name", String("x")), Bool(true), ""},
		{r, "==", rec("name", String("x")), Bool(false), ""},
		{r, "!=", rec("name", String("x"), "port", Int(1)), Bool(true), ""},
		{Int(1), "==", String("1"), nil, "cannot compare int with string"},
		{mac("aa:bb:cc:dd:ee:ff"), "==", String("aa:bb:cc:dd:ee:ff"), nil, "cannot compare mac with string"},
		// ordering
		{Int(1), "<", Int(2), Bool(true), ""},
		{Int(2), "<=", Int(2), Bool(true), ""},
		{Int(3), ">", Int(2), Bool(true), ""},
		{Int(1), ">=", Int(2), Bool(false), ""},
		{String("a"), "<", String("b"), Bool(true), ""},
		{String("b"), "<", String("a"), Bool(false), ""},
		{addr("10.0.0.2"), ">", addr("10.0.0.10"), Bool(false), ""},
		{addr("10.0.0.10"), ">", addr("10.0.0.2"), Bool(true), ""},
		{addr("2001:db8::1"), "<", addr("2001:db8::2"), Bool(true), ""},
		{Duration(time.Second), "<", Duration(time.Minute), Bool(true), ""},
		{Duration(time.Minute), ">=", Duration(60 * time.Second), Bool(true), ""},
		{addr("10.0.0.1"), "<", addr("::1"), nil, "cannot order an IPv4 and an IPv6 address (10.0.0.1 < ::1)"},
		{Int(1), "<", String("2"), nil, "cannot compare int with string"},
		{Bool(true), "<", Bool(false), nil, "operator < is not defined on bool values (only == and != are)"},
		{l12, ">", l12, nil, "operator > is not defined on list values (only == and != are)"},
		{prefix("10.0.0.0/8"), "<", prefix("10.0.0.0/16"), nil, "operator < is not defined on prefix values (only == and != are)"},
		// and, or
		{Bool(true), "and", Bool(false), Bool(false), ""},
		{Bool(true), "and", Bool(true), Bool(true), ""},
		{Bool(false), "or", Bool(true), Bool(true), ""},
		{Bool(false), "or", Bool(false), Bool(false), ""},
		{Bool(true), "and", Int(1), nil, "operator and needs two bools, not bool and int"},
		{String("x"), "or", Bool(true), nil, "operator or needs two bools, not string and bool"},
		// in
		{Int(2), "in", l12, Bool(true), ""},
		{Int(3), "in", l12, Bool(false), ""},
		{String("2"), "in", l12, Bool(false), ""},
		{Int(3), "not in", l12, Bool(true), ""},
		{List{Int(1)}, "in", List{List{Int(1)}}, Bool(true), ""},
		{String("port"), "in", r, Bool(true), ""},
		{String("nope"), "in", r, Bool(false), ""},
		{Int(1), "in", r, nil, "in a record, `in` looks for a field name (a string), not an int"},
		{String("eth"), "in", String("veth0"), Bool(true), ""},
		{String("x"), "in", String("veth0"), Bool(false), ""},
		{Int(1), "in", String("a1"), nil, "in a string, `in` looks for a substring, not an int"},
		{addr("10.50.3.4"), "in", prefix("10.50.0.0/16"), Bool(true), ""},
		{addr("10.51.0.0"), "in", prefix("10.50.0.0/16"), Bool(false), ""},
		{addr("10.50.3.4"), "in", prefix("10.50.0.1/16"), Bool(true), ""},
		{addr("2001:db8::5"), "in", prefix("2001:db8::/32"), Bool(true), ""},
		{addr("fe80::1%eth0"), "in", prefix("fe80::/64"), Bool(true), ""},
		{addr("10.0.0.1"), "in", prefix("::/0"), Bool(false), ""},
		{addr("10.0.0.1"), "not in", prefix("10.0.0.0/8"), Bool(false), ""},
		{prefix("10.50.1.0/24"), "in", prefix("10.50.0.0/16"), Bool(true), ""},
		{prefix("10.0.0.0/8"), "in", prefix("10.50.0.0/16"), Bool(false), ""},
		{prefix("10.50.0.0/16"), "in", prefix("10.50.0.0/16"), Bool(true), ""},
		{String("10.0.0.1"), "in", prefix("10.0.0.0/8"), nil, "in a prefix, `in` looks for an address or a prefix, not a string"},
		{Int(1), "in", Int(1), nil, "`in` needs a list, record, string or prefix on its right, not an int"},
		// operators that do not exist
		{Int(1), "%", Int(2), nil, "unknown operator %"},
		{nil, "+", Int(2), nil, "operator + is missing an operand"},
	}
	for _, tt := range tests {
		got, err := Binary(tt.op, tt.x, tt.y)
		name := fmt.Sprintf("%s %s %s", Repr(orNil(tt.x)), tt.op, Repr(orNil(tt.y)))
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
			continue
		}
		if got.Type() != tt.want.Type() || !Equal(got, tt.want) {
			t.Errorf("%s = %s %v, want %s %v", name, got.Type(), got, tt.want.Type(), tt.want)
		}
	}
}

func orNil(v Value) Value {
	if v == nil {
		return String("<nil>")
	}
	return v
}

// List + List does not alias its operands.
func TestListConcatFresh(t *testing.T) {
	a := make(List, 1, 10)
	a[0] = Int(1)
	x, _ := Binary("+", a, List{Int(2)})
	y, _ := Binary("+", a, List{Int(3)})
	if !Equal(x, List{Int(1), Int(2)}) || !Equal(y, List{Int(1), Int(3)}) {
		t.Fatalf("aliasing: x=%v y=%v", x, y)
	}
}

func TestUnary(t *testing.T) {
	tests := []struct {
		op   string
		x    Value
		want Value
		err  string
	}{
		{"not", Bool(true), Bool(false), ""},
		{"not", Bool(false), Bool(true), ""},
		{"not", Int(0), nil, "operator not needs a bool, not an int"},
		{"-", Int(3), Int(-3), ""},
		{"-", Int(math.MinInt64), nil, "int overflow: -(-9223372036854775808)"},
		{"-", Duration(time.Second), Duration(-time.Second), ""},
		{"-", String("a"), nil, "operator - needs an int or a duration, not a string"},
		{"+", Int(1), nil, "unknown operator +"},
	}
	for _, tt := range tests {
		got, err := Unary(tt.op, tt.x)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s %v: error %v, want %q", tt.op, tt.x, err, tt.err)
			}
			continue
		}
		if err != nil || !Equal(got, tt.want) {
			t.Errorf("%s %v = %v, %v; want %v", tt.op, tt.x, got, err, tt.want)
		}
	}
}

func TestTruth(t *testing.T) {
	if b, err := Truth(Bool(true)); !b || err != nil {
		t.Errorf("Truth(true) = %v, %v", b, err)
	}
	if b, err := Truth(Bool(false)); b || err != nil {
		t.Errorf("Truth(false) = %v, %v", b, err)
	}
	for v, want := range map[Value]string{
		Int(1):      "a condition must be a bool, not an int (compare it: == != < > ...)",
		String(""):  "a condition must be a bool, not a string (compare it: == != < > ...)",
		addr("::1"): "a condition must be a bool, not an address (compare it: == != < > ...)",
		testKey:     "a condition must be a bool, not a key (compare it: == != < > ...)",
	} {
		if _, err := Truth(v); err == nil || err.Error() != want {
			t.Errorf("Truth(%s) error = %v, want %q", v.Type(), err, want)
		}
	}
}

func TestIndexField(t *testing.T) {
	l := List{String("a"), String("b"), String("c")}
	r := rec("name", String("x"), "port", Int(51820), "endpoint", String("192.0.2.1:51820"))
	tests := []struct {
		x    Value
		i    Value
		want Value
		err  string
	}{
		{l, Int(0), String("a"), ""},
		{l, Int(2), String("c"), ""},
		{l, Int(3), nil, "list index 3 out of range: the list has 3 elements (0 to 2)"},
		{List{Int(1)}, Int(1), nil, "list index 1 out of range: the list has 1 element (0 to 0)"},
		{List{}, Int(0), nil, "list index 0 out of range: the list is empty"},
		{l, Int(-1), nil, "list index -1 is negative (indices count from 0)"},
		{l, String("0"), nil, "a list index must be an int, not a string"},
		{r, String("port"), Int(51820), ""},
		{r, String("prot"), nil, `record has no field "prot" (did you mean "port"?)`},
		{r, Int(0), nil, "a record index must be a field name (a string), not an int"},
		{String("abc"), Int(0), nil, "cannot index a string (only lists and records)"},
		{Int(1), Int(0), nil, "cannot index an int (only lists and records)"},
	}
	for _, tt := range tests {
		got, err := Index(tt.x, tt.i)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%v[%v]: error %v, want %q", tt.x, Repr(tt.i), err, tt.err)
			}
			continue
		}
		if err != nil || !Equal(got, tt.want) {
			t.Errorf("%v[%v] = %v, %v; want %v", tt.x, Repr(tt.i), got, err, tt.want)
		}
	}

	fields := []struct {
		x    Value
		name string
		want Value
		err  string
	}{
		{r, "name", String("x"), ""},
		{r, "endpoint", String("192.0.2.1:51820"), ""},
		{r, "nmae", nil, `record has no field "nmae" (did you mean "name"?)`},
		{r, "endpiont", nil, `record has no field "endpiont" (did you mean "endpoint"?)`},
		{r, "zzzzzz", nil, `record has no field "zzzzzz" (it has: name, port, endpoint)`},
		{rec(), "x", nil, `record has no field "x"`},
		{l, "name", nil, "a list has no fields (.name needs a record)"},
		{Int(1), "x", nil, "an int has no fields (.x needs a record)"},
	}
	for _, tt := range fields {
		got, err := Field(tt.x, tt.name)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%v.%s: error %v, want %q", tt.x, tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || !Equal(got, tt.want) {
			t.Errorf("%v.%s = %v, %v; want %v", tt.x, tt.name, got, err, tt.want)
		}
	}
}

func TestNewRecord(t *testing.T) {
	r, err := NewRecord(RecordField{"b", Int(1)}, RecordField{"a", Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "b,a" {
		t.Errorf("field order %s, want b,a", got)
	}
	fs := r.Fields()
	fs[0].Value = Int(99) // a copy: the record is unchanged
	if v, _ := r.Get("b"); !Equal(v, Int(1)) {
		t.Errorf("Fields() aliases the record")
	}
	if _, err := NewRecord(RecordField{"a", Int(1)}, RecordField{"a", Int(2)}); err == nil || err.Error() != `field "a" given twice in a record` {
		t.Errorf("duplicate field: %v", err)
	}
	if _, err := NewRecord(RecordField{"a", nil}); err == nil || err.Error() != `field "a" has no value` {
		t.Errorf("nil field: %v", err)
	}
}

func TestAsText(t *testing.T) {
	tests := []struct {
		v    Value
		want string
		err  string
	}{
		{String("eth0"), "eth0", ""},
		{Int(-42), "-42", ""},
		{FromWord("0x10"), "16", ""},
		{Bool(false), "false", ""},
		{addr("2001:DB8:0:0::1"), "2001:db8::1", ""},
		{prefix("10.0.0.1/24"), "10.0.0.1/24", ""},
		{mac("AA:BB:CC:DD:EE:FF"), "aa:bb:cc:dd:ee:ff", ""},
		{Duration(25 * time.Second), "25s", ""},
		{List{String("a"), Int(1)}, `["a", 1]`, ""},
		{rec("a", Int(1)), "{a: 1}", ""},
		{testKey, "", "a key cannot be interpolated; use string($k) to reveal it deliberately"},
		{List{Int(1), testKey}, "", "a list holding a key cannot be interpolated; use string(...) on the key to reveal it deliberately"},
		{rec("k", List{testKey}), "", "a record holding a key cannot be interpolated; use string(...) on the key to reveal it deliberately"},
		{nil, "", "no value to interpolate"},
	}
	for _, tt := range tests {
		got, err := AsText(tt.v)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("AsText(%v): error %v, want %q", tt.v, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("AsText(%v) = %q, %v; want %q", tt.v, got, err, tt.want)
		}
	}
}

func TestTextInString(t *testing.T) {
	for _, tt := range []struct {
		v    Value
		want string
	}{
		{String("a"), "a"},
		{Int(3), "3"},
		{addr("10.0.0.1"), "10.0.0.1"},
		{testKey, "(key)"},
		{List{String("a"), testKey}, `["a", (key)]`},
		{nil, ""},
	} {
		if got := TextInString(tt.v); got != tt.want {
			t.Errorf("TextInString(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestAsKey(t *testing.T) {
	b64 := testKey.Base64()
	for _, v := range []Value{testKey, String(b64), String(b64 + "\n"), String("  " + b64 + "\r\n")} {
		k, err := AsKey(v)
		if err != nil || k != testKey.Key {
			t.Errorf("AsKey(%s) = %v, %v", v.Type(), k.Base64(), err)
		}
	}
	bad := b64[:43] // one character short: a secret-looking string
	_, err := AsKey(String(bad))
	if err == nil || err.Error() != "string is not a WireGuard key (want 44 characters of base64, as wg genkey writes)" {
		t.Errorf("AsKey(bad) error = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), bad[:10]) {
		t.Errorf("AsKey error echoes the string: %v", err)
	}
	if _, err := AsKey(Int(1)); err == nil || err.Error() != "want a key, not an int" {
		t.Errorf("AsKey(int) error = %v", err)
	}
	if _, err := AsKey(nil); err == nil || err.Error() != "want a key, not no value" {
		t.Errorf("AsKey(nil) error = %v", err)
	}
}

func TestAsIntDuration(t *testing.T) {
	if n, err := AsInt(Int(5)); n != 5 || err != nil {
		t.Errorf("AsInt(5) = %d, %v", n, err)
	}
	if _, err := AsInt(String("5")); err == nil || err.Error() != "want an int, not a string" {
		t.Errorf("AsInt(string) error = %v", err)
	}
	if d, err := AsDuration(Int(25)); d != 25*time.Second || err != nil {
		t.Errorf("AsDuration(25) = %v, %v", d, err)
	}
	if d, err := AsDuration(Duration(time.Minute)); d != time.Minute || err != nil {
		t.Errorf("AsDuration(1m) = %v, %v", d, err)
	}
	if _, err := AsDuration(Int(math.MaxInt64)); err == nil || err.Error() != "9223372036854775807 seconds is too long for a duration" {
		t.Errorf("AsDuration(huge) error = %v", err)
	}
	if _, err := AsDuration(Bool(true)); err == nil || err.Error() != "want a duration, not a bool" {
		t.Errorf("AsDuration(bool) error = %v", err)
	}
}

func TestParseInt(t *testing.T) {
	for s, want := range map[string]int64{"42": 42, "-42": -42, "0x1f": 31, " 7\n": 7, "0": 0} {
		if n, err := ParseInt(s); n != want || err != nil {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for s, want := range map[string]string{
		"abc":                  `"abc" is not an int (want decimal digits or 0x and hex digits)`,
		"1.5":                  `"1.5" is not an int (want decimal digits or 0x and hex digits)`,
		"":                     `"" is not an int (want decimal digits or 0x and hex digits)`,
		"0b1":                  `"0b1" is not an int (want decimal digits or 0x and hex digits)`,
		"99999999999999999999": "99999999999999999999 is too large for an int (64 bits)",
	} {
		if _, err := ParseInt(s); err == nil || err.Error() != want {
			t.Errorf("ParseInt(%q) error = %v, want %q", s, err, want)
		}
	}
}

// TestArithAgreesWithLang: Binary takes exactly the operands
// lang.ArithType (the checker's table) allows, with the result type it
// names.
func TestArithAgreesWithLang(t *testing.T) {
	samples := []Value{
		String("a"), Int(3), Bool(true), FromWord("10.0.0.1"), FromWord("10.0.0.0/8"),
		FromWord("30s"), FromWord("aa:bb:cc:dd:ee:ff"), List{Int(1)},
	}
	for _, op := range []string{"+", "-", "*", "/"} {
		for _, x := range samples {
			for _, y := range samples {
				want, ok := lang.ArithType(op, string(x.Type()), string(y.Type()))
				v, err := Binary(op, x, y)
				if ok != (err == nil) {
					t.Errorf("%s %s %s: lang says %v, Binary %v, %v", x.Type(), op, y.Type(), ok, v, err)
					continue
				}
				if ok && string(v.Type()) != want {
					t.Errorf("%s %s %s: %s, lang says %s", x.Type(), op, y.Type(), v.Type(), want)
				}
			}
		}
	}
	if v, err := Binary("+", FromWord("30s"), FromWord("1m30s")); err != nil || v.String() != "2m" {
		t.Errorf("30s + 1m30s = %v, %v", v, err)
	}
	if v, err := Binary("*", Int(2), FromWord("30s")); err != nil || v.String() != "1m" {
		t.Errorf("2 * 30s = %v, %v", v, err)
	}
}

// TestSizeLimits: + refuses to build a string or list beyond the limits.
func TestSizeLimits(t *testing.T) {
	big := String(strings.Repeat("a", MaxStringLen/2+1))
	if _, err := Binary("+", big, big); err == nil || !strings.HasPrefix(err.Error(), "string too long") {
		t.Errorf("string: %v", err)
	}
	l := make(List, MaxListLen/2+1)
	for i := range l {
		l[i] = Int(0)
	}
	if _, err := Binary("+", l, l); err == nil || !strings.HasPrefix(err.Error(), "list too long") {
		t.Errorf("list: %v", err)
	}
	if v, err := Binary("+", String("a"), String("b")); err != nil || v != String("ab") {
		t.Errorf("a + b = %v, %v", v, err)
	}
}
