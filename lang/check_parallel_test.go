package lang

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// checkWays checks f the plain way (one goroutine) and with the network
// statements decoded on a second goroutine (check_parallel.go) held back
// so that the statements from hold on are certainly taken from it (hold
// < 0: not held, the two goroutines race), and fails unless both give
// exactly the same Diagnostics. It returns how many statements the walk
// took from the second goroutine.
func checkWays(t *testing.T, name string, f *File, opts CheckOptions, hold int) int {
	t.Helper()
	twoProcs(t)
	defer func(min, h int) { checkSplitMin, checkSplitHold, checkSplitObserve = min, h, nil }(checkSplitMin, checkSplitHold)
	checkSplitMin = math.MaxInt
	want := Check(f, opts)
	checkSplitMin, checkSplitHold = 1, hold
	taken := -1
	checkSplitObserve = func(n int) { taken = n }
	got := Check(f, opts)
	if taken < 0 && len(f.Stmts) > 0 {
		t.Fatalf("%s: the second goroutine was not started", name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s (hold %d): the diagnostics differ\n--- two goroutines\n%s--- one\n%s", name, hold, diagDump(got), diagDump(want))
	}
	return taken
}

// twoProcs makes sure Check may use a second goroutine (it does not
// when GOMAXPROCS is 1, as under go test -cpu 1) until t ends.
func twoProcs(t *testing.T) {
	if old := runtime.GOMAXPROCS(0); old < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// diagDump shows every field of ds, one diagnostic a line.
func diagDump(ds Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%#v\n", d)
	}
	return b.String()
}

// repoRecipes returns every .nets file in the repository.
func repoRecipes(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".nets") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d recipes found", len(files))
	}
	return files
}

// TestCheckParallel: checking with the network statements decoded on a
// second goroutine gives exactly the Diagnostics (messages, positions,
// hints, order) of the plain walk, for every recipe in the repository,
// every source of the error tests, and generated big recipes with errors
// of every kind in both halves.
func TestCheckParallel(t *testing.T) {
	twoProcs(t)
	taken := 0
	for _, path := range repoRecipes(t) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Parse(path, src)
		for _, hold := range []int{0, len(f.Stmts) / 2, -1} {
			taken += checkWays(t, path, f, CheckOptions{}, hold)
		}
	}
	for i, tc := range errorTests {
		f, _ := Parse("e.nets", []byte(tc.src))
		taken += checkWays(t, fmt.Sprintf("errorTests[%d]", i), f, CheckOptions{ReadFile: testReadFile}, 0)
	}
	if taken < 100 {
		t.Errorf("only %d statements were taken from the second goroutine", taken)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{4096, 10000} {
		src := bulkWithErrors(rng, n)
		f, err := Parse("big.nets", []byte(src))
		if err != nil {
			t.Fatalf("the generated recipe does not parse: %v", err)
		}
		want := Check(f, CheckOptions{})
		// Errors in both halves, of every kind generated.
		half := strings.Count(src, "\n") / 2
		for _, msg := range []string{"is not an IP address", "is not an IP prefix", "is not a number", "is IPv6 but",
			"unknown route option", "needs a value", "only allowed inside a wireguard block",
			`unknown table "vpnn"`, `unknown table "nosuch"`, "after this use", "already defined in this scope", "undefined variable"} {
			first, second := 0, 0
			for _, d := range want {
				if strings.Contains(d.Msg+" "+d.Hint, msg) {
					if d.Pos.Line <= half {
						first++
					} else {
						second++
					}
				}
			}
			if first == 0 || second == 0 {
				t.Fatalf("%d statements: %q reported %d times in the first half and %d in the second", n, msg, first, second)
			}
		}
		if got := checkWays(t, "big.nets", f, CheckOptions{}, 0); got < n/2 {
			t.Errorf("%d statements: only %d taken from the second goroutine when held", n, got)
		}
		checkWays(t, "big.nets", f, CheckOptions{}, n/3)
		checkWays(t, "big.nets", f, CheckOptions{}, -1)
		// The threshold as it is: a big recipe is split, a small one not.
		defer func(old func(int)) { checkSplitObserve = old }(checkSplitObserve)
		split := false
		checkSplitObserve = func(int) { split = true }
		if Check(f, CheckOptions{}); !split {
			t.Errorf("%d statements: not decoded on a second goroutine", n)
		}
	}
}

// bulkWithErrors returns a recipe of n top-level statements, mostly
// `route blackhole X table 100`, with errors of every kind the checker
// finds spread over it: bad literals, unknown keywords, missing values,
// unknown table names and names declared after their use, duplicate
// lets, undefined variables, and statements with blocks.
func bulkWithErrors(rng *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("table 200 name vpn\nlet a = 1\n")
	for i := 2; i < n; i++ {
		x, y := i/256%256, i%256
		switch i % 97 {
		case 3:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.300/24 table 100\n", x, y)
		case 11:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 tabel 100\n", x, y)
		case 17:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table vpnn\n", x, y)
		case 23:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table late%d\n", x, y, i/1000)
		case 29:
			fmt.Fprintf(&b, "table %d name late%d\n", 300+(i-6)/1000, (i-6)/1000)
		case 31:
			b.WriteString("let a = 2\n")
		case 37:
			fmt.Fprintf(&b, "route blackhole 10.%d.${nope}.0/24 table vpn\n", x)
		case 41:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table\n", x, y)
		case 43:
			fmt.Fprintf(&b, "rule from 10.%d.%d.0/24 lookup vpn priority %d\n", x, y, i)
		case 47:
			fmt.Fprintf(&b, "table 100 <\n  route blackhole 10.%d.%d.0/24\n  route blackhole 10.%d.%d.0/33\n>\n", x, y, x, y)
		case 53:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 0x%d\n", x, y, i)
		case 59:
			fmt.Fprintf(&b, "rule fwmark %d lookup nosuch\n", i)
		case 61:
			fmt.Fprintf(&b, "in netns ns%d <\n  route blackhole 10.%d.%d.0/24 table vpnn\n>\n", i, x, y)
		case 67:
			fmt.Fprintf(&b, "listen-port %d\n", i)
		case 71:
			fmt.Fprintf(&b, "route 10.%d.%d.0/24 src 2001:db8::1 dev lo\n", x, y)
		case 73:
			fmt.Fprintf(&b, "link v%d type veth peer p%d mtu big\n", i, i)
		default:
			fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table 100\n", x, y)
		}
	}
	return b.String()
}

// TestCheckParallelRandom: random recipes of up to a few thousand
// statements, made of the sources of the parser and error tests and of
// generated routes, give the same Diagnostics both ways, held at a
// random statement or racing.
func TestCheckParallelRandom(t *testing.T) {
	var pool []string
	for _, tc := range errorTests {
		if f, err := Parse("p.nets", []byte(tc.src)); err == nil && len(f.Stmts) > 0 {
			pool = append(pool, tc.src)
		}
	}
	pool = append(pool, parseTests...)
	if len(pool) < 50 {
		t.Fatalf("only %d sources to build recipes of", len(pool))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	for r := range rounds {
		n := 1 + rng.IntN(3000)
		var b strings.Builder
		for i := 0; i < n; i++ {
			if rng.IntN(4) == 0 {
				b.WriteString(pool[rng.IntN(len(pool))])
			} else {
				fmt.Fprintf(&b, "route blackhole 10.%d.%d.0/24 table %s", i/256%256, i%256, []string{"100", "vpn", "vpnx", "main", "0", "all", "$t"}[rng.IntN(7)])
			}
			b.WriteString("\n")
			if rng.IntN(200) == 0 {
				b.WriteString("table 7 name vpn\nlet t = 5\n")
			}
		}
		f, _ := Parse(fmt.Sprintf("r%d.nets", r), []byte(b.String()))
		hold := -1
		if rng.IntN(3) > 0 {
			hold = rng.IntN(len(f.Stmts) + 1)
		}
		checkWays(t, fmt.Sprintf("random recipe %d", r), f, CheckOptions{ReadFile: testReadFile}, hold)
	}
}

// FuzzCheckParallel: for any source, checking with the second goroutine
// held back at any statement, or not held, gives the plain walk's
// Diagnostics.
func FuzzCheckParallel(f *testing.F) {
	for i, tc := range errorTests {
		f.Add(tc.src, uint16(i))
	}
	for i, src := range parseTests {
		f.Add(src, uint16(i))
	}
	f.Add(bulkWithErrors(rand.New(rand.NewPCG(7, 8)), 600), uint16(300))
	f.Add(bulkWithErrors(rand.New(rand.NewPCG(7, 8)), 300), uint16(math.MaxUint16))
	f.Fuzz(func(t *testing.T, src string, hold uint16) {
		fl, _ := Parse("f.nets", []byte(src))
		h := -1
		if hold != math.MaxUint16 {
			h = int(hold) % (len(fl.Stmts) + 1)
		}
		checkWays(t, "f.nets", fl, CheckOptions{ReadFile: testReadFile}, h)
	})
}

// TestCheckParallelPanic: a statement whose decode panics (an argument
// missing from a hand-made AST) is reported as before, not a crash of
// the second goroutine.
func TestCheckParallelPanic(t *testing.T) {
	f := mustParse(t, bulkSrc(1000))
	bad := f.Stmts[900].(*NetStmt)
	args := bad.Args
	defer func() { bad.Args = args }()
	bad.Args = append([]Arg{}, args...)
	bad.Args[1] = (*Word)(nil)
	for _, hold := range []int{0, 950, 500, -1} {
		checkWays(t, "panic", f, CheckOptions{}, hold)
	}
}

// TestCheckParallelRetained: the second goroutine's results are not
// kept once Check returns, and stay small while it runs.
func TestCheckParallelRetained(t *testing.T) {
	if testing.Short() {
		t.Skip("checks 100k statements")
	}
	twoProcs(t)
	f := mustParse(t, bulkSrc(100000))
	defer func(h int) { checkSplitHold = h }(checkSplitHold)
	checkSplitHold = 0
	var before, during, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	defer func(old func(int)) { checkSplitObserve = old }(checkSplitObserve)
	taken := 0
	checkSplitObserve = func(n int) {
		// Called as Check stops the decoder: its results are all live.
		taken = n
		runtime.GC()
		runtime.ReadMemStats(&during)
	}
	if ds := Check(f, CheckOptions{}); len(ds) != 0 {
		t.Fatal(ds)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	mb := func(a, b runtime.MemStats) float64 { return (float64(b.HeapAlloc) - float64(a.HeapAlloc)) / (1 << 20) }
	t.Logf("100k statements, %d taken from the second goroutine: %.2f MB live while checking, %.2f MB after", taken, mb(before, during), mb(before, after))
	if taken < 90000 {
		t.Errorf("only %d statements taken from the second goroutine", taken)
	}
	if mb(before, during) > 3 {
		t.Errorf("the decoded statements take %.2f MB, more than 3 MB", mb(before, during))
	}
	if mb(before, after) > 0.25 {
		t.Errorf("%.2f MB more is live after Check", mb(before, after))
	}
	runtime.KeepAlive(f)
}

// BenchmarkCheckSplit checks the 100k-route recipe with and without the
// second goroutine (see check_parallel.go).
func BenchmarkCheckSplit(b *testing.B) {
	f := mustParse(b, bulkSrc(100000))
	eachSplit(b, func(b *testing.B) {
		var taken atomic.Int64
		defer func(old func(int)) { checkSplitObserve = old }(checkSplitObserve)
		checkSplitObserve = func(n int) { taken.Add(int64(n)) }
		b.ReportAllocs()
		for range b.N {
			if ds := Check(f, CheckOptions{}); len(ds) != 0 {
				b.Fatal(ds)
			}
		}
		b.ReportMetric(float64(taken.Load())/float64(b.N), "taken/op")
	})
}

// eachSplit runs f as two sub-benchmarks: "one", checking on one
// goroutine (checkSplitMin out of reach), and "two", with the second
// goroutine decoding.
func eachSplit(b *testing.B, f func(b *testing.B)) {
	for _, split := range []bool{false, true} {
		name := "one"
		if split {
			name = "two"
		}
		b.Run(name, func(b *testing.B) {
			defer func(old int) { checkSplitMin = old }(checkSplitMin)
			if !split {
				checkSplitMin = math.MaxInt
			}
			f(b)
		})
	}
}
