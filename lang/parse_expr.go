package lang

import (
	"strings"
)

// Expression grammar, lowest precedence first:
//
//	expr    = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | cmp
//	cmp     = add [ ("=="|"!="|"<"|"<="|">"|">="|"in") add ]
//	add     = mul { ("+"|"-") mul }
//	mul     = unary { ("*"|"/") unary }
//	unary   = "-" unary | postfix
//	postfix = primary { "[" expr "]" | "." name }   (no space before [ or .)
//	primary = word | $var | string | call | "(" expr ")" | list | record
//
// Outside brackets a bare `<` or `>` opens or closes a block, so the
// comparisons < and > are only recognised inside ( ), [ ], { }, call
// arguments and ${ } (where nlSkip > 0); <=, >=, == and != work everywhere.

func (p *parser) expr() Expr {
	p.enter()
	defer p.leave()
	x := p.and()
	for p.plainWord("or") {
		op := p.next()
		y := p.and()
		x = p.binary(op, x, y)
	}
	return x
}

func (p *parser) binary(op tok, x, y Expr) Expr {
	return &Binary{Span: spanOf(x).Cover(spanOf(y)), Op: op.v, OpSpan: p.span(op.off, op.end), X: x, Y: y}
}

func (p *parser) and() Expr {
	x := p.not()
	for p.plainWord("and") {
		op := p.next()
		y := p.not()
		x = p.binary(op, x, y)
	}
	return x
}

func (p *parser) not() Expr {
	if p.plainWord("not") {
		op := p.next()
		p.enter()
		defer p.leave()
		x := p.not()
		return &Unary{Span: p.span(op.off, spanOf(x).end), Op: "not", X: x}
	}
	return p.cmp()
}

func (p *parser) cmp() Expr {
	x := p.add()
	t := p.peek()
	isCmp := t.k == tOp && (t.v == "==" || t.v == "!=" || t.v == "<=" || t.v == ">=" ||
		p.nlSkip > 0 && (t.v == "<" || t.v == ">"))
	if isCmp || p.plainWord("in") {
		op := p.next()
		y := p.add()
		x = p.binary(op, x, y)
		if n := p.peek(); n.k == tOp && (n.v == "==" || n.v == "!=" || n.v == "<=" || n.v == ">=" || p.nlSkip > 0 && (n.v == "<" || n.v == ">")) {
			p.fail(n, "comparisons do not chain; use parentheses")
		}
	}
	return x
}

func (p *parser) add() Expr {
	x := p.mul()
	for {
		t := p.peek()
		if !(p.isOp(t, "+") || t.k == tWord && t.v == "-" && !p.gluedInterp()) {
			return x
		}
		op := p.next()
		y := p.mul()
		x = p.binary(op, x, y)
	}
}

func (p *parser) mul() Expr {
	x := p.unary()
	for {
		t := p.peek()
		if !(p.isOp(t, "*") || t.k == tWord && t.v == "/" && !p.gluedInterp()) {
			return x
		}
		op := p.next()
		y := p.unary()
		x = p.binary(op, x, y)
	}
}

func (p *parser) unary() Expr {
	t := p.peek()
	if t.k == tWord && t.v == "-" && !p.gluedInterp() {
		p.next()
		p.enter()
		defer p.leave()
		x := p.unary()
		return &Unary{Span: p.span(t.off, spanOf(x).end), Op: "-", X: x}
	}
	return p.postfix()
}

// postfix parses a primary and any [index] / .field directly after it.
func (p *parser) postfix() Expr {
	x := p.primary()
	for p.adjacent() {
		t := p.at(p.i)
		xp := spanOf(x).start
		switch {
		case p.isOp(t, "["):
			if _, ok := x.(*Word); ok {
				return x
			}
			p.next()
			p.nlSkip++
			idx := p.expr()
			p.nlSkip--
			end := p.closeOp("]", t)
			x = &Index{Span: p.span(xp, end.end), X: x, Index: idx}
		case t.k == tWord && strings.HasPrefix(t.v, ".") && isSelectable(x):
			// `.a.b` arrives as one word token; split it into fields.
			p.next()
			off := uint32(0)
			for _, name := range strings.Split(t.v[1:], ".") {
				// A word token is ASCII: its bytes are its columns.
				fpos := t.off + off + 1
				fend := fpos + uint32(len(name))
				if !isIdent(name) {
					p.errorAt(p.src.position(fpos), p.src.tokenEnd(fpos, fend), "invalid field name %q", name)
					panic(bailout{})
				}
				x = &Selector{Span: p.span(xp, fend), X: x, Field: &Ident{Span: p.span(fpos, fend), Name: name}}
				off += uint32(len(name)) + 1
			}
		case t.k == tVar && isWordLike(x):
			p.errorHint(p.pos(t), p.endPos(t), "write ${"+t.v[1:]+"} to interpolate a variable into a word", "variable %s directly after a word", t.v)
			panic(bailout{})
		default:
			return x
		}
	}
	return x
}

func isSelectable(x Expr) bool {
	switch x.(type) {
	case *Var, *Index, *Selector, *Call, *Paren, *Record:
		return true
	}
	return false
}

func isWordLike(x Expr) bool {
	_, ok := x.(*Word)
	return ok
}

func (p *parser) primary() Expr {
	t := p.peek()
	switch {
	case t.k == tWord && isIdent(t.v) && p.isOp(p.peekN(1), "(") && p.peekN(1).off == t.end:
		return p.call()
	case t.k == tWord || t.k == tInterp:
		return p.word()
	case t.k == tVar:
		p.next()
		return &Var{Span: p.span(t.off, t.end), Name: t.v[1:]}
	case t.k == tQuote:
		return p.str()
	case p.isOp(t, "("):
		p.next()
		p.nlSkip++
		x := p.expr()
		p.nlSkip--
		end := p.closeOp(")", t)
		return &Paren{Span: p.span(t.off, end.end), X: x}
	case p.isOp(t, "["):
		p.next()
		p.nlSkip++
		l := &List{}
		for !p.isOp(p.peek(), "]") {
			l.Elems = append(l.Elems, p.expr())
			if !p.isOp(p.peek(), ",") {
				break
			}
			p.next()
		}
		p.nlSkip--
		end := p.closeOp("]", t)
		l.Span = p.span(t.off, end.end)
		return l
	case p.isOp(t, "{"):
		return p.record()
	}
	p.unexpected(t, "an expression")
	return nil
}

func (p *parser) call() *Call {
	t := p.next()
	c := &Call{Name: &Ident{Span: p.span(t.off, t.end), Name: t.v}}
	open := p.next() // "(" (checked by the caller)
	p.nlSkip++
	for !p.isOp(p.peek(), ")") {
		c.Args = append(c.Args, p.expr())
		if !p.isOp(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.nlSkip--
	end := p.closeOp(")", open)
	c.Span = p.span(t.off, end.end)
	return c
}

// record parses `{key: value, ...}`. The lexer makes `key:` (and even
// `key:value`) one word, since ':' belongs to words (MACs, IPv6); the key
// is the text before the first ':'.
func (p *parser) record() *Record {
	open := p.next()
	p.nlSkip++
	r := &Record{}
	for !p.isOp(p.peek(), "}") {
		t := p.peek()
		if t.k != tWord || p.gluedInterp() {
			p.unexpected(t, "a record key")
		}
		key, rest, found := strings.Cut(t.v, ":")
		kend := t.off + uint32(len(key))
		if !isIdent(key) {
			p.errorAt(p.pos(t), p.endPos(t), "invalid record key %q", key)
			panic(bailout{})
		}
		p.next()
		f := &RecordField{Key: &Ident{Span: p.span(t.off, kend), Name: key}}
		switch {
		case found && rest != "":
			// key:value in one token: the value is the rest of the word,
			// plus anything glued to it.
			vpos := kend + 1
			w := p.newWord()
			w.Parts = append(w.Parts, Part{Span: p.span(vpos, t.end), Lit: rest})
			w.start = vpos
			p.wordTail(w)
			f.Value = w
		case found:
			f.Value = p.expr()
		default:
			c := p.peek()
			if c.k != tWord || !strings.HasPrefix(c.v, ":") {
				p.unexpected(c, "\":\" after record key")
			}
			if c.v == ":" {
				p.next()
				f.Value = p.expr()
			} else {
				p.unexpected(c, "\":\" followed by a space")
			}
		}
		f.Span = p.span(t.off, spanOf(f.Value).end)
		r.Fields = append(r.Fields, f)
		if !p.isOp(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.nlSkip--
	end := p.closeOp("}", open)
	r.Span = p.span(open.off, end.end)
	return r
}

// wordAndPart is a Word with room for its first Part: most words are
// one literal (`eth0`, `10.0.0.0/8`), which then take one allocation.
type wordAndPart struct {
	w Word
	p [1]Part
}

func (p *parser) newWord() *Word {
	b := p.words.new()
	b.w.Parts = b.p[:0:1]
	return &b.w
}

// stringAndPart is wordAndPart for strings.
type stringAndPart struct {
	s String
	p [1]Part
}

func newString() *String {
	b := &stringAndPart{}
	b.s.Parts = b.p[:0:1]
	return &b.s
}

// word parses a bare word with the interpolations glued to it.
func (p *parser) word() *Word {
	w := p.newWord()
	w.start = p.peek().off
	p.wordTail(w)
	if len(w.Parts) == 0 {
		p.unexpected(p.peek(), "a word")
	}
	return w
}

// wordTail appends adjacent word text and ${} parts to w.
func (p *parser) wordTail(w *Word) {
	for first := len(w.Parts) == 0; first || p.adjacent(); first = false {
		t := p.at(p.i)
		switch t.k {
		case tWord:
			if !first && len(w.Parts) > 0 && w.Parts[len(w.Parts)-1].Expr == nil {
				// Two adjacent word tokens (e.g. [v6]:port then more) stay one.
				w.Parts[len(w.Parts)-1].Lit += t.v
				w.Parts[len(w.Parts)-1].end = t.end
				p.next()
				continue
			}
			p.next()
			w.addLit(p, t)
		case tInterp:
			w.Parts = append(w.Parts, p.interp())
		default:
			w.Span = p.span(w.start, p.prevEnd())
			return
		}
	}
	w.Span = p.span(w.start, p.prevEnd())
}

// interp parses `${ expr }`.
func (p *parser) interp() Part {
	open := p.next()
	p.nlSkip++
	x := p.expr()
	p.nlSkip--
	t := p.peek()
	if t.k != tInterpEnd {
		if t.k == tEOF {
			p.atEOF = true
		}
		p.fail(t, "unexpected %s, expected \"}\" to close \"${\" at %d:%d", describe(t), p.pos(open).Line, p.pos(open).Column)
	}
	p.next()
	return Part{Span: p.span(open.off, t.end), Expr: x}
}

// str parses a double-quoted string.
func (p *parser) str() *String {
	open := p.next()
	s := newString()
	for {
		t := p.at(p.i)
		switch t.k {
		case tStrEnd:
			p.next()
			s.Span = p.span(open.off, t.end)
			if len(s.Parts) == 0 {
				s.Parts = nil // "" has no parts
			}
			return s
		case tStrText:
			p.next()
			s.addLit(p, t, t.v)
		case tStrEsc:
			p.next()
			r, ok := unescape(t.v)
			if !ok {
				p.errorAt(p.pos(t), p.endPos(t), "unknown escape sequence %q in string", t.v)
				r = t.v
			}
			s.addLit(p, t, r)
		case tInterp:
			s.Parts = append(s.Parts, p.interp())
		default: // newline or end of file
			if t.k == tEOF {
				p.atEOF = true
			}
			p.errorAt(p.pos(open), p.endPos(open), "string is never closed: missing '\"'")
			if t.k == tStrNL {
				// The lexer left the string at the newline; the statement
				// is abandoned.
				panic(bailout{})
			}
			panic(bailout{})
		}
	}
}

func (s *String) addLit(p *parser, t tok, text string) {
	if n := len(s.Parts); n > 0 && s.Parts[n-1].Expr == nil {
		s.Parts[n-1].Lit += text
		s.Parts[n-1].end = t.end
		return
	}
	s.Parts = append(s.Parts, Part{Span: p.span(t.off, t.end), Lit: text})
}

func unescape(esc string) (string, bool) {
	switch esc {
	case `\"`:
		return `"`, true
	case `\\`:
		return `\`, true
	case `\n`:
		return "\n", true
	case `\t`:
		return "\t", true
	case `\$`:
		return "$", true
	}
	return "", false
}

// isIdent reports whether s is an identifier: [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// isKeyword reports whether s is a reserved word of the language.
func isKeyword(s string) bool {
	switch s {
	case "let", "set", "if", "else", "for", "in", "def", "include", "print", "assert",
		"fail", "exec", "show", "del", "and", "or", "not":
		return true
	}
	return false
}
