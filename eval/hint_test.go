package eval

import (
	"bytes"
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
