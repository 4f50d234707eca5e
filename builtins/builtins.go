// Package builtins holds the functions a nets recipe can call:
// genkey, genpsk, pubkey, readkey, writekey, loadkey, env, range, len,
// host, subnet, string, int, has_link and has_netns.
//
// The set is an explicit table (Table, Lookup), not init() registration:
// what a recipe can call is exactly what this file lists. Each Builtin
// carries its arity (for the static checker, see Arities) and its
// documentation (Doc, which the REPL's help prints).
//
// Builtins reach the outside world only through an Env, which the
// evaluator implements: environment variables, the live namespace's
// links and namespaces, the recipe's directory for key files, and the
// key files themselves (so that the evaluator can make writing them part
// of the run's transaction, see KeyWrites).
// StaticEnv is a fixed Env for tests and embedders.
//
// Argument unpacking follows starlark-go's UnpackArgs: a builtin names
// its parameters and the Go variables to fill, and a mismatch is an
// error such as "pubkey: argument 1 must be key, not int".
package builtins

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// Env is what builtins need from outside the language. The evaluator
// implements it; embedders may wrap it (to override Getenv, say).
type Env interface {
	// Getenv returns the environment variable's value and whether it is
	// set (env(NAME)).
	Getenv(name string) (string, bool)
	// HasLink reports whether a link of that name exists in the
	// evaluator's current namespace (has_link(NAME)).
	HasLink(name string) (bool, error)
	// HasNetns reports whether a named network namespace exists
	// (has_netns(NAME)).
	HasNetns(name string) (bool, error)
	// BaseDir is the directory relative paths given to readkey,
	// writekey and loadkey are resolved against: the directory of the
	// recipe file that makes the call.
	BaseDir() string
	// ReadKey returns the key in the key file at path (already resolved
	// against BaseDir), for readkey and loadkey: normally ReadKeyFile,
	// but an Env that defers writes (see KeyWrites) returns the key a
	// write of this run left pending for path. A missing file is an
	// error that errors.Is(err, fs.ErrNotExist) recognises.
	ReadKey(path string) (kernel.Key, error)
	// WriteKey makes the key file at path (already resolved) hold k, for
	// writekey and loadkey. The evaluator defers the write to the commit
	// of the run (KeyWrites), or in plans does not write at all; an Env
	// without transactions (StaticEnv) calls WriteKeyFile at once.
	WriteKey(path string, k kernel.Key) error
}

// Builtin is one recipe function.
type Builtin struct {
	// Name is what recipes call it by.
	Name string
	// Params is the parameter list as help prints it, optional ones in
	// brackets: "NAME[, DEFAULT]".
	Params string
	// Min and Max bound the number of arguments.
	Min, Max int
	// Doc is the help text: what it does, what it returns, its errors.
	Doc string
	// Fn does the work. The evaluator calls it through Call, which has
	// already checked the argument count. Its errors are complete
	// messages that name the builtin ("readkey: ...").
	Fn func(env Env, args []value.Value) (value.Value, error)
}

// Usage returns the call form, e.g. "env(NAME[, DEFAULT])".
func (b *Builtin) Usage() string { return b.Name + "(" + b.Params + ")" }

// Call checks the argument count and calls Fn. A panic inside Fn (a bug,
// never expected) is turned into an error rather than crashing a run
// half-way through its transaction.
func (b *Builtin) Call(env Env, args []value.Value) (v value.Value, err error) {
	if err := b.checkArity(len(args)); err != nil {
		return nil, err
	}
	for i, a := range args {
		if a == nil {
			return nil, fmt.Errorf("%s: argument %d has no value", b.Name, i+1)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: internal error: %v", b.Name, r)
		}
	}()
	v, err = b.Fn(env, args)
	if err == nil && v == nil {
		return nil, fmt.Errorf("%s: internal error: no result", b.Name)
	}
	return v, err
}

func (b *Builtin) checkArity(n int) error {
	if n >= b.Min && n <= b.Max {
		return nil
	}
	var want string
	switch {
	case b.Max == 0:
		want = "takes no arguments"
	case b.Min == b.Max:
		want = fmt.Sprintf("takes %d argument%s", b.Min, plural(b.Min))
	case n < b.Min:
		want = fmt.Sprintf("takes at least %d argument%s", b.Min, plural(b.Min))
	default:
		want = fmt.Sprintf("takes at most %d argument%s", b.Max, plural(b.Max))
	}
	return fmt.Errorf("%s: %s (%s), got %d", b.Name, want, b.Usage(), n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// table is built once; Table returns copies so callers cannot change it.
var table = func() map[string]*Builtin {
	m := make(map[string]*Builtin)
	for _, b := range []*Builtin{
		genkeyBuiltin, genpskBuiltin, pubkeyBuiltin, readkeyBuiltin, writekeyBuiltin, loadkeyBuiltin,
		envBuiltin, rangeBuiltin, lenBuiltin, hostBuiltin, subnetBuiltin,
		stringBuiltin, intBuiltin, hasLinkBuiltin, hasNetnsBuiltin,
	} {
		m[b.Name] = b
	}
	return m
}()

// Table returns every builtin by name. The map is the caller's own; the
// Builtins in it are shared and must not be modified.
func Table() map[string]*Builtin {
	m := make(map[string]*Builtin, len(table))
	for k, v := range table {
		m[k] = v
	}
	return m
}

// Lookup returns the named builtin, or nil and false.
func Lookup(name string) (*Builtin, bool) {
	b, ok := table[name]
	return b, ok
}

// Names returns the builtins' names, sorted.
func Names() []string {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Arities returns each builtin's minimum and maximum argument count, for
// the static checker: Arities()["env"] is [2]int{1, 2}.
func Arities() map[string][2]int {
	m := make(map[string][2]int, len(table))
	for n, b := range table {
		m[n] = [2]int{b.Min, b.Max}
	}
	return m
}

// Call looks up a builtin by name and calls it.
func Call(env Env, name string, args []value.Value) (value.Value, error) {
	b, ok := table[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %s (builtins: %s)", name, strings.Join(Names(), ", "))
	}
	return b.Call(env, args)
}

// Help returns the help text for one builtin: its usage line and Doc.
func (b *Builtin) Help() string {
	return b.Usage() + "\n" + indent(b.Doc)
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n")
}
