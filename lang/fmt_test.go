package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormatGolden formats testdata/fmt/*.nets and compares with the
// .golden file next to it (go test -run TestFormatGolden -update rewrites).
func TestFormatGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/fmt/*.nets")
	if len(files) == 0 {
		t.Fatal("no fmt test files")
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, src)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got := Format(f)
		golden := strings.TrimSuffix(path, ".nets") + ".golden"
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s formats as:\n%s\nwant:\n%s", path, got, want)
		}
		roundTrip(t, path, src)
	}
}
