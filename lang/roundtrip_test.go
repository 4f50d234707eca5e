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

// TestRoundTripTricky covers printer corner cases: comments inside
// expressions and between if and else, escapes, nested interpolation,
// unary minus, wrapped lines.
func TestRoundTripTricky(t *testing.T) {
	for _, src := range []string{
		"let x = [1, # one\n 2]\nprint $x\n",
		"if $x < print 1 >\n# between\nelse < print 2 >\n",
		"print \"a\\$b $ \\${x} ${\"in${1}ner\"}\"\n",
		"let x = - 5\nlet y = -5\nlet z = - -$x\nlet w = -(1 + 2)\n",
		"let x = a${b}c${d}\nlet y = ${x}.y\n",
		"in netns a < # c1\n  # c2\n>\n",
		"wireguard w < peer k < > >\n",
		"def f() < >  # trailing\nf()\n",
		"let r = {a:1, b: {c:2}}\nprint $r.b.c\n",
		"print ($a > 1) and (($b < 2) or not $c)\n",
		"print (1 + 2) * 3 - (4 - 5)\n",
		"for i in [1, 2] < for $j in [3] < print \"${$i}${$j}\" > >\n",
		"exec sh -c \"a;b\" x=1,2 +y\n",
		"link a \\\n  up  # t\n",
		"rule from 10.0.0.0/8 to 192.168.0.0/16 iif eth0 oif eth1 fwmark 0x1/0xff ipproto tcp sport 1000-2000 dport 443 uidrange 1000-1999 goto 100 priority 10  # long\n",
		"allowed-ips 10.0.0.0/8, fd00::/64\n",
		"print [1, 2][0]\nprint f(1)[0].x\n",
		"let a = \"x\"\n\n\n\nlet b = 2\n",
		"#only a comment",
		"",
	} {
		roundTrip(t, "tricky", []byte(src))
	}
}

// TestExamplesCheckClean: the sample recipes of testdata/ and examples/
// have no static errors.
func TestExamplesCheckClean(t *testing.T) {
	var files []string
	for _, pat := range []string{"testdata/*.nets", "testdata/fmt/*.nets", "../examples/*.nets"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, path := range files {
		f, err := ParseFile(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		opts := CheckOptions{Vars: []string{"y", "n", "a", "b", "c", "l", "p", "why", "x", "kb", "ns", "dev", "prefix"}}
		if filepath.Base(path) == "messy.nets" {
			opts.Vars = nil
		}
		if ds := Check(f, opts); len(ds) != 0 {
			t.Errorf("%s:\n%v", path, ds)
		}
	}
}
