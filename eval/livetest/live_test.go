// Package livetest runs nets recipes through eval on the real kernel,
// inside kernel/ktest's sandbox (fresh network, mount and PID namespaces
// with private /run/netns, /run/nets and /run/wireguard; each test gets
// its own network namespace as its host). Nothing here can touch the
// machine's own network: ktest.Main compares the host's state before and
// after the suite.
package livetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/lang"
)

func TestMain(m *testing.M) { ktest.Main(m) }

// dumpAll renders the state of k's host and every named namespace.
func dumpAll(t *testing.T, k kernel.Kernel) string {
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
		fmt.Fprintf(&b, "# netns %q\n%s\n", ns, d)
	}
	return b.String()
}

var base64Key = regexp.MustCompile(`[A-Za-z0-9+/]{43}=`)

// randomPort is the port a new WireGuard device picks at random; a plan
// (on the model) shows 0 there.
var randomPort = regexp.MustCompile(`listen-port \d+ ->`)

func lines(cs []kernel.Change, mask bool) string {
	var b strings.Builder
	for _, c := range cs {
		l := eval.FormatChange(c)
		if mask {
			l = base64Key.ReplaceAllString(l, "KEY")
		}
		l = randomPort.ReplaceAllString(l, "listen-port (random) ->")
		b.WriteString(l + "\n")
	}
	return b.String()
}

// setup returns a kernel whose host is a fresh namespace and options for
// it; named namespaces a test creates are deleted when it ends.
func setup(t *testing.T) (*kernel.Netlink, eval.Options, *bytes.Buffer) {
	k, _ := ktest.New(t)
	before, err := k.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		now, _ := k.Namespaces()
		for _, ns := range now {
			if !slices.Contains(before, ns) {
				if err := k.DelNamespace(ns); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
		}
	})
	var out bytes.Buffer
	// Key files (loadkey in the examples) go to a directory of the
	// test's own, never beside the examples.
	keys := t.TempDir()
	o := eval.Options{
		Kernel: k,
		Stdout: &out,
		Stderr: &out,
		Tables: kernel.NewTableNames(),
		Tx:     txn.Options{JournalDir: t.TempDir(), Wait: -1},
		Getenv: func(name string) (string, bool) {
			if name == "NETS_KEYS" {
				return keys, true
			}
			return os.LookupEnv(name)
		},
	}
	return k, o, &out
}

// TestExamplesLive: every example, on the real kernel. First a failure
// is injected at every step (each run must leave the kernel exactly as
// it was), then a plan is compared with the run that follows, and a
// second run must change nothing (recipes that generate keys: nothing but
// the keys).
func TestExamplesLive(t *testing.T) {
	paths, err := filepath.Glob("../../examples/*.nets")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	injected := errors.New("injected fault")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			k, o, out := setup(t)
			f, err := eval.Load(path, nil, o)
			if err != nil {
				t.Fatal(err)
			}
			mask := hasGenkey(f)
			// A plan's loadkey makes a key that the run then makes
			// (and keeps) anew; the run after it changes nothing.
			planMask := mask || hasCall(f, "loadkey")
			before := dumpAll(t, k)
			ctx := context.Background()

			steps := 0
			po := o
			po.Tx.BeforeApply = func(int, *kernel.Step) error { steps++; return nil }
			plan, err := eval.Plan(ctx, f, po)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if got := dumpAll(t, k); got != before {
				t.Fatalf("plan changed the kernel:\n%s", got)
			}

			for i := 0; i < steps; i++ {
				fo := o
				fo.Tx.BeforeApply = func(step int, _ *kernel.Step) error {
					if step == i {
						return injected
					}
					return nil
				}
				_, err := eval.Run(ctx, f, fo)
				if err == nil {
					t.Fatalf("step %d: the run did not reach it (%d planned steps)", i, steps)
				}
				if !errors.Is(err, injected) {
					t.Fatalf("step %d: %v", i, err)
				}
				var ee *eval.Error
				if !errors.As(err, &ee) || ee.UndoErr != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := dumpAll(t, k); got != before {
					t.Fatalf("step %d: the kernel was not restored:\nbefore:\n%s\nafter:\n%s", i, before, got)
				}
			}
			t.Logf("%d injection points", steps)

			out.Reset()
			res, err := eval.Run(ctx, f, o)
			if err != nil {
				var d lang.Diagnostic
				if errors.As(err, &d) {
					var b bytes.Buffer
					lang.Render(&b, d, nil)
					t.Fatalf("run:\n%s\n%s", b.String(), out.String())
				}
				t.Fatalf("run: %v", err)
			}
			if p, r := lines(plan.Changes, planMask), lines(res.Changes, planMask); p != r {
				t.Errorf("plan and run differ:\nplan:\n%srun:\n%s", p, r)
			}
			t.Logf("run output:\n%s%s", lines(res.Changes, true), out.String())

			again, err := eval.Run(ctx, f, o)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			for _, c := range again.Changes {
				if !mask || !strings.HasPrefix(c.Text, "wireguard ") {
					t.Errorf("second run changed %s", eval.FormatChange(c))
				}
			}
		})
	}
}

func hasGenkey(f *lang.File) bool { return hasCall(f, "genkey") }

// hasCall reports whether f calls the builtin name.
func hasCall(f *lang.File, name string) bool {
	found := false
	lang.Inspect(f, func(n lang.Node) bool {
		if c, ok := n.(*lang.Call); ok && c.Name.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// TestKernelErrorLive: a kernel refusal names the statement, carries the
// kernel's own extended-ack text, keeps errors.Is, and rolls back.
func TestKernelErrorLive(t *testing.T) {
	k, o, _ := setup(t)
	before := dumpAll(t, k)
	src := "link d0 type bridge\nlink d0 up\nroute 10.0.0.0/8 via 192.0.2.1\n"
	f, err := lang.Parse("t.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = eval.Run(context.Background(), f, o)
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Pos.Line != 3 {
		t.Fatalf("error %v", err)
	}
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		t.Fatalf("no kernel error in %v", err)
	}
	t.Logf("%v (detail %q)", err, d.Detail)
	if got := dumpAll(t, k); got != before {
		t.Errorf("not rolled back:\n%s", got)
	}

	f, _ = lang.Parse("t.nets", []byte("link taken type bridge\nlink v0 type veth peer taken\n"))
	_, err = eval.Run(context.Background(), f, o)
	if !errors.Is(err, kernel.ErrExist) {
		t.Errorf("errors.Is(%v, ErrExist) = false", err)
	}
	if got := dumpAll(t, k); got != before {
		t.Errorf("not rolled back:\n%s", got)
	}
}

// TestExecLive: exec runs in the current namespace and a failing program
// rolls the run back.
func TestExecLive(t *testing.T) {
	k, o, out := setup(t)
	before := dumpAll(t, k)
	f, _ := lang.Parse("t.nets", []byte(`netns ex
in netns ex <
  link lo up
  exec ip -o link show lo
  exec false
>
`))
	_, err := eval.Run(context.Background(), f, o)
	var d lang.Diagnostic
	if !errors.As(err, &d) || d.Pos.Line != 5 {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(out.String(), "lo: <LOOPBACK,UP,LOWER_UP>") {
		t.Errorf("exec output %q", out.String())
	}
	if got := dumpAll(t, k); got != before {
		t.Errorf("not rolled back:\n%s", got)
	}
}
