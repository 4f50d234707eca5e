package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// examples returns the paths of the project's example recipes.
func examples(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../examples/*.nets")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	return paths
}

// randomKeys reports whether a recipe generates keys, so that each run
// configures new ones.
func randomKeys(src []byte) bool { return bytes.Contains(src, []byte("genkey()")) }

var base64Key = regexp.MustCompile(`[A-Za-z0-9+/]{43}=`)

// changeLines renders changes, with keys masked when mask is set.
func changeLines(cs []kernel.Change, mask bool) string {
	var b strings.Builder
	for _, c := range cs {
		l := FormatChange(c)
		if mask {
			l = base64Key.ReplaceAllString(l, "KEY")
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// exampleOptions are testOptions for running an example on the model,
// with key files (loadkey) written into a fresh directory, $NETS_KEYS.
func exampleOptions(t *testing.T, k kernel.Kernel, out *bytes.Buffer) Options {
	return exampleOptionsIn(t, k, out, t.TempDir())
}

func exampleOptionsIn(t *testing.T, k kernel.Kernel, out *bytes.Buffer, keyDir string) Options {
	o := testOptions(t, k, out)
	o.KeyFiles = KeyFilesWrite
	getenv := o.Getenv
	o.Getenv = func(name string) (string, bool) {
		if name == "NETS_KEYS" {
			return keyDir, true
		}
		return getenv(name)
	}
	return o
}

// loadExample loads and checks an example with the test options.
func loadExample(t *testing.T, path string, o Options) *lang.File {
	t.Helper()
	f, err := Load(path, nil, o)
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			var b bytes.Buffer
			lang.RenderAll(&b, ds, nil)
			t.Fatalf("%s does not check clean:\n%s", path, b.String())
		}
		t.Fatal(err)
	}
	return f
}

// TestExamples runs every example against a fresh model: it checks
// clean, runs, keeps secrets out of the output, and a second run changes
// nothing (for recipes that generate keys, nothing but the keys).
func TestExamples(t *testing.T) {
	for _, path := range examples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m := kernel.NewModel()
			var out bytes.Buffer
			o := exampleOptions(t, m, &out)
			f := loadExample(t, path, o)
			src, _ := o.readFile(path)
			res, err := Run(context.Background(), f, o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !res.Changed || len(res.Changes) == 0 {
				t.Fatalf("the first run changed nothing")
			}
			if bytes.Contains(src, []byte("\nexec ")) || bytes.Contains(src, []byte(" exec ")) {
				if len(m.Execs()) == 0 {
					t.Errorf("exec was not passed to the model")
				}
			}
			all := out.String() + changeLines(res.Changes, false)
			secretsAbsent(t, m, all)

			res2, err := Run(context.Background(), f, o)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			secretsAbsent(t, m, out.String()+changeLines(res2.Changes, false))
			for _, c := range res2.Changes {
				if !randomKeys(src) || !strings.HasPrefix(c.Text, "wireguard ") {
					t.Errorf("second run changed %s", FormatChange(c))
				}
			}
		})
	}
}

// TestPlanMatchesRun: for every example, a plan against a state lists
// the changes a run then makes, leaves the state alone, and a plan after
// the run lists nothing (keys masked for recipes that generate them).
func TestPlanMatchesRun(t *testing.T) {
	for _, path := range examples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			live := kernel.NewModel()
			var out bytes.Buffer
			o := exampleOptions(t, live, &out)
			f := loadExample(t, path, o)
			src, _ := o.readFile(path)
			// Keys a plan makes (genkey, or loadkey before its file
			// exists) differ from the run's.
			mask := randomKeys(src) || bytes.Contains(src, []byte("loadkey("))
			before := dumpAll(t, live)
			plan, err := Plan(context.Background(), f, o)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if got := dumpAll(t, live); got != before {
				t.Fatalf("plan changed the live state:\n%s", got)
			}
			if len(live.Execs()) != 0 {
				t.Errorf("plan ran exec: %v", live.Execs())
			}
			if bytes.Contains(src, []byte("exec ")) {
				if len(plan.Skipped) == 0 || !strings.Contains(out.String(), "(not run in plan)") {
					t.Errorf("plan did not report the skipped exec: %q", out.String())
				}
			}
			run, err := Run(context.Background(), f, o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if p, r := changeLines(plan.Changes, mask), changeLines(run.Changes, mask); p != r {
				t.Errorf("plan and run differ:\nplan:\n%srun:\n%s", p, r)
			}
			again, err := Plan(context.Background(), f, o)
			if err != nil {
				t.Fatalf("plan after run: %v", err)
			}
			for _, c := range again.Changes {
				if !randomKeys(src) || !strings.HasPrefix(c.Text, "wireguard ") {
					t.Errorf("plan after run lists %s", FormatChange(c))
				}
			}
		})
	}
}

// TestFaultInjection fails every step of every example in turn (and one
// recipe's undo) and checks that the failed run leaves the model exactly
// as it was.
func TestFaultInjection(t *testing.T) {
	injected := errors.New("injected fault")
	points := 0
	for _, path := range examples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			setup := kernel.NewModel()
			var out bytes.Buffer
			o := exampleOptions(t, setup, &out)
			keyDir, _ := o.Getenv("NETS_KEYS")
			f := loadExample(t, path, o)
			steps := 0
			o.Tx.BeforeApply = func(int, *kernel.Step) error { steps++; return nil }
			if _, err := Run(context.Background(), f, o); err != nil {
				t.Fatal(err)
			}
			for k := 0; k < steps; k++ {
				m := kernel.NewModel()
				o := exampleOptionsIn(t, m, &out, keyDir)
				before := dumpAll(t, m)
				o.Tx.BeforeApply = func(i int, _ *kernel.Step) error {
					if i == k {
						return injected
					}
					return nil
				}
				_, err := Run(context.Background(), f, o)
				if !errors.Is(err, injected) {
					t.Fatalf("step %d: error %v, want the injected fault", k, err)
				}
				var ee *Error
				if !errors.As(err, &ee) || ee.UndoErr != nil {
					t.Fatalf("step %d: %v", k, err)
				}
				if after := dumpAll(t, m); after != before {
					t.Fatalf("step %d: state not restored:\nbefore:\n%s\nafter:\n%s", k, before, after)
				}
				points++
			}
		})
	}
	t.Logf("%d injection points", points)

	// A failing undo is reported, and the other undos still happen.
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Tx.BeforeUndo = func(i int, _ kernel.Want) error {
		if i == 0 {
			return errors.New("undo refused")
		}
		return nil
	}
	f, err := lang.Parse("undo.nets", []byte("link a type bridge\nlink b type bridge\nfail \"stop\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), f, o)
	var ee *Error
	if !errors.As(err, &ee) || ee.UndoErr == nil {
		t.Fatalf("error %v, want an incomplete rollback", err)
	}
	var ue *txn.UndoError
	if !errors.As(err, &ue) || len(ue.Failures) != 1 {
		t.Fatalf("error %v does not carry the undo failure", err)
	}
	if !strings.Contains(err.Error(), "rollback INCOMPLETE") || !strings.Contains(err.Error(), "undo refused") {
		t.Errorf("error text %q", err.Error())
	}
	links, _ := m.Links(kernel.Host)
	if len(links) != 2 { // lo and a (whose undo failed); b was removed
		t.Errorf("links after the partial rollback: %v", links)
	}
}

func run1(t *testing.T, o Options, src string) (*Result, error) {
	t.Helper()
	f, err := lang.Parse("t.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), f, o)
}

func TestErrorsIs(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	_, err := run1(t, testOptions(t, m, &out), "link taken type bridge\nlink v0 type veth peer taken\n")
	if !errors.Is(err, kernel.ErrExist) {
		t.Errorf("errors.Is(%v, ErrExist) = false", err)
	}
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Pos.Line != 2 || d.Pos.Column != 24 || d.Pos.Filename != "t.nets" {
		t.Errorf("diagnostic %+v", d)
	}
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		t.Errorf("no *kernel.Error in %v", err)
	}

	_, err = run1(t, testOptions(t, m, &out), "link d0 type bridge\nlink d0 up\nroute 10.0.0.0/8 via 192.0.2.1\n")
	if !errors.As(err, &d) || d.Detail != "Nexthop has invalid gateway" {
		t.Errorf("detail %q (error %v)", d.Detail, err)
	}
	var b bytes.Buffer
	lang.Render(&b, d, []byte("link d0 type bridge\nlink d0 up\nroute 10.0.0.0/8 via 192.0.2.1\n"))
	want := "t.nets:3:1: add route 10.0.0.0/8: network is unreachable\n 3 | route 10.0.0.0/8 via 192.0.2.1\n   | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n   = Nexthop has invalid gateway\n"
	if b.String() != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", b.String(), want)
	}

	_, err = run1(t, testOptions(t, m, &out), "let n = 0\nassert ($n > 0), \"need one\"\n")
	var ae *AssertError
	if !errors.As(err, &ae) || ae.Msg != "assertion failed: need one" || ae.Fail {
		t.Errorf("assert error %v", err)
	}
}

// TestCancel: cancelling the context (a signal) stops the run at the
// next statement and rolls back.
func TestCancel(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	before := dumpAll(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.OnChange = func(kernel.Change) { cancel() }
	f, _ := lang.Parse("t.nets", []byte("link a type bridge\nlink b type bridge\n"))
	res, err := Run(ctx, f, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Pos.Line != 2 {
		t.Errorf("diagnostic %+v", d)
	}
	if len(res.Changes) != 1 {
		t.Errorf("changes %v", res.Changes)
	}
	if after := dumpAll(t, m); after != before {
		t.Errorf("not rolled back:\n%s", after)
	}
}

// TestPanicRecovered: a panic (here in an exec hook) becomes an internal
// error diagnostic and the run rolls back.
func TestPanicRecovered(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	before := dumpAll(t, m)
	o.Exec = func(context.Context, string, kernel.Cmd) error { panic("boom") }
	_, err := run1(t, o, "link a type bridge\nexec true\n")
	var d lang.Diagnostic
	if !errors.As(err, &d) || !strings.Contains(d.Msg, "internal error") || !strings.Contains(d.Msg, "boom") || d.Pos.Line != 2 {
		t.Fatalf("error %v", err)
	}
	if after := dumpAll(t, m); after != before {
		t.Errorf("not rolled back:\n%s", after)
	}
}

// TestExec: the hook gets the interpolated argv, the namespace and the
// output writers; a failing program aborts and rolls back.
func TestExec(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	var got []string
	o.Exec = func(_ context.Context, ns string, cmd kernel.Cmd) error {
		got = append(got, fmt.Sprintf("%s %q", ns, cmd.Args))
		fmt.Fprintln(cmd.Stdout, "pong")
		if cmd.Args[0] == "false" {
			return errors.New("exit status 1")
		}
		return nil
	}
	_, err := run1(t, o, "netns lab\nlet n = 2\nin netns lab < exec ping -c $n 10.0.0.${n} \"x y\" >\nexec false\n")
	if len(got) != 2 || got[0] != `lab ["ping" "-c" "2" "10.0.0.2" "x y"]` || got[1] != ` ["false"]` {
		t.Errorf("exec calls %q", got)
	}
	if out.String() != "pong\npong\n" {
		t.Errorf("output %q", out.String())
	}
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Msg != "exec false: exit status 1" || d.Pos.Line != 4 {
		t.Errorf("error %v", err)
	}
	if nss, _ := m.Namespaces(); len(nss) != 0 {
		t.Errorf("namespaces after rollback: %v", nss)
	}

	// Without a hook, the model records the command.
	m = kernel.NewModel()
	o = testOptions(t, m, &out)
	if _, err := run1(t, o, "exec ip link show\n"); err != nil {
		t.Fatal(err)
	}
	if ex := m.Execs(); len(ex) != 1 || strings.Join(ex[0].Args, " ") != "ip link show" {
		t.Errorf("model execs %v", ex)
	}
}

// TestPlanSeedsDynamicNamespace: a namespace the static scan cannot see
// is copied from the live kernel when the plan first enters it.
func TestPlanSeedsDynamicNamespace(t *testing.T) {
	live := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, live, &out)
	if _, err := run1(t, o, "netns dyn\nin netns dyn < link x type bridge >\n"); err != nil {
		t.Fatal(err)
	}
	f, _ := lang.Parse("t.nets", []byte("let n = \"dy\" + \"n\"\nin netns $n < link x up >\n"))
	if nss := Namespaces(f, o); len(nss) != 0 {
		t.Fatalf("static namespaces %v", nss)
	}
	res, err := Plan(context.Background(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeLines(res.Changes, false); got != "~ in netns dyn < link x down -> up >\n" {
		t.Errorf("plan:\n%s", got)
	}
	f2, _ := lang.Parse("t.nets", []byte("netns a\nin netns b < link x up >\nlink y netns c\nlink z type veth peer w netns d\n"))
	if got := fmt.Sprint(Namespaces(f2, Options{NS: "e"})); got != "[a b c d e]" {
		t.Errorf("Namespaces = %s", got)
	}
}

// TestPlanFailure: a plan of a recipe that would fail says so and
// changes nothing.
func TestPlanFailure(t *testing.T) {
	live := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, live, &out)
	f, _ := lang.Parse("t.nets", []byte("link a type bridge\nfail \"no\"\n"))
	_, err := Plan(context.Background(), f, o)
	var ee *Error
	if !errors.As(err, &ee) || !ee.Plan || !strings.Contains(err.Error(), "plan failed") {
		t.Fatalf("error %v", err)
	}
	if links, _ := live.Links(kernel.Host); len(links) != 1 {
		t.Errorf("plan changed the live model: %v", links)
	}
}

// TestSession: variables, functions and the current namespace carry over
// from one recipe to the next; a plan leaves nothing behind.
func TestSession(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Vars = map[string]value.Value{"site": value.String("ams")}
	s, err := NewSession(o)
	if err != nil {
		t.Fatal(err)
	}
	line := func(src string) (*Result, error) {
		t.Helper()
		f, err := lang.Parse("repl", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if ds := s.Check(f); len(ds) > 0 {
			t.Fatalf("check %q: %v", src, ds)
		}
		return s.Run(context.Background(), f)
	}
	for _, src := range []string{
		"let br = \"br-${site}\"",
		"def mk($n) < link $n type bridge >",
		"netns lab",
		"in netns lab",
		"mk($br)",
		"print $br",
	} {
		if _, err := line(src); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
	}
	if s.NS() != "lab" {
		t.Errorf("NS = %q", s.NS())
	}
	if got := fmt.Sprint(s.Vars()); got != "[br site]" {
		t.Errorf("Vars = %s", got)
	}
	if links, _ := m.Links("lab"); len(links) != 2 || links[1].Name != "br-ams" {
		t.Errorf("links in lab: %v", links)
	}
	if out.String() != "br-ams\n" {
		t.Errorf("output %q", out.String())
	}
	f, _ := lang.Parse("repl", []byte("let planned = 1\nlink p type bridge"))
	res, err := s.Plan(context.Background(), f)
	if err != nil || len(res.Changes) != 1 {
		t.Fatalf("plan: %v %v", res, err)
	}
	if got := fmt.Sprint(s.Vars()); got != "[br site]" {
		t.Errorf("plan left variables behind: %s", got)
	}
}

// TestVarsAndGetenv: variables passed in, env() through Options.Getenv,
// BaseDir for readkey relative to the recipe.
func TestVarsAndGetenv(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Vars = map[string]value.Value{"n": value.Int(3), "name": value.String("x")}
	if _, err := run1(t, o, "set n = $n + 1\nprint \"${name}${n} ${env(\"UPLINK\")} ${env(\"NOPE\", \"dflt\")}\"\n"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "x4 isp9 dflt\n" {
		t.Errorf("output %q", out.String())
	}
	if v := o.Vars["n"]; v != value.Int(3) {
		t.Errorf("the caller's Vars changed: %v", v)
	}
	e := &env{file: "/etc/nets/site.nets"}
	if e.BaseDir() != "/etc/nets" {
		t.Errorf("BaseDir %q", e.BaseDir())
	}
}

func TestFormatChange(t *testing.T) {
	for _, tc := range []struct {
		c    kernel.Change
		want string
	}{
		{kernel.Change{Mark: '+', Text: "route 10.0.0.0/8 via 10.1.0.1"}, "+ route 10.0.0.0/8 via 10.1.0.1"},
		{kernel.Change{Mark: '~', NS: "lab-a", Text: "link v0 down -> up"}, "~ in netns lab-a < link v0 down -> up >"},
		{kernel.Change{Mark: '-', NS: "host", Text: "addr 10.0.0.1/24 dev eth0"}, "- addr 10.0.0.1/24 dev eth0"},
	} {
		if got := FormatChange(tc.c); got != tc.want {
			t.Errorf("FormatChange(%v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

// TestExternalTxn: with Options.Txn several runs share one transaction,
// which the caller commits or rolls back.
func TestExternalTxn(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	before := dumpAll(t, m)
	tx, err := txn.Begin(m, txn.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(t, m, &out)
	o.Txn = tx
	if _, err := run1(t, o, "link a type bridge\n"); err != nil {
		t.Fatal(err)
	}
	_, err = run1(t, o, "link b type bridge\nfail \"no\"\n")
	var ee *Error
	if !errors.As(err, &ee) || !ee.Open || !strings.Contains(err.Error(), "still open") {
		t.Fatalf("error %v", err)
	}
	if links, _ := m.Links(kernel.Host); len(links) != 3 {
		t.Fatalf("the failed run rolled back by itself: %v", links)
	}
	if len(tx.Changes()) != 2 {
		t.Errorf("transaction changes %v", tx.Changes())
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if after := dumpAll(t, m); after != before {
		t.Errorf("not rolled back:\n%s", after)
	}
}

// TestContract runs lang's file of every statement the language contract
// writes (ending in `fail "message"`) on a model holding the devices it
// names: every statement evaluates, the run fails at the last line, and
// the rollback restores the model.
func TestContract(t *testing.T) {
	src, err := os.ReadFile("../lang/testdata/contract.nets")
	if err != nil {
		t.Skip("lang/testdata/contract.nets:", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "contract.nets")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	// A model cannot create devices (eth0); it copies them from a
	// kernel that has them.
	base := kernel.NewModel()
	var devs []kernel.Link
	for i, name := range []string{"eth0", "eth1", "eth2"} {
		devs = append(devs, kernel.Link{Name: name, Index: int32(10 + i), Kind: kernel.KindDevice, MTU: 1500,
			Address: []byte{2, 0, 0, 0, 0, byte(i)}})
	}
	m, err := kernel.NewModelFrom(withDevices{base, devs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddNamespace("gaming"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite // the model run writes a.key for the recipe to read
	setup, _ := lang.Parse(filepath.Join(dir, "setup.nets"), []byte("link eth0 up\naddr 10.1.0.2/16 dev eth0\nnetns lab\nin netns lab < link v0 type bridge >\nwritekey(\"a.key\", genkey())\n"))
	if _, err := Run(context.Background(), setup, o); err != nil {
		t.Fatal(err)
	}
	before := dumpAll(t, m)
	f, err := Load(path, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f, o)
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Msg != "message" || d.Pos.Line != bytes.Count(src, []byte("\n")) {
		t.Fatalf("error %v, want the final fail", err)
	}
	if len(res.Changes) < 40 {
		t.Errorf("only %d changes before the fail:\n%s", len(res.Changes), changeLines(res.Changes, true))
	}
	if after := dumpAll(t, m); after != before {
		t.Errorf("not rolled back:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, want := range []string{"wireguard\n", "many\n", "more\n", "peer key: (key)\n", "wireguard wg0 <\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	secretsAbsent(t, m, out.String()+changeLines(res.Changes, false)+err.Error())
	t.Logf("%d changes, output:\n%s", len(res.Changes), out.String())
}

// withDevices is a kernel whose host namespace also has devs.
type withDevices struct {
	*kernel.Model
	devs []kernel.Link
}

func (w withDevices) Links(ns string) ([]kernel.Link, error) {
	ls, err := w.Model.Links(ns)
	if ns == kernel.Host {
		ls = append(ls, w.devs...)
	}
	return ls, err
}

// TestCheckTables: Check knows the table names of Options.Tables (as
// from rt_tables) used in the recipe and its includes; Run resolves them.
func TestCheckTables(t *testing.T) {
	names := kernel.NewTableNames()
	if err := names.Add(300, "isp"); err != nil {
		t.Fatal(err)
	}
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Tables = names
	o.FS = fstest.MapFS{"inc.nets": {Data: []byte("rule fwmark 0x3 lookup isp priority 3\n")}}
	f, err := Load("main.nets", []byte("route blackhole 10.0.0.0/8 table isp\ninclude \"inc.nets\"\nshow routes table isp\n"), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	res, err := Run(context.Background(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeLines(res.Changes, false); got != "+ route blackhole 10.0.0.0/8 table isp\n+ rule fwmark 0x3 lookup isp priority 3\n" {
		t.Errorf("changes:\n%s", got)
	}
	if out.String() != "route blackhole 10.0.0.0/8 table isp\n" {
		t.Errorf("show: %q", out.String())
	}
	if _, err := Load("bad.nets", []byte("route blackhole 10.0.0.0/8 table nope\n"), o); err == nil || !strings.Contains(err.Error(), `unknown table "nope"`) {
		t.Errorf("Load of an unknown table: %v", err)
	}
}

// TestExecKeyRedacted: a key revealed to a program with string($k) does
// not show in the plan note or an error message; the program gets it.
func TestExecKeyRedacted(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	src := "let k = \"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\"\nexec wg set wg0 private-key ${string(pubkey($k))}\n"
	f, _ := lang.Parse("t.nets", []byte(src))
	if _, err := Plan(context.Background(), f, o); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "# exec wg set wg0 private-key (key) (not run in plan)\n" {
		t.Errorf("plan note %q", got)
	}
	var args []string
	o.Exec = func(_ context.Context, _ string, cmd kernel.Cmd) error {
		args = cmd.Args
		return errors.New("exit status 1")
	}
	_, err := Run(context.Background(), f, o)
	if err == nil || strings.Contains(err.Error(), "=") || !strings.Contains(err.Error(), "private-key (key): exit status 1") {
		t.Errorf("error %v", err)
	}
	if len(args) != 5 || len(args[4]) != 44 {
		t.Errorf("the program got %q", args)
	}
}

// TestSessionTxn: a session's runs inside one caller transaction (begin
// ... rollback) are undone together.
func TestSessionTxn(t *testing.T) {
	m := kernel.NewModel()
	var out bytes.Buffer
	s, err := NewSession(testOptions(t, m, &out))
	if err != nil {
		t.Fatal(err)
	}
	before := dumpAll(t, m)
	tx, err := txn.Begin(m, txn.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTxn(tx)
	for _, src := range []string{"link a type bridge", "let n = 1", "link b${n} type bridge"} {
		f, err := lang.Parse("repl", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	if len(tx.Changes()) != 2 {
		t.Fatalf("changes %v", tx.Changes())
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	s.SetTxn(nil)
	if after := dumpAll(t, m); after != before {
		t.Errorf("not rolled back:\n%s", after)
	}
	f, _ := lang.Parse("repl", []byte("link c${n} type bridge"))
	if res, err := s.Run(context.Background(), f); err != nil || len(res.Changes) != 1 {
		t.Fatalf("run after SetTxn(nil): %v %v", res, err)
	}
}

// journaled hides that a kernel is a *kernel.Model, so that runs on it
// keep a journal like runs on the real kernel.
type journaled struct{ kernel.Kernel }

// TestJournalAndHold: on a kernel that is not a model, a run journals
// in Options.Tx.JournalDir; with Hold the changes stay held until
// txn.Recover reverts them (the `nets run --confirm` timer).
func TestJournalAndHold(t *testing.T) {
	m := kernel.NewModel()
	k := journaled{m}
	var out bytes.Buffer
	o := testOptions(t, k, &out)
	before := dumpAll(t, m)
	o.Hold = time.Now().Add(time.Hour)
	res, err := run1(t, o, "link a type bridge\nlink a up\n")
	if err != nil {
		t.Fatal(err)
	}
	if res.Held == nil || !res.Held.Held || res.Held.Steps != 2 {
		t.Fatalf("Held = %+v", res.Held)
	}
	info, err := txn.Pending(o.Tx)
	if err != nil || info == nil || info.ID != res.Held.ID {
		t.Fatalf("pending journal %+v, %v", info, err)
	}
	// A second run is refused while the first awaits confirmation.
	o.Hold = time.Time{}
	if _, err := run1(t, o, "link b type bridge\n"); !errors.Is(err, txn.ErrAwaitingConfirm) {
		t.Fatalf("second run: %v", err)
	}
	if n, err := txn.Recover(k, o.Tx); err != nil || n != 2 {
		t.Fatalf("recover: %d, %v", n, err)
	}
	if after := dumpAll(t, m); after != before {
		t.Errorf("not reverted:\n%s", after)
	}
	// A run that changes nothing has nothing to hold.
	o.Hold = time.Now().Add(time.Hour)
	if res, err := run1(t, o, "let x = 1\n"); err != nil || res.Held != nil {
		t.Fatalf("empty held run: %+v %v", res, err)
	}
	// A failing run removes its journal after the rollback.
	o.Hold = time.Time{}
	if _, err := run1(t, o, "link c type bridge\nfail \"no\"\n"); err == nil {
		t.Fatal("no error")
	}
	if info, err := txn.Pending(o.Tx); err != nil || info != nil {
		t.Errorf("journal left after a rollback: %+v %v", info, err)
	}
}

// TestIncludeOS: without Options.FS, include reads the OS file system
// relative to the including file, and readkey/writekey work relative to
// the directory of the file that calls them.
func TestIncludeOS(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "lib")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(dir, "main.nets"): "include \"lib/keys.nets\"\nlink wg0 type wireguard\nwireguard wg0 < private-key $k >\n",
		filepath.Join(sub, "keys.nets"): "writekey(\"wg0.key\", genkey())\nlet k = readkey(\"wg0.key\")\n",
	}
	for p, src := range files {
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite
	f, err := Load(filepath.Join(dir, "main.nets"), nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), f, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(sub, "wg0.key"))
	if err != nil {
		t.Fatalf("the key file is not beside keys.nets: %v", err)
	}
	d, err := m.WireGuard(kernel.Host, "wg0")
	if err != nil || d.PrivateKey.Base64() != strings.TrimSpace(string(b)) {
		t.Errorf("device key does not match the file (%v)", err)
	}
}
