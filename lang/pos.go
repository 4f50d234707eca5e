package lang

import (
	"strings"
	"unicode/utf8"
)

// Positions are kept compact: a Span is two byte offsets and a pointer
// to the source table of its file (16 bytes where two Positions took 80),
// and a Position (file, offset, line, column) is computed from them when
// asked for. A 100k-statement recipe has about a million spans.
//
// Lines and columns are those participle's lexer gives (lexDef, the
// specification of the tokens): Line is 1 + the number of '\n' before
// the offset, Column 1 + the number of runes (not bytes) since the line's
// start. An end position is the end of a token: its Column is the start
// column of that token plus the token's length in bytes (so after a
// token holding multi-byte characters, such as a string's text or a
// comment, it differs from the column a token starting there would have).

// source is what the positions of one parsed file need: its name, its
// text (the tokens' text is part of it anyway) and where its lines
// start. Every Span of the file points to it.
type source struct {
	filename string
	text     string
	lines    []uint32 // offset of the start of line 2, 3, ...
	// wide maps the end offset of each token whose length in bytes is not
	// its length in runes to the offset where the token starts (see End).
	wide map[uint32]uint32
}

func newSource(filename, text string) *source {
	src := &source{filename: filename, text: text}
	n := strings.Count(text, "\n")
	if n > 0 {
		src.lines = make([]uint32, 0, n)
		for off := 0; ; {
			i := strings.IndexByte(text[off:], '\n')
			if i < 0 {
				break
			}
			off += i + 1
			src.lines = append(src.lines, uint32(off))
		}
	}
	return src
}

// position returns the Position of a token starting at off.
func (src *source) position(off uint32) Position {
	// lines[i-1] <= off < lines[i]: off is on line i+1.
	lo, hi := 0, len(src.lines)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if src.lines[m] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	start := uint32(0)
	if lo > 0 {
		start = src.lines[lo-1]
	}
	return Position{Filename: src.filename, Offset: int(off), Line: lo + 1,
		Column: 1 + runeCount(src.text[start:off])}
}

// tokenEnd returns the end Position of the token from off to end: on the
// token's line, its start column plus its length in bytes; after a
// newline token, the start of the next line.
func (src *source) tokenEnd(off, end uint32) Position {
	if end > off && src.text[end-1] == '\n' {
		return src.position(end)
	}
	p := src.position(off)
	p.Offset = int(end)
	p.Column += int(end - off)
	return p
}

// endPosition returns the Position of end as the end of the token that
// ends there.
func (src *source) endPosition(end uint32) Position {
	if start, ok := src.wide[end]; ok {
		return src.tokenEnd(start, end)
	}
	return src.position(end)
}

// runeCount is utf8.RuneCountInString with a fast path for ASCII.
func runeCount(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return i + utf8.RuneCountInString(s[i:])
		}
	}
	return len(s)
}

// Span is the source range of a node, from its first byte to the byte
// just after it. Every node embeds a Span. Its positions are computed
// on demand (Pos, End, Bounds); the zero Span has zero positions.
type Span struct {
	src        *source
	start, end uint32
}

// Pos returns the position of the first byte of the range.
func (s Span) Pos() Position {
	if s.src == nil {
		return Position{}
	}
	return s.src.position(s.start)
}

// End returns the position just after the range.
func (s Span) End() Position {
	if s.src == nil {
		return Position{}
	}
	return s.src.endPosition(s.end)
}

// Bounds returns the node's source range.
func (s Span) Bounds() (pos, end Position) { return s.Pos(), s.End() }

// Offsets returns the byte offsets of the range in its file.
func (s Span) Offsets() (start, end int) { return int(s.start), int(s.end) }

// Filename returns the name of the file the range is in.
func (s Span) Filename() string {
	if s.src == nil {
		return ""
	}
	return s.src.filename
}

// IsValid reports whether the span has a position (is not the zero Span).
func (s Span) IsValid() bool { return s.src != nil }

// Cover returns the range from the start of s to the end of t, two spans
// of one file (t after s).
func (s Span) Cover(t Span) Span {
	if s.src == nil {
		return t
	}
	s.end = t.end
	return s
}

func (s Span) span() Span { return s }

// spanOf returns the Span of a node of this package.
func spanOf(n Node) Span {
	if sp, ok := n.(interface{ span() Span }); ok {
		return sp.span()
	}
	return Span{}
}
