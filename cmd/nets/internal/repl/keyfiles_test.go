package repl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// On a model (nets --model) the REPL writes no key files: a note says
// so, and readkey in a later input does not find one.
func TestNoKeyFilesOnModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.key")
	s := newSession(t)
	s.expect(`
let k = writekey("`+path+`", genkey())
`, `
nets[host]> let k = writekey("`+path+`", genkey())
# writekey `+path+` (not written)
nets[host]> ^D
`)
	if _, err := os.Stat(path); err == nil {
		t.Errorf("the REPL on a model wrote %s", path)
	}
}

// writingKernel is a model the REPL does not recognise as one, so that
// key files are written as on a real kernel.
type writingKernel struct{ *kernel.Model }

// Key files are part of the REPL's transaction: written when an input
// (or a begin ... commit) commits, put back by rollback, and a later
// readkey sees a pending key.
func TestKeyFilesInTransaction(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	s := newSession(t)
	r, err := New(Config{
		Kernel: writingKernel{kernel.NewModel()},
		Tables: kernel.NewTableNames(),
		Tx:     txn.Options{NoJournal: true},
		Stdout: s.out,
		Stderr: s.out,
		Getenv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.r = r
	s.expect(`
let ka = loadkey("`+a+`")
begin
let kb = writekey("`+b+`", genkey())
assert (string(readkey("`+b+`")) == string($kb)), "pending key not read"
rollback
`, `
nets[host]> let ka = loadkey("`+a+`")
# writekey `+a+` (written)
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> let kb = writekey("`+b+`", genkey())
nets[host]*> assert (string(readkey("`+b+`")) == string($kb)), "pending key not read"
nets[host]*> rollback
# rolled back: 0 changes undone
nets[host]> ^D
`)
	if _, err := os.Stat(b); err == nil {
		t.Fatalf("b.key written although its transaction was rolled back")
	}
	s.out.Reset()
	s.expect(`
begin
set kb = writekey("`+b+`", genkey())
commit
`, `
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> set kb = writekey("`+b+`", genkey())
nets[host]*> commit
# writekey `+b+` (written)
# committed: 0 changes kept
nets[host]> ^D
`)
	if _, err := os.Stat(a); err != nil {
		t.Errorf("a.key not written: %v", err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Errorf("b.key not written at commit: %v", err)
	}
}
