package lang

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// The parser is a hand-written recursive-descent parser over the tokens of
// participle's stateful lexer (lexer.go; made by the scanner of
// lexer_scan.go). It does not use participle's
// grammar engine because nets needs three things that engine does not
// offer in v2.1.4:
//
//   - whitespace adjacency decides meaning: `veth-${i}` is one word but
//     `veth- ${i}` two arguments, `pair(a)` is a call but `pair (a)` a word
//     and a parenthesised expression, `$l[0]` indexes but `$l [0]` is two
//     arguments;
//   - the same `<` is a block opener in a statement's arguments and a
//     comparison inside parentheses, and newlines are significant except
//     inside brackets;
//   - every syntax error of a file is reported, not only the first one:
//     the parser resynchronises at the next statement.

// maxErrors caps the diagnostics of one parse (binary garbage would give
// one per line).
const maxErrors = 50

// maxDepth caps nesting of blocks and expressions.
const maxDepth = 500

type parser struct {
	// The tokens come from sc as the parser needs them (a 100k-line
	// recipe has about 600k): buf holds those from index base on, the
	// ones before the current statement dropped (see trim); i is the
	// index of the next token.
	sc       *scanner
	buf      []tok
	base     int
	i        int
	src      *source
	filename string
	diags    Diagnostics
	nlSkip   int    // > 0 inside ( [ { ${ where newlines are insignificant
	ctx      string // NetStmt.Parent for statements parsed now
	depth    int
	blocks   int  // open < > blocks
	atEOF    bool // input ended inside an unfinished construct
	comments []*Comment
	scratch  []Arg // see args

	// A split parse (parse_split.go): the first half stops at the first
	// top-level statement at or after stopAt, and notes its offset.
	stopAt, stoppedAt int
	// topCap is the room the list of top-level statements starts with
	// (see stmtRoom), so that a generated recipe of 100k statements gets
	// its list in one allocation instead of growing it from nothing.
	topCap int

	// The nodes most recipes have many of are allocated in chunks.
	words    slab[wordAndPart]
	netStmts slab[NetStmt]
	argLists slab[Arg]
}

// slab hands out the elements of chunks of Ts, of 8 elements at first,
// then twice as many each time up to 16 KiB (a size class of Go's
// allocator, so that a full chunk wastes no memory): a few allocations
// instead of one per node, and no size-class rounding of each. A chunk
// stays alive as long as one of its elements does, which the nodes of a
// parsed file mostly do together.
type slab[T any] struct{ buf []T }

func (s *slab[T]) new() *T { return &s.make(1)[0] }

// make returns n zero Ts (a slice of capacity n).
func (s *slab[T]) make(n int) []T {
	var zero T
	limit := max(16384/int(unsafe.Sizeof(zero)), 1)
	if n > limit/4 {
		return make([]T, n) // big: its own allocation
	}
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]T, 0, min(max(2*cap(s.buf), 8, n), limit))
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i+n : i+n]
}

// bailout unwinds the parser to the statement loop after an error.
type bailout struct{}

// Parse parses a nets source file. The returned File is never nil: on
// error it holds every statement that parsed, and the error is a
// Diagnostics listing every syntax error found.
func Parse(filename string, src []byte) (*File, error) {
	f, p := parse(filename, src)
	return f, p.diags.Err()
}

// ParseFile reads and parses the file at path.
func ParseFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return &File{Filename: path}, Diagnostics{{Pos: Position{Filename: path, Line: 1, Column: 1}, Msg: err.Error(), Err: err}}
	}
	return Parse(path, src)
}

// Incomplete reports whether src is an unfinished statement that more input
// could complete: an unclosed `<` block, bracket, string interpolation or
// call, or a trailing `\` line continuation. A REPL reads more lines while
// it returns true.
func Incomplete(src []byte) bool {
	s := strings.TrimRight(string(src), " \t")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	if strings.HasSuffix(s, "\\") && !strings.HasSuffix(s, "\\\\") {
		return true
	}
	_, p := parse("", src)
	return p.atEOF
}

func parse(filename string, src []byte) (f *File, p *parser) {
	if len(src) >= splitMin && len(src) <= math.MaxUint32 && runtime.GOMAXPROCS(0) > 1 {
		if f, p, ok := parseSplit(filename, src); ok {
			return f, p
		}
	}
	return parseWhole(filename, src)
}

// parseWhole parses src from start to end on the calling goroutine.
func parseWhole(filename string, src []byte) (f *File, p *parser) {
	p = &parser{filename: filename}
	f = &File{Filename: filename}
	defer func() {
		if r := recover(); r != nil {
			// A bug, not bad input: keep it from ever reaching the user as
			// a stack trace.
			p.diags = append(p.diags, Diagnostic{Pos: Position{Filename: filename, Line: 1, Column: 1},
				Msg: fmt.Sprintf("internal parser error: %v", r)})
			f.Comments = p.comments
		}
	}()
	if uint64(len(src)) > math.MaxUint32 {
		// Offsets are 32-bit (see Span).
		p.diags = append(p.diags, Diagnostic{Pos: Position{Filename: filename, Line: 1, Column: 1}, Msg: "file too large (over 4 GiB)"})
		return f, p
	}
	p.src = newSource(filename, sourceText(src))
	p.sc = newScanner(p.src)
	p.buf = make([]tok, 0, 64)
	p.topCap = stmtRoom(p.src.text)
	f.Stmts = trimStmts(p.stmts(false))
	eof := p.at(p.i) // the statements end at the end of the file
	f.Span = Span{src: p.src, start: 0, end: eof.off}
	f.Comments = p.comments
	return f, p
}

// sourceText is src as the scanner reads it: a UTF-8 byte order mark is
// blanked out, keeping offsets.
func sourceText(src []byte) string {
	text := string(src)
	if strings.HasPrefix(text, "\ufeff") {
		text = "   " + text[3:]
	}
	return text
}

// ---------------------------------------------------------------------------
// token access

// at returns token j (an index as p.i), scanning as far as needed; past
// the end of the file it is the end-of-file token. Comments are taken
// aside as they come.
func (p *parser) at(j int) tok {
	if k := j - p.base; k < len(p.buf) {
		return p.buf[k]
	}
	return p.fill(j)
}

// fill scans up to token j and returns it (see at).
func (p *parser) fill(j int) tok {
	for j-p.base >= len(p.buf) {
		if n := len(p.buf); n > 0 && p.buf[n-1].k == tEOF {
			return p.buf[n-1]
		}
		t := p.sc.token()
		if t.k == tComment {
			p.comments = append(p.comments, &Comment{Span: p.span(t.off, t.end), Text: strings.TrimRight(t.v, "\r")})
			continue
		}
		p.buf = append(p.buf, t)
	}
	return p.buf[j-p.base]
}

// trim drops the tokens before the previous one once there are many:
// the parser looks back at most one token (prevEnd, adjacent).
func (p *parser) trim() {
	if k := p.i - 1 - p.base; k >= 1024 {
		p.buf = p.buf[:copy(p.buf, p.buf[k:])]
		p.base += k
	}
}

// toEOF moves to the end-of-file token.
func (p *parser) toEOF() {
	for p.at(p.i).k != tEOF {
		p.i++
		p.trim()
	}
}

func (p *parser) peek() tok {
	for p.nlSkip > 0 && p.at(p.i).k == tNL {
		p.i++
	}
	return p.at(p.i)
}

// peekN returns the token n places ahead (no newline skipping).
func (p *parser) peekN(n int) tok { return p.at(p.i + n) }

// pos returns the position of the start of t.
func (p *parser) pos(t tok) Position { return p.src.position(t.off) }

// endPos returns the position of the end of t.
func (p *parser) endPos(t tok) Position { return p.src.tokenEnd(t.off, t.end) }

func (p *parser) next() tok {
	t := p.peek()
	if t.k != tEOF {
		p.i++
	}
	return t
}

func (p *parser) prevEnd() uint32 {
	if p.i == 0 {
		return p.at(0).off
	}
	return p.at(p.i - 1).end
}

// adjacent reports whether the next token (no newline skipping) starts
// exactly where the previous one ended.
func (p *parser) adjacent() bool {
	if p.i == 0 {
		return false
	}
	t := p.at(p.i)
	return t.k != tEOF && t.off == p.at(p.i-1).end
}

func (p *parser) isOp(t tok, v string) bool { return t.k == tOp && t.v == v }

func (p *parser) isWord(t tok, v string) bool { return t.k == tWord && t.v == v }

// plainWord reports whether the next token is the single-token word v (not
// glued to an interpolation).
func (p *parser) plainWord(v string) bool {
	t := p.peek()
	if !p.isWord(t, v) {
		return false
	}
	n := p.peekN(1)
	return !(n.k == tInterp && n.off == t.end)
}

func (p *parser) errorAt(pos, end Position, format string, args ...any) {
	p.errorHint(pos, end, "", format, args...)
}

func (p *parser) errorHint(pos, end Position, hint, format string, args ...any) {
	if len(p.diags) >= maxErrors {
		if len(p.diags) == maxErrors {
			p.diags = append(p.diags, Diagnostic{Pos: pos, End: end, Msg: "too many errors"})
		}
		panic(bailout{})
	}
	p.diags = append(p.diags, Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// fail reports an error at t and unwinds to the statement loop.
func (p *parser) fail(t tok, format string, args ...any) {
	if t.k == tEOF && (p.nlSkip > 0 || p.blocks > 0) {
		// Input ended inside an open bracket or block: more may come.
		p.atEOF = true
	}
	p.errorAt(p.pos(t), p.endPos(t), format, args...)
	panic(bailout{})
}

// unexpected reports t as unexpected, saying what was expected instead.
func (p *parser) unexpected(t tok, want string) {
	p.fail(t, "unexpected %s, expected %s", describe(t), want)
}

func describe(t tok) string {
	switch t.k {
	case tEOF:
		return "end of file"
	case tNL:
		return "newline"
	case tStrNL:
		return "newline in string"
	case tQuote:
		return "string"
	case tVar:
		return "variable " + t.v
	case tInterp:
		return "${"
	case tInterpEnd:
		return "}"
	case tBad:
		if t.v == "\\" {
			return "\\ (a continuation backslash must end the line)"
		}
		return fmt.Sprintf("character %q", t.v)
	case tWord:
		return fmt.Sprintf("%q", t.v)
	}
	return fmt.Sprintf("%q", t.v)
}

func (p *parser) expectOp(v string) tok {
	t := p.peek()
	if !p.isOp(t, v) {
		p.unexpected(t, "\""+v+"\"")
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.peek(), "nesting too deep")
	}
}

func (p *parser) leave() { p.depth-- }

// span returns the Span from offset start to end.
func (p *parser) span(start, end uint32) Span { return Span{src: p.src, start: start, end: end} }

// ---------------------------------------------------------------------------
// statements

// stmts parses statements up to EOF, or up to (not including) the '>' that
// closes a block when inBlock.
func (p *parser) stmts(inBlock bool) []Stmt {
	var list []Stmt
	if !inBlock && p.topCap > 0 {
		list = make([]Stmt, 0, p.topCap)
	}
	for {
		p.trim()
		t := p.peek()
		switch {
		case t.k == tNL || p.isOp(t, ";"):
			p.next()
			continue
		case t.k == tEOF:
			return list
		case inBlock && p.isOp(t, ">"):
			return list
		case p.stopAt > 0 && !inBlock && int(t.off) >= p.stopAt:
			// The first half of a split parse ends here (parse_split.go).
			p.stoppedAt = int(t.off)
			return list
		}
		if s := p.stmtRecover(inBlock); s != nil {
			list = append(list, s)
		}
	}
}

// stmtRecover parses one statement and its terminator; after an error it
// skips to the next statement.
func (p *parser) stmtRecover(inBlock bool) (s Stmt) {
	start := p.i
	saved := struct {
		nl, depth, blocks, scratch int
		ctx                        string
	}{p.nlSkip, p.depth, p.blocks, len(p.scratch), p.ctx}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			p.nlSkip, p.depth, p.blocks, p.ctx = saved.nl, saved.depth, saved.blocks, saved.ctx
			clear(p.scratch[saved.scratch:])
			p.scratch = p.scratch[:saved.scratch]
			if len(p.diags) > maxErrors {
				p.toEOF() // stop: too many errors
				s = nil
				return
			}
			if p.i == start {
				p.i++ // always make progress
			}
			p.sync(inBlock)
			s = nil
		}
	}()
	s = p.stmt()
	t := p.peek()
	switch {
	case t.k == tNL || p.isOp(t, ";") || t.k == tEOF || (inBlock && p.isOp(t, ">")):
	case p.isOp(t, "<") || p.isOp(t, ">"):
		p.errorHint(p.pos(t), p.endPos(t), "outside brackets < and > delimit blocks; write the comparison in parentheses: ($a "+t.v+" $b)",
			"unexpected %s at end of statement", describe(t))
		panic(bailout{})
	default:
		p.fail(t, "unexpected %s at end of statement", describe(t))
	}
	return s
}

// sync skips to the end of the current statement: a newline or ';' outside
// any block or bracket opened since, or the '>' closing the enclosing block.
func (p *parser) sync(inBlock bool) {
	blocks, parens := 0, 0
	for {
		p.trim()
		t := p.at(p.i)
		switch {
		case t.k == tEOF:
			return
		case (t.k == tNL || p.isOp(t, ";")) && blocks == 0 && parens == 0:
			return
		case p.isOp(t, "(") || p.isOp(t, "[") || p.isOp(t, "{") || t.k == tInterp:
			parens++
		case (p.isOp(t, ")") || p.isOp(t, "]") || p.isOp(t, "}") || t.k == tInterpEnd) && parens > 0:
			parens--
		case p.isOp(t, "<") && parens == 0:
			blocks++
		case p.isOp(t, ">") && parens == 0:
			if blocks == 0 {
				if inBlock {
					return
				}
			} else {
				blocks--
			}
		}
		p.i++
	}
}

// scriptKeywords are the statement keywords besides network verbs.
var scriptKeywords = []string{"let", "set", "if", "for", "def", "include", "print", "assert", "fail", "exec", "show", "in", "del"}

func (p *parser) stmt() Stmt {
	t := p.peek()
	switch t.k {
	case tWord:
		if n := p.peekN(1); n.k == tInterp && n.off == t.end {
			break
		}
		if isIdent(t.v) && !isKeyword(t.v) && p.isOp(p.peekN(1), "(") && p.peekN(1).off == t.end {
			c := p.call()
			return &CallStmt{Span: c.Span, Call: c}
		}
		switch t.v {
		case "let", "set":
			return p.letSet()
		case "if":
			return p.ifStmt()
		case "for":
			return p.forStmt()
		case "def":
			return p.def()
		case "include":
			return p.include()
		case "print":
			p.next()
			v := p.expr()
			return &Print{Span: p.span(t.off, p.prevEnd()), Value: v}
		case "assert":
			p.next()
			c := p.expr()
			var msg Expr
			if p.isOp(p.peek(), ",") {
				p.next()
				msg = p.expr()
			}
			return &Assert{Span: p.span(t.off, p.prevEnd()), Cond: c, Msg: msg}
		case "fail":
			p.next()
			m := p.expr()
			return &Fail{Span: p.span(t.off, p.prevEnd()), Msg: m}
		case "exec":
			return p.exec()
		case "show":
			return p.show()
		case "in":
			return p.inNetns()
		case "del":
			p.next()
			v := p.peek()
			if v.k != tWord || !(IsVerb(p.ctx, v.v) || IsVerb("", v.v) || IsVerb("wireguard", v.v) || IsVerb("peer", v.v)) {
				p.verbError(v, true)
			}
			return p.netStmt(t.off, true)
		case "else":
			p.fail(t, "else without a preceding if")
		}
		if IsVerb(p.ctx, t.v) || IsVerb("", t.v) || IsVerb("wireguard", t.v) || IsVerb("peer", t.v) {
			return p.netStmt(t.off, false)
		}
	case tVar:
		p.errorHint(p.pos(t), p.endPos(t), "write `set "+strings.TrimPrefix(t.v, "$")+" = ...` to assign", "a statement cannot start with variable %s", t.v)
		panic(bailout{})
	}
	p.verbError(t, false)
	return nil
}

// verbError reports t where a statement keyword (or, after del, a network
// object) was expected, with a did-you-mean hint.
func (p *parser) verbError(t tok, afterDel bool) {
	if t.k != tWord {
		if afterDel {
			p.unexpected(t, "a network object after del")
		}
		p.unexpected(t, "a statement")
	}
	cands := Verbs(p.ctx)
	if !afterDel {
		cands = append(append([]string{}, scriptKeywords...), cands...)
	}
	hint := didYouMean(t.v, cands)
	if hint == "" && !afterDel {
		// A misspelled (or exact) option keyword on a line of its own is
		// usually a statement continued without a trailing backslash.
		kw := t.v
		if c := closest(t.v, allKeywords()); c != "" {
			kw = c
		}
		if owner := optionOwner(kw); owner != "" {
			if kw != t.v {
				hint = fmt.Sprintf("did you mean `%s`? It is an option of %s, not a statement; end the previous line with `\\` to continue it", kw, owner)
			} else {
				hint = fmt.Sprintf("%s is an option of %s, not a statement; end the previous line with `\\` to continue it", kw, owner)
			}
		}
	}
	what := "statement"
	if afterDel {
		what = "network object"
	}
	if int(t.end-t.off) != len(t.v) {
		t.end = t.off
	}
	p.errorHint(p.pos(t), p.endPos(t), hint, "unknown %s %q", what, t.v)
	panic(bailout{})
}

func (p *parser) letSet() Stmt {
	kw := p.next()
	name := p.bindName(kw.v)
	p.expectOp("=")
	v := p.expr()
	sp := p.span(kw.off, p.prevEnd())
	if kw.v == "let" {
		return &Let{Span: sp, Name: name, Value: v}
	}
	return &Set{Span: sp, Name: name, Value: v}
}

// bindName parses a variable name being bound: `$x` or `x`.
func (p *parser) bindName(after string) *Ident {
	t := p.peek()
	switch {
	case t.k == tVar:
		p.next()
		return &Ident{Span: p.span(t.off, t.end), Name: t.v[1:]}
	case t.k == tWord && isIdent(t.v) && !p.gluedInterp():
		p.next()
		return &Ident{Span: p.span(t.off, t.end), Name: t.v}
	}
	p.unexpected(t, "a variable name after "+after)
	return nil
}

// gluedInterp reports whether the next token is glued to a following ${.
func (p *parser) gluedInterp() bool {
	t, n := p.peek(), p.peekN(1)
	if p.nlSkip > 0 {
		// peek may have skipped newlines; find the token after t.
		for j := p.i; p.at(j).k != tEOF; j++ {
			if p.at(j).off == t.off {
				n = p.at(j + 1)
				break
			}
		}
	}
	return n.k == tInterp && n.off == t.end
}

func (p *parser) ifStmt() *If {
	kw := p.next()
	p.enter()
	defer p.leave()
	s := &If{Cond: p.expr()}
	s.Then = p.block()
	// `else` may follow on the same line or the next one.
	j := p.i
	for p.at(j).k == tNL {
		j++
	}
	if p.isWord(p.at(j), "else") {
		p.i = j
		p.next()
		if p.peek().k == tEOF {
			p.atEOF = true // `else` at the end of the input: the REPL waits
		}
		if p.plainWord("if") {
			s.ElseIf = p.ifStmt()
		} else {
			s.Else = p.block()
		}
	}
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

func (p *parser) forStmt() *For {
	kw := p.next()
	s := &For{Var: p.bindName("for")}
	if !p.plainWord("in") {
		p.unexpected(p.peek(), "\"in\"")
	}
	p.next()
	s.Iter = p.expr()
	s.Body = p.block()
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

func (p *parser) def() *Def {
	kw := p.next()
	t := p.peek()
	if t.k != tWord || !isIdent(t.v) || p.gluedInterp() {
		p.unexpected(t, "a function name after def")
	}
	if isKeyword(t.v) {
		p.fail(t, "%q is a keyword and cannot name a function", t.v)
	}
	p.next()
	s := &Def{Name: &Ident{Span: p.span(t.off, t.end), Name: t.v}}
	p.expectOp("(")
	p.nlSkip++
	for !p.isOp(p.peek(), ")") {
		s.Params = append(s.Params, p.bindName("("))
		if !p.isOp(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.nlSkip--
	p.closeOp(")", t)
	saved := p.ctx
	p.ctx = ""
	s.Body = p.block()
	p.ctx = saved
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

// closeOp expects the closing bracket v of a construct opened at open.
func (p *parser) closeOp(v string, open tok) tok {
	t := p.peek()
	if !p.isOp(t, v) {
		if t.k == tEOF {
			p.atEOF = true
		}
		p.fail(t, "unexpected %s, expected %q to close %q at %d:%d", describe(t), v, open.v, p.pos(open).Line, p.pos(open).Column)
	}
	return p.next()
}

func (p *parser) include() *Include {
	kw := p.next()
	t := p.peek()
	if t.k != tQuote {
		p.unexpected(t, "a quoted path after include")
	}
	s := p.str()
	path, ok := s.Literal()
	if !ok {
		p.errorAt(s.Pos(), s.End(), "include path cannot use ${} interpolation")
	}
	return &Include{Span: p.span(kw.off, p.prevEnd()), Path: path, PathSpan: s.Span}
}

func (p *parser) exec() *Exec {
	kw := p.next()
	s := &Exec{}
	for {
		t := p.peek()
		if p.argsEnd(t) {
			break
		}
		switch {
		case t.k == tWord && p.callFollows():
			// `exec wg set wg0 private-key string($k)`: a call stands
			// wherever a word may; a name glued to `(` is one.
			s.Args = append(s.Args, p.arg())
		case t.k == tWord || t.k == tInterp || t.k == tOp && execGlue[t.v]:
			s.Args = append(s.Args, p.execWord())
		default:
			s.Args = append(s.Args, p.arg())
		}
	}
	if len(s.Args) == 0 {
		p.unexpected(p.peek(), "a program to exec")
	}
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

// callFollows reports whether the next token is a name immediately
// followed by "(" (no space): the start of a call.
func (p *parser) callFollows() bool {
	t := p.at(p.i)
	if t.k != tWord || !isIdent(t.v) {
		return false
	}
	n := p.at(p.i + 1)
	return p.isOp(n, "(") && n.off == t.end
}

// execGlue are the operator characters that are part of a word in exec's
// arguments (`sysctl -w net.ipv4.ip_forward=1`).
var execGlue = map[string]bool{"=": true, "+": true, "*": true, ",": true, "==": true, "!=": true}

// execWord is a word of exec's arguments: adjacent words, interpolations
// and the operators of execGlue, like a shell word.
func (p *parser) execWord() *Word {
	w := p.newWord()
	w.start = p.peek().off
	for first := true; first || p.adjacent(); first = false {
		t := p.at(p.i)
		switch {
		case t.k == tWord || t.k == tOp && execGlue[t.v]:
			p.next()
			w.addLit(p, t)
		case t.k == tInterp:
			w.Parts = append(w.Parts, p.interp())
		default:
			w.Span = p.span(w.start, p.prevEnd())
			return w
		}
	}
	w.Span = p.span(w.start, p.prevEnd())
	return w
}

func (w *Word) addLit(p *parser, t tok) {
	if n := len(w.Parts); n > 0 && w.Parts[n-1].Expr == nil {
		w.Parts[n-1].Lit += t.v
		w.Parts[n-1].end = t.end
		return
	}
	w.Parts = append(w.Parts, Part{Span: p.span(t.off, t.end), Lit: t.v})
}

func (p *parser) show() *Show {
	kw := p.next()
	t := p.peek()
	if t.k != tWord || !isIdent(t.v) {
		p.unexpected(t, "what to show (links, addrs, routes, rules, neigh, netns, wireguard)")
	}
	p.next()
	s := &Show{What: &Ident{Span: p.span(t.off, t.end), Name: t.v}}
	s.Args = p.args()
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

func (p *parser) inNetns() *InNetns {
	kw := p.next()
	if !p.plainWord("netns") {
		p.unexpected(p.peek(), "\"netns\" after in")
	}
	p.next()
	if p.argsEnd(p.peek()) || p.isOp(p.peek(), "<") {
		p.unexpected(p.peek(), "a namespace name")
	}
	s := &InNetns{NS: p.arg()}
	if p.isOp(p.peek(), "<") {
		saved := p.ctx
		p.ctx = ""
		s.Block = p.block()
		p.ctx = saved
	}
	s.Span = p.span(kw.off, p.prevEnd())
	return s
}

func (p *parser) netStmt(start uint32, del bool) *NetStmt {
	v := p.next()
	s := p.netStmts.new()
	*s = NetStmt{Del: del, Verb: v.v, VerbSpan: p.span(v.off, v.end), Parent: p.ctx}
	s.Args = p.args()
	if p.isOp(p.peek(), "<") {
		saved := p.ctx
		switch {
		case v.v == "wireguard":
			p.ctx = "wireguard"
		case v.v == "peer" && p.ctx == "wireguard":
			p.ctx = "peer"
		default:
			p.ctx = ""
		}
		s.Block = p.block()
		p.ctx = saved
	}
	s.Span = p.span(start, p.prevEnd())
	return s
}

// block parses `< stmts >`.
func (p *parser) block() *Block {
	open := p.peek()
	if !p.isOp(open, "<") {
		p.unexpected(open, "\"<\" to open a block")
	}
	p.next()
	p.enter()
	defer p.leave()
	saved := p.nlSkip
	p.nlSkip = 0
	p.blocks++
	b := &Block{Stmts: p.stmts(true)}
	p.blocks--
	p.nlSkip = saved
	t := p.peek()
	if !p.isOp(t, ">") {
		p.atEOF = p.atEOF || t.k == tEOF
		p.errorAt(p.pos(open), p.endPos(open), "block is never closed: missing \">\"")
		panic(bailout{})
	}
	p.next()
	b.Span = p.span(open.off, t.end)
	return b
}

// argsEnd reports whether t ends a statement's arguments.
func (p *parser) argsEnd(t tok) bool {
	return t.k == tNL || t.k == tEOF || p.isOp(t, ";") || p.isOp(t, ">") || p.isOp(t, "<")
}

// args parses a statement's arguments up to its end or block. `a, b, c`
// becomes one bare *List argument.
//
// The arguments are gathered in p.scratch and copied to a slice of
// their number (a statement has a few; growing a slice for each would
// allocate two or three times).
func (p *parser) args() []Arg {
	start := len(p.scratch)
	for !p.argsEnd(p.peek()) {
		a := p.arg()
		if p.isOp(p.peek(), ",") {
			l := &List{Bare: true, Elems: []Expr{a}}
			for p.isOp(p.peek(), ",") {
				p.next()
				p.nlSkip++
				p.peek() // a newline may follow the comma
				p.nlSkip--
				l.Elems = append(l.Elems, p.arg())
			}
			l.Span = p.span(spanOf(a).start, p.prevEnd())
			a = l
		}
		p.scratch = append(p.scratch, a)
	}
	var list []Arg
	if n := len(p.scratch) - start; n > 0 {
		list = p.argLists.make(n)
		copy(list, p.scratch[start:])
		clear(p.scratch[start:])
	}
	p.scratch = p.scratch[:start]
	return list
}

// arg parses one argument: a word, $var (with [i] and .field), call,
// string, ( expr ), list or record.
func (p *parser) arg() Arg {
	t := p.peek()
	switch {
	case t.k == tWord && t.v == "-" && !p.gluedInterp():
		// A lone '-' is a word in an argument position.
		p.next()
		w := p.newWord()
		w.Span = p.span(t.off, t.end)
		w.Parts = append(w.Parts, Part{Span: p.span(t.off, t.end), Lit: t.v})
		return w
	case t.k == tWord, t.k == tInterp, t.k == tVar, t.k == tQuote,
		p.isOp(t, "("), p.isOp(t, "["), p.isOp(t, "{"):
		return p.postfix()
	}
	p.unexpected(t, "an argument")
	return nil
}

// stmtRoom returns the room to give the list of the top-level statements
// of text: one per line (an upper bound unless some share a line), but
// no more than one per 16 bytes, so that a file of blank or comment
// lines does not get a list of millions (a statement line is rarely
// shorter; the list grows as usual if it is).
func stmtRoom(text string) int {
	return min(strings.Count(text, "\n")+1, len(text)/16+64)
}

// trimStmts returns list, or a copy of it that holds it exactly when
// stmtRoom gave it more than twice the room it needed (a file of many
// comments): the list lives as long as the File.
func trimStmts(list []Stmt) []Stmt {
	if cap(list) > 2*len(list)+64 {
		return slices.Clone(list)
	}
	return list
}
