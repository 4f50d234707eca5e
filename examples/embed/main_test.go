package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
)

// TestMain runs the tests inside ktest's sandbox (fresh network, mount
// and PID namespaces with a private /run/netns and /run/nets), so that
// the real-kernel tests change nothing of the host; ktest checks that.
// Started with EMBED_MAIN=1 (by TestInterruptRollsBack), the binary is
// the example program itself.
func TestMain(m *testing.M) {
	if os.Getenv("EMBED_MAIN") == "1" {
		main()
	}
	ktest.Main(m)
}

func runEmbed(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e strings.Builder
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

func TestModel(t *testing.T) {
	out, errOut, code := runEmbed(t, "-model")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"plan:\n",
		"# exec ip -brief addr show dev br-site (not run in plan)",
		"  + link br-site type bridge\n",
		"  + addr 10.77.0.1/24 dev br-site\n",
		"  + netns db\n",
		"  + in netns web < addr 10.77.0.10/24 dev eth0 >\n",
		"  + in netns db < route default via 10.77.0.1 >\n",
		"applying:\n",
		"changed: true (19 changes)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if want := "exec in host: ip -brief addr show dev br-site\n"; errOut != want {
		t.Errorf("stderr %q, want the exec hook's %q", errOut, want)
	}
}

func TestModelVarsAndPlan(t *testing.T) {
	out, errOut, code := runEmbed(t, "-model", "-plan", "-n", "site", "-var", "bridge=br9",
		"-var", "subnet=192.0.2.0/24", "-var", "workloads=api")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"  + in netns site < link br9 type bridge >\n",
		"  + in netns site < addr 192.0.2.1/24 dev br9 >\n",
		"  + netns api\n",
		"  + in netns api < addr 192.0.2.10/24 dev eth0 >\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "applying:") || errOut != "" {
		t.Errorf("-plan applied or ran exec:\n%s%s", out, errOut)
	}
}

func TestFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	recipe := filepath.Join(dir, "bad.nets")
	if err := os.WriteFile(recipe, []byte("link $bridge type bridge\naddr 10.0.0.300/24 dev $bridge\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runEmbed(t, "-model", "-f", recipe)
	if code != 1 || !strings.Contains(errOut, `bad.nets:2:6: "10.0.0.300" is not an IP address`) || !strings.Contains(errOut, "^") {
		t.Errorf("bad recipe: exit %d, stderr:\n%s", code, errOut)
	}
	if _, errOut, code := runEmbed(t, "-var", "novalue"); code != 2 || !strings.Contains(errOut, "want NAME=VALUE") {
		t.Errorf("bad -var: exit %d, stderr:\n%s", code, errOut)
	}
	if _, _, code := runEmbed(t, "-model", "extra"); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}

// state returns what the test can see of ns and the workloads'
// namespaces: ns's links and addresses, and the named namespaces.
func state(t *testing.T, ns string) string {
	t.Helper()
	names, err := netns.List("")
	if err != nil {
		t.Fatal(err)
	}
	return ktest.IP(t, ns, "-brief", "addr", "show") + "namespaces: " + strings.Join(names, " ")
}

// newNS makes a fresh named namespace, removed when the test ends.
func newNS(t *testing.T) string {
	ns := ktest.NewNS(t)
	if err := netns.Add("", ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

// cleanupNS removes the named namespaces a test's recipe made.
func cleanupNS(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			_ = netns.Delete("", n)
		}
	})
}

// TestKernel applies the embedded recipe to the real kernel, starting in
// a fresh namespace, then again (nothing to change), and pings a
// workload from the bridge.
func TestKernel(t *testing.T) {
	ns := newNS(t)
	cleanupNS(t, "k-web", "k-db")
	args := []string{"-n", ns, "-var", "workloads=k-web,k-db"}
	out, errOut, code := runEmbed(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "changed: true (19 changes)") {
		t.Errorf("first run:\n%s", out)
	}
	// exec ran in ns: ip's output is in stdout.
	if !strings.Contains(out, "br-site") || !strings.Contains(out, "10.77.0.1/24") ||
		!strings.Contains(errOut, "exec in "+ns+": ip -brief addr show dev br-site") {
		t.Errorf("exec output missing:\n%s%s", out, errOut)
	}
	if got := ktest.IP(t, "k-db", "-brief", "addr", "show", "dev", "eth0"); !strings.Contains(got, "10.77.0.11/24") {
		t.Errorf("k-db eth0: %s", got)
	}
	if got := ktest.IP(t, "k-web", "route", "show", "default"); !strings.Contains(got, "via 10.77.0.1") {
		t.Errorf("k-web default route: %s", got)
	}
	// Traffic between namespaces this test made: the bridge's address
	// from k-web, through the veth and the bridge.
	if ping, err := exec.LookPath("ping"); err == nil {
		var out []byte
		for i := 0; i < 50; i++ { // the bridge port may need a moment to forward
			out, err = exec.Command("ip", "netns", "exec", "k-web", ping, "-c", "1", "-W", "1", "10.77.0.1").CombinedOutput()
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("ping 10.77.0.1 from k-web: %v\n%s", err, out)
		}
	}

	out, errOut, code = runEmbed(t, args...)
	if code != 0 || out != "plan:\n# in netns "+ns+" < exec ip -brief addr show dev br-site > (not run in plan)\nnothing to change\n" {
		t.Errorf("second run: exit %d\n%s%s", code, out, errOut)
	}
}

// TestKernelFailureRollsBack: a recipe that fails after making changes
// (here an exec, which a plan does not run) leaves the kernel as it was;
// one that fails already in the plan changes nothing.
func TestKernelFailureRollsBack(t *testing.T) {
	ns := newNS(t)
	cleanupNS(t, "f-one")
	before := state(t, ns)

	recipe := filepath.Join(t.TempDir(), "fails.nets")
	src := "netns f-one\nlink $bridge type bridge\nlink $bridge up\nexec false\n"
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runEmbed(t, "-n", ns, "-f", recipe)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "applying:\n  + netns f-one\n  + in netns "+ns+" < link br-site type bridge >\n") ||
		!strings.Contains(errOut, "fails.nets:4:1: ") || !strings.Contains(errOut, "rolled back: 3 changes undone") {
		t.Errorf("output:\n%s%s", out, errOut)
	}
	if after := state(t, ns); after != before {
		t.Errorf("state after the failed run:\n%s\nwant:\n%s", after, before)
	}

	// $settle must be an int: the plan fails at `$settle > 0`.
	out, errOut, code = runEmbed(t, "-n", ns, "-var", "workloads=f-one", "-var", "settle=soon")
	if code != 1 || strings.Contains(out, "applying:") || !strings.Contains(errOut, "site.nets:21:5: cannot compare string with int") {
		t.Errorf("exit %d, want 1 before applying\n%s%s", code, out, errOut)
	}
	if after := state(t, ns); after != before {
		t.Errorf("state after the failed plan:\n%s\nwant:\n%s", after, before)
	}
}

// TestInterruptRollsBack runs the program as a process, sends it SIGINT
// while the recipe's exec sleeps, and checks it rolled back.
func TestInterruptRollsBack(t *testing.T) {
	ns := newNS(t)
	cleanupNS(t, "i-one")
	before := state(t, ns)
	cmd := exec.Command(os.Args[0], "-n", ns, "-var", "workloads=i-one", "-var", "settle=30")
	cmd.Env = append(os.Environ(), "EMBED_MAIN=1")
	var out strings.Builder
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	sc := bufio.NewScanner(stderr)
	signalled := false
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if !signalled && strings.HasPrefix(sc.Text(), "exec in "+ns+": sleep 30") {
			// The exec hook logs before the program starts; give it a
			// moment so that the signal interrupts the sleep.
			time.Sleep(200 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	if !signalled {
		t.Fatalf("the program never reached the exec:\n%s%s", out.String(), errOut.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "embed: interrupted") || !strings.Contains(errOut.String(), "rolled back") {
		t.Errorf("stderr:\n%s", errOut.String())
	}
	if after := state(t, ns); after != before {
		t.Errorf("state after the interrupted run:\n%s\nwant:\n%s", after, before)
	}
}
