package eval

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// runIn parses src as dir/r.nets and runs (or plans) it.
func runIn(t *testing.T, o Options, dir, src string, plan bool) (*Result, error) {
	t.Helper()
	f, err := lang.Parse(filepath.Join(dir, "r.nets"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if ds := Check(f, o); len(ds) > 0 {
		t.Fatalf("check: %v", ds)
	}
	if plan {
		return Plan(context.Background(), f, o)
	}
	return Run(context.Background(), f, o)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// TestKeyFilesTransaction: writekey's file is written only when the run
// commits; a failed run, a plan and a run on the model leave it alone,
// and readkey in the same run sees the pending key.
func TestKeyFilesTransaction(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.key")
	const old = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite

	// A failed run: the file keeps the old key, and says nothing changed.
	before := dumpAll(t, m)
	_, err := runIn(t, o, dir, "link a type bridge\nlet k = writekey(\"new.key\", genkey())\nassert (string(readkey(\"new.key\")) == string($k)), \"pending key not seen\"\nfail \"x\"\n", false)
	var ee *Error
	if !errors.As(err, &ee) || ee.Diagnostic.Msg != "x" {
		t.Fatalf("error %v, want the fail", err)
	}
	if got := readFile(t, path); got != old {
		t.Errorf("a failed run changed the key file")
	}
	if dumpAll(t, m) != before {
		t.Errorf("not rolled back")
	}

	// A plan: not written, a note and Skipped.
	out.Reset()
	res, err := runIn(t, o, dir, "let k = writekey(\"new.key\", genkey())\nassert (string(readkey(\"new.key\")) == string($k)), \"pending key not seen\"\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != old {
		t.Errorf("plan changed the key file")
	}
	if want := "# writekey " + path + " (not run in plan)\n"; out.String() != want {
		t.Errorf("plan output %q, want %q", out.String(), want)
	}
	if len(res.Skipped) != 1 || res.Skipped[0] != "writekey "+path {
		t.Errorf("Skipped %q", res.Skipped)
	}

	// The default on a model: not written either.
	out.Reset()
	ao := o
	ao.KeyFiles = KeyFilesAuto
	if _, err := runIn(t, ao, dir, "writekey(\"new.key\", genkey())\n", false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != old {
		t.Errorf("a run on the model changed the key file")
	}
	if !strings.Contains(out.String(), "(not written: the kernel is an in-memory model)") {
		t.Errorf("model run output %q", out.String())
	}

	// A successful run writes it, 0600, with the last key given.
	out.Reset()
	if _, err := runIn(t, o, dir, "writekey(\"new.key\", genkey())\nlet k = writekey(\"new.key\", genkey())\nprint string($k)\n", false); err != nil {
		t.Fatal(err)
	}
	printed, note, _ := strings.Cut(out.String(), "\n")
	if got := readFile(t, path); got == old || got != printed+"\n" {
		t.Errorf("key file %q, want the second key %q", got, printed)
	}
	if fi, _ := os.Stat(path); fi == nil || fi.Mode() != 0o600 {
		t.Errorf("mode %v", fi)
	}
	if want := "# writekey " + path + " (written)\n"; note != want {
		t.Errorf("a writing run noted %q, want %q once", note, want)
	}
}

// TestKeyFilesFlushFails: when the key file cannot be written at the
// end, the kernel changes are rolled back and the error names the call.
func TestKeyFilesFlushFails(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite
	// The exec removes the directory after the write was queued.
	o.Exec = func(context.Context, string, kernel.Cmd) error { return os.Remove(sub) }
	before := dumpAll(t, m)
	_, err := runIn(t, o, dir, "writekey(\"a.key\", genkey())\nlink a type bridge\nwritekey(\"sub/x.key\", genkey())\nexec rmdir sub\n", false)
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Pos.Line != 3 || !strings.HasPrefix(d.Msg, "writing the key file: ") {
		t.Fatalf("error %v, want one at line 3", err)
	}
	var ee *Error
	if !errors.As(err, &ee) || ee.Undone != 1 || ee.UndoErr != nil {
		t.Errorf("error %+v, want one change undone", ee)
	}
	if dumpAll(t, m) != before {
		t.Errorf("not rolled back")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.key")); err == nil {
		t.Errorf("a.key, written before the failing file, was not removed")
	}
}

// TestLoadkeyIdempotent: a recipe using loadkey changes nothing the
// second time (the wireguard-p2p example's idiom), and a plan before
// the first run shows the device with a key without writing one.
func TestLoadkeyIdempotent(t *testing.T) {
	dir := t.TempDir()
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite
	src := "link wg0 type wireguard\nwireguard wg0 < private-key loadkey(\"wg0.key\"); listen-port 51820 >\n"
	if _, err := runIn(t, o, dir, src, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wg0.key")); err == nil {
		t.Fatalf("plan wrote the key")
	}
	res, err := runIn(t, o, dir, src, false)
	if err != nil || !res.Changed {
		t.Fatalf("first run: %v %v", res, err)
	}
	k, err := os.ReadFile(filepath.Join(dir, "wg0.key"))
	if err != nil {
		t.Fatal(err)
	}
	res, err = runIn(t, o, dir, src, false)
	if err != nil || res.Changed {
		t.Fatalf("second run changed %v (%v)", res.Changes, err)
	}
	if k2, _ := os.ReadFile(filepath.Join(dir, "wg0.key")); string(k2) != string(k) {
		t.Errorf("the second run replaced the key")
	}
	if strings.Contains(out.String(), strings.TrimSpace(string(k))) {
		t.Errorf("the key was printed")
	}
}

// TestKeyWritesOption: with Options.KeyWrites the caller owns the
// pending files: Run neither writes nor drops them.
func TestKeyWritesOption(t *testing.T) {
	dir := t.TempDir()
	m := kernel.NewModel()
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.KeyFiles = KeyFilesWrite
	var q builtins.KeyWrites
	o.KeyWrites = &q
	if _, err := runIn(t, o, dir, "writekey(\"k.key\", genkey())\n", false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.key")
	if _, err := os.Stat(path); err == nil || q.Len() != 1 {
		t.Fatalf("Run wrote the file or dropped it (pending %d)", q.Len())
	}
	// A failed run leaves the queue to the caller too.
	if _, err := runIn(t, o, dir, "writekey(\"j.key\", genkey())\nfail \"x\"\n", false); err == nil || q.Len() != 2 {
		t.Fatalf("error %v, pending %d", err, q.Len())
	}
	q.Reset()
	if _, err := runIn(t, o, dir, "loadkey(\"k.key\")\n", false); err != nil || q.Len() != 1 {
		t.Fatalf("loadkey: %v, pending %d", err, q.Len())
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Flush did not write: %v", err)
	}
}
