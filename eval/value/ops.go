package value

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Binary applies a binary operator to two evaluated operands.
//
//   - - * /            ints (overflow and division by zero are errors;
//     / truncates toward zero); durations: d+d, d-d,
//     d*n, n*d, d/n
//   - strings (concatenation), lists (a new list)
//     == !=              any two values of the same type
//     < <= > >=          ints, strings (byte order), durations, addresses
//     of the same family
//     and or             bools; the evaluator should short-circuit before
//     calling Binary, which sees both operands evaluated
//     in, not in         element in list, field name in record, substring
//     in string, address in prefix, prefix within prefix
//
// Operands of different types are an error for every operator (==
// included: comparing an int with a string is a mistake worth reporting),
// except that `in` on a list compares with each element and simply finds
// no match among elements of other types.
func Binary(op string, x, y Value) (Value, error) {
	if x == nil || y == nil {
		return nil, fmt.Errorf("operator %s is missing an operand", op)
	}
	switch op {
	case "+", "-", "*", "/":
		return arith(op, x, y)
	case "==", "!=":
		if x.Type() != y.Type() {
			return nil, fmt.Errorf("cannot compare %s with %s", x.Type(), y.Type())
		}
		eq := Equal(x, y)
		return Bool(eq == (op == "==")), nil
	case "<", "<=", ">", ">=":
		c, err := order(op, x, y)
		if err != nil {
			return nil, err
		}
		switch op {
		case "<":
			return Bool(c < 0), nil
		case "<=":
			return Bool(c <= 0), nil
		case ">":
			return Bool(c > 0), nil
		default:
			return Bool(c >= 0), nil
		}
	case "and", "or":
		a, aok := x.(Bool)
		b, bok := y.(Bool)
		if !aok || !bok {
			return nil, fmt.Errorf("operator %s needs two bools, not %s and %s", op, x.Type(), y.Type())
		}
		if op == "and" {
			return a && b, nil
		}
		return a || b, nil
	case "in", "not in":
		in, err := contains(y, x)
		if err != nil {
			return nil, err
		}
		return Bool(in == (op == "in")), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func arith(op string, x, y Value) (Value, error) {
	// lang.ArithType is the one table of which operands an operator
	// takes (the checker uses it on literals); what follows computes.
	if _, ok := lang.ArithType(op, string(x.Type()), string(y.Type())); !ok {
		return nil, arithError(op, x, y)
	}
	switch a := x.(type) {
	case Int:
		switch b := y.(type) {
		case Int:
			n, err := intOp(op, int64(a), int64(b))
			return Int(n), err
		case Duration:
			if op == "*" {
				n, err := intOp(op, int64(a), int64(b))
				if err != nil {
					return nil, fmt.Errorf("duration overflows: %d * %s", a, b)
				}
				return Duration(n), nil
			}
		}
	case Duration:
		switch b := y.(type) {
		case Duration:
			if op == "+" || op == "-" {
				n, err := intOp(op, int64(a), int64(b))
				if err != nil {
					return nil, fmt.Errorf("duration overflows: %s %s %s", a, op, b)
				}
				return Duration(n), nil
			}
		case Int:
			if op == "*" || op == "/" {
				n, err := intOp(op, int64(a), int64(b))
				if err != nil {
					if b == 0 {
						return nil, err
					}
					return nil, fmt.Errorf("duration overflows: %s %s %d", a, op, b)
				}
				return Duration(n), nil
			}
		}
	case String:
		if b, ok := y.(String); ok && op == "+" {
			if err := CheckLen(len(a) + len(b)); err != nil {
				return nil, err
			}
			return a + b, nil
		}
	case List:
		if b, ok := y.(List); ok && op == "+" {
			if n := len(a) + len(b); n > MaxListLen {
				return nil, fmt.Errorf("list too long: %d elements (at most %d)", n, MaxListLen)
			}
			l := make(List, 0, len(a)+len(b))
			return append(append(l, a...), b...), nil
		}
	}
	return nil, arithError(op, x, y)
}

// arithError is the error of an operator applied to operands it does
// not take.
func arithError(op string, x, y Value) error {
	hint := ""
	if op == "+" && x.Type() != y.Type() && (x.Type() == TString || y.Type() == TString) {
		hint = ` (convert with string(...) first, or interpolate: "${...}")`
	}
	return fmt.Errorf("cannot apply %s to %s and %s%s", op, x.Type(), y.Type(), hint)
}

// MaxStringLen and MaxListLen bound what + builds (and the evaluator's
// interpolation): a recipe that doubles a string in a loop must fail with
// a message, not take the machine's memory. range() has the same bound
// as lists.
const (
	MaxStringLen = 16 << 20
	MaxListLen   = 1 << 20
)

// CheckLen returns an error when a string of n bytes would exceed
// MaxStringLen.
func CheckLen(n int) error {
	if n > MaxStringLen {
		return fmt.Errorf("string too long: %d bytes (at most %d MiB)", n, MaxStringLen>>20)
	}
	return nil
}

// intOp does checked 64-bit arithmetic.
func intOp(op string, a, b int64) (int64, error) {
	switch op {
	case "+":
		r := a + b
		if (a > 0 && b > 0 && r < 0) || (a < 0 && b < 0 && r >= 0) {
			return 0, fmt.Errorf("int overflow: %d + %d", a, b)
		}
		return r, nil
	case "-":
		r := a - b
		if (a >= 0 && b < 0 && r < 0) || (a < 0 && b > 0 && r >= 0) {
			return 0, fmt.Errorf("int overflow: %d - %d", a, b)
		}
		return r, nil
	case "*":
		if a == 0 || b == 0 {
			return 0, nil
		}
		r := a * b
		if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
			return 0, fmt.Errorf("int overflow: %d * %d", a, b)
		}
		return r, nil
	case "/":
		if b == 0 {
			return 0, fmt.Errorf("division by zero")
		}
		if a == math.MinInt64 && b == -1 {
			return 0, fmt.Errorf("int overflow: %d / %d", a, b)
		}
		return a / b, nil
	}
	return 0, fmt.Errorf("unknown operator %s", op)
}

// order compares two values for < <= > >=.
func order(op string, x, y Value) (int, error) {
	if x.Type() != y.Type() {
		return 0, fmt.Errorf("cannot compare %s with %s", x.Type(), y.Type())
	}
	switch a := x.(type) {
	case Int:
		return cmp3(a, y.(Int)), nil
	case Duration:
		return cmp3(a, y.(Duration)), nil
	case String:
		return strings.Compare(string(a), string(y.(String))), nil
	case Addr:
		b := y.(Addr)
		if a.Is4() != b.Is4() {
			return 0, fmt.Errorf("cannot order an IPv4 and an IPv6 address (%s %s %s)", a, op, b)
		}
		return a.Compare(b.Addr), nil
	}
	return 0, fmt.Errorf("operator %s is not defined on %s values (only == and != are)", op, x.Type())
}

func cmp3[T ~int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// contains implements `x in container`.
func contains(container, x Value) (bool, error) {
	switch c := container.(type) {
	case List:
		for _, e := range c {
			if e != nil && e.Type() == x.Type() && Equal(e, x) {
				return true, nil
			}
		}
		return false, nil
	case Record:
		s, ok := x.(String)
		if !ok {
			return false, fmt.Errorf("in a record, `in` looks for a field name (a string), not %s %s", article(x.Type()), x.Type())
		}
		_, found := c.Get(string(s))
		return found, nil
	case String:
		s, ok := x.(String)
		if !ok {
			return false, fmt.Errorf("in a string, `in` looks for a substring, not %s %s", article(x.Type()), x.Type())
		}
		return strings.Contains(string(c), string(s)), nil
	case Prefix:
		switch e := x.(type) {
		case Addr:
			return c.Contains(e.WithZone("")), nil
		case Prefix:
			// e lies within c: c's network contains e's network and e is
			// at least as long.
			return e.Bits() >= c.Bits() && c.Contains(e.Masked().Addr()), nil
		}
		return false, fmt.Errorf("in a prefix, `in` looks for an address or a prefix, not %s %s", article(x.Type()), x.Type())
	}
	return false, fmt.Errorf("`in` needs a list, record, string or prefix on its right, not %s %s", article(container.Type()), container.Type())
}

// Equal reports whether x and y are the same value: the same type and
// equal contents. Lists are equal element by element; records are equal
// when they have the same fields with equal values, in any order;
// prefixes compare address as written and length (10.0.0.1/24 is not
// 10.0.0.0/24).
func Equal(x, y Value) bool {
	if x == nil || y == nil || x.Type() != y.Type() {
		return false
	}
	switch a := x.(type) {
	case String, Int, Bool, Duration:
		return x == y
	case Addr:
		return a.Addr == y.(Addr).Addr
	case Prefix:
		return a.Prefix == y.(Prefix).Prefix
	case MAC:
		return bytes.Equal(a.HardwareAddr, y.(MAC).HardwareAddr)
	case Key:
		return a.Key == y.(Key).Key
	case List:
		b := y.(List)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case Record:
		b := y.(Record)
		if a.Len() != b.Len() {
			return false
		}
		for _, f := range a.fields {
			g, ok := b.Get(f.Name)
			if !ok || !Equal(f.Value, g) {
				return false
			}
		}
		return true
	}
	return false
}

// Unary applies a unary operator: `not` on a bool, `-` on an int or a
// duration.
func Unary(op string, x Value) (Value, error) {
	if x == nil {
		return nil, fmt.Errorf("operator %s is missing an operand", op)
	}
	switch op {
	case "not":
		if b, ok := x.(Bool); ok {
			return !b, nil
		}
		return nil, fmt.Errorf("operator not needs a bool, not %s %s", article(x.Type()), x.Type())
	case "-":
		switch n := x.(type) {
		case Int:
			if n == math.MinInt64 {
				return nil, fmt.Errorf("int overflow: -(%d)", n)
			}
			return -n, nil
		case Duration:
			if n == math.MinInt64 {
				return nil, fmt.Errorf("duration overflow: -(%s)", n)
			}
			return -n, nil
		}
		return nil, fmt.Errorf("operator - needs an int or a duration, not %s %s", article(x.Type()), x.Type())
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// Truth returns the value of a condition (if, assert, and, or, not).
// Only bools are conditions; anything else is an error naming the type
// found, so `if $n` with an int says so instead of guessing.
func Truth(v Value) (bool, error) {
	if b, ok := v.(Bool); ok {
		return bool(b), nil
	}
	return false, fmt.Errorf("a condition must be a bool, not %s (compare it: == != < > ...)", describe(v))
}

// Index returns x[i]: the i-th element of a list (from 0), or the field
// named i of a record.
func Index(x, i Value) (Value, error) {
	if x == nil || i == nil {
		return nil, fmt.Errorf("index is missing an operand")
	}
	switch c := x.(type) {
	case List:
		n, ok := i.(Int)
		if !ok {
			return nil, fmt.Errorf("a list index must be an int, not %s %s", article(i.Type()), i.Type())
		}
		if n < 0 {
			return nil, fmt.Errorf("list index %d is negative (indices count from 0)", n)
		}
		if n >= Int(len(c)) {
			if len(c) == 0 {
				return nil, fmt.Errorf("list index %d out of range: the list is empty", n)
			}
			return nil, fmt.Errorf("list index %d out of range: the list has %d element%s (0 to %d)", n, len(c), plural(len(c)), len(c)-1)
		}
		return c[n], nil
	case Record:
		s, ok := i.(String)
		if !ok {
			return nil, fmt.Errorf("a record index must be a field name (a string), not %s %s", article(i.Type()), i.Type())
		}
		return Field(x, string(s))
	}
	return nil, fmt.Errorf("cannot index %s %s (only lists and records)", article(x.Type()), x.Type())
}

// Field returns the named field of a record ($r.name). An unknown field
// is an error that suggests the closest known one.
func Field(x Value, name string) (Value, error) {
	r, ok := x.(Record)
	if !ok {
		return nil, fmt.Errorf("%s has no fields (.%s needs a record)", describe(x), name)
	}
	if v, ok := r.Get(name); ok {
		return v, nil
	}
	msg := fmt.Sprintf("record has no field %q", name)
	if s := suggest(name, r.Names()); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if r.Len() > 0 {
		msg += fmt.Sprintf(" (it has: %s)", strings.Join(r.Names(), ", "))
	}
	return nil, fmt.Errorf("%s", msg)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// suggest returns the candidate closest to name by edit distance, if one
// is close enough to be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := levenshtein(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1 + len(name)/3
	if bestD <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// AsText returns the text a value stands for when it is interpolated
// ("veth-${i}") or stands in a statement's argument position as a word:
// a string's own text, an int in decimal, a bool as true/false, an
// address or prefix in canonical form, a MAC as aa:bb:cc:dd:ee:ff, a
// duration as 30s / 1m30s, a list or record in its display form
// ([a, "b"], {k: 1}).
//
// A key is an error: "a key cannot be interpolated; use string($k)" — the
// only way to reveal a key is to ask for it. A list or record holding a key
// is the same error. Inside a quoted string use TextInString, which shows a
// key as "(key)" as the contract's print example needs.
func AsText(v Value) (string, error) {
	if v == nil {
		return "", fmt.Errorf("no value to interpolate")
	}
	if hasKey(v) {
		if v.Type() == TKey {
			return "", fmt.Errorf("a key cannot be interpolated; use string($k) to reveal it deliberately")
		}
		return "", fmt.Errorf("a %s holding a key cannot be interpolated; use string(...) on the key to reveal it deliberately", v.Type())
	}
	return v.String(), nil
}

// TextInString returns the text v contributes to a quoted string's
// ${...}: the same as AsText, except that a key (also inside a list or
// record) appears redacted as "(key)" instead of being an error. The
// contract says keys print as (key) everywhere but string($k), and its own
// example `print "peer key: ${pubkey($k)}"` must run; it prints
// "peer key: (key)". A bare word's ${...} (veth-${i}) uses AsText, where a
// key is surely a mistake.
func TextInString(v Value) string {
	if v == nil {
		return ""
	}
	return v.String()
}

func hasKey(v Value) bool {
	switch c := v.(type) {
	case Key:
		return true
	case List:
		for _, e := range c {
			if hasKey(e) {
				return true
			}
		}
	case Record:
		for _, f := range c.fields {
			if hasKey(f.Value) {
				return true
			}
		}
	}
	return false
}

// AsKey returns the WireGuard key v stands for: a key value, or a string
// holding a key in wg(8)'s base64 form (surrounding white space, such as
// the newline `wg genkey` writes, is ignored). The error never repeats the
// string, which may be a secret.
func AsKey(v Value) (kernel.Key, error) {
	switch k := v.(type) {
	case Key:
		return k.Key, nil
	case String:
		key, err := kernel.ParseKey(strings.TrimSpace(string(k)))
		if err != nil {
			return kernel.Key{}, fmt.Errorf("string is not a WireGuard key (want 44 characters of base64, as wg genkey writes)")
		}
		return key, nil
	}
	return kernel.Key{}, fmt.Errorf("want a key, not %s", describe(v))
}

// AsInt returns v as an int64 when it is an Int.
func AsInt(v Value) (int64, error) {
	if n, ok := v.(Int); ok {
		return int64(n), nil
	}
	return 0, fmt.Errorf("want an int, not %s", describe(v))
}

// AsDuration returns v as a duration: a Duration, or an Int counting
// seconds (persistent-keepalive 25 means 25s, as in wg(8)).
func AsDuration(v Value) (time.Duration, error) {
	switch d := v.(type) {
	case Duration:
		return time.Duration(d), nil
	case Int:
		if d > Int(math.MaxInt64/int64(time.Second)) || d < Int(math.MinInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%d seconds is too long for a duration", d)
		}
		return time.Duration(d) * time.Second, nil
	}
	return 0, fmt.Errorf("want a duration, not %s", describe(v))
}
