package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
	"github.com/nets-lang/nets/kernel/wgdev"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain runs the whole test binary inside ktest's sandbox (fresh net,
// mount and PID namespaces with private /run/netns, /run/nets and
// /run/wireguard), so that `nets run` in a script changes the sandbox's
// network, never the host's; ktest checks the host is unchanged
// afterwards. Inside the sandbox, testscript installs this binary as the
// `nets` command; when started as that command (argv[0] "nets", which
// is also how the confirm waiter re-executes itself) it runs nets' main.
func TestMain(m *testing.M) {
	wgdev.MaybeRunHelper()
	if ktest.InSandbox() || filepath.Base(os.Args[0]) == "nets" {
		testscript.Main(m, map[string]func(){
			"nets": func() { os.Exit(newCLI().main(os.Args[1:])) },
		})
	}
	ktest.Main(m)
}

var nsSeq atomic.Int64

// TestScripts runs testdata/script/*.txtar. Each script gets:
//
//	$NS        a fresh named network namespace (lo up), removed afterwards
//	$EXAMPLES  the repository's examples/ directory
//	NETS_JOURNAL_DIR  a private journal directory, so scripts running in
//	           parallel do not share the lock or the journal
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			ns := fmt.Sprintf("ts%d-%d", os.Getpid(), nsSeq.Add(1))
			if err := netns.Add("", ns); err != nil {
				return fmt.Errorf("creating namespace %s: %v", ns, err)
			}
			env.Defer(func() { _ = netns.Delete("", ns) })
			if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
				return fmt.Errorf("lo up in %s: %v: %s", ns, err, out)
			}
			env.Setenv("NS", ns)
			env.Setenv("EXAMPLES", examples)
			env.Setenv(envJournalDir, filepath.Join(env.WorkDir, ".nets-journal"))
			return nil
		},
		// [wgmodule]: the kernel has WireGuard, so `link X type
		// wireguard` makes a kernel device, not a userspace one.
		// [userns]: the suite runs in a user namespace (started by a
		// normal user), which maps no uid but 0: switching to another
		// user (setpriv --reuid) is impossible there.
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "wgmodule":
				return kernel.KernelHasWireGuard()
			case "userns":
				return ktest.UserNS(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

var update = flag.Bool("update", false, "rewrite docs/nets.1 from the help texts")

// TestManPage checks that docs/nets.1 is what `nets help --man` prints
// (run with -update to regenerate it).
func TestManPage(t *testing.T) {
	var b strings.Builder
	writeMan(&b)
	path := filepath.Join("..", "..", "docs", "nets.1")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./cmd/nets -run TestManPage -update)", err)
	}
	if string(have) != b.String() {
		t.Errorf("%s is out of date: go test ./cmd/nets -run TestManPage -update", path)
	}
}
