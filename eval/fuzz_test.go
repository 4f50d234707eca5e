package eval

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// FuzzRun evaluates arbitrary recipes against a model: whatever the
// input, Run returns (an error is fine) without panicking, and a failed
// run leaves the model as it was. Seeded with the examples and the test
// scripts. Recipes calling writekey are skipped: the fuzzer must not
// write files where it pleases.
func FuzzRun(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*.nets")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	scripts, _ := filepath.Glob("testdata/run/*.txtar")
	for _, p := range scripts {
		if ar, err := txtar.ParseFile(p); err == nil {
			for _, file := range ar.Files {
				if strings.HasSuffix(file.Name, ".nets") {
					f.Add(file.Data)
				}
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Contains(src, []byte("writekey")) {
			t.Skip()
		}
		file, err := lang.Parse(filepath.Join(dir, "fuzz.nets"), src)
		if err != nil {
			return
		}
		m := kernel.NewModel()
		before := m.Dump(kernel.Host)
		var out bytes.Buffer
		o := testOptions(t, m, &out)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("Run did not return within 10s for:\n%s", src))
		})
		_, err = Run(ctx, file, o)
		watchdog.Stop()
		if err != nil {
			if ee, ok := err.(*Error); ok && ee.UndoErr == nil {
				if after := m.Dump(kernel.Host); after != before {
					t.Fatalf("failed run not rolled back (%v):\n%s", err, after)
				}
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("internal error: %v", err)
			}
		}
	})
}
