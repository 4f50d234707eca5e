package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
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

// ispBOptions returns test options whose rt_tables names table 200
// isp_b.
func ispBOptions(t *testing.T) Options {
	names := kernel.NewTableNames()
	if err := names.Add(200, "isp_b"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := testOptions(t, kernel.NewModel(), &out)
	o.Tables = names
	return o
}

// TestCheckTableNamesFromRTTables: eval.Check sees the clash of a
// declaration with rt_tables that Run would report (QA F-N).
func TestCheckTableNamesFromRTTables(t *testing.T) {
	o := ispBOptions(t)
	for src, want := range map[string]string{
		"table 400 name isp_b\n": "t.nets:1:16: table name isp_b already names table 200 (in iproute2's rt_tables)",
		"table 200 name other\n": "t.nets:1:16: table 200 is already named isp_b",
		"table 200 name isp_b\n": "",
	} {
		f, err := lang.Parse("t.nets", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if ds := Check(f, o); len(ds) > 0 {
			got = ds.Error()
		}
		if got != want {
			t.Errorf("%q: check %q, want %q", src, got, want)
		}
		// The run agrees.
		_, err = Run(context.Background(), f, o)
		if (err == nil) != (want == "") {
			t.Errorf("%q: run error %v, check %q", src, err, got)
		}
	}
}

// TestCheckSuggestsRTTablesName: every rt_tables name is known to the
// checker, so a misspelt table gets the close rt_tables name as a hint
// even when the recipe uses it nowhere else.
func TestCheckSuggestsRTTablesName(t *testing.T) {
	o := ispBOptions(t)
	for src, hint := range map[string]string{
		"rule fwmark 1 lookup isp_b\n":  "",
		"rule fwmark 1 lookup isp_bb\n": "did you mean `isp_b`?",
	} {
		f, err := lang.Parse("t.nets", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		ds := Check(f, o)
		if hint == "" {
			if len(ds) > 0 {
				t.Errorf("%q: %v", src, ds)
			}
			continue
		}
		if len(ds) != 1 || !strings.HasPrefix(ds[0].Msg, "unknown table") || ds[0].Hint != hint {
			t.Errorf("%q: %v (hint %q), want an unknown table with hint %q", src, ds, hintOf(ds), hint)
		}
	}
}

// TestExecErrorMessage: a failed exec names the command once, quoted as
// a recipe writes it, and the exit status (QA R13), keeping the error
// chain.
func TestExecErrorMessage(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Exec = func(ctx context.Context, ns string, cmd kernel.Cmd) error {
		// What kernel.Netlink.Exec returns for a failing program.
		err := exec.CommandContext(ctx, "sh", "-c", "exit 3").Run()
		return &kernel.Error{Op: "exec " + strings.Join(cmd.Args, " "), NS: ns, Err: fmt.Errorf("%s: %w", cmd.Args[0], err)}
	}
	_, err := runIn(t, o, t.TempDir(), "netns lab\nin netns lab < exec sh -c \"echo out; exit 3\" >\n", false)
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Msg != `in netns lab: exec sh -c "echo out; exit 3": exit status 3` {
		t.Errorf("message %q (%v)", d.Msg, err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("the exit error is not reachable: %v", err)
	}
}

// TestMissingLinkError: a statement naming a link that does not exist
// is reported at the name, with a did-you-mean (QA R8), in batches too.
func TestMissingLinkError(t *testing.T) {
	for src, want := range map[string]string{
		"link eth1 type bridge\naddr 10.0.0.1/24 dev eht1\n":                     "2:22: there is no link eht1 | did you mean `eth1`?",
		"link eth1 type bridge\nroute 10.1.0.0/16 dev eht1\n":                    "2:23: there is no link eht1 | did you mean `eth1`?",
		"netns lab\nin netns lab < route 10.1.0.0/16 dev zz0 >\n":                "2:38: there is no link zz0 in netns lab | create it first (`link zz0 type ...`), or check the name",
		"link eth1 type bridge\nneigh 10.0.0.9 lladdr 02:00:00:00:00:01 dev x\n": "2:45: there is no link x | create it first (`link x type ...`), or check the name",
	} {
		m := kernel.NewModel()
		var out bytes.Buffer
		o := testOptions(t, m, &out)
		_, err := runIn(t, o, t.TempDir(), src, false)
		var d lang.Diagnostic
		if !errors.As(err, &d) {
			t.Errorf("%q: error %v", src, err)
			continue
		}
		got := fmt.Sprintf("%d:%d: %s | %s", d.Pos.Line, d.Pos.Column, d.Msg, d.Hint)
		if got != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
		if !errors.Is(err, kernel.ErrNotFound) {
			t.Errorf("%q: errors.Is(ErrNotFound) lost", src)
		}
	}
}
