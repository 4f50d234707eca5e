package lang

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseSplit: a source parsed in two halves (parse_split.go) gives
// exactly the File a whole parse gives — every node, span, comment and
// wide-token note — for every recipe in the repository cut at every line
// that could start a statement, and for generated recipes with blocks,
// comments, continued lines, strings and non-ASCII text; a cut that
// falls inside a statement or a source with errors is parsed whole.
func TestParseSplit(t *testing.T) {
	var files []string
	for _, pat := range []string{"../examples/*.nets", "testdata/*.nets", "testdata/*/*.nets", "../testdata/*.nets", "../testdata/*/*.nets"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d recipes found", len(files))
	}
	joined, whole := 0, 0
	check := func(name string, src []byte, cut int) {
		t.Helper()
		want, wp := parseWhole(name, src)
		got, gp, ok := parseSplitAt(name, src, cut)
		if !ok {
			whole++
			return
		}
		joined++
		if len(wp.diags) > 0 {
			t.Fatalf("%s cut at %d: joined although a whole parse finds errors: %v", name, cut, wp.diags)
		}
		if len(gp.diags) > 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s cut at %d: the halves differ from a whole parse\n--- split\n%s--- whole\n%s", name, cut, Format(got), Format(want))
		}
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for off := 1; off < len(src); off++ {
			if src[off-1] == '\n' {
				check(path, src, off)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 20 {
		src := []byte(randomRecipe(rng, 200+n*20))
		for range 20 {
			off := rng.IntN(len(src))
			if i := strings.IndexByte(string(src[off:]), '\n'); i >= 0 && off+i+1 < len(src) {
				check(fmt.Sprintf("random%d.nets", n), src, off+i+1)
			}
		}
	}
	if joined < 100 || whole < 100 {
		t.Errorf("%d cuts joined, %d parsed whole: the test does not exercise both", joined, whole)
	}
	t.Logf("%d cuts joined, %d parsed whole", joined, whole)

	// Through parse, with the threshold lowered: the split is used, and
	// errors still come out exactly as from a whole parse.
	defer func(old int) { splitMin = old }(splitMin)
	splitMin = 1
	src := []byte(randomRecipe(rng, 2000))
	if _, _, ok := parseSplit("big.nets", src); !ok {
		t.Fatal("a generated recipe was not parsed in halves")
	}
	bad := strings.Replace(string(src), "route ", "route ${", 1)
	f, err := Parse("bad.nets", []byte(bad))
	fw, werr := parseWhole("bad.nets", []byte(bad))
	if err == nil || err.Error() != werr.diags.Err().Error() || !reflect.DeepEqual(f, fw) {
		t.Fatalf("errors of a split-sized source: %v, want %v", err, werr.diags.Err())
	}
}

// parseSplitAt is parseSplit with the cut given.
func parseSplitAt(name string, src []byte, cut int) (*File, *parser, bool) {
	old := splitAt
	splitAt = func(string) int { return cut }
	defer func() { splitAt = old }()
	return parseSplit(name, src)
}

// randomRecipe makes a valid recipe of about n statements of many shapes.
func randomRecipe(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		switch rng.IntN(12) {
		case 0:
			fmt.Fprintf(&b, "# comment %d — ünïcode ✓\n", i)
		case 1:
			fmt.Fprintf(&b, "in netns lab%d <\n    route blackhole 10.%d.%d.0/24 table 100\nroute 10.9.%d.0/24 dev lo\n>\n", i%3, i/256%256, i%256, i%256)
		case 2:
			fmt.Fprintf(&b, "link br%d type bridge \\\n    alias \"brïdge %d\" mtu 1500\n", i, i)
		case 3:
			fmt.Fprintf(&b, "let x%d = \"v-${%d}\"\n", i, i)
		case 4:
			fmt.Fprintf(&b, "for j in range(2) <\n  route blackhole subnet(10.0.0.0/8, 24, $j) table %d # trailing\n>\n", 100+i%5)
		case 5:
			b.WriteString("\n\n")
		case 7:
			// Its second line parses as a statement of its own (a
			// table declaration) when the cut falls on it.
			fmt.Fprintf(&b, "route blackhole 12.%d.%d.0/24 \\\ntable 100\n", i/256%256, i%256)
		case 6:
			fmt.Fprintf(&b, "table %d <\nroute blackhole 10.%d.%d.0/24\n>\n", 200+i%7, i/256%256, i%256)
		default:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 100; route blackhole 11.%d.%d.0/24 table 100\n", i/256%256, i%256, i/256%256, i%256)
		}
	}
	return b.String()
}

// FuzzParseSplit: for any source and any line start as the cut, the
// halves are either not joined or give exactly a whole parse's File.
func FuzzParseSplit(f *testing.F) {
	for _, s := range []string{
		"route blackhole 10.0.0.0/24 table 100\nroute blackhole 10.0.1.0/24 table 100\n",
		"in netns a <\nroute 10.0.0.0/8 dev lo\n>\nlink br0 type bridge\n",
		"route blackhole 12.0.0.0/24 \\\ntable 100\nlet x = \"ü${1}\"\n# c\nprint $x\n",
		"let l = [\n1,\n2]\nfor i in $l <\nprint $i\n>\n",
	} {
		f.Add(s, uint16(1))
	}
	f.Fuzz(func(t *testing.T, src string, which uint16) {
		var starts []int
		for i := 1; i < len(src); i++ {
			if src[i-1] == '\n' {
				starts = append(starts, i)
			}
		}
		if len(starts) == 0 {
			return
		}
		cut := starts[int(which)%len(starts)]
		want, _ := parseWhole("f.nets", []byte(src))
		got, _, ok := parseSplitAt("f.nets", []byte(src), cut)
		if ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d: the halves differ from a whole parse\n--- split\n%s--- whole\n%s", cut, Format(got), Format(want))
		}
	})
}

// TestParseStmtRoom: the list of top-level statements gets room for the
// statements of a big recipe at once, and a file of blank or comment
// lines does not keep a list sized by its lines.
func TestParseStmtRoom(t *testing.T) {
	var routes strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&routes, "route blackhole 10.%d.%d.0/24 table 100\n", i/256%256, i%256)
	}
	for _, c := range []struct {
		name, src string
		stmts     int
	}{
		{"blank lines", strings.Repeat("\n", 4<<20), 0},
		{"comments", strings.Repeat("# a comment\n", 200000) + "link br0 type bridge\nlink br1 type bridge\n", 2},
		{"routes", routes.String(), 100000},
	} {
		f, err := Parse("room.nets", []byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(f.Stmts) != c.stmts || cap(f.Stmts) > 2*c.stmts+64 {
			t.Errorf("%s: %d statements in a list of capacity %d", c.name, len(f.Stmts), cap(f.Stmts))
		}
	}
}
