package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// astEqual compares two files ignoring positions.
func astDiff(a, b *File) string {
	return cmp.Diff(a, b,
		cmpopts.IgnoreTypes(Position{}, Span{}),
		cmpopts.IgnoreFields(File{}, "Filename"),
		cmpopts.EquateEmpty(),
	)
}

func commentTexts(f *File) []string {
	var l []string
	for _, c := range f.Comments {
		l = append(l, c.Text)
	}
	return l
}

// roundTrip checks parse → fmt → parse gives the same AST and the same
// comments, and that fmt is idempotent.
func roundTrip(t *testing.T, name string, src []byte) {
	t.Helper()
	f, err := Parse(name, src)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	out := Format(f)
	g, err := Parse(name, out)
	if err != nil {
		t.Fatalf("reparse of formatted %s: %v\n%s", name, err, out)
	}
	if d := astDiff(f, g); d != "" {
		t.Errorf("%s: AST changed by fmt (-src +fmt):\n%s\nformatted:\n%s", name, d, out)
	}
	if d := cmp.Diff(commentTexts(f), commentTexts(g)); d != "" {
		t.Errorf("%s: comments changed by fmt:\n%s", name, d)
	}
	if again := Format(g); string(again) != string(out) {
		t.Errorf("%s: fmt not idempotent:\n--- first\n%s--- second\n%s", name, out, again)
	}
}

func TestRoundTrip(t *testing.T) {
	var files []string
	for _, pat := range []string{"testdata/*.nets", "testdata/include/*.nets", "../examples/*.nets"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no .nets files found")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, path, src)
		})
	}
}
