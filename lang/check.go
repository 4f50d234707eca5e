package lang

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Arity is how many arguments a function takes; Max < 0 means no limit.
type Arity struct {
	Min, Max int
}

func (a Arity) String() string {
	switch {
	case a.Min == a.Max:
		return plural(a.Min, "argument")
	case a.Max < 0:
		return fmt.Sprintf("at least %s", plural(a.Min, "argument"))
	}
	return fmt.Sprintf("%d to %d arguments", a.Min, a.Max)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// DefaultBuiltins are the names and arities of the contract's starting set
// of builtins. Embedders with other builtins pass their own table.
var DefaultBuiltins = map[string]Arity{
	"genkey": {0, 0}, "genpsk": {0, 0}, "pubkey": {1, 1}, "readkey": {1, 1}, "writekey": {2, 2}, "loadkey": {1, 1},
	"env": {1, 2}, "range": {1, 3}, "len": {1, 1}, "host": {2, 2}, "subnet": {3, 3},
	"string": {1, 1}, "int": {1, 1}, "has_link": {1, 1}, "has_netns": {1, 1},
}

// CheckOptions configures Check.
type CheckOptions struct {
	// Builtins are the functions every recipe can call (nil:
	// DefaultBuiltins).
	Builtins map[string]Arity
	// Vars are variables defined before the recipe runs (e.g. from the
	// command line, or earlier lines of a REPL session).
	Vars []string
	// Funcs are recipe functions defined before the recipe runs (earlier
	// lines of a REPL session), with their arities.
	Funcs map[string]Arity
	// Tables are routing table names known besides main, local, default
	// and those a recipe declares (e.g. from ReadRTTables).
	Tables map[string]uint32
	// ReadFile reads included files (nil: os.ReadFile).
	ReadFile func(path string) ([]byte, error)
}

// IncludePath resolves the path of `include "path"` written in the file
// named from: relative paths are relative to from's directory.
func IncludePath(from, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(filepath.Dir(from), path)
}

type scope struct {
	parent *scope
	vars   map[string]Span // where each was bound (zero when given from outside)
	funcs  map[string]*Def
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, vars: map[string]Span{}, funcs: map[string]*Def{}}
}

func (s *scope) lookupVar(name string) bool {
	for ; s != nil; s = s.parent {
		if _, ok := s.vars[name]; ok {
			return true
		}
	}
	return false
}

func (s *scope) lookupFunc(name string) *Def {
	for ; s != nil; s = s.parent {
		if d, ok := s.funcs[name]; ok {
			return d
		}
	}
	return nil
}

func (s *scope) varNames() []string {
	var ns []string
	for ; s != nil; s = s.parent {
		for n := range s.vars {
			ns = append(ns, n)
		}
	}
	sort.Strings(ns)
	return ns
}

func (s *scope) funcNames() []string {
	var ns []string
	for ; s != nil; s = s.parent {
		for n := range s.funcs {
			ns = append(ns, n)
		}
	}
	sort.Strings(ns)
	return ns
}

type checker struct {
	opts      CheckOptions
	diags     Diagnostics
	tables    map[string]uint32 // declared table names
	file      *File
	later     map[string]int // table names the file declares, with their line (for hints: see laterTables)
	including []string       // include chain (cleaned paths)
	dec       Decoded        // the network statement being checked (see netStmt)
	pre       *preDecoder    // decodes the top-level statements of a big file (see check_parallel.go), or nil
}

// Check checks f statically and returns every error found: syntax errors
// of included files, undefined variables and functions (with did-you-mean
// hints), wrong arity, `let` of a name already bound in the same scope,
// `set` of an unbound name, network statements that do not match their
// schema (see Decode) including literal words of the wrong type, unknown
// or misused table names, and include cycles and missing include files.
// The result is sorted by position.
func Check(f *File, opts CheckOptions) Diagnostics {
	c := &checker{opts: opts, tables: map[string]uint32{}}
	if c.opts.Builtins == nil {
		c.opts.Builtins = DefaultBuiltins
	}
	if c.opts.ReadFile == nil {
		c.opts.ReadFile = os.ReadFile
	}
	defer func() {
		if r := recover(); r != nil {
			c.diags = append(c.diags, Diagnostic{Pos: f.Pos(), Msg: fmt.Sprintf("internal checker error: %v", r)})
		}
	}()
	sc := newScope(nil)
	for _, v := range opts.Vars {
		sc.vars[v] = Span{}
	}
	if f.Filename != "" {
		c.including = []string{filepath.Clean(f.Filename)}
	}
	c.pre = startPre(f.Stmts)
	defer c.pre.stop()
	c.file = f
	body := newScope(sc)
	for i, s := range f.Stmts {
		if c.pre != nil {
			c.pre.next(i, s)
		}
		c.stmt(s, body)
	}
	c.pre = nil
	c.diags.Sort()
	return c.diags
}

// laterTables returns the table names the file declares (for the hint of
// an unknown table: it may be named further down). They are looked for
// only when a table is unknown: that walks the whole file, a hundredth
// of a second for 100k statements that is otherwise spent before the
// first of them can be checked.
func (c *checker) laterTables() map[string]int {
	if c.later == nil {
		c.later = declaredTables(c.file)
	}
	return c.later
}

func (c *checker) errf(n Node, hint, format string, args ...any) {
	pos, end := n.Bounds()
	c.diags = append(c.diags, Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (c *checker) stmts(list []Stmt, sc *scope) {
	for _, s := range list {
		c.stmt(s, sc)
	}
}

func (c *checker) block(b *Block, sc *scope) {
	if b != nil {
		c.stmts(b.Stmts, newScope(sc))
	}
}

func (c *checker) stmt(s Stmt, sc *scope) {
	switch s := s.(type) {
	case *Let:
		c.expr(s.Value, sc)
		if sp, ok := sc.vars[s.Name.Name]; ok {
			pos := sp.Pos()
			hint := "use `set " + s.Name.Name + " = ...` to rebind it"
			if pos.Line > 0 {
				c.errf(s.Name, hint, "%s is already defined in this scope (at %d:%d)", s.Name.Name, pos.Line, pos.Column)
			} else {
				c.errf(s.Name, hint, "%s is already defined", s.Name.Name)
			}
			return
		}
		sc.vars[s.Name.Name] = s.Name.Span
	case *Set:
		c.expr(s.Value, sc)
		if !sc.lookupVar(s.Name.Name) {
			c.errf(s.Name, didYouMean(s.Name.Name, sc.varNames()), "set of undefined variable %s (use let to define it)", s.Name.Name)
		}
	case *If:
		c.expr(s.Cond, sc)
		c.block(s.Then, sc)
		if s.ElseIf != nil {
			c.stmt(s.ElseIf, sc)
		}
		c.block(s.Else, sc)
	case *For:
		c.expr(s.Iter, sc)
		body := newScope(sc)
		body.vars[s.Var.Name] = s.Var.Span
		if s.Body != nil {
			c.stmts(s.Body.Stmts, body)
		}
	case *Def:
		name := s.Name.Name
		switch {
		case c.isBuiltin(name):
			c.errf(s.Name, "", "%s is a builtin function and cannot be redefined", name)
		case sc.funcs[name] != nil:
			prev := sc.funcs[name]
			c.errf(s.Name, "", "function %s is already defined (at %d:%d)", name, prev.Name.Pos().Line, prev.Name.Pos().Column)
		default:
			sc.funcs[name] = s
		}
		params := newScope(sc)
		for _, p := range s.Params {
			if _, dup := params.vars[p.Name]; dup {
				c.errf(p, "", "duplicate parameter $%s", p.Name)
			}
			params.vars[p.Name] = p.Span
		}
		c.block(s.Body, params)
	case *CallStmt:
		c.expr(s.Call, sc)
	case *Include:
		c.include(s, sc)
	case *Print:
		c.expr(s.Value, sc)
	case *Assert:
		c.expr(s.Cond, sc)
		if s.Msg != nil {
			c.expr(s.Msg, sc)
		}
	case *Fail:
		c.expr(s.Msg, sc)
	case *Exec:
		for _, a := range s.Args {
			c.expr(a, sc)
		}
	case *Show:
		d, ds := DecodeShow(s)
		c.diags = append(c.diags, ds...)
		for _, a := range s.Args {
			c.expr(a, sc)
		}
		if f := d.Get("table"); f != nil {
			c.tableRef(f.Value, false)
		}
	case *NetStmt:
		c.netStmt(s, sc)
	case *InNetns:
		c.expr(s.NS, sc)
		c.diags = append(c.diags, checkLiteral(&Param{Name: "netns", Type: TNetnsName}, s.NS)...)
		c.block(s.Block, sc)
	}
}

func (c *checker) isBuiltin(name string) bool {
	_, ok := c.opts.Builtins[name]
	return ok
}

func (c *checker) netStmt(s *NetStmt, sc *scope) {
	for _, a := range s.Args {
		c.expr(a, sc)
	}
	if ds, ref, ok := c.pre.take(s); ok {
		// Decoded on the other goroutine: what the code below does,
		// from its results.
		c.diags = append(c.diags, ds...)
		if ref >= 0 {
			c.tableRef(s.Args[ref], false)
		}
		c.block(s.Block, sc)
		return
	}
	// Decoded into c.dec, reused: d is done with before the block's
	// statements are checked.
	d := &c.dec
	ds := DecodeInto(d, s)
	c.diags = append(c.diags, ds...)
	if d.Schema != nil {
		switch s.Verb {
		case "table":
			if s.Parent == "" {
				c.tableDecl(d, s)
			}
		case "route":
			if f := d.Get("table"); f != nil {
				c.tableRef(f.Value, false)
			}
		case "rule":
			if f := d.Get("lookup"); f != nil {
				c.tableRef(f.Value, false)
			}
		}
	}
	c.block(s.Block, sc)
}

// tableDecl checks `table ID [name NAME]` and records the name.
func (c *checker) tableDecl(d *Decoded, s *NetStmt) {
	idf, namef := d.Get("table"), d.Get("name")
	if idf == nil {
		return
	}
	if namef == nil {
		// `table T < ... >` or a bare declaration: T must be known if a name.
		c.tableRef(idf.Value, true)
		return
	}
	idText, ok := literalText(idf.Value)
	if !ok {
		return
	}
	ref, err := parseTableRef(idText)
	if err != nil {
		return // reported by Decode
	}
	if ref.Name != "" {
		if _, builtin := BuiltinTables[ref.Name]; builtin {
			c.errf(namef.Key, "", "table %s is built in and cannot be renamed", ref.Name)
			return
		}
		c.errf(idf.Value, "", "table %q needs a numeric id to be named", ref.Name)
		return
	}
	for bn, bid := range BuiltinTables {
		if bid == ref.ID {
			c.errf(namef.Key, "", "table %d is the built-in table %s and cannot be renamed", ref.ID, bn)
			return
		}
	}
	name, ok := literalText(namef.Value)
	if !ok {
		return
	}
	if !validTableName(name) {
		c.errf(namef.Value, "", "%q is not a valid table name (letters, digits, '_', '-', '.'; not starting with a digit)", name)
		return
	}
	if _, builtin := BuiltinTables[name]; builtin {
		c.errf(namef.Value, "", "%s is a built-in table name", name)
		return
	}
	if prev, ok := c.tables[name]; ok && prev != ref.ID {
		c.errf(namef.Value, "", "table name %s is already table %d", name, prev)
		return
	}
	if prev, ok := c.opts.Tables[name]; ok && prev != ref.ID {
		c.errf(namef.Value, "", "table name %s already names table %d (in iproute2's rt_tables)", name, prev)
		return
	}
	if id, ok := c.opts.Tables[name]; !ok || id != ref.ID {
		// A name rt_tables already gives this id is a restatement;
		// any other name for an id that has one is a clash.
		var others []string
		for _, m := range []map[string]uint32{c.tables, c.opts.Tables} {
			for other, id := range m {
				if id == ref.ID && other != name {
					others = append(others, other)
				}
			}
		}
		if len(others) > 0 {
			sort.Strings(others)
			c.errf(namef.Value, "", "table %d is already named %s", ref.ID, others[0])
			return
		}
	}
	c.tables[name] = ref.ID
}

// tableRef checks that a literal table name is known.
func (c *checker) tableRef(a Arg, decl bool) {
	name := tableRefName(a)
	if name == "" {
		return
	}
	if _, ok := c.tables[name]; ok {
		return
	}
	if _, ok := c.opts.Tables[name]; ok {
		return
	}
	var known []string
	for n := range BuiltinTables {
		known = append(known, n)
	}
	for n := range c.tables {
		known = append(known, n)
	}
	for n := range c.opts.Tables {
		known = append(known, n)
	}
	hint := TableHint(name, known)
	declared := c.laterTables()
	if line, ok := declared[name]; ok {
		hint = fmt.Sprintf("it is named on line %d, after this use: move `table ID name %s` before it", line, name)
	} else if closest(name, known) == "" {
		var later []string
		for n := range declared {
			later = append(later, n)
		}
		sort.Strings(later)
		if best := closest(name, later); best != "" {
			hint = fmt.Sprintf("did you mean `%s`? (named on line %d, after this use)", best, declared[best])
		}
	}
	c.errf(a, hint, "unknown table %q", name)
}

// tableRefName returns the name a table argument refers to a table by
// when it is a literal name that is not built in; "" otherwise (a
// number, `all`, not a literal, or not a table at all: Decode reports
// that).
func tableRefName(a Arg) string {
	text, ok := literalText(a)
	if !ok || text == "all" {
		return ""
	}
	ref, err := parseTableRef(text)
	if err != nil || ref.Name == "" || ref.ID != 0 {
		return ""
	}
	return ref.Name
}

// literalText returns the text of a literal word or string argument.
func literalText(a Arg) (string, bool) {
	switch a := a.(type) {
	case *Word:
		return a.Literal()
	case *String:
		return a.Literal()
	}
	return "", false
}

func (c *checker) include(s *Include, sc *scope) {
	from := ""
	if pos, _ := s.Bounds(); pos.Filename != "" {
		from = pos.Filename
	}
	path := IncludePath(from, s.Path)
	for i, p := range c.including {
		if p == path {
			chain := append(append([]string{}, c.including[i:]...), path)
			for j := range chain {
				chain[j] = filepath.Base(chain[j])
			}
			c.errf(s, "", "include cycle: %s", strings.Join(chain, " includes "))
			return
		}
	}
	if len(c.including) > 100 {
		c.errf(s, "", "includes nested too deeply")
		return
	}
	src, err := c.opts.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c.errf(&Ident{Span: s.PathSpan}, "", "include file %q not found (looked for %s)", s.Path, path)
		} else {
			c.errf(&Ident{Span: s.PathSpan}, "", "cannot read include file %q: %v", s.Path, err)
		}
		return
	}
	f, perr := Parse(path, src)
	if perr != nil {
		var ds Diagnostics
		if errors.As(perr, &ds) {
			c.diags = append(c.diags, ds...)
		}
	}
	c.including = append(c.including, path)
	c.stmts(f.Stmts, sc)
	c.including = c.including[:len(c.including)-1]
}

func (c *checker) expr(e Expr, sc *scope) {
	switch e := e.(type) {
	case nil:
	case *Var:
		if !sc.lookupVar(e.Name) {
			hint := ""
			if best := closest(e.Name, sc.varNames()); best != "" {
				hint = fmt.Sprintf("did you mean `$%s`?", best)
			}
			c.errf(e, hint, "undefined variable $%s", e.Name)
		}
	case *Word:
		c.parts(e.Parts, sc)
	case *String:
		c.parts(e.Parts, sc)
	case *Call:
		for _, a := range e.Args {
			c.expr(a, sc)
		}
		c.call(e, sc)
	case *List:
		for _, x := range e.Elems {
			c.expr(x, sc)
		}
	case *Record:
		seen := map[string]bool{}
		for _, f := range e.Fields {
			if seen[f.Key.Name] {
				c.errf(f.Key, "", "duplicate record key %s", f.Key.Name)
			}
			seen[f.Key.Name] = true
			c.expr(f.Value, sc)
		}
	case *Binary:
		c.expr(e.X, sc)
		c.expr(e.Y, sc)
		c.binaryTypes(e, sc)
	case *Unary:
		c.expr(e.X, sc)
		if e.Op == "-" {
			if t, ok := literalShape(e.X); ok && t != TInt {
				c.errf(e, "", "cannot negate %s", withArticle(TypeName(t)))
			}
		}
	case *Index:
		c.expr(e.X, sc)
		c.expr(e.Index, sc)
	case *Selector:
		c.expr(e.X, sc)
		if t, ok := literalShape(e.X); ok && e.Field != nil {
			c.errf(e.Field, bareVarHint(e.X, sc), "%s has no field %s (only records have fields)", withArticle(TypeName(t)), e.Field.Name)
		}
	case *Paren:
		c.expr(e.X, sc)
	}
}

// parts checks the interpolations of a word or string; `${name}` refers
// to the variable name (see InterpVar).
func (c *checker) parts(parts []Part, sc *scope) {
	for _, p := range parts {
		if p.Expr == nil {
			continue
		}
		if name, ok := InterpVar(p.Expr); ok {
			if !sc.lookupVar(name) {
				hint := "${name} interpolates the variable $name"
				if best := closest(name, sc.varNames()); best != "" {
					hint = fmt.Sprintf("did you mean `${%s}`?", best)
				}
				c.errf(p.Expr, hint, "undefined variable %s in ${%s}", name, name)
			}
			continue
		}
		c.expr(p.Expr, sc)
	}
}

func (c *checker) call(e *Call, sc *scope) {
	name := e.Name.Name
	var ar Arity
	if d := sc.lookupFunc(name); d != nil {
		ar = Arity{len(d.Params), len(d.Params)}
	} else if a, ok := c.opts.Funcs[name]; ok {
		ar = a
	} else if a, ok := c.opts.Builtins[name]; ok {
		ar = a
	} else {
		cands := append(append(sc.funcNames(), builtinNames(c.opts.Funcs)...), builtinNames(c.opts.Builtins)...)
		c.errf(e.Name, didYouMean(name, cands), "undefined function %s", name)
		return
	}
	if n := len(e.Args); n < ar.Min || ar.Max >= 0 && n > ar.Max {
		c.errf(e, "", "%s takes %s, got %d", name, ar, n)
	}
}

func builtinNames(m map[string]Arity) []string {
	var ns []string
	for n := range m {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// literalShape returns the shape of a literal operand.
func literalShape(e Expr) (WordType, bool) {
	switch e := e.(type) {
	case *Word:
		if t, ok := e.Literal(); ok {
			return Shape(t), true
		}
	case *String:
		return TString, true
	case *Paren:
		return literalShape(e.X)
	}
	return 0, false
}

// bareVarHint returns a hint for an operand that is a bare word naming
// a variable (or close to one): in an expression, also inside ${...},
// `i` is the string "i" and the variable is written $i. "" otherwise.
func bareVarHint(e Expr, sc *scope) string {
	w, ok := e.(*Word)
	if !ok {
		return ""
	}
	t, ok := w.Literal()
	if !ok || Shape(t) != TString || !isIdent(t) {
		return ""
	}
	if sc.lookupVar(t) {
		return fmt.Sprintf("`%s` here is the word %q (a string); the variable is written `$%s`", t, t, t)
	}
	if best := closest(t, sc.varNames()); best != "" {
		return fmt.Sprintf("`%s` here is the word %q (a string); did you mean `$%s`?", t, t, best)
	}
	return ""
}

// binaryTypes reports arithmetic on literals of the wrong type.
func (c *checker) binaryTypes(e *Binary, sc *scope) {
	switch e.Op {
	case "+", "-", "*", "/":
	default:
		return
	}
	xs, okx := literalShape(e.X)
	ys, oky := literalShape(e.Y)
	if !okx || !oky {
		return
	}
	x, y := TypeName(xs), TypeName(ys)
	if _, ok := ArithType(e.Op, x, y); ok {
		if e.Op == "/" && y == "int" {
			if w, ok := e.Y.(*Word); ok {
				if t, _ := w.Literal(); Shape(t) == TInt {
					if v, _ := ParseLiteral(t); v == int64(0) {
						c.errf(e.Y, "", "division by zero")
					}
				}
			}
		}
		return
	}
	hint := bareVarHint(e.X, sc)
	if hint == "" {
		hint = bareVarHint(e.Y, sc)
	}
	c.errf(&Ident{Span: e.OpSpan}, hint,
		"cannot apply %s to %s and %s", e.Op, x, y)
}
