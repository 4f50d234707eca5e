package lang

import (
	"strings"
	"unicode"
)

// A big recipe is parsed in two halves at once. Parsing is the one step
// of a run that must finish before anything else can start (the whole
// file is checked before any change is made), and a generated recipe of
// 100k routes is 4 MB of source: about 0.12 s on one core while the
// other has nothing to do.
//
// The source is cut at the start of a line near its middle that looks
// like a top-level statement (a letter in the first column, after a line
// that does not continue with `\`). One goroutine parses from the cut to
// the end as a file of its own; the caller's parses from the start and
// stops at the first top-level statement at or after the cut. The halves
// are joined only when that statement is exactly where the second half's
// first statement starts — the first half then reached the cut between
// two top-level statements, so the second half parsed what a whole parse
// would have — and neither half found an error. Otherwise (the cut fell
// inside a block, a string or a continued line, or the source has
// errors) the result is thrown away and the file is parsed whole, which
// also gives the diagnostics exactly as before. TestParseSplit compares
// the two ways on every recipe in the repository and on generated ones.

// splitMin is the smallest source worth parsing in two halves (a
// variable for tests).
var splitMin = 1 << 20

// splitAt chooses the cut (a variable for tests).
var splitAt = splitPoint

// parseSplit parses src in two halves (see above); ok is false when the
// halves cannot be joined and src must be parsed whole.
func parseSplit(filename string, src []byte) (f *File, p *parser, ok bool) {
	text := sourceText(src)
	cut := splitAt(text)
	if cut <= 0 {
		return nil, nil, false
	}
	s := newSource(filename, text)
	half := func(from int) *parser {
		p := &parser{filename: filename, src: s, buf: make([]tok, 0, 64)}
		p.sc = newScanner(s)
		p.sc.off, p.sc.private = from, true
		return p
	}
	// The second half, on its own goroutine.
	pb := half(cut)
	pb.topCap = stmtRoom(text[cut:])
	var bStmts []Stmt
	var bEOF tok
	bOK := make(chan bool, 1)
	go func() {
		defer func() {
			if recover() != nil {
				bOK <- false // the whole parse reports it
			}
		}()
		bStmts = pb.stmts(false)
		bEOF = pb.at(pb.i)
		bOK <- true
	}()
	// The first half, here.
	pa := half(0)
	pa.stopAt = cut
	// Room for the whole file's statements: the second half's are
	// appended to the first half's list when the halves are joined.
	pa.topCap = stmtRoom(text)
	aStmts, aOK := func() (list []Stmt, ok bool) {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		return pa.stmts(false), true
	}()
	if !<-bOK || !aOK || len(pa.diags) > 0 || len(pb.diags) > 0 || pa.stoppedAt == 0 || len(bStmts) == 0 {
		return nil, nil, false
	}
	if start, _ := stmtOffsets(bStmts[0]); start != pa.stoppedAt {
		return nil, nil, false
	}
	// Joined: the comments the first half saw past the cut are the
	// second half's too; the wide tokens of both go to the source.
	comments := pa.comments
	for i, c := range comments {
		if start, _ := c.Offsets(); start >= cut {
			comments = comments[:i]
			break
		}
	}
	for _, sc := range []*scanner{pa.sc, pb.sc} {
		for end, start := range sc.wide {
			if s.wide == nil {
				s.wide = map[uint32]uint32{}
			}
			s.wide[end] = start
		}
	}
	f = &File{Filename: filename, Stmts: trimStmts(append(aStmts, bStmts...)), Comments: append(comments, pb.comments...)}
	f.Span = Span{src: s, start: 0, end: bEOF.off}
	return f, pa, true
}

// stmtOffsets returns where a statement starts and ends.
func stmtOffsets(s Stmt) (start, end int) {
	if o, ok := s.(interface{ Offsets() (int, int) }); ok {
		return o.Offsets()
	}
	return -1, -1
}

// splitPoint returns an offset near the middle of text where a line that
// may start a top-level statement begins: a letter in its first column,
// the line before not ending in `\`. It returns -1 when there is none in
// the second quarter of the text.
func splitPoint(text string) int {
	for off := len(text) / 2; off < len(text)*3/4; {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return -1
		}
		nl := off + i
		off = nl + 1
		if off >= len(text) {
			return -1
		}
		prev := strings.TrimRight(text[max(0, strings.LastIndexByte(text[:nl], '\n')+1):nl], " \t\r")
		if strings.HasSuffix(prev, "\\") {
			continue
		}
		if c := rune(text[off]); c < 0x80 && unicode.IsLetter(c) {
			return off
		}
	}
	return -1
}
