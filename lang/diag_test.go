package lang

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDiagGolden renders the diagnostics of each testdata/diag/*.nets with
// carets and compares them with the .golden file next to it.
func TestDiagGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diag/*.nets")
	if len(files) == 0 {
		t.Fatal("no diag test files")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(path)
			f, perr := Parse(name, src)
			var ds Diagnostics
			if perr != nil {
				if !errors.As(perr, &ds) {
					t.Fatalf("parse error is not Diagnostics: %v", perr)
				}
			} else {
				ds = Check(f, CheckOptions{})
			}
			if len(ds) == 0 {
				t.Fatal("no diagnostics")
			}
			var buf bytes.Buffer
			RenderAll(&buf, ds, func(string) []byte { return src })
			golden := strings.TrimSuffix(path, ".nets") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestDiagGolden -update)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("rendered diagnostics differ from %s:\n--- got\n%s--- want\n%s", golden, buf.String(), want)
			}
		})
	}
}

func TestDiagnosticError(t *testing.T) {
	d := Diagnostic{Pos: Position{Filename: "gaming.nets", Line: 4, Column: 12}, Msg: `"10.0.0.300" is not an IP address`}
	if got, want := d.Error(), `gaming.nets:4:12: "10.0.0.300" is not an IP address`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	inner := errors.New("file exists")
	d.Err = inner
	var err error = Diagnostics{d}
	if !errors.Is(err, inner) {
		t.Error("errors.Is does not see through Diagnostics")
	}
	var got Diagnostic
	if !errors.As(err, &got) || got.Pos.Line != 4 {
		t.Error("errors.As does not find the Diagnostic")
	}
	if (Diagnostics{}).Err() != nil {
		t.Error("empty Diagnostics.Err() is not nil")
	}
}

func TestRenderDetail(t *testing.T) {
	src := []byte("link a up\n\troute 10.0.0.0/8 via 10.9.9.9\n")
	d := Diagnostic{
		Pos:    Position{Filename: "r.nets", Line: 2, Column: 2, Offset: 11},
		End:    Position{Filename: "r.nets", Line: 2, Column: 7, Offset: 16},
		Msg:    "cannot add route: network is unreachable",
		Detail: "kernel: Nexthop has invalid gateway",
	}
	var buf bytes.Buffer
	Render(&buf, d, src)
	want := "r.nets:2:2: cannot add route: network is unreachable\n" +
		" 2 |         route 10.0.0.0/8 via 10.9.9.9\n" +
		"   |         ^~~~~\n" +
		"   = kernel: Nexthop has invalid gateway\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	// Without source only the message and the extras are printed.
	buf.Reset()
	Render(&buf, d, nil)
	if buf.String() != "r.nets:2:2: cannot add route: network is unreachable\n    = kernel: Nexthop has invalid gateway\n" {
		t.Errorf("no source: %q", buf.String())
	}
}

func TestMaskKeys(t *testing.T) {
	const key = "EDISD57qKL3gXq7gy4A45r3wIVTOIraBgDRVQG56Ek8="
	mask := "(key)" + strings.Repeat(" ", 39)
	for _, c := range []struct{ in, want string }{
		{"private-key \"" + key + "\"", "private-key \"" + mask + "\""},
		{key, mask},
		{"peer " + key + " <", "peer " + mask + " <"},
		{key + key, key + mask},            // the second stands alone after the first one's =
		{"a" + key, "a" + key},             // 44 base64 characters before '='
		{key[:42] + "==", key[:42] + "=="}, // 31 bytes
		{key + "=", key + "="},             // two '='
		{"x " + key + "\t" + key, "x " + mask + "\t" + mask},
		{"no key here", "no key here"},
	} {
		if got := string(MaskKeys([]byte(c.in))); got != c.want {
			t.Errorf("MaskKeys(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(MaskKeys([]byte(c.in))) != len(c.in) {
			t.Errorf("MaskKeys(%q) changed the length", c.in)
		}
	}
	d := Diagnostic{Pos: Position{Line: 1, Column: 1}, Msg: "\"" + key + "\" is not an IP address"}
	if got := d.Error(); got != `1:1: "(key)" is not an IP address` {
		t.Errorf("Error() = %q", got)
	}
}
