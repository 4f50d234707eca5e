package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel/ktest"
)

// tryExpect is, for each example, a line that `nets try` must print: a
// change it made or a line of the state it left.
var tryExpect = map[string]string{
	"gaming.nets":         "rule fwmark 0x1 lookup 100 priority 100",
	"netns-lab.nets":      "1 packets transmitted, 1 received",
	"policy-tables.nets":  "route blackhole 203.0.113.0/24 table 1000000",
	"wireguard-p2p.nets":  "allowed-ips 10.200.0.2/32",
	"wg-full-tunnel.nets": "rule not fwmark 0xca6c lookup 51820",
}

// TestTryExamples runs `nets try` on every example, as root and as an
// unprivileged user (through a user namespace), and checks that each
// succeeds, prints what it did and the state it left, and leaves no
// namespace, journal or WireGuard socket behind.
func TestTryExamples(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root inside the test sandbox to switch to an unprivileged user")
	}
	bin := multiCallNets(t)
	examples, err := filepath.Glob("../../examples/*.nets")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	before := sandboxLeftovers(t)
	users := []string{"root", "nobody"}
	if ktest.UserNS() {
		// A user namespace (the suite started by a normal user) maps no
		// uid but 0: there is no other user to switch to. Running as
		// that normal user is what this case covers anyway.
		users = users[:1]
	}
	for _, user := range users {
		for _, ex := range examples {
			name := filepath.Base(ex)
			t.Run(user+"/"+name, func(t *testing.T) {
				abs, _ := filepath.Abs(ex)
				args := []string{bin, "try", abs}
				if user == "nobody" {
					args = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, args...)
				}
				cmd := exec.Command(args[0], args[1:]...)
				cmd.Dir = "/"
				cmd.Env = tryEnv()
				out, err := runTimeout(cmd, 90*time.Second)
				if err != nil {
					t.Fatalf("nets try %s as %s: %v\n%s", name, user, err, out)
				}
				if !strings.Contains(out, "# The state the recipe left") {
					t.Errorf("no state printed:\n%s", out)
				}
				if want := tryExpect[name]; want == "" {
					t.Errorf("no expectation for example %s: add one to tryExpect", name)
				} else if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
				if after := sandboxLeftovers(t); after != before {
					t.Errorf("nets try left something behind:\nbefore: %s\nafter:  %s", before, after)
				}
			})
		}
	}
}

// TestTryRefusesBrokenRecipe checks that a recipe with errors is reported
// before any sandbox is made, with the usual diagnostic and exit 1.
func TestTryRefusesBrokenRecipe(t *testing.T) {
	bin := multiCallNets(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.nets")
	if err := os.WriteFile(f, []byte("route 10.0.0.300/8 dev lo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "try", f)
	cmd.Env = tryEnv()
	out, err := runTimeout(cmd, 30*time.Second)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "bad.nets:1:7: ") || !strings.Contains(out, "^") {
		t.Errorf("want a caret diagnostic at 1:7, got:\n%s", out)
	}
}

// tryEnv is the environment for a nets child: without the markers of the
// sandbox this test binary runs in, so `nets try` makes its own.
func tryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NETS_SANDBOX=") || strings.HasPrefix(kv, "NETS_KTEST_SANDBOX=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// multiCallNets copies this test binary to a world-readable directory
// under the name "nets": started by that name, TestMain runs nets' main.
func multiCallNets(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nets-try-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "nets")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// sandboxLeftovers describes what a nets try could leave in the test's
// own namespace if its sandbox leaked: named namespaces, journals,
// WireGuard sockets and links.
func sandboxLeftovers(t *testing.T) string {
	t.Helper()
	var parts []string
	for _, d := range []string{"/run/netns", "/run/nets", "/var/run/wireguard"} {
		ents, _ := os.ReadDir(d)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		parts = append(parts, d+"="+strings.Join(names, ","))
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(links)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	return strings.Join(parts, " ") + " links=" + strings.Join(names, "")
}

// runTimeout runs cmd with a deadline and returns its combined output.
func runTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return b.String(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return b.String(), &timeoutError{d}
	}
}

type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return "timed out after " + e.d.String() }
