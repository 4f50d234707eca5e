package kernel_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
)

// socketsIn counts this process's sockets that live in the namespace
// with identity id.
func socketsIn(t *testing.T, id netns.ID) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range fds {
		fd, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", d.Name())); err != nil || len(target) < 7 || target[:7] != "socket:" {
			continue
		}
		nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
		if err != nil {
			continue
		}
		sid, err := netns.IDOfFD(nsfd)
		unix.Close(nsfd)
		if err == nil && sid == id {
			n++
		}
	}
	return n
}

// blackholeSteps prepares the steps adding blackhole routes
// 10.0.from.0/24 to 10.0.(from+n-1).0/24 in table 100 of ns.
func blackholeSteps(t *testing.T, e *kernel.Ensurer, ns string, from, n int) []*kernel.Step {
	t.Helper()
	var steps []*kernel.Step
	for i := from; i < from+n; i++ {
		s, err := e.Prepare(kernel.Want{NS: ns, Route: &kernel.RouteWant{Route: kernel.Route{Type: kernel.RouteBlackhole, Table: 100,
			Dst: netip.MustParsePrefix(fmt.Sprintf("10.0.%d.0/24", i))}}})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	return steps
}

// TestFlightSessionNamespaceDeleted: a Flight sends its route runs on
// one batch socket kept open from run to run (bulkSession), and closes it
// before it applies a step that deletes a namespace, so that no socket
// of nets keeps the deleted namespace alive; and none is left open in a
// namespace once the Flight ended.
func TestFlightSessionNamespaceDeleted(t *testing.T) {
	k, _ := ktest.New(t)
	e := kernel.NewEnsurer(k)
	up := true
	for _, w := range []kernel.Want{
		{Netns: &kernel.NetnsWant{Name: "fx"}},
		{NS: "fx", Link: &kernel.LinkWant{Name: "lo", Up: &up}},
		{Netns: &kernel.NetnsWant{Name: "fy"}},
	} {
		if _, err := e.Ensure(w); err != nil {
			t.Fatal(err)
		}
	}
	idOf := func(name string) netns.ID {
		f, err := k.OpenNS(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		id, err := netns.IDOf(f)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	fx, fy := idOf("fx"), idOf("fy")
	f := e.Fly()
	f.Apply(blackholeSteps(t, e, "fy", 0, 3))
	f.Apply(blackholeSteps(t, e, "fx", 0, 3))
	del, err := e.Prepare(kernel.Want{Netns: &kernel.NetnsWant{Name: "fx"}, Absent: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Apply([]*kernel.Step{del})
	if n := socketsIn(t, fx); n != 0 {
		t.Errorf("%d sockets left open in namespace fx after it was deleted", n)
	}
	f.Apply(blackholeSteps(t, e, "fy", 3, 2))
	if n, err := f.Wait(); err != nil || n != 9 {
		t.Fatalf("Wait = %d, %v; want 9 steps applied", n, err)
	}
	if got := ktest.IP(t, "fy", "-4", "route", "show", "table", "100"); strings.Count(got, "blackhole") != 5 {
		t.Errorf("routes in fy:\n%s\nwant 5", got)
	}
	// The Netlink keeps its own socket in fy for later calls; the
	// Flight's batch socket is gone.
	before := socketsIn(t, fy)
	k.Close()
	if n := socketsIn(t, fy); n != 0 {
		t.Errorf("%d sockets in fy after the Flight ended and the Netlink closed (%d before closing it)", n, before)
	}
}

// TestFlightSessionNamespaceRecreated: a namespace deleted and created
// again under the same name between two runs of one Flight (by another
// program here) gets the later runs: the session's socket, in the deleted
// namespace, is not used for the new one.
func TestFlightSessionNamespaceRecreated(t *testing.T) {
	k, _ := ktest.New(t)
	e := kernel.NewEnsurer(k)
	const name = "fr"
	if _, err := e.Ensure(kernel.Want{Netns: &kernel.NetnsWant{Name: name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Delete("", name) })
	f := e.Fly()
	f.Apply(blackholeSteps(t, e, name, 0, 3))
	for f.Collect(); f.Applied() < 3 && !f.Failed(); f.Collect() {
	}
	if err := netns.Delete("", name); err != nil {
		t.Fatal(err)
	}
	if err := netns.Add("", name); err != nil {
		t.Fatal(err)
	}
	e.Invalidate(name)
	f.Apply(blackholeSteps(t, e, name, 10, 3))
	if n, err := f.Wait(); err != nil || n != 6 {
		t.Fatalf("Wait = %d, %v; want 6 steps applied", n, err)
	}
	if got := ktest.IP(t, name, "-4", "route", "show", "table", "100"); strings.Count(got, "blackhole") != 3 {
		t.Errorf("routes in the new namespace %s:\n%s\nwant the second run's 3", name, got)
	}
}
