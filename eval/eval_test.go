package eval

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/run/*.txtar")

// dumpAll renders the full state of every namespace of k.
func dumpAll(t testing.TB, k kernel.Kernel) string {
	t.Helper()
	nss, err := k.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ns := range append([]string{kernel.Host}, nss...) {
		d, err := kernel.DumpState(k, ns)
		if err != nil {
			t.Fatal(err)
		}
		name := ns
		if ns == kernel.Host {
			name = "host"
		}
		fmt.Fprintf(&b, "# netns %s\n%s", name, d)
		if d != "" && !strings.HasSuffix(d, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// testOptions are the options every test run uses: a fresh model, only
// the built-in table names, a fixed environment and resolver.
func testOptions(t testing.TB, k kernel.Kernel, out *bytes.Buffer) Options {
	return Options{
		// Never the real /run/nets: each test journals in its own directory.
		Tx:     txn.Options{JournalDir: t.TempDir(), Wait: -1},
		Kernel: k,
		Stdout: out,
		Stderr: out,
		Tables: kernel.NewTableNames(),
		Getenv: func(name string) (string, bool) {
			v, ok := map[string]string{"UPLINK": "isp9", "LAN": "10.9.0.0/24"}[name]
			return v, ok
		},
		LookupHost: func(_ context.Context, host string) ([]netip.Addr, error) {
			if host == "vpn.example.com" {
				return []netip.Addr{netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("203.0.113.7")}, nil
			}
			return nil, fmt.Errorf("no such host")
		},
	}
}

// TestScripts runs every testdata/run/*.txtar. An archive holds:
//
//	recipe.nets   the recipe (run with Run, or Plan when the comment says "plan")
//	setup.nets    optional: a recipe run first, which must succeed
//	*.nets        other files, for include
//	output        expected Stdout (print, show, exec notes)
//	changes       expected change lines (FormatChange)
//	state         expected final state of every namespace (kernel.DumpState)
//	error         expected error text (Error()); when present the state
//	              after the failed run must equal the state before it
//
// Recipes without an error section must also check clean. Run with
// -update to rewrite output, changes, state and error.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/run/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			runScript(t, path)
		})
	}
}

// scriptsStream makes runScript run the scripts on a model that takes
// route batches (TestStreamSameResults).
var scriptsStream bool

func runScript(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	sections := map[string]string{}
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".nets") {
			fsys[f.Name] = &fstest.MapFile{Data: f.Data}
		} else {
			sections[f.Name] = string(f.Data)
		}
	}
	comment := string(ar.Comment)
	plan := strings.Contains(comment, "plan\n")
	m := kernel.NewModel()
	var out bytes.Buffer
	var k kernel.Kernel = m
	if scriptsStream {
		// The model taking route batches as kernel.Netlink does: the
		// run's routes and neighbours go through a txn.Stream.
		k = &slowBatcher{Model: m}
	}
	o := testOptions(t, k, &out)
	o.FS = fsys
	for _, line := range strings.Split(comment, "\n") {
		if ns, ok := strings.CutPrefix(line, "ns: "); ok {
			o.NS = ns
		}
	}
	ctx := context.Background()
	if _, ok := fsys["setup.nets"]; ok {
		f, err := Load("setup.nets", nil, o)
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
		so := o
		so.NS = kernel.Host
		if _, err := Run(ctx, f, so); err != nil {
			t.Fatalf("setup: %v", err)
		}
		out.Reset()
	}
	before := dumpAll(t, m)

	src := fsys["recipe.nets"].Data
	f, err := lang.Parse("recipe.nets", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, wantErr := sections["error"]
	if !wantErr {
		if ds := Check(f, o); len(ds) > 0 {
			t.Fatalf("check: %v", ds)
		}
	}
	var changes strings.Builder
	var seen []kernel.Change
	o.OnChange = func(c kernel.Change) {
		seen = append(seen, c)
		changes.WriteString(FormatChange(c) + "\n")
	}
	var res *Result
	if plan {
		res, err = Plan(ctx, f, o)
	} else {
		res, err = Run(ctx, f, o)
	}
	if res == nil {
		t.Fatalf("no result (error %v)", err)
	}
	if fmt.Sprint(res.Changes) != fmt.Sprint(seen) {
		t.Errorf("Result.Changes %v differ from the OnChange calls %v", res.Changes, seen)
	}
	if res.Changed != (len(res.Changes) > 0) {
		t.Errorf("Changed = %v with %d changes", res.Changed, len(res.Changes))
	}
	got := map[string]string{
		"output":  out.String(),
		"changes": changes.String(),
		"state":   dumpAll(t, m),
	}
	if err != nil {
		got["error"] = err.Error() + "\n"
		var d lang.Diagnostic
		if !errors.As(err, &d) {
			t.Errorf("error %v is not a lang.Diagnostic", err)
		}
		var ee *Error
		if !errors.As(err, &ee) {
			t.Errorf("error %T is not an *Error", err)
		}
	} else if wantErr {
		t.Errorf("no error, want %q", sections["error"])
	}
	secretsAbsent(t, m, out.String()+changes.String()+got["error"])
	if wantErr {
		if plan {
			if got["state"] != before {
				t.Errorf("a failed plan changed the state")
			}
		} else if got["state"] != before {
			t.Errorf("the failed run did not restore the state:\nbefore:\n%s\nafter:\n%s", before, got["state"])
		}
	}
	if plan && got["state"] != before {
		t.Errorf("plan changed the state:\nbefore:\n%s\nafter:\n%s", before, got["state"])
	}
	if *update {
		var files []txtar.File
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".nets") {
				files = append(files, f)
			}
		}
		for _, name := range []string{"output", "changes", "error", "state"} {
			if g, ok := got[name]; ok && (g != "" || name == "changes") {
				files = append(files, txtar.File{Name: name, Data: []byte(g)})
			}
		}
		ar.Files = files
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := sections[name]
		g, ok := got[name]
		if !ok {
			t.Errorf("unknown section %q", name)
			continue
		}
		if g != want {
			t.Errorf("%s:\n--- got\n%s--- want\n%s", name, g, want)
		}
	}
	for _, name := range []string{"output", "error"} {
		if _, ok := sections[name]; !ok && got[name] != "" {
			t.Errorf("unexpected %s:\n%s", name, got[name])
		}
	}
}

// secretsAbsent fails the test when the base64 of a private or preshared
// key of any WireGuard device in k appears in text.
func secretsAbsent(t testing.TB, k kernel.Kernel, text string) {
	t.Helper()
	for _, s := range secretKeys(t, k) {
		if strings.Contains(text, s) {
			t.Errorf("a secret key appears in the output:\n%s", text)
		}
	}
}

// secretKeys returns the base64 of every private and preshared key of
// the WireGuard devices in k.
func secretKeys(t testing.TB, k kernel.Kernel) []string {
	t.Helper()
	nss, err := k.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, ns := range append([]string{kernel.Host}, nss...) {
		links, err := k.Links(ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Kind != kernel.KindWireGuard {
				continue
			}
			d, err := k.WireGuard(ns, l.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !d.PrivateKey.IsZero() {
				keys = append(keys, d.PrivateKey.Base64())
			}
			for _, p := range d.Peers {
				if !p.PresharedKey.IsZero() {
					keys = append(keys, p.PresharedKey.Base64())
				}
			}
		}
	}
	return keys
}
