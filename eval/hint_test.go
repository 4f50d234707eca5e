package eval

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// TestUnknownTableHint: at run time (a computed table name the checker
// cannot see) an unknown table suggests a close declared one.
func TestUnknownTableHint(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	for src, hint := range map[string]string{
		"table 100 name gaming\nlet t = \"gamming\"\nrule fwmark 1 lookup $t\n": "did you mean `gaming`?",
		"let t = \"mian\"\nrule fwmark 1 lookup $t\n":                           "did you mean `main`?",
		"let t = \"office\"\nrule fwmark 1 lookup $t\n":                         "name it first with `table ID name office`",
	} {
		_, err := runIn(t, o, t.TempDir(), src, false)
		var d lang.Diagnostic
		if !errors.As(err, &d) || !strings.HasPrefix(d.Msg, "unknown table") || d.Hint != hint {
			t.Errorf("%q: error %v, hint %q, want %q", src, err, d.Hint, hint)
		}
	}
}

// TestSessionTableHint: a table named in an earlier recipe of a session
// is a did-you-mean candidate when a later one misspells it (the REPL).
func TestSessionTableHint(t *testing.T) {
	var out bytes.Buffer
	s, err := NewSession(testOptions(t, kernel.NewModel(), &out))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := lang.Parse("<input 1>", []byte("table 100 name gaming\n"))
	if _, err := s.Run(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	g, _ := lang.Parse("<input 2>", []byte("rule fwmark 1 lookup gamming\n"))
	ds := s.Check(g)
	if len(ds) != 1 || ds[0].Hint != "did you mean `gaming`?" {
		t.Errorf("check: %v (hint %q)", ds, hintOf(ds))
	}
	h, _ := lang.Parse("<input 3>", []byte("rule fwmark 1 lookup gaming\n"))
	if ds := s.Check(h); len(ds) != 0 {
		t.Errorf("check of the declared name: %v", ds)
	}
}

func hintOf(ds lang.Diagnostics) string {
	if len(ds) == 0 {
		return ""
	}
	return ds[0].Hint
}
