package repl

import (
	"os"
	"path/filepath"
	"testing"
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
