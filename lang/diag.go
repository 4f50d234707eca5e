package lang

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Diagnostic is the one error type of nets: a message about a source range,
// with an optional hint ("did you mean `lookup`?") and an optional detail
// (for example the kernel's extended-ack text, filled in by the evaluator).
// Err, when set, is the underlying error (errors.Is/As see through a
// Diagnostic to it).
type Diagnostic struct {
	Pos    Position
	End    Position // just after the range; zero when unknown
	Msg    string
	Hint   string
	Detail string
	Err    error
}

// Errorf returns a Diagnostic for the range of n with a formatted message.
func Errorf(n Node, format string, args ...any) Diagnostic {
	pos, end := n.Bounds()
	return Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf(format, args...)}
}

// Error returns "file:line:col: message" ("line:col: message" when the
// file has no name).
//
// A WireGuard key quoted in the message (a key literal standing where
// something else belongs) shows as "(key)", as everywhere in nets.
func (d Diagnostic) Error() string {
	return d.Location() + ": " + maskText(d.Msg)
}

// maskText replaces every key in s (see MaskKeys) by "(key)".
func maskText(s string) string {
	m, changed := maskKeys([]byte(s))
	if !changed {
		return s
	}
	return strings.ReplaceAll(string(m), string(keyMask), "(key)")
}

// Location returns "file:line:col" (or "line:col").
func (d Diagnostic) Location() string {
	if d.Pos.Filename != "" {
		return fmt.Sprintf("%s:%d:%d", d.Pos.Filename, d.Pos.Line, d.Pos.Column)
	}
	return fmt.Sprintf("%d:%d", d.Pos.Line, d.Pos.Column)
}

// Unwrap returns the underlying error, if any.
func (d Diagnostic) Unwrap() error { return d.Err }

// Diagnostics is a list of diagnostics; a non-empty list is an error.
type Diagnostics []Diagnostic

// Error returns the diagnostics one per line.
func (ds Diagnostics) Error() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Unwrap exposes every diagnostic to errors.Is and errors.As.
func (ds Diagnostics) Unwrap() []error {
	errs := make([]error, len(ds))
	for i, d := range ds {
		errs[i] = d
	}
	return errs
}

// Err returns ds as an error, or nil when ds is empty.
func (ds Diagnostics) Err() error {
	if len(ds) == 0 {
		return nil
	}
	return ds
}

// Sort orders the diagnostics by file, then position (stable).
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// tabWidth is the tab stop used when rendering source lines.
const tabWidth = 8

// Render writes d as
//
//	file:line:col: message
//	   4 | route 10.0.0.300/8 dev eth0
//	     |       ^~~~~~~~~~~~
//	     = hint: ...
//	     = detail text
//
// src is the text of d.Pos.Filename; when it is nil or does not contain
// the line, only the message, hint and detail are written. Tabs are
// expanded (tab stops every 8 columns) identically in the line and under
// the caret; control characters are shown as '?'. WireGuard keys in the
// line are masked (MaskKeys): an echoed `private-key "..."` must not
// print the secret.
func Render(w io.Writer, d Diagnostic, src []byte) {
	fmt.Fprintln(w, d.Error())
	line, start, ok := sourceLine(src, d.Pos.Line)
	gutter := "   "
	if ok {
		col, end := byteColumns(d, line, start)
		line = MaskKeys(line) // same length
		num := fmt.Sprint(d.Pos.Line)
		gutter = strings.Repeat(" ", len(num)+1)
		text, col, endCol := expand(line, col, end)
		fmt.Fprintf(w, " %s | %s\n", num, strings.TrimRight(text, " "))
		caret := "^"
		if endCol > col+1 {
			caret += strings.Repeat("~", endCol-col-1)
		}
		fmt.Fprintf(w, "%s | %s%s\n", gutter, strings.Repeat(" ", col), caret)
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "%s = hint: %s\n", gutter, maskText(d.Hint))
	}
	if d.Detail != "" {
		for _, l := range strings.Split(strings.TrimRight(maskText(d.Detail), "\n"), "\n") {
			fmt.Fprintf(w, "%s = %s\n", gutter, l)
		}
	}
}

// RenderAll renders every diagnostic; src returns the text of a file by
// name (nil when unknown). src may be nil.
func RenderAll(w io.Writer, ds []Diagnostic, src func(filename string) []byte) {
	for _, d := range ds {
		var text []byte
		if src != nil {
			text = src(d.Pos.Filename)
		}
		Render(w, d, text)
	}
}

// sourceLine returns line n (1-based) of src without its newline, and
// the byte offset in src where it starts.
func sourceLine(src []byte, n int) ([]byte, int, bool) {
	if src == nil || n < 1 {
		return nil, 0, false
	}
	start := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src[start:], '\n')
		if j < 0 {
			return nil, 0, false
		}
		start += j + 1
	}
	line := src[start:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return bytes.TrimSuffix(line, []byte("\r")), start, true
}

// byteColumns returns the 1-based byte columns in line, which starts at
// byte start of the file, where d's range starts and ends on that line
// (end 0 when the range is empty or unknown). A Position's Column counts
// runes, and its byte Offset says exactly where it is; a position whose
// Offset does not agree with its line and column (one made without an
// Offset) has its Column mapped from runes to bytes instead.
func byteColumns(d Diagnostic, line []byte, start int) (col, end int) {
	col = runeToByteColumn(line, d.Pos.Column)
	posOK := false
	if b := d.Pos.Offset - start; b >= 0 && b <= len(line) && utf8.RuneCount(line[:b])+1 == d.Pos.Column {
		col, posOK = b+1, true
	}
	switch {
	case d.End.Line == d.Pos.Line && posOK && d.End.Offset > d.Pos.Offset && d.End.Offset-start <= len(line):
		end = d.End.Offset - start + 1
	case d.End.Line == d.Pos.Line && d.End.Column > d.Pos.Column:
		end = runeToByteColumn(line, d.End.Column)
	case d.End.Line > d.Pos.Line:
		end = len(line) + 1
	}
	return col, end
}

// runeToByteColumn maps a 1-based column counted in runes to the
// 1-based byte column of line (past the end: as if the line went on in
// single bytes).
func runeToByteColumn(line []byte, col int) int {
	i := 0
	for c := 1; c < col; c++ {
		if i >= len(line) {
			return len(line) + col - c + 1
		}
		_, n := utf8.DecodeRune(line[i:])
		i += n
	}
	return i + 1
}

// expand expands tabs and control characters of line and maps the 1-based
// byte columns col and end to 0-based display columns.
func expand(line []byte, col, end int) (string, int, int) {
	var b strings.Builder
	dcol, dend := -1, -1
	width := 0
	for i := 0; i <= len(line); {
		if i+1 == col {
			dcol = width
		}
		if i+1 == end {
			dend = width
		}
		if i == len(line) {
			break
		}
		r, n := utf8.DecodeRune(line[i:])
		switch {
		case r == '\t':
			sp := tabWidth - width%tabWidth
			b.WriteString(strings.Repeat(" ", sp))
			width += sp
		case r == utf8.RuneError && n == 1, !unicode.IsPrint(r):
			b.WriteByte('?')
			width++
		default:
			b.WriteRune(r)
			width++
		}
		i += n
	}
	if dcol < 0 { // column past the end or inside a rune
		dcol = width
		if col >= 1 && col <= len(line) {
			dcol = displayWidth(line[:col-1])
		}
	}
	if dend < 0 {
		dend = dcol + 1
		if end > col && end <= len(line)+1 {
			dend = displayWidth(line[:end-1])
		}
	}
	return b.String(), dcol, dend
}

func displayWidth(b []byte) int {
	w := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == '\t' {
			w += tabWidth - w%tabWidth
		} else {
			w++
		}
		b = b[n:]
	}
	return w
}

// keyMask replaces a key in an echoed source line: as wide as the key
// (44 bytes), so that carets after it still point at the right column.
var keyMask = []byte("(key)" + strings.Repeat(" ", 44-len("(key)")))

// MaskKeys returns line with every WireGuard key in it replaced by
// "(key)" padded with spaces to the key's width: every token of 43
// base64 characters and one '=' (standing alone, not part of a longer
// run of base64 characters) that decodes to 32 bytes. The renderer
// cannot tell a private key from a public one by its text, so it masks
// both; public keys are not secret, but a source line is never the
// place a key must be read from. line itself is not modified.
func MaskKeys(line []byte) []byte {
	out, _ := maskKeys(line)
	return out
}

func maskKeys(line []byte) ([]byte, bool) {
	var out []byte
	for i := 0; i < len(line); {
		if !isB64(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isB64(line[j]) {
			j++
		}
		k := j
		for k < len(line) && line[k] == '=' {
			k++
		}
		if j-i == 43 && k-j == 1 && (k == len(line) || !isB64(line[k])) {
			var dec [33]byte
			if n, err := base64.StdEncoding.Decode(dec[:], line[i:k]); err == nil && n == 32 {
				if out == nil {
					out = append([]byte(nil), line...)
				}
				copy(out[i:k], keyMask)
			}
		}
		i = k
	}
	if out == nil {
		return line, false
	}
	return out, true
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}
