package lang

import (
	"strings"
	"unicode/utf8"
)

// scanner splits a source into tokens exactly as lexDef (participle's
// stateful lexer, the specification of nets' tokens) does and the parser
// keeps them: same kinds, values and positions (spaces and continuations
// dropped, comments kept). It is hand-written because lexDef tries its
// rules as regular expressions one after the other at every position,
// which made lexing about 80% of the time of `nets run` on a
// 100k-statement recipe (1.2 s of CPU); the scanner does the same in a
// few tens of milliseconds, and hands out one token at a time (token) so
// that the tokens of a whole file never exist at once.
// TestScanMatchesLexDef compares the two on every test recipe and on
// random input.
func newScanner(src *source) *scanner {
	s := &scanner{data: src.text, src: src}
	s.stack = append(s.stackBuf[:0], stRoot)
	return s
}

// token returns the next token; at the end of the source, tEOF.
func (s *scanner) token() tok {
	for s.off < len(s.data) {
		s.have = false
		s.next()
		if s.have {
			return s.tok
		}
	}
	return tok{k: tEOF, off: uint32(s.off), end: uint32(s.off)}
}

// lexer states, as in lexDef.
const (
	stRoot = iota
	stString
	stInterp
	stBrace
)

type scanner struct {
	data     string
	off      int
	src      *source
	stack    []int
	stackBuf [8]int
	tok      tok  // the token the last step made
	have     bool // whether it made one (spaces make none)
	// private: the wide tokens go to wide, not src.wide (a half of a
	// split parse, which must not write the shared source while the
	// other half runs).
	private bool
	wide    map[uint32]uint32
}

// emit makes the token of kind k of the next n bytes (k < 0: skips
// them). A token whose bytes are not all ASCII is noted in src.wide:
// where it ends, the end column counts its bytes.
func (s *scanner) emit(k tokKind, n int) {
	start := s.off
	s.off += n
	if k < 0 {
		return
	}
	v := s.data[start:s.off]
	switch k {
	case tStrText, tStrEsc, tComment, tBad:
		if runeCount(v) != n {
			w := &s.src.wide
			if s.private {
				w = &s.wide // a split parse's half (parse_split.go)
			}
			if *w == nil {
				*w = map[uint32]uint32{}
			}
			(*w)[uint32(s.off)] = uint32(start)
		}
	}
	s.tok = tok{k: k, v: v, off: uint32(start), end: uint32(s.off)}
	s.have = true
}

func (s *scanner) push(st int) { s.stack = append(s.stack, st) }

func (s *scanner) pop() {
	if len(s.stack) > 1 {
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// next scans one token in the current state.
func (s *scanner) next() {
	rest := s.data[s.off:]
	switch st := s.stack[len(s.stack)-1]; st {
	case stString:
		s.stringTok(rest)
		return
	case stInterp, stBrace:
		if rest[0] == '}' {
			k := tInterpEnd
			if st == stBrace {
				k = tOp // RBrace
			}
			s.emit(k, 1)
			s.pop()
			return
		}
	}
	s.rootTok(rest)
}

// stringTok: StrEnd, StrEsc, Interp, StrText, StrNL, in that order.
func (s *scanner) stringTok(rest string) {
	switch c := rest[0]; {
	case c == '"':
		s.emit(tStrEnd, 1)
		s.pop()
	case c == '\\':
		n := 1
		if len(rest) > 1 && rest[1] != '\n' {
			_, w := utf8.DecodeRuneInString(rest[1:])
			n += w
		}
		s.emit(tStrEsc, n)
	case c == '$' && len(rest) > 1 && rest[1] == '{':
		s.emit(tInterp, 2)
		s.push(stInterp)
	case c == '$':
		s.emit(tStrText, 1)
	case c == '\n':
		s.emit(tStrNL, 1)
		s.pop()
	default:
		n := strings.IndexAny(rest, "\"\\$\n")
		if n < 0 {
			n = len(rest)
		}
		s.emit(tStrText, n)
	}
}

// rootTok: Comment, Cont, NL, Space, Quote, Interp, Var, V6Port,
// LBrace, Op, Word, Bad, in that order (the first that matches wins).
func (s *scanner) rootTok(rest string) {
	c := rest[0]
	switch {
	case c == '#':
		n := strings.IndexByte(rest, '\n')
		if n < 0 {
			n = len(rest)
		}
		s.emit(tComment, n)
		return
	case c == '\\':
		if n := contLen(rest); n > 0 {
			s.emit(-1, n)
			return
		}
	case c == '\n':
		s.emit(tNL, 1)
		return
	case c == '\r' && len(rest) > 1 && rest[1] == '\n':
		s.emit(tNL, 2)
		return
	case isSpace(c):
		n := 1
		for n < len(rest) && isSpace(rest[n]) {
			n++
		}
		s.emit(-1, n)
		return
	case c == '"':
		s.emit(tQuote, 1)
		s.push(stString)
		return
	case c == '$':
		if len(rest) > 1 && rest[1] == '{' {
			s.emit(tInterp, 2)
			s.push(stInterp)
			return
		}
		if len(rest) > 1 && isIdentStart(rest[1]) {
			n := 2
			for n < len(rest) && isIdentByte(rest[n]) {
				n++
			}
			s.emit(tVar, n)
			return
		}
	case c == '[':
		if n := v6PortLen(rest); n > 0 {
			s.emit(tWord, n)
			return
		}
	case c == '{':
		s.emit(tOp, 1)
		s.push(stBrace)
		return
	}
	if len(rest) > 1 && rest[1] == '=' && (c == '=' || c == '!' || c == '<' || c == '>') {
		s.emit(tOp, 2)
		return
	}
	if strings.IndexByte("<>()[],;=+*}", c) >= 0 {
		s.emit(tOp, 1)
		return
	}
	if isWordByte(c) {
		n := 1
		for n < len(rest) && isWordByte(rest[n]) {
			n++
		}
		s.emit(tWord, n)
		return
	}
	_, w := utf8.DecodeRuneInString(rest) // Bad: one character
	s.emit(tBad, w)
}

// contLen matches `\\[ \t]*\r?\n` at the start of s (0: no match).
func contLen(s string) int {
	n := 1
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	if n < len(s) && s[n] == '\r' {
		n++
	}
	if n < len(s) && s[n] == '\n' {
		return n + 1
	}
	return 0
}

// v6PortLen matches `\[[0-9A-Za-z.%]*:[0-9A-Za-z:.%]*\]:[0-9]+` at the
// start of s (0: no match).
func v6PortLen(s string) int {
	n := 1
	for n < len(s) && (isAlnum(s[n]) || s[n] == '.' || s[n] == '%') {
		n++
	}
	if n >= len(s) || s[n] != ':' {
		return 0
	}
	n++
	for n < len(s) && (isAlnum(s[n]) || s[n] == '.' || s[n] == '%' || s[n] == ':') {
		n++
	}
	if n+1 >= len(s) || s[n] != ']' || s[n+1] != ':' {
		return 0
	}
	n += 2
	d := n
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == d {
		return 0
	}
	return n
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isIdentByte(c byte) bool { return c == '_' || isAlnum(c) }

func isWordByte(c byte) bool { return wordBytes[c] }

// wordBytes[c] tells whether c is a byte of a word: [A-Za-z0-9_.:/%@\-].
var wordBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || strings.IndexByte("_.:/%@-", byte(c)) >= 0
	}
	return t
}()
