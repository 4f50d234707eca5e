package eval

import (
	"context"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// TestOnRollback: a failed run calls Options.OnRollback once, after its
// last change and before the rollback; a run that succeeds does not.
func TestOnRollback(t *testing.T) {
	for _, tc := range []struct {
		src   string
		calls int
	}{
		{"route blackhole 10.0.0.0/24 table 100\nroute blackhole 10.0.1.0/24 table 100\nfail \"x\"\n", 1},
		{"route blackhole 10.0.0.0/24 table 100\n", 0},
	} {
		f, err := lang.Parse("t.nets", []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		m := kernel.NewModel()
		var log []string
		o := Options{
			Kernel:   m,
			OnChange: func(kernel.Change) { log = append(log, "change") },
			OnRollback: func() {
				rs, err := m.Routes(kernel.Host)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range rs {
					if r.Table == 100 {
						n++
					}
				}
				log = append(log, "rollback with routes applied: "+string(rune('0'+n)))
			},
		}
		_, err = Run(context.Background(), f, o)
		if (err != nil) != (tc.calls > 0) {
			t.Fatalf("%q: err = %v", tc.src, err)
		}
		calls := 0
		for i, l := range log {
			if l != "change" {
				calls++
				if i != len(log)-1 || l != "rollback with routes applied: 2" {
					t.Errorf("%q: log %q: want the rollback call last, with both routes still applied", tc.src, log)
				}
			}
		}
		if calls != tc.calls {
			t.Errorf("%q: OnRollback called %d times, want %d", tc.src, calls, tc.calls)
		}
	}
}
