package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nets-lang/nets/eval/value"
)

// newFlags returns a FlagSet for command name that reports errors to
// its caller instead of printing them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("nets "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args against fs with flags allowed before and after
// the positional arguments (`nets run -n lab x.nets --json` and `nets run
// x.nets -n lab --json` are the same). The flag package stops at the
// first non-flag argument, so this parses, takes that argument as a
// positional, and parses the rest again. "--" ends the flags: everything
// after it is positional. A lone "-" (stdin) is a positional.
//
// It returns flag.ErrHelp for -h/--help.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errors.New(flagError(err))
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" && !takesValue(fs, args, consumed-2) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// takesValue reports whether args[i] is a flag that consumed the next
// argument as its value (so a "--" after it is a value, not the end of
// the flags).
func takesValue(fs *flag.FlagSet, args []string, i int) bool {
	if i < 0 || !strings.HasPrefix(args[i], "-") || strings.Contains(args[i], "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(args[i], "-"))
	if f == nil {
		return false
	}
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !(ok && bf.IsBoolFlag())
}

// flagError shortens the flag package's messages to one line.
func flagError(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// flagName prints a flag as users type it: -n for one letter, --json
// for longer names (Go's flag package accepts both spellings).
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// formatFlags renders fs's flags for help texts, in the order given
// (names not in fs are skipped): "  --wait DURATION   text (default 5s)".
func formatFlags(fs *flag.FlagSet, order []string) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	for _, name := range order {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		arg, usage := flag.UnquoteUsage(f)
		left := flagName(f.Name)
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool && arg != "" {
			left += " " + strings.ToUpper(arg)
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.left, r.usage)
	}
	return b.String()
}

// varsFlag collects repeated `--var NAME=VALUE` flags.
type varsFlag struct {
	names  []string
	values map[string]string
}

func (v *varsFlag) String() string { return "" }

func (v *varsFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	name = strings.TrimPrefix(name, "$")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	if !isVarName(name) {
		return fmt.Errorf("%q is not a variable name (a letter or _, then letters, digits or _, as in $uplink)", name)
	}
	if _, dup := v.values[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	if v.values == nil {
		v.values = map[string]string{}
	}
	v.names = append(v.names, name)
	v.values[name] = val
	return nil
}

// isVarName reports whether s is a name a recipe can write as $s (the
// lexer's rule: [A-Za-z_][A-Za-z0-9_]*). A --var that is not could never
// be referenced.
func isVarName(s string) bool {
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// valueMap returns the variables as recipe values, each typed by its
// shape like a word in an expression (value.FromWord): 3 is an int,
// 10.0.0.1 an address, eth0 a string.
func (v *varsFlag) valueMap() map[string]value.Value {
	m := map[string]value.Value{}
	for _, n := range v.names {
		m[n] = value.FromWord(v.values[n])
	}
	return m
}

// durationFlag is a time.Duration flag that refuses negative values,
// and with positive also 0.
type durationFlag struct {
	d        *time.Duration
	positive bool
}

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", s)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	if d == 0 && f.positive {
		return fmt.Errorf("the duration must be more than 0")
	}
	*f.d = d
	return nil
}
