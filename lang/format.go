package lang

import (
	"strings"
)

// Format prints f as canonical source: one statement per line, blocks
// indented by two spaces, canonical spacing, one blank line kept where the
// source had blank lines, and every comment preserved (own-line comments
// before the statement they precede, trailing comments after it). A block
// written on one line holding a single statement without a block stays on
// one line: `for $i in range(0, 4) < link veth-${i} up >`. Format is
// stable: formatting its output again changes nothing.
func Format(f *File) []byte {
	pr := &printer{comments: f.Comments}
	pr.stmts(f.Stmts, Position{})
	pr.flushComments(-1, 0)
	out := strings.TrimRight(pr.b.String(), "\n")
	if out == "" {
		return nil
	}
	return []byte(out + "\n")
}

// FormatStmt prints one statement on canonical form (blocks on several
// lines, no comments, no trailing newline).
func FormatStmt(s Stmt) string {
	pr := &printer{}
	pr.stmt(s)
	return strings.TrimRight(pr.b.String(), "\n")
}

// FormatExpr prints an expression or argument in canonical form.
func FormatExpr(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, 0)
	return b.String()
}

type printer struct {
	b        strings.Builder
	indent   int
	comments []*Comment
	ci       int // next comment to print
	lastLine int // source line of the last thing printed (0: none)
}

func (pr *printer) nl() {
	pr.b.WriteByte('\n')
}

func (pr *printer) pad() {
	pr.b.WriteString(strings.Repeat("  ", pr.indent))
}

// flushComments prints, on their own lines, the comments that start
// before offset off (all remaining ones when off < 0).
func (pr *printer) flushComments(off int, line int) {
	for pr.ci < len(pr.comments) {
		c := pr.comments[pr.ci]
		if off >= 0 && c.Pos().Offset >= off {
			return
		}
		pr.blankBefore(c.Pos().Line)
		pr.pad()
		pr.b.WriteString(c.Text)
		pr.nl()
		pr.lastLine = c.Pos().Line
		pr.ci++
	}
}

// blankBefore writes a blank line when the source had one before line.
func (pr *printer) blankBefore(line int) {
	if pr.lastLine > 0 && line > pr.lastLine+1 {
		pr.nl()
	}
}

// trailing prints a comment on source line line that starts at or after
// off and before limit (limit < 0: no limit) after what was just written.
func (pr *printer) trailing(line, off, limit int) bool {
	if pr.ci >= len(pr.comments) || line == 0 {
		return false
	}
	c := pr.comments[pr.ci]
	if c.Pos().Line != line || c.Pos().Offset < off || (limit >= 0 && c.Pos().Offset >= limit) {
		return false
	}
	pr.b.WriteString("  ")
	pr.b.WriteString(c.Text)
	pr.ci++
	return true
}

// stmts prints a statement list; end is where the enclosing block ends.
func (pr *printer) stmts(list []Stmt, end Position) {
	for i, s := range list {
		pos, _ := s.Bounds()
		if pos.Line > 0 {
			pr.flushComments(pos.Offset, pos.Line)
			pr.blankBefore(pos.Line)
		}
		pr.pad()
		pr.stmt(s)
		_, send := s.Bounds()
		limit := -1
		if i+1 < len(list) {
			npos, _ := list[i+1].Bounds()
			limit = npos.Offset
		} else if end.Line > 0 {
			limit = end.Offset
		}
		pr.trailing(send.Line, send.Offset, limit)
		pr.nl()
		if send.Line > 0 {
			pr.lastLine = send.Line
		}
	}
}

// block prints `< ... >` after the text already on the line.
func (pr *printer) block(b *Block) {
	if len(b.Stmts) == 0 && !pr.commentBefore(b.End().Offset) {
		pr.b.WriteString("< >")
		return
	}
	if pr.inline(b) {
		pr.b.WriteString("< ")
		pr.stmt(b.Stmts[0])
		pr.b.WriteString(" >")
		return
	}
	pr.b.WriteString("<")
	limit := b.End().Offset
	if len(b.Stmts) > 0 {
		limit, _ = firstOffset(b.Stmts[0])
	}
	pr.trailing(b.Pos().Line, b.Pos().Offset, limit)
	pr.nl()
	if b.Pos().Line > 0 {
		pr.lastLine = b.Pos().Line
	}
	pr.indent++
	pr.stmts(b.Stmts, b.End())
	if b.End().Line > 0 {
		// Comments inside the block after its last statement.
		pr.flushInside(b.End().Offset)
	}
	pr.indent--
	pr.pad()
	pr.b.WriteString(">")
	if b.End().Line > 0 {
		pr.lastLine = b.End().Line
	}
}

// commentBefore reports whether a comment not yet printed starts before
// offset off.
func (pr *printer) commentBefore(off int) bool {
	return pr.ci < len(pr.comments) && pr.comments[pr.ci].Pos().Offset < off
}

func firstOffset(s Stmt) (int, bool) {
	p, _ := s.Bounds()
	return p.Offset, p.Line > 0
}

// flushInside prints comments before the closing '>' at offset end, without
// a blank line before the '>'.
func (pr *printer) flushInside(end int) {
	for pr.ci < len(pr.comments) && pr.comments[pr.ci].Pos().Offset < end {
		c := pr.comments[pr.ci]
		pr.blankBefore(c.Pos().Line)
		pr.pad()
		pr.b.WriteString(c.Text)
		pr.nl()
		pr.lastLine = c.Pos().Line
		pr.ci++
	}
}

// inline reports whether b prints on one line: one statement without a
// block, no comment inside, written on one line (or built without
// positions), and short.
func (pr *printer) inline(b *Block) bool {
	if len(b.Stmts) != 1 || b.Pos().Line != b.End().Line {
		return false
	}
	s := b.Stmts[0]
	switch s := s.(type) {
	case *If, *For, *Def:
		return false
	case *NetStmt:
		if s.Block != nil {
			return false
		}
	case *InNetns:
		if s.Block != nil {
			return false
		}
	}
	for _, c := range pr.comments[pr.ci:] {
		if c.Pos().Offset >= b.Pos().Offset && c.Pos().Offset < b.End().Offset {
			return false
		}
	}
	text := FormatStmt(s)
	// The whole line must fit, or the statement inside would be wrapped
	// and the block would no longer be on one line.
	return len(text) <= 80 && pr.col()+len(text)+4 <= maxWidth
}

func (pr *printer) stmt(s Stmt) {
	b := &pr.b
	switch s := s.(type) {
	case *Let:
		b.WriteString("let " + s.Name.Name + " = ")
		writeExpr(b, s.Value, ctxHeader)
	case *Set:
		b.WriteString("set " + s.Name.Name + " = ")
		writeExpr(b, s.Value, ctxHeader)
	case *If:
		for {
			b.WriteString("if ")
			writeExpr(b, s.Cond, ctxHeader)
			b.WriteString(" ")
			pr.block(s.Then)
			switch {
			case s.ElseIf != nil:
				b.WriteString(" else ")
				s = s.ElseIf
				continue
			case s.Else != nil:
				b.WriteString(" else ")
				pr.block(s.Else)
			}
			return
		}
	case *For:
		b.WriteString("for $" + s.Var.Name + " in ")
		writeExpr(b, s.Iter, ctxHeader)
		b.WriteString(" ")
		pr.block(s.Body)
	case *Def:
		b.WriteString("def " + s.Name.Name + "(")
		for i, p := range s.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + p.Name)
		}
		b.WriteString(") ")
		pr.block(s.Body)
	case *CallStmt:
		writeExpr(b, s.Call, 0)
	case *Include:
		b.WriteString("include ")
		writeString(b, []Part{{Lit: s.Path}})
	case *Print:
		b.WriteString("print ")
		writeExpr(b, s.Value, ctxHeader)
	case *Assert:
		b.WriteString("assert ")
		writeExpr(b, s.Cond, ctxHeader)
		if s.Msg != nil {
			b.WriteString(", ")
			writeExpr(b, s.Msg, ctxHeader)
		}
	case *Fail:
		b.WriteString("fail ")
		writeExpr(b, s.Msg, ctxHeader)
	case *Exec:
		b.WriteString("exec")
		pr.args(s.Args)
	case *Show:
		b.WriteString("show " + s.What.Name)
		pr.args(s.Args)
	case *NetStmt:
		if s.Del {
			b.WriteString("del ")
		}
		b.WriteString(s.Verb)
		pr.netArgs(s)
		if s.Block != nil {
			b.WriteString(" ")
			pr.block(s.Block)
		}
	case *InNetns:
		b.WriteString("in netns ")
		writeExpr(b, s.NS, ctxArg)
		if s.Block != nil {
			b.WriteString(" ")
			pr.block(s.Block)
		}
	}
}

// maxWidth is the line width beyond which a network statement is broken
// before its option keywords with `\` continuations.
const maxWidth = 100

// netArgs prints a network statement's arguments, breaking the line
// before option keywords (greedily, continuation indented by four spaces)
// when the statement would be wider than maxWidth.
func (pr *printer) netArgs(s *NetStmt) {
	texts := make([]string, len(s.Args))
	total := pr.col()
	for i, a := range s.Args {
		var tb strings.Builder
		writeExpr(&tb, a, ctxArg)
		texts[i] = tb.String()
		total += 1 + len(texts[i])
	}
	if total <= maxWidth {
		pr.args(s.Args)
		return
	}
	keys := map[Arg]bool{}
	if d, _ := Decode(s); d != nil {
		for _, f := range d.Fields {
			if f.Key != nil {
				keys[f.Key] = true
			}
		}
	}
	for i := 0; i < len(s.Args); {
		// A group is an option keyword with the arguments up to the next.
		j := i + 1
		for j < len(s.Args) && !keys[s.Args[j]] {
			j++
		}
		group := strings.Join(texts[i:j], " ")
		if keys[s.Args[i]] && pr.col()+1+len(group) > maxWidth {
			pr.b.WriteString(" \\\n")
			pr.pad()
			pr.b.WriteString("    ")
			pr.b.WriteString(group)
		} else {
			pr.b.WriteString(" " + group)
		}
		i = j
	}
}

// col returns the length of the current output line.
func (pr *printer) col() int {
	out := pr.b.String()
	return len(out) - (strings.LastIndexByte(out, '\n') + 1)
}

func (pr *printer) args(args []Arg) {
	for _, a := range args {
		pr.b.WriteString(" ")
		writeExpr(&pr.b, a, ctxArg)
	}
}

// Expression contexts for parenthesisation.
const (
	ctxExpr   = 0 // inside brackets: anything goes
	ctxHeader = 1 // statement level: bare < and > need parentheses
	ctxArg    = 2 // an argument position: only atoms stand bare
)

// precedence of binary operators (higher binds tighter).
func precedence(op string) int {
	switch op {
	case "or":
		return 1
	case "and":
		return 2
	case "==", "!=", "<", "<=", ">", ">=", "in":
		return 4
	case "+", "-":
		return 5
	case "*", "/":
		return 6
	}
	return 0
}

func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		return precedence(e.Op)
	case *Unary:
		if e.Op == "not" {
			return 3
		}
		return 7
	}
	return 8
}

// writeExpr prints e. ctx says where it stands; programmatically built
// trees get the parentheses they need, parsed ones already have them.
func writeExpr(b *strings.Builder, e Expr, ctx int) {
	needParen := false
	switch e := e.(type) {
	case *Binary:
		needParen = ctx == ctxArg || ctx == ctxHeader && (e.Op == "<" || e.Op == ">" || hasBareAngle(e))
	case *Unary:
		needParen = ctx == ctxArg
	case *List:
		needParen = e.Bare && ctx != ctxArg
	}
	if needParen {
		b.WriteString("(")
		writeExpr(b, e, ctxExpr)
		b.WriteString(")")
		return
	}
	switch e := e.(type) {
	case *Word:
		writeWord(b, e.Parts)
	case *String:
		writeString(b, e.Parts)
	case *Var:
		b.WriteString("$" + e.Name)
	case *Call:
		b.WriteString(e.Name.Name + "(")
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, a, ctxExpr)
		}
		b.WriteString(")")
	case *List:
		if e.Bare {
			for i, x := range e.Elems {
				if i > 0 {
					b.WriteString(", ")
				}
				writeExpr(b, x, ctxArg)
			}
			return
		}
		b.WriteString("[")
		for i, x := range e.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, x, ctxExpr)
		}
		b.WriteString("]")
	case *Record:
		b.WriteString("{")
		for i, f := range e.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Key.Name + ": ")
			writeExpr(b, f.Value, ctxExpr)
		}
		b.WriteString("}")
	case *Binary:
		p := precedence(e.Op)
		writeOperand(b, e.X, p, false, ctx)
		b.WriteString(" " + e.Op + " ")
		writeOperand(b, e.Y, p, true, ctx)
	case *Unary:
		if e.Op == "not" {
			b.WriteString("not ")
			writeOperand(b, e.X, 3, false, ctx)
		} else {
			b.WriteString("-")
			switch e.X.(type) {
			case *Word, *Unary:
				// "-5" would read back as the word -5.
				b.WriteString(" ")
			}
			writeOperand(b, e.X, 7, false, ctx)
		}
	case *Index:
		writeOperand(b, e.X, 9, false, ctx)
		b.WriteString("[")
		writeExpr(b, e.Index, ctxExpr)
		b.WriteString("]")
	case *Selector:
		writeOperand(b, e.X, 9, false, ctx)
		b.WriteString("." + e.Field.Name)
	case *Paren:
		b.WriteString("(")
		writeExpr(b, e.X, ctxExpr)
		b.WriteString(")")
	}
}

// hasBareAngle reports whether e contains a < or > comparison not inside
// parentheses.
func hasBareAngle(e Expr) bool {
	switch e := e.(type) {
	case *Binary:
		return e.Op == "<" || e.Op == ">" || hasBareAngle(e.X) || hasBareAngle(e.Y)
	case *Unary:
		return hasBareAngle(e.X)
	}
	return false
}

func writeOperand(b *strings.Builder, x Expr, prec int, right bool, ctx int) {
	var paren bool
	if prec == 9 { // the base of x[i] or x.f must be an atom that takes a suffix
		switch x := x.(type) {
		case *Binary, *Unary, *Word:
			paren = true
		case *List:
			paren = x.Bare
		}
	} else {
		xp := exprPrec(x)
		// Operators are left-associative and comparisons do not chain.
		paren = xp < prec || xp == prec && (right || prec == 4)
	}
	if paren {
		b.WriteString("(")
		writeExpr(b, x, ctxExpr)
		b.WriteString(")")
		return
	}
	c := ctxExpr
	if ctx == ctxHeader {
		c = ctxHeader
	}
	writeExpr(b, x, c)
}

func writeWord(b *strings.Builder, parts []Part) {
	for _, p := range parts {
		if p.Expr != nil {
			b.WriteString("${")
			writeExpr(b, p.Expr, ctxExpr)
			b.WriteString("}")
		} else {
			b.WriteString(p.Lit)
		}
	}
}

func writeString(b *strings.Builder, parts []Part) {
	b.WriteByte('"')
	for _, p := range parts {
		if p.Expr != nil {
			b.WriteString("${")
			writeExpr(b, p.Expr, ctxExpr)
			b.WriteString("}")
			continue
		}
		for i := 0; i < len(p.Lit); i++ {
			switch c := p.Lit[i]; c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\t':
				b.WriteString(`\t`)
			case '$':
				if i+1 < len(p.Lit) && p.Lit[i+1] == '{' {
					b.WriteString(`\$`)
				} else {
					b.WriteByte('$')
				}
			default:
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// QuoteString returns s as a nets string literal (no interpolation).
func QuoteString(s string) string {
	var b strings.Builder
	writeString(&b, []Part{{Lit: s}})
	return b.String()
}
