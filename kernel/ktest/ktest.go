// Package ktest runs kernel tests safely: every test binary that uses it
// re-executes itself inside fresh network, mount and PID namespaces
// (plus a user namespace when not root) with private /run/netns,
// /run/nets and /run/wireguard, and each test gets its own fresh network
// namespace on top. Nothing a test does can reach the host's network:
// Main snapshots the host's links, addresses, routes (all tables, v4 and
// v6) and rules before and after the suite and fails loudly on any
// difference.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { ktest.Main(m) }
//
// and in a test:
//
//	k, ns := ktest.New(t) // k's Host is the fresh named namespace ns
//	...
//	out := ktest.IP(t, ns, "-d", "link", "show")
package ktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/netns"
	"github.com/nets-lang/nets/kernel/wgdev"
)

// EnvSandbox marks a process running inside ktest's sandbox.
const EnvSandbox = "NETS_KTEST_SANDBOX"

// InSandbox reports whether this process runs inside Main's sandbox.
func InSandbox() bool { return os.Getenv(EnvSandbox) == "1" }

// sandboxScript runs as the sandbox's first process: private tmpfs for
// the state directories, lo up, then the test binary.
const sandboxScript = `set -e
if [ "$KTEST_RUN_TMPFS" = 1 ]; then mount -t tmpfs ktest-run /run; fi
for d in /run/netns /run/nets /run/wireguard; do
  mkdir -p "$d"
  mount -t tmpfs ktest "$d"
done
ip link set lo up
exec "$@"`

// Main runs the tests of m safely and exits. Outside the sandbox it
// snapshots the host, re-executes the test binary with the same
// arguments inside the sandbox, waits, snapshots the host again and
// exits non-zero with the difference if anything changed. Inside the
// sandbox it runs the tests. It first lets the process serve as the
// userspace WireGuard helper when started as one (wgdev.MaybeRunHelper).
func Main(m *testing.M) {
	wgdev.MaybeRunHelper()
	if InSandbox() {
		os.Exit(m.Run())
	}
	before, err := HostSnapshot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktest: cannot snapshot the host's network state: %v\n", err)
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktest: %v\n", err)
		os.Exit(2)
	}
	var args []string
	env := append(os.Environ(), EnvSandbox+"=1")
	if os.Geteuid() != 0 {
		args = append(args, "--user", "--map-root-user")
		// An unprivileged user cannot create missing directories
		// under /run: put a tmpfs over /run first.
		for _, d := range []string{"/run/netns", "/run/nets", "/run/wireguard"} {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				env = append(env, "KTEST_RUN_TMPFS=1")
				break
			}
		}
	}
	// --kill-child and Pdeathsig: if this process dies (go test's
	// timeout), the sandbox's first process dies, and with it every
	// process in the sandbox's PID namespace.
	args = append(args, "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
		"/bin/sh", "-c", sandboxScript, "ktest-sandbox", exe)
	args = append(args, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	code := 0
	if err := cmd.Run(); err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		} else {
			fmt.Fprintf(os.Stderr, "ktest: running the tests in a sandbox (unshare) failed: %v\n", err)
		}
	}
	after, err := HostSnapshot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktest: cannot snapshot the host's network state after the tests: %v\n", err)
		os.Exit(2)
	}
	if d := Diff(before, after); d != "" {
		fmt.Fprintf(os.Stderr, "\n"+strings.Repeat("!", 72)+"\n"+
			"ktest: THE HOST'S NETWORK STATE CHANGED DURING THE TESTS\n"+
			"(- before, + after):\n%s"+strings.Repeat("!", 72)+"\n", d)
		os.Exit(3)
	}
	os.Exit(code)
}

// Snapshot is a normalized dump of one namespace's network state: one
// line per object, grouped by section.
type Snapshot map[string][]string

// volatile lists JSON keys of `ip -j` output that change by themselves.
var volatile = map[string]bool{
	"valid_life_time": true, "preferred_life_time": true, "expires": true,
	"stats": true, "stats64": true, "used": true, "lastused": true, "updated": true,
}

var hostSections = [][]string{
	{"link", "-j", "link", "show"},
	{"addr", "-j", "addr", "show"},
	{"route4", "-j", "-4", "route", "show", "table", "all"},
	{"route6", "-j", "-6", "route", "show", "table", "all"},
	{"rule4", "-j", "-4", "rule", "show"},
	{"rule6", "-j", "-6", "rule", "show"},
}

// HostSnapshot reads the state of the namespace this process runs in
// with `ip -j`, read-only.
func HostSnapshot() (Snapshot, error) { return snapshot(nil, hostSections) }

func snapshot(prefix []string, sections [][]string) (Snapshot, error) {
	s := Snapshot{}
	for _, sec := range sections {
		args := append(append([]string{}, prefix...), sec[1:]...)
		var stderr bytes.Buffer
		c := exec.Command("ip", args...)
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return nil, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		lines, err := normalize(out)
		if err != nil {
			return nil, fmt.Errorf("ip %s: %v", strings.Join(args, " "), err)
		}
		s[sec[0]] = lines
	}
	return s, nil
}

func normalize(out []byte) ([]string, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, nil
	}
	var v []any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	var lines []string
	for _, e := range v {
		b, err := json.Marshal(strip(e)) // maps marshal with sorted keys
		if err != nil {
			return nil, err
		}
		lines = append(lines, string(b))
	}
	sort.Strings(lines)
	return lines, nil
}

func strip(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k := range v {
			if volatile[k] {
				delete(v, k)
			} else {
				v[k] = strip(v[k])
			}
		}
	case []any:
		for i := range v {
			v[i] = strip(v[i])
		}
	}
	return v
}

// Diff returns the lines that differ between two snapshots ("" when
// equal), "-" for lines only in a and "+" for lines only in b.
func Diff(a, b Snapshot) string {
	var secs []string
	for k := range a {
		secs = append(secs, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			secs = append(secs, k)
		}
	}
	sort.Strings(secs)
	var out strings.Builder
	for _, sec := range secs {
		inA, inB := map[string]int{}, map[string]int{}
		for _, l := range a[sec] {
			inA[l]++
		}
		for _, l := range b[sec] {
			inB[l]++
		}
		for _, l := range a[sec] {
			if inB[l] == 0 {
				fmt.Fprintf(&out, "%s: - %s\n", sec, l)
			} else {
				inB[l]--
			}
		}
		for _, l := range b[sec] {
			if inA[l] == 0 {
				fmt.Fprintf(&out, "%s: + %s\n", sec, l)
			} else {
				inA[l]--
			}
		}
	}
	return out.String()
}

var seq atomic.Int64

// NewNS returns a fresh unused namespace name for this test and removes
// the namespace of that name (if the test made one) when the test ends.
func NewNS(t testing.TB) string {
	t.Helper()
	requireSandbox(t)
	name := fmt.Sprintf("kt%d-%d", os.Getpid(), seq.Add(1))
	t.Cleanup(func() { _ = netns.Delete("", name) })
	return name
}

func requireSandbox(t testing.TB) {
	t.Helper()
	if !InSandbox() {
		t.Fatal("ktest: not inside ktest's sandbox (use ktest.Main in TestMain); refusing to touch this namespace")
	}
}

// New creates a fresh named network namespace (in the sandbox's private
// /run/netns, so named-namespace code paths are exercised), brings its lo
// up, and returns a Netlink whose Host is that namespace, with the
// namespace's name. Both are removed when the test ends.
func New(t testing.TB) (*kernel.Netlink, string) {
	t.Helper()
	name := NewNS(t)
	if err := netns.Add("", name); err != nil {
		t.Fatalf("ktest: create namespace: %v", err)
	}
	f, err := netns.Open("", name)
	if err != nil {
		t.Fatalf("ktest: %v", err)
	}
	defer f.Close()
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{Host: f})
	if err != nil {
		t.Fatalf("ktest: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	up := true
	if err := k.SetLink(kernel.Host, "lo", kernel.LinkChange{Up: &up}); err != nil {
		t.Fatalf("ktest: lo up: %v", err)
	}
	return k, name
}

// IP runs `ip -n NS ARGS...` and returns its output; a failure fails
// the test. ns must be a named namespace (the sandbox's own namespace is
// never inspected this way).
func IP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := TryIP(ns, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// TryIP is IP returning the error instead of failing a test.
func TryIP(ns string, args ...string) (string, error) {
	if ns == "" {
		return "", fmt.Errorf("ktest.IP: no namespace named")
	}
	full := append([]string{"-n", ns}, args...)
	var stderr bytes.Buffer
	c := exec.Command("ip", full...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(full, " "), err, stderr.String())
	}
	return string(out), nil
}

var stateSections = [][]string{
	{"link", "-j", "-d", "link", "show"},
	{"addr", "-j", "addr", "show"},
	{"route4", "-j", "-4", "route", "show", "table", "all"},
	{"route6", "-j", "-6", "route", "show", "table", "all"},
	{"rule4", "-j", "-4", "rule", "show"},
	{"rule6", "-j", "-6", "rule", "show"},
	{"neigh", "-j", "neigh", "show", "nud", "permanent"},
}

// State returns a normalized full-state dump of the named namespace ns
// (links with details, addresses, routes of all tables, rules, permanent
// neighbours; volatile counters and lifetimes removed), for comparing
// the state before and after an operation with Diff.
func State(t testing.TB, ns string) Snapshot {
	t.Helper()
	if ns == "" {
		t.Fatal("ktest.State: no namespace named")
	}
	s, err := snapshot([]string{"-n", ns}, stateSections)
	if err != nil {
		t.Fatalf("ktest.State: %v", err)
	}
	return s
}

// UserNS reports whether this process runs in a user namespace that
// maps only part of the uid space (Main's sandbox when not root), where
// only the mapped uids (root) can appear in uid ranges and tun owners.
func UserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}
