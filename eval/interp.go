package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// evaluator is one run's state.
type evaluator struct {
	ctx    context.Context
	o      Options
	tx     *txn.Tx
	names  *kernel.TableNames
	plan   bool
	stdout io.Writer
	stderr io.Writer
	res    *Result

	ns    string // current namespace (kernel.Host or a name)
	table uint32 // default table of routes (a `table T < >` block), 0 for none
	wg    *wgBuild
	peer  *kernel.WGPeerWant

	depth    int      // nested function calls and includes
	loops    int      // for loops being run (their bodies repeat: batch.go's decode memo)
	maxDepth int      // limit of depth
	files    []string // include stack, cleaned paths
	stmt     lang.Stmt

	resolved map[string]netip.Addr // endpoint host names, resolved once

	batch pending            // route and neighbour wants not yet ensured (batch.go)
	rws   []kernel.RouteWant // the rest of the slab newRouteWant hands out

	keys     keyFiles // key files to write at commit (keyfiles.go)
	declared []string // table names this run declared, for hints

	// Plan only: the live kernel and the namespaces copied from it.
	live   kernel.Kernel
	seeded map[string]bool
}

// scope is a block's variables and functions.
type scope struct {
	parent *scope
	vars   map[string]value.Value
	funcs  map[string]*closure
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, vars: map[string]value.Value{}, funcs: map[string]*closure{}}
}

func (s *scope) lookup(name string) (value.Value, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (s *scope) lookupFunc(name string) *closure {
	for ; s != nil; s = s.parent {
		if f, ok := s.funcs[name]; ok {
			return f
		}
	}
	return nil
}

// closure is a recipe function with the scope it was defined in.
type closure struct {
	def   *lang.Def
	scope *scope
}

// errAt turns err into a diagnostic at n. A diagnostic passes through
// unchanged (it already names its position); a *kernel.Error keeps its
// errno and sentinel (errors.Is) and puts the kernel's extended-ack text
// in Detail.
func errAt(n lang.Node, err error) error {
	if err == nil {
		return nil
	}
	var d lang.Diagnostic
	if errors.As(err, &d) {
		return err
	}
	pos, end := n.Bounds()
	d = lang.Diagnostic{Pos: pos, End: end, Msg: err.Error(), Err: err, Hint: lang.HintOf(err)}
	var ke *kernel.Error
	if errors.As(err, &ke) {
		d.Msg = ke.Op + ": " + ke.Err.Error()
		if ke.NS != kernel.Host {
			d.Msg = "in netns " + ke.NS + ": " + d.Msg
		}
		d.Detail = ke.Message
	}
	return d
}

func errorf(n lang.Node, format string, args ...any) error {
	return lang.Errorf(n, format, args...)
}

// top evaluates the file's statements in sc, turning a panic into an internal-error
// diagnostic at the statement being evaluated.
func (e *evaluator) top(f *lang.File, sc *scope) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var n lang.Node = f
			if e.stmt != nil {
				n = e.stmt
			}
			err = errorf(n, "internal error (please report it): %v\n%s", r, debug.Stack())
		}
	}()
	if f.Filename != "" {
		e.files = []string{filepath.Clean(f.Filename)}
	}
	return e.file(f, sc)
}

// file runs the statements of a recipe or an included file, after
// making sure the namespaces it names are known (seeded into a plan's
// model) and exist.
func (e *evaluator) file(f *lang.File, sc *scope) error {
	if e.plan {
		if err := e.touchNS(f, e.ns); err != nil {
			return err
		}
	}
	if err := e.checkNS(f, e.ns); err != nil {
		return err
	}
	if e.o.Consume && e.depth == 0 {
		// The recipe itself (not an included file): release each
		// statement's tree once it ran (Options.Consume). A statement
		// still waiting in a batch is held by the batch until applied.
		for i, s := range f.Stmts {
			f.Stmts[i] = nil
			if err := e.stmtOne(s, sc); err != nil {
				return err
			}
		}
		return nil
	}
	return e.stmts(f.Stmts, sc)
}

func (e *evaluator) stmts(list []lang.Stmt, sc *scope) error {
	for _, s := range list {
		if err := e.stmtOne(s, sc); err != nil {
			return err
		}
	}
	return nil
}

// block runs b in a new scope.
func (e *evaluator) block(b *lang.Block, sc *scope) error {
	if b == nil {
		return nil
	}
	return e.stmts(b.Stmts, newScope(sc))
}

func (e *evaluator) stmtOne(s lang.Stmt, sc *scope) error {
	if err := e.ctx.Err(); err != nil {
		return lang.Diagnostic{Pos: posOf(s), End: endOf(s), Msg: "interrupted before this statement: " + err.Error(), Err: err}
	}
	if batchBarrier(s, sc) {
		if err := e.flush(); err != nil {
			return err
		}
	}
	e.stmt = s
	switch s := s.(type) {
	case *lang.Let:
		v, err := e.expr(s.Value, sc)
		if err != nil {
			return err
		}
		if _, dup := sc.vars[s.Name.Name]; dup {
			return lang.Diagnostic{Pos: s.Name.Pos(), End: s.Name.End(),
				Msg:  fmt.Sprintf("%s is already defined in this scope", s.Name.Name),
				Hint: "use `set " + s.Name.Name + " = ...` to rebind it"}
		}
		sc.vars[s.Name.Name] = v
	case *lang.Set:
		v, err := e.expr(s.Value, sc)
		if err != nil {
			return err
		}
		for t := sc; t != nil; t = t.parent {
			if _, ok := t.vars[s.Name.Name]; ok {
				t.vars[s.Name.Name] = v
				return nil
			}
		}
		return errorf(s.Name, "set of undefined variable %s (use let to define it)", s.Name.Name)
	case *lang.If:
		return e.ifStmt(s, sc)
	case *lang.For:
		return e.forStmt(s, sc)
	case *lang.Def:
		name := s.Name.Name
		if _, ok := builtins.Lookup(name); ok {
			return errorf(s.Name, "%s is a builtin function and cannot be redefined", name)
		}
		if prev := sc.funcs[name]; prev != nil {
			p := prev.def.Name.Pos()
			return errorf(s.Name, "function %s is already defined (at %d:%d)", name, p.Line, p.Column)
		}
		sc.funcs[name] = &closure{def: s, scope: sc}
	case *lang.CallStmt:
		if c := sc.lookupFunc(s.Call.Name.Name); c != nil {
			return e.callUser(s.Call, c, sc)
		}
		_, err := e.call(s.Call, sc)
		return err
	case *lang.Include:
		return e.include(s, sc)
	case *lang.Print:
		v, err := e.expr(s.Value, sc)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, v.String())
		return errAt(s, err)
	case *lang.Assert:
		v, err := e.expr(s.Cond, sc)
		if err != nil {
			return err
		}
		ok, err := value.Truth(v)
		if err != nil {
			return errAt(s.Cond, fmt.Errorf("assert: %w", err))
		}
		if ok {
			return nil
		}
		msg := "assertion failed: " + lang.FormatExpr(s.Cond)
		if s.Msg != nil {
			m, err := e.expr(s.Msg, sc)
			if err != nil {
				return err
			}
			msg = "assertion failed: " + m.String()
		}
		return errAt(s, &AssertError{Msg: msg})
	case *lang.Fail:
		m, err := e.expr(s.Msg, sc)
		if err != nil {
			return err
		}
		return errAt(s, &AssertError{Msg: m.String(), Fail: true})
	case *lang.Exec:
		return e.exec(s, sc)
	case *lang.Show:
		return e.show(s, sc)
	case *lang.InNetns:
		return e.inNetns(s, sc)
	case *lang.NetStmt:
		return e.netStmt(s, sc)
	default:
		return errorf(s, "internal error: unknown statement %T", s)
	}
	return nil
}

// AssertError is the error of a failed assert or a fail statement; the
// diagnostic's Err is one (errors.As finds it).
type AssertError struct {
	Msg  string
	Fail bool // from `fail`, not `assert`
}

func (a *AssertError) Error() string { return a.Msg }

func (e *evaluator) ifStmt(s *lang.If, sc *scope) error {
	for s != nil {
		v, err := e.expr(s.Cond, sc)
		if err != nil {
			return err
		}
		ok, err := value.Truth(v)
		if err != nil {
			return errAt(s.Cond, fmt.Errorf("if: %w", err))
		}
		if ok {
			return e.block(s.Then, sc)
		}
		if s.Else != nil {
			return e.block(s.Else, sc)
		}
		s = s.ElseIf
	}
	return nil
}

// forStmt iterates a list's elements, or a record's field names in
// order; every iteration gets a fresh scope holding the loop variable.
func (e *evaluator) forStmt(s *lang.For, sc *scope) error {
	v, err := e.expr(s.Iter, sc)
	if err != nil {
		return err
	}
	var items []value.Value
	switch v := v.(type) {
	case value.List:
		items = v
	case value.Record:
		for _, n := range v.Names() {
			items = append(items, value.String(n))
		}
	default:
		return errorf(s.Iter, "for: cannot iterate over %s %s (a list or a record)", article(v.Type()), v.Type())
	}
	e.loops++
	defer func() { e.loops-- }()
	for _, it := range items {
		if err := e.ctx.Err(); err != nil {
			return lang.Diagnostic{Pos: posOf(s), End: endOf(s), Msg: "interrupted in this loop: " + err.Error(), Err: err}
		}
		body := newScope(sc)
		body.vars[s.Var.Name] = it
		if s.Body != nil {
			if err := e.stmts(s.Body.Stmts, body); err != nil {
				return err
			}
		}
	}
	return nil
}

func article(t value.Type) string {
	switch t {
	case value.TInt, value.TAddress:
		return "an"
	}
	return "a"
}

// callUser runs recipe function c: its parameters are bound in a new
// scope inside the scope the function was defined in (closures see the
// variables of their definition), and its body runs in the caller's
// namespace and table context. Recipe functions return no value.
func (e *evaluator) callUser(call *lang.Call, c *closure, sc *scope) error {
	d := c.def
	if len(call.Args) != len(d.Params) {
		return errorf(call, "%s takes %d argument%s, got %d", d.Name.Name, len(d.Params), plural(len(d.Params)), len(call.Args))
	}
	if e.depth >= e.maxDepth {
		return errorf(call, "calls nested more than %d deep: does %s call itself without end?", e.maxDepth, d.Name.Name)
	}
	params := newScope(c.scope)
	for i, a := range call.Args {
		v, err := e.expr(a, sc)
		if err != nil {
			return err
		}
		params.vars[d.Params[i].Name] = v
	}
	e.depth++
	defer func() { e.depth-- }()
	if err := e.block(d.Body, params); err != nil {
		return err
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// include evaluates another recipe file in the current scope (its lets
// and defs are visible after the include), as the checker does.
func (e *evaluator) include(s *lang.Include, sc *scope) error {
	pos, _ := s.Bounds()
	p := lang.IncludePath(pos.Filename, s.Path)
	if e.o.FS != nil {
		p = fsPath(p)
	}
	for i, f := range e.files {
		if f == p {
			chain := append(append([]string{}, e.files[i:]...), p)
			for j := range chain {
				chain[j] = filepath.Base(chain[j])
			}
			return errorf(s, "include cycle: %s", strings.Join(chain, " includes "))
		}
	}
	if e.depth >= e.maxDepth {
		return errorf(s, "includes and calls nested more than %d deep", e.maxDepth)
	}
	src, err := e.o.readFile(p)
	if err != nil {
		return errAt(&lang.Ident{Span: s.PathSpan}, fmt.Errorf("include %q: %w", s.Path, err))
	}
	f, err := lang.Parse(p, src)
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) && len(ds) > 0 {
			return ds[0]
		}
		return errAt(s, err)
	}
	e.files = append(e.files, p)
	e.depth++
	defer func() {
		e.files = e.files[:len(e.files)-1]
		e.depth--
	}()
	return e.file(f, sc)
}

// fsPath turns a file name into an io/fs path: slash-separated, clean,
// unrooted.
func fsPath(name string) string {
	p := path.Clean(filepath.ToSlash(name))
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		p = "."
	}
	return p
}

// inNetns runs a block inside another namespace; the bare form switches
// the current namespace for the rest of the enclosing block.
func (e *evaluator) inNetns(s *lang.InNetns, sc *scope) error {
	v, err := e.convert(&lang.Param{Name: "netns", Type: lang.TNetnsName}, s.NS, sc)
	if err != nil {
		return err
	}
	ns := normNS(v.(string))
	if err := e.checkNS(s.NS, ns); err != nil {
		return err
	}
	if s.Block == nil {
		e.ns = ns
		return nil
	}
	saved := e.ns
	e.ns = ns
	defer func() { e.ns = saved }()
	return e.block(s.Block, sc)
}

// checkNS makes sure the named namespace exists (and, in a plan, that the
// model holds its live state).
func (e *evaluator) checkNS(n lang.Node, ns string) error {
	if ns == kernel.Host {
		return nil
	}
	if e.plan {
		if err := e.seed(ns); err != nil {
			return errAt(n, err)
		}
	}
	list, err := e.kern().Namespaces()
	if err != nil {
		return errAt(n, err)
	}
	for _, x := range list {
		if x == ns {
			return nil
		}
	}
	return lang.Diagnostic{Pos: posOf(n), End: endOf(n), Msg: fmt.Sprintf("namespace %q does not exist", ns),
		Hint: "create it first with `netns " + ns + "`", Err: kernel.ErrNoNetns}
}

func posOf(n lang.Node) lang.Position { p, _ := n.Bounds(); return p }
func endOf(n lang.Node) lang.Position { _, p := n.Bounds(); return p }
