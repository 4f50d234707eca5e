package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseCheck feeds arbitrary input through the whole front end: parse,
// check, render the diagnostics, and for input that parses, format and
// re-parse (same AST, same comments, stable output). Any panic, internal
// error or round-trip difference is a failure.
func FuzzParseCheck(f *testing.F) {
	for _, tc := range errorTests {
		f.Add(tc.src)
	}
	for _, tc := range parseTests {
		f.Add(tc)
	}
	files, _ := filepath.Glob("testdata/*.nets")
	for _, path := range files {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		fl, err := Parse("fuzz.nets", []byte(src))
		Incomplete([]byte(src))
		var ds Diagnostics
		if err != nil {
			ds = err.(Diagnostics)
		} else {
			ds = Check(fl, CheckOptions{ReadFile: testReadFile})
		}
		var buf bytes.Buffer
		for _, d := range ds {
			if strings.Contains(d.Msg, "internal") {
				t.Fatalf("internal error: %v", d)
			}
			if d.Pos.Line < 1 || d.Pos.Column < 1 {
				t.Fatalf("diagnostic without a position: %#v", d)
			}
			Render(&buf, d, []byte(src))
		}
		if err != nil {
			return
		}
		out := Format(fl)
		g, err := Parse("fuzz.nets", out)
		if err != nil {
			t.Fatalf("formatted output does not parse: %v\n--- input\n%q\n--- formatted\n%s", err, src, out)
		}
		if d := astDiff(fl, g); d != "" {
			t.Fatalf("AST changed by fmt:\n%s\n--- input\n%q\n--- formatted\n%s", d, src, out)
		}
		if a, b := strings.Join(commentTexts(fl), "\n"), strings.Join(commentTexts(g), "\n"); a != b {
			t.Fatalf("comments changed by fmt\n--- input\n%q\n--- formatted\n%s", src, out)
		}
		if again := Format(g); !bytes.Equal(again, out) {
			t.Fatalf("fmt not idempotent\n--- input\n%q\n--- first\n%s--- second\n%s", src, out, again)
		}
	})
}
