package eval

import (
	"context"
	"errors"
	"sort"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Load reads a recipe and checks it statically: it parses src (or, when
// src is nil, the file name, read through o.FS or the OS) and runs
// Check. The error is the parse or check lang.Diagnostics (render them
// with lang.RenderAll). Load and Run are all an embedder needs:
//
//	f, err := eval.Load("site.nets", nil, opts)
//	if err != nil { ... }
//	res, err := eval.Run(ctx, f, opts)
func Load(name string, src []byte, o Options) (*lang.File, error) {
	if src == nil {
		b, err := o.readFile(name)
		if err != nil {
			return nil, err
		}
		src = b
	}
	f, err := lang.Parse(name, src)
	if err != nil {
		return nil, err
	}
	if ds := Check(f, o); len(ds) > 0 {
		return f, ds
	}
	return f, nil
}

// Check runs lang.Check on f with what o provides: the names of
// o.Vars, includes read through o.FS (or the OS), and the routing table
// names of o.Tables (or /etc/iproute2/rt_tables) that f and its includes
// use.
func Check(f *lang.File, o Options) lang.Diagnostics {
	var vars []string
	for n := range o.Vars {
		vars = append(vars, n)
	}
	sort.Strings(vars)
	return check(f, o, vars, nil)
}

func check(f *lang.File, o Options, vars []string, funcs map[string]lang.Arity) lang.Diagnostics {
	return checkWith(f, o, vars, funcs, nil)
}

// checkWith checks f; declared are table names known by name (declared
// earlier in a session) that the checker sees besides those f uses.
func checkWith(f *lang.File, o Options, vars []string, funcs map[string]lang.Arity, declared []string) lang.Diagnostics {
	co := lang.CheckOptions{Vars: vars, ReadFile: o.readFile, Builtins: funcs}
	if names, err := tableNames(o); err == nil {
		co.Tables = knownTables(names)
		for _, n := range declared {
			if id, ok := names.ID(n); ok {
				co.Tables[n] = id
			}
		}
	}
	return lang.Check(f, co)
}

// knownTables returns the routing table names of names (rt_tables and
// the session's declarations) but the built-in ones, with their ids, for
// the checker, which cannot read a kernel.TableNames.
//
// It gives them all: rt_tables holds a handful of names, while finding
// the ones a recipe uses meant walking all of it (and its includes)
// before checking could start — a hundredth of a second for 100k routes.
// The names a recipe does not use change nothing but the hint for an
// unknown table, which may then suggest one of them.
func knownTables(names *kernel.TableNames) map[string]uint32 {
	out := map[string]uint32{}
	for name, id := range names.All() {
		if _, builtin := lang.BuiltinTables[name]; !builtin {
			out[name] = id
		}
	}
	return out
}

// Session evaluates recipes one after another with shared state: the
// variables and functions they define, the routing table names they
// declare, and the current namespace (a bare `in netns NAME` switches it
// for the following recipes). It is what a REPL needs: each line is a
// recipe, and each Run is its own transaction. A Session is not safe for
// concurrent use.
type Session struct {
	o     Options
	scope *scope
	names *kernel.TableNames
	ns    string
	// declared are the table names earlier recipes declared, for the
	// checker (its did-you-mean on an unknown table).
	declared []string
}

// NewSession starts a session with o (o.Vars and o.NS are its initial
// variables and namespace).
func NewSession(o Options) (*Session, error) {
	if o.Kernel == nil {
		return nil, errors.New("eval: Options.Kernel is nil")
	}
	names, err := tableNames(o)
	if err != nil {
		return nil, err
	}
	vars, err := varScope(o.Vars)
	if err != nil {
		return nil, err
	}
	return &Session{o: o, scope: newScope(vars), names: names, ns: normNS(o.NS)}, nil
}

// Run evaluates f as one transaction, like Run, in the session's state.
// Variables defined before a failure stay defined; the changes are
// rolled back.
func (s *Session) Run(ctx context.Context, f *lang.File) (*Result, error) {
	return run(ctx, f, s.o, false, s)
}

// Plan evaluates f like Plan, in a copy of the session's state: it
// leaves neither changes nor variables behind.
func (s *Session) Plan(ctx context.Context, f *lang.File) (*Result, error) {
	return run(ctx, f, s.o, true, s)
}

// Check checks f statically as Check does, knowing the session's
// variables. A `let` of a name an earlier recipe defined is reported,
// as it would be within one recipe.
func (s *Session) Check(f *lang.File) lang.Diagnostics {
	o := s.o
	o.Tables = s.names
	return checkWith(f, o, s.Vars(), s.funcs(), s.declared)
}

// funcs returns the builtins plus the session's recipe functions, with
// their arities, for the checker.
func (s *Session) funcs() map[string]lang.Arity {
	m := map[string]lang.Arity{}
	for n, a := range lang.DefaultBuiltins {
		m[n] = a
	}
	for sc := s.scope; sc != nil; sc = sc.parent {
		for n, c := range sc.funcs {
			if _, ok := m[n]; !ok {
				m[n] = lang.Arity{Min: len(c.def.Params), Max: len(c.def.Params)}
			}
		}
	}
	return m
}

// Vars returns the names of the session's variables, sorted.
func (s *Session) Vars() []string {
	set := map[string]bool{}
	for sc := s.scope; sc != nil; sc = sc.parent {
		for n := range sc.vars {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetTxn makes the following Runs work inside tx, an open transaction
// the caller ends (the REPL's `begin ... commit`; see Options.Txn); nil
// goes back to one transaction per Run.
func (s *Session) SetTxn(tx *txn.Tx) { s.o.Txn = tx }

// NS returns the session's current namespace (kernel.Host or a name).
func (s *Session) NS() string { return s.ns }

// clone copies a scope chain, rebinding the functions defined in it to
// the copies, so that evaluating in the copy never changes the original.
func (s *scope) clone() *scope {
	m := map[*scope]*scope{}
	var cp func(*scope) *scope
	cp = func(s *scope) *scope {
		if s == nil {
			return nil
		}
		if c, ok := m[s]; ok {
			return c
		}
		c := newScope(cp(s.parent))
		m[s] = c
		for k, v := range s.vars {
			c.vars[k] = v
		}
		return c
	}
	top := cp(s)
	for old, c := range m {
		for k, f := range old.funcs {
			fs := f.scope
			if nf, ok := m[fs]; ok {
				fs = nf
			}
			c.funcs[k] = &closure{def: f.def, scope: fs}
		}
	}
	return top
}
