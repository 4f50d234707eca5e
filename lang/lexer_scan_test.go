package lang

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fullTok is a token with its positions, as participle's lexer gives them.
type fullTok struct {
	k        tokKind
	v        string
	pos, end Position
}

// scan returns every token of src as the scanner makes them, with the
// positions the source table computes: where each starts (position),
// where it ends as a token (tokenEnd), and where a Span ending with it
// ends (Span.End), which must all be participle's.
func scan(t *testing.T, filename string, src []byte) []fullTok {
	s := newSource(filename, string(src))
	sc := newScanner(s)
	var toks []fullTok
	for {
		tk := sc.token()
		ft := fullTok{k: tk.k, v: tk.v, pos: s.position(tk.off), end: s.tokenEnd(tk.off, tk.end)}
		if tk.k != tEOF {
			if end := (Span{src: s, start: tk.off, end: tk.end}).End(); end != ft.end {
				t.Fatalf("%s: token %+v: Span.End %+v, token end %+v", filename, tk, end, ft.end)
			}
		}
		toks = append(toks, ft)
		if tk.k == tEOF {
			return toks
		}
	}
}

// lexRef is the reference lexer: lexDef (participle's stateful lexer,
// the specification of the tokens) driven as lex drove it before scan
// replaced it.
func lexRef(filename string, src []byte) ([]fullTok, error) {
	l, err := lexDef.LexString(filename, string(src))
	if err != nil {
		return nil, err
	}
	var toks []fullTok
	for {
		t, err := l.Next()
		if err != nil {
			return toks, err
		}
		k, ok := kindByName[t.Type]
		if !ok || k < 0 {
			continue
		}
		end := t.Pos
		end.Offset += len(t.Value)
		end.Column += len(t.Value)
		if k == tNL || k == tStrNL {
			end.Line++
			end.Column = 1
		}
		toks = append(toks, fullTok{k: k, v: t.Value, pos: t.Pos, end: end})
		if k == tEOF {
			return toks, nil
		}
	}
}

func checkScan(t *testing.T, name string, src []byte) {
	t.Helper()
	want, err := lexRef(name, src)
	if err != nil {
		t.Fatalf("%s: reference lexer: %v", name, err)
	}
	got := scan(t, name, src)
	if reflect.DeepEqual(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: token %d: scan %+v, lexDef %+v", name, i, got[i], want[i])
		}
	}
	t.Fatalf("%s: scan made %d tokens, lexDef %d", name, len(got), len(want))
}

// TestScanMatchesLexDef: scan and lexDef make the same tokens on every
// recipe and test file of the repository and on random input.
func TestScanMatchesLexDef(t *testing.T) {
	files := 0
	for _, root := range []string{"testdata", "../examples", "../eval/testdata", "../cmd/nets/testdata", "../docs"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkScan(t, path, src)
			files++
			return nil
		})
	}
	if files < 10 {
		t.Fatalf("only %d files compared", files)
	}
	pieces := []string{" ", "\t", "\r", "\n", "\r\n", "\\", "\\\n", "\\ \t\r\n", "\"", "$", "${", "}", "{", "$x1", "$_",
		"[", "]", "[::1]:80", "[fe80::1%eth0]:51820", "[1:2]:", "[a.b:]:9", "==", "!=", "<=", ">=", "<", ">", "=", "!",
		"(", ")", ",", ";", "+", "*", "#c", "10.0.0.1/24", "a-b_c.d:e/f%g@h", "é", "\xff", "\x00", "ü\"", "\\é", "word"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkScan(t, "rand"+string(rune('a'+i%26)), []byte(b.String()))
	}
}

// FuzzScan compares scan with lexDef on arbitrary input.
func FuzzScan(f *testing.F) {
	f.Add([]byte("route 10.0.0.0/8 via 10.1.0.1 table 100\n"))
	f.Add([]byte("let x = \"a${ {b: 1} }\\\"\" # c\r\n"))
	f.Add([]byte("wireguard wg0 < peer K endpoint [2001:db8::1]:51820 >"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkScan(t, "fuzz", src)
	})
}
