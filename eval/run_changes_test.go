package eval

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Result.Changes is the transaction's own list of changes (run keeps no
// second copy): it must still hold exactly what OnChange was told, in
// order, for batched and unbatched statements, in runs that succeed and
// fail, in plans, and in a caller's transaction holding earlier changes;
// and stay nil when nothing changed.
func TestResultChangesAreOnChanges(t *testing.T) {
	const routes = `link d0 type bridge
link d0 up
for i in range(300) <
    route blackhole subnet(10.0.0.0/8, 24, $i) table 100
>
addr 10.9.0.1/24 dev d0
route 10.8.0.0/16 dev d0
neigh 10.9.0.7 dev d0 lladdr 02:00:00:00:00:07
`
	cases := []struct {
		name, src string
		plan      bool
		fails     bool
	}{
		{"run", routes, false, false},
		{"run-fail", routes + "route blackhole 10.0.1.0/24 table 100 metric 5\nfail \"stop\"\n", false, true},
		{"plan", routes, true, false},
		{"nothing", "print \"hi\"\n", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := kernel.NewModel()
			var out bytes.Buffer
			o := testOptions(t, m, &out)
			var seen []kernel.Change
			o.OnChange = func(ch kernel.Change) { seen = append(seen, ch) }
			f, err := lang.Parse("t.nets", []byte(c.src))
			if err != nil {
				t.Fatal(err)
			}
			run := Run
			if c.plan {
				run = Plan
			}
			res, err := run(context.Background(), f, o)
			if (err != nil) != c.fails {
				t.Fatalf("error %v", err)
			}
			if len(seen) == 0 {
				if res.Changes != nil || res.Changed {
					t.Fatalf("nothing changed, yet Result.Changes is %#v (Changed %v)", res.Changes, res.Changed)
				}
				return
			}
			if !reflect.DeepEqual(res.Changes, seen) {
				t.Fatalf("Result.Changes (%d) differ from OnChange's (%d):\n%s---\n%s",
					len(res.Changes), len(seen), changeLines(res.Changes, false), changeLines(seen, false))
			}
			if c.fails {
				var ee *Error
				if !errors.As(err, &ee) || ee.Undone != len(seen) {
					t.Fatalf("error %v: want %d changes undone", err, len(seen))
				}
			}
		})
	}

	// Runs in a caller's transaction: each Result holds that run's
	// changes only, and later runs do not show through earlier Results.
	m := kernel.NewModel()
	tx, err := txn.Begin(m, txn.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := testOptions(t, m, &out)
	o.Txn = tx
	var results [][]kernel.Change
	var want [][]kernel.Change
	for _, src := range []string{"link a type bridge\n", "print \"nothing\"\n", routes, "link b type bridge\nroute blackhole 10.1.0.0/16\n"} {
		var seen []kernel.Change
		o.OnChange = func(ch kernel.Change) { seen = append(seen, ch) }
		res, err := run1(t, o, src)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res.Changes)
		want = append(want, slices.Clone(seen))
	}
	for i := range results {
		if !reflect.DeepEqual(results[i], want[i]) {
			t.Errorf("run %d in the transaction: Result.Changes\n%s---\nOnChange saw\n%s", i, changeLines(results[i], false), changeLines(want[i], false))
		}
	}
	if n := len(tx.Changes()); n != len(want[0])+len(want[2])+len(want[3]) {
		t.Errorf("the transaction holds %d changes", n)
	}
	// A caller appending to a Result's changes does not write into the
	// transaction's.
	before := slices.Clone(tx.Changes())
	_ = append(results[0], kernel.Change{Mark: '+', Text: "appended"})
	_ = append(results[2], kernel.Change{Mark: '+', Text: "appended"})
	if !reflect.DeepEqual(tx.Changes(), before) {
		t.Errorf("appending to a Result's changes changed the transaction's")
	}
	tx.Rollback()
}

// TestAppendChange: AppendChange (and FormatChange, built on it) writes
// what FormatChange wrote as a concatenation before, for every mark
// byte, host and named namespaces, with and without a note; FormatChange
// still makes one allocation for a line of ordinary length.
func TestAppendChange(t *testing.T) {
	concat := func(c kernel.Change) string { // FormatChange before AppendChange
		if c.NS == kernel.Host || c.NS == kernel.HostName {
			return c.String()
		}
		return string(c.Mark) + " in netns " + c.NS + " < " + c.Text + " >" + c.Comment()
	}
	for mark := range 256 {
		for _, ns := range []string{kernel.Host, kernel.HostName, "lab-a", "h\u00f6st"} {
			for _, note := range []string{"", kernel.NoteUserspaceWireGuard} {
				for _, text := range []string{"", "route blackhole 10.0.0.0/24 table 100", "link v0 mtu 1500 -> 9000"} {
					c := kernel.Change{Mark: byte(mark), NS: ns, Text: text, Note: note}
					want := concat(c)
					if got := FormatChange(c); got != want {
						t.Fatalf("FormatChange(%+v) = %q, want %q", c, got, want)
					}
					if got := string(AppendChange([]byte("x"), c)); got != "x"+want {
						t.Fatalf("AppendChange(%+v) = %q, want %q", c, got, "x"+want)
					}
				}
			}
		}
	}
	c := kernel.Change{Mark: '+', NS: "lab", Text: "route blackhole 10.0.0.0/24 table 100"}
	if n := testing.AllocsPerRun(100, func() { _ = FormatChange(c) }); n > 1 {
		t.Errorf("FormatChange: %v allocations, want 1", n)
	}
}
