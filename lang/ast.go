// Package lang is the front end of the nets language: lexer, parser, the
// public syntax tree, a static checker, the canonical printer and the
// diagnostics every other layer reports errors with.
//
// The pipeline is
//
//	src ──Parse──▶ *File ──Check──▶ Diagnostics
//	*File ──Format──▶ canonical source
//
// lang knows nothing about kernels. Network statements are kept as one
// generic node, [NetStmt], whose arguments are decoded against a schema
// ([Decode]) so that the evaluator can convert each argument with the same
// word parsers ([ParseWord]) the checker uses on literals.
package lang

import "github.com/alecthomas/participle/v2/lexer"

// Position is a point in a source file: Filename, byte Offset, 1-based Line
// and 1-based Column (counted in runes from the start of the line; see
// pos.go for end positions). It is participle's lexer.Position. The
// syntax tree stores compact Spans and makes Positions on demand.
type Position = lexer.Position

// Node is any syntax tree node.
type Node interface {
	Bounds() (pos, end Position)
}

// Stmt is a statement: one of *Let, *Set, *If, *For, *Def, *CallStmt,
// *Include, *Print, *Assert, *Fail, *Exec, *Show, *NetStmt, *InNetns.
type Stmt interface {
	Node
	stmtNode()
}

// Expr is an expression. In a statement's argument position an Expr is
// called an [Arg]; there it is one of *Word, *String, *Var (possibly with
// *Index / *Selector applied), *Call, *Paren, *List (including the bare
// comma list `a, b` of allowed-ips) or *Record.
//
// Expressions: *Word, *String, *Var, *Call, *List, *Record, *Binary,
// *Unary, *Index, *Selector, *Paren.
type Expr interface {
	Node
	exprNode()
}

// Arg is one argument position of a statement (see [Expr]).
type Arg = Expr

// File is a parsed source file. Its Span runs from the start of the file
// to its end (where the end-of-file token is).
type File struct {
	Span
	Filename string
	Stmts    []Stmt
	// Comments holds every comment of the file in source order; the
	// printer re-attaches them by position.
	Comments []*Comment
}

// End returns the position of the end of the file.
func (f File) End() Position {
	if f.src == nil {
		return Position{}
	}
	// The end of the file is a point, not the end of a token that ends
	// there (a comment, say, in whose last column it would be).
	return f.src.position(f.end)
}

// Bounds returns the file's range (see End).
func (f File) Bounds() (pos, end Position) { return f.Pos(), f.End() }

// Comment is a `#` comment; Text includes the leading '#' and excludes the
// newline.
type Comment struct {
	Span
	Text string
}

// Block is `< stmt; ... >`. Its Span runs from the '<' to just after the '>'.
type Block struct {
	Span
	Stmts []Stmt
}

// Ident is a name: a variable name without its '$', a function name, a
// parameter, a record key, a statement keyword.
type Ident struct {
	Span
	Name string
}

// ---------------------------------------------------------------------------
// Scripting statements

// Let binds a new variable in the current scope: `let name = expr`
// (`let $name = expr` is accepted too).
type Let struct {
	Span
	Name  *Ident
	Value Expr
}

// Set rebinds an existing variable: `set name = expr`.
type Set struct {
	Span
	Name  *Ident
	Value Expr
}

// If is `if COND < ... > [else < ... > | else if ...]`. At most one of Else
// and ElseIf is non-nil.
type If struct {
	Span
	Cond   Expr
	Then   *Block
	Else   *Block
	ElseIf *If
}

// For is `for $var in ITER < ... >`.
type For struct {
	Span
	Var  *Ident
	Iter Expr
	Body *Block
}

// Def defines a recipe function: `def name($a, $b) < ... >`.
type Def struct {
	Span
	Name   *Ident
	Params []*Ident
	Body   *Block
}

// CallStmt is a call used as a statement: `pair(left, right)`.
type CallStmt struct {
	Span
	Call *Call
}

// Include is `include "path"`; the path (a plain string literal, no
// interpolation) is relative to the including file.
type Include struct {
	Span
	Path     string
	PathSpan Span
}

// Print is `print EXPR`.
type Print struct {
	Span
	Value Expr
}

// Assert is `assert COND[, MSG]`. Msg is nil when absent.
type Assert struct {
	Span
	Cond Expr
	Msg  Expr
}

// Fail is `fail MSG`.
type Fail struct {
	Span
	Msg Expr
}

// Exec is `exec PROGRAM ARGS...`; every argument is an Arg (words keep
// their interpolation).
type Exec struct {
	Span
	Args []Arg
}

// Show is `show WHAT [ARGS...]`, e.g. `show routes table all`.
type Show struct {
	Span
	What *Ident
	Args []Arg
}

// NetStmt is every network statement: `[del] VERB ARGS... [< BLOCK >]`.
//
// Verb is the statement keyword: netns, link, addr, route, neigh, table,
// rule, wireguard, and inside a wireguard block private-key, listen-port,
// fwmark, replace-peers, peer, and inside a peer block preshared-key,
// endpoint, allowed-ips, persistent-keepalive. Parent says which of these
// vocabularies applies: "" (top level, or inside in-netns/table/scripting
// blocks there), "wireguard" or "peer". Use [Decode] to read the arguments
// against the statement's schema.
type NetStmt struct {
	Span
	Del      bool
	Verb     string
	VerbSpan Span
	Parent   string
	Args     []Arg
	Block    *Block // nil when there is no block
}

// InNetns is `in netns NS [< ... >]`. Block is nil for the bare form,
// which in the REPL switches the current namespace.
type InNetns struct {
	Span
	NS    Arg
	Block *Block
}

// ---------------------------------------------------------------------------
// Expressions

// Part is one piece of a word or string: literal text (Expr == nil; for
// strings Lit is the unescaped text) or an interpolation `${Expr}` (Span
// covers the `${...}`).
type Part struct {
	Span
	Lit  string
	Expr Expr
}

// Word is a bare word: `eth0`, `10.0.0.0/8`, `0x1/0xff`, `veth-${i}`.
// Its type comes from its position (see [Decode]) or, in an expression,
// from its shape (see [Shape]).
type Word struct {
	Span
	Parts []Part
}

// String is a double-quoted string with its escapes resolved in the
// literal parts.
type String struct {
	Span
	Parts []Part
}

// Var is a variable reference `$name`.
type Var struct {
	Span
	Name string
}

// Call is `name(args...)`.
type Call struct {
	Span
	Name *Ident
	Args []Expr
}

// List is `[a, b]`, or, when Bare, the unbracketed `a, b` list that an
// argument position such as allowed-ips accepts.
type List struct {
	Span
	Elems []Expr
	Bare  bool
}

// Record is `{key: value, ...}`.
type Record struct {
	Span
	Fields []*RecordField
}

// RecordField is one `key: value` of a record.
type RecordField struct {
	Span
	Key   *Ident
	Value Expr
}

// Binary is `X Op Y`; Op is one of + - * / == != < <= > >= and or in.
type Binary struct {
	Span
	Op     string
	OpSpan Span // the operator
	X, Y   Expr
}

// Unary is `Op X`; Op is "not" or "-".
type Unary struct {
	Span
	Op string
	X  Expr
}

// Index is `X[Index]`.
type Index struct {
	Span
	X     Expr
	Index Expr
}

// Selector is `X.Field` (record field access).
type Selector struct {
	Span
	X     Expr
	Field *Ident
}

// Paren is `( X )`.
type Paren struct {
	Span
	X Expr
}

func (*Let) stmtNode()      {}
func (*Set) stmtNode()      {}
func (*If) stmtNode()       {}
func (*For) stmtNode()      {}
func (*Def) stmtNode()      {}
func (*CallStmt) stmtNode() {}
func (*Include) stmtNode()  {}
func (*Print) stmtNode()    {}
func (*Assert) stmtNode()   {}
func (*Fail) stmtNode()     {}
func (*Exec) stmtNode()     {}
func (*Show) stmtNode()     {}
func (*NetStmt) stmtNode()  {}
func (*InNetns) stmtNode()  {}

func (*Word) exprNode()     {}
func (*String) exprNode()   {}
func (*Var) exprNode()      {}
func (*Call) exprNode()     {}
func (*List) exprNode()     {}
func (*Record) exprNode()   {}
func (*Binary) exprNode()   {}
func (*Unary) exprNode()    {}
func (*Index) exprNode()    {}
func (*Selector) exprNode() {}
func (*Paren) exprNode()    {}

// Literal returns the word's text and true when it has no interpolation.
func (w *Word) Literal() (string, bool) { return literal(w.Parts) }

// Literal returns the string's (unescaped) text and true when it has no
// interpolation.
func (s *String) Literal() (string, bool) { return literal(s.Parts) }

func literal(parts []Part) (string, bool) {
	if len(parts) == 1 && parts[0].Expr == nil {
		return parts[0].Lit, true // the common case, without concatenating
	}
	s := ""
	for _, p := range parts {
		if p.Expr != nil {
			return "", false
		}
		s += p.Lit
	}
	return s, true
}

// Keyword returns the text of a literal word, or "" when a is not a
// literal word. Handy for flags and keywords in argument positions.
func Keyword(a Arg) string {
	if w, ok := a.(*Word); ok {
		if s, ok := w.Literal(); ok {
			return s
		}
	}
	return ""
}

// InterpVar reports whether x, the expression of a `${...}`, is a bare
// name, which (as in the contract's `veth-${i}`) interpolates the variable
// of that name: `${i}` means `${$i}`. true and false are not names.
func InterpVar(x Expr) (name string, ok bool) {
	w, isWord := x.(*Word)
	if !isWord {
		return "", false
	}
	name, ok = w.Literal()
	if !ok || !isIdent(name) || name == "true" || name == "false" {
		return "", false
	}
	return name, true
}
