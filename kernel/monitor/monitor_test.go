package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/monitor"
	"github.com/nets-lang/nets/kernel/netns"
)

func TestMain(m *testing.M) { ktest.Main(m) }

// started runs Run on ns of k and returns its lines; the monitor stops
// (and Run's result is checked to be nil) when the test ends.
func started(t *testing.T, k *kernel.Netlink, opts monitor.Options, hold <-chan struct{}) <-chan kernel.ConfigChange {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan kernel.ConfigChange, 100000)
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	done := make(chan error, 1)
	first := true
	go func() {
		done <- monitor.Run(ctx, k, opts, func(c kernel.ConfigChange) error {
			if first && hold != nil {
				first = false
				<-hold
			}
			out <- c
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("monitor not ready within 5s")
	}
	return out
}

// expect reads lines until each of res has matched a line (in any
// order: changes read in one window come in dependency order, not in the
// order they were made) within 5 s, and returns the lines read.
func expect(t *testing.T, ch <-chan kernel.ConfigChange, res ...string) []string {
	t.Helper()
	var seen []string
	pending := map[string]*regexp.Regexp{}
	for _, re := range res {
		pending[re] = regexp.MustCompile("^" + re + "$")
	}
	deadline := time.After(5 * time.Second)
	for len(pending) > 0 {
		select {
		case c := <-ch:
			seen = append(seen, c.String())
			for re, rx := range pending {
				if rx.MatchString(c.String()) {
					delete(pending, re)
					break
				}
			}
		case <-deadline:
			t.Fatalf("no lines matching %q within 5s; got:\n%s", keys(pending), strings.Join(seen, "\n"))
		}
	}
	return seen
}

func keys(m map[string]*regexp.Regexp) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// index returns the position of the first line matching re, -1 if none.
func index(lines []string, re string) int {
	rx := regexp.MustCompile("^" + re + "$")
	for i, l := range lines {
		if rx.MatchString(l) {
			return i
		}
	}
	return -1
}

const mac = `[0-9a-f:]{17}`

func TestMonitorLines(t *testing.T) {
	k, ns := ktest.New(t)
	ch := started(t, k, monitor.Options{NS: kernel.Host}, nil)
	ip := func(args string) { ktest.IP(t, ns, strings.Fields(args)...) }

	ip("link add v0 type veth peer name v1")
	expect(t, ch, `\+ link v0 type veth peer v1 down address `+mac, `\+ link v1 down address `+mac)
	ip("link set v0 up")
	ip("link set v1 up")
	expect(t, ch, `~ link v0 up`, `~ link v1 up`)
	ip("link set v0 mtu 9000")
	expect(t, ch, `~ link v0 mtu 9000`)
	ip("link set v0 alias uplink")
	expect(t, ch, `~ link v0 alias uplink`)
	ip("addr add 10.0.0.1/24 dev v0")
	expect(t, ch, `\+ addr 10.0.0.1/24 dev v0`)
	ip("route add 10.1.0.0/16 via 10.0.0.254")
	ip("route add blackhole 10.9.0.0/16 table 100")
	expect(t, ch, `\+ route 10.1.0.0/16 via 10.0.0.254 dev v0`, `\+ route blackhole 10.9.0.0/16 table 100`)
	ip("rule add from 10.5.0.0/16 lookup 100 pref 100")
	ip("-6 rule add to 2001:db8::/32 prohibit pref 101")
	expect(t, ch, `\+ rule from 10.5.0.0/16 lookup 100 priority 100`, `\+ rule to 2001:db8::/32 prohibit priority 101`)
	ip("neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent")
	expect(t, ch, `\+ neigh 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 permanent`)
	ip("route del 10.1.0.0/16")
	expect(t, ch, `- route 10.1.0.0/16 via 10.0.0.254 dev v0`)
	ip("rule del pref 100")
	expect(t, ch, `- rule from 10.5.0.0/16 lookup 100 priority 100`)

	// Deleting the link takes its dependents; they go first.
	ip("route add 10.2.0.0/16 via 10.0.0.254")
	expect(t, ch, `\+ route 10.2.0.0/16 via 10.0.0.254 dev v0`)
	ip("link del v0")
	order := []string{`- neigh 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 permanent`,
		`- route 10.2.0.0/16 via 10.0.0.254 dev v0`, `- addr 10.0.0.1/24 dev v0`,
		`- link v0 type veth peer v1 up mtu 9000 address ` + mac + ` alias uplink`}
	seen := expect(t, ch, append(order, `- link v1 up address `+mac)...)
	for i := 1; i < len(order); i++ {
		if index(seen, order[i-1]) > index(seen, order[i]) {
			t.Errorf("%q reported after %q:\n%s", order[i-1], order[i], strings.Join(seen, "\n"))
		}
	}

	// Named namespaces appear and disappear.
	name := ktest.NewNS(t)
	if err := netns.Add("", name); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, `\+ netns `+name)
	if err := netns.Delete("", name); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, `- netns `+name)

	// Kernel-made objects are not reported: lo's addresses, local routes.
	ip("link add d0 type bridge")
	lines := expect(t, ch, `\+ link d0 type bridge down address `+mac)
	ip("link set d0 up")
	lines = append(lines, expect(t, ch, `~ link d0 up`)...)
	ip("addr add 10.7.0.1/24 dev d0")
	lines = append(lines, expect(t, ch, `\+ addr 10.7.0.1/24 dev d0`)...)
	ip("route add 10.8.0.0/16 dev d0")
	lines = append(lines, expect(t, ch, `\+ route 10.8.0.0/16 dev d0`)...)
	for _, l := range lines {
		if strings.Contains(l, "proto kernel") || strings.Contains(l, "table local") {
			t.Errorf("kernel-made object reported: %s", l)
		}
	}
}

// TestMonitorENOBUFS: with a tiny receive buffer and the consumer held
// back, a burst of routes overflows the socket; the monitor re-reads,
// reports every route, and says that it resynced.
func TestMonitorENOBUFS(t *testing.T) {
	k, ns := ktest.New(t)
	hold := make(chan struct{})
	ch := started(t, k, monitor.Options{NS: kernel.Host, RecvBuffer: 4096}, hold)
	const n = 3000
	var batch strings.Builder
	batch.WriteString("link add d0 type bridge\nlink set d0 up\n")
	for i := range n {
		fmt.Fprintf(&batch, "route add 10.%d.%d.0/24 dev d0\n", 100+i/256, i%256)
	}
	path := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(path, []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "-n", ns, "-batch", path).CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v: %s", err, out)
	}
	close(hold)
	routes, resynced := 0, false
	deadline := time.After(20 * time.Second)
	for routes < n || !resynced {
		select {
		case c := <-ch:
			switch {
			case c.Kind == monitor.Resync:
				resynced = true
				if !strings.HasPrefix(c.String(), "# resynced") {
					t.Errorf("resync line: %q", c.String())
				}
			case c.Kind == "route" && c.Mark == '+':
				routes++
			}
		case <-deadline:
			t.Fatalf("after 20s: %d of %d routes reported, resynced %v", routes, n, resynced)
		}
	}
	if routes != n {
		t.Errorf("%d routes reported, want %d", routes, n)
	}
}

func TestMonitorJSON(t *testing.T) {
	k, ns := ktest.New(t)
	ch := started(t, k, monitor.Options{NS: kernel.Host}, nil)
	ktest.IP(t, ns, "route", "add", "blackhole", "10.9.0.0/16", "table", "100")
	expect(t, ch) // nothing yet
	var c kernel.ConfigChange
	select {
	case c = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	obj, _ := v["object"].(map[string]any)
	if v["mark"] != "+" || v["kind"] != "route" || v["ns"] != "" || v["text"] != "route blackhole 10.9.0.0/16 table 100" ||
		obj == nil || obj["type"] != "blackhole" || obj["table"] != "100" || obj["dst"] != "10.9.0.0/16" {
		t.Errorf("JSON event: %s", b)
	}
}

func TestMonitorMissingNamespace(t *testing.T) {
	k, _ := ktest.New(t)
	err := monitor.Run(context.Background(), k, monitor.Options{NS: "no-such-ns"}, func(kernel.ConfigChange) error { return nil })
	if err == nil {
		t.Fatal("no error for a missing namespace")
	}
}
