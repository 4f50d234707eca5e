package builtins

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nets-lang/nets/eval/value"
)

// env(NAME[, DEFAULT]) reads an environment variable.
var envBuiltin = &Builtin{
	Name:   "env",
	Params: "NAME[, DEFAULT]",
	Min:    1, Max: 2,
	Doc: `Returns the environment variable NAME. Without DEFAULT an unset
variable is an error; with one, DEFAULT is returned when NAME is unset.
The result is a string, unless DEFAULT is of another type: then a set
variable must hold a value of DEFAULT's type (env("PORT", 51820) is an
int either way; env("LAN", 10.0.0.0/24) a prefix). The variable's value
is never shown in errors.
Example: let uplink = env("UPLINK", "eth1")`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var name string
		var def value.Value
		if err := UnpackArgs("env", args, "NAME", &name, "DEFAULT?", &def); err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("env: the variable name is empty")
		}
		if def != nil {
			switch def.Type() {
			case value.TList, value.TRecord:
				return nil, fmt.Errorf("env: DEFAULT must be a single value, not a %s", def.Type())
			}
		}
		s, ok := env.Getenv(name)
		if !ok {
			if def != nil {
				return def, nil
			}
			return nil, fmt.Errorf("env: %s is not set (give a default: env(%q, \"...\"))", name, name)
		}
		if def == nil || def.Type() == value.TString {
			return value.String(s), nil
		}
		want := def.Type()
		if want == value.TKey {
			k, err := value.AsKey(value.String(s))
			if err != nil {
				return nil, fmt.Errorf("env: %s does not hold a WireGuard key (want 44 characters of base64), and its default is a key", name)
			}
			return value.Key{Key: k}, nil
		}
		v, err := value.ParseWord(strings.TrimSpace(s))
		if err != nil || v.Type() != want {
			return nil, fmt.Errorf("env: %s does not hold %s %s, the type of its default", name, article(want), want)
		}
		return v, nil
	},
}

func article(t value.Type) string {
	switch t {
	case value.TInt, value.TAddress:
		return "an"
	}
	return "a"
}

// maxRange bounds range()'s list: a recipe that asks for more is a
// mistake, and building it would exhaust memory.
const maxRange = 1 << 20

// range(N), range(A, B), range(A, B, STEP), as in Python.
var rangeBuiltin = &Builtin{
	Name:   "range",
	Params: "[A, ]B[, STEP]",
	Min:    1, Max: 3,
	Doc: `Returns a list of ints as Python's range does: range(B) is 0 to B-1,
range(A, B) is A to B-1, range(A, B, STEP) counts by STEP (negative
STEP counts down, range(3, 0, -1) is [3, 2, 1]; 0 is an error). An empty
range is an empty list. At most 1048576 elements.
Example: for $i in range(0, 4) < link veth-${i} type veth peer vpeer-${i} >`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var a, b, step int64 = 0, 0, 1
		var err error
		switch len(args) {
		case 1:
			err = UnpackArgs("range", args, "B", &b)
		default:
			err = UnpackArgs("range", args, "A", &a, "B", &b, "STEP?", &step)
		}
		if err != nil {
			return nil, err
		}
		if step == 0 {
			return nil, fmt.Errorf("range: STEP must not be 0")
		}
		// Count in uint64: b-a may not fit an int64, but the true
		// difference of two int64s always fits a uint64.
		var n uint64
		switch {
		case step > 0 && a < b:
			n = (uint64(b)-uint64(a)-1)/uint64(step) + 1
		case step < 0 && a > b:
			n = (uint64(a)-uint64(b)-1)/uint64(-step) + 1
		}
		if n > maxRange {
			return nil, fmt.Errorf("range: %d elements is too many (at most %d)", n, maxRange)
		}
		l := make(value.List, n)
		for i := range l {
			l[i] = value.Int(a + int64(i)*step)
		}
		return l, nil
	},
}

// len(X): characters of a string, elements of a list, fields of a record.
var lenBuiltin = &Builtin{
	Name:   "len",
	Params: "X",
	Min:    1, Max: 1,
	Doc: `Returns the length of X: the number of characters (Unicode code
points) of a string, elements of a list, or fields of a record.`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		switch x := args[0].(type) {
		case value.String:
			return value.Int(utf8.RuneCountInString(string(x))), nil
		case value.List:
			return value.Int(len(x)), nil
		case value.Record:
			return value.Int(x.Len()), nil
		}
		return nil, fmt.Errorf("len: argument 1 must be string, list or record, not %s", args[0].Type())
	}}

// string(X) converts to a string; the one way to reveal a key.
var stringBuiltin = &Builtin{
	Name:   "string",
	Params: "X",
	Min:    1, Max: 1,
	Doc: `Returns X as a string: a key as its base64 (as wg(8) writes it —
this is the one way to reveal a key, so use it with care), an int in
decimal, an address or prefix in canonical form, a duration as 30s, a
list or record in its printed form (keys inside still print as (key)).
Example: print "public key: ${string(pubkey($k))}"`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		switch x := args[0].(type) {
		case value.Key:
			return value.String(x.Base64()), nil
		case value.String:
			return x, nil
		}
		return value.String(args[0].String()), nil
	},
}

// int(X) converts to an int.
var intBuiltin = &Builtin{
	Name:   "int",
	Params: "X",
	Min:    1, Max: 1,
	Doc: `Returns X as an int: an int as it is; a string of decimal digits
or 0x and hex digits, with an optional leading minus and surrounding
white space, as its value. Anything else is an error.
Example: let port = int(env("PORT", "51820"))`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		switch x := args[0].(type) {
		case value.Int:
			return x, nil
		case value.String:
			n, err := value.ParseInt(string(x))
			if err != nil {
				return nil, fmt.Errorf("int: %v", err)
			}
			return value.Int(n), nil
		}
		return nil, fmt.Errorf("int: argument 1 must be string or int, not %s", args[0].Type())
	},
}

// has_link(NAME) asks the live state whether a link exists.
var hasLinkBuiltin = &Builtin{
	Name:   "has_link",
	Params: "NAME",
	Min:    1, Max: 1,
	Doc: `Reports whether a link named NAME exists in the current namespace
(the one an enclosing "in netns" block selects), in the live state as
the run has changed it so far.
Example: if has_link("eth1") < route default via 192.0.2.1 dev eth1 table 100 >`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var name string
		if err := UnpackArgs("has_link", args, "NAME", &name); err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("has_link: the link name is empty")
		}
		ok, err := env.HasLink(name)
		if err != nil {
			return nil, fmt.Errorf("has_link: %v", err)
		}
		return value.Bool(ok), nil
	},
}

// has_netns(NAME) asks the live state whether a named namespace exists.
var hasNetnsBuiltin = &Builtin{
	Name:   "has_netns",
	Params: "NAME",
	Min:    1, Max: 1,
	Doc: `Reports whether a named network namespace NAME exists (as ip netns
list shows it), in the live state as the run has changed it so far.
Example: if not has_netns("lab") < netns lab >`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var name string
		if err := UnpackArgs("has_netns", args, "NAME", &name); err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("has_netns: the namespace name is empty")
		}
		ok, err := env.HasNetns(name)
		if err != nil {
			return nil, fmt.Errorf("has_netns: %v", err)
		}
		return value.Bool(ok), nil
	},
}
