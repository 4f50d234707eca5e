package netns_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/netns"
)

// The tests create namespaces, so they run in ktest's sandbox.
func TestMain(m *testing.M) { ktest.Main(m) }

func TestAddListOpenDelete(t *testing.T) {
	name := ktest.NewNS(t)
	if err := netns.Add("", name); err != nil {
		t.Fatal(err)
	}
	if err := netns.Add("", name); !errors.Is(err, netns.ErrExist) {
		t.Errorf("second add: %v, want ErrExist", err)
	}
	names, err := netns.List("")
	if err != nil || !contains(names, name) {
		t.Fatalf("List = %v, %v; want %s", names, err, name)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), name) {
		t.Errorf("ip netns list: %v %s", err, out)
	}
	f, err := netns.Open("", name)
	if err != nil {
		t.Fatal(err)
	}
	id, err := netns.IDOf(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := netns.Current()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if cid, _ := netns.IDOf(cur); cid == id {
		t.Error("the new namespace is the current one")
	}
	if err := netns.Delete("", name); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.Open("", name); !errors.Is(err, netns.ErrNotExist) {
		t.Errorf("open after delete: %v", err)
	}
	if err := netns.Delete("", name); !errors.Is(err, netns.ErrNotExist) {
		t.Errorf("second delete: %v", err)
	}
}

func TestSeesWhatIPMade(t *testing.T) {
	name := ktest.NewNS(t)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	f, err := netns.Open("", name)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if names, _ := netns.List(""); !contains(names, name) {
		t.Errorf("List = %v", names)
	}
}

func TestValidName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", strings.Repeat("x", 256)} {
		if err := netns.Add("", bad); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
}

func TestListSkipsNonNamespaces(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "junk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := netns.List(dir)
	if err != nil || len(names) != 0 {
		t.Errorf("List = %v, %v", names, err)
	}
	if _, err := netns.Open(dir, "junk"); !errors.Is(err, netns.ErrNotExist) {
		t.Errorf("Open(junk) = %v", err)
	}
}

// TestAddInPlainDirectory exercises the bind-onto-itself path: a
// directory that is not a mount point yet (the sandbox's mount namespace
// is private, so nothing propagates out).
func TestAddInPlainDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	if err := netns.Add(dir, "p"); err != nil {
		t.Fatal(err)
	}
	if names, _ := netns.List(dir); !contains(names, "p") {
		t.Errorf("List = %v", names)
	}
	if err := netns.Delete(dir, "p"); err != nil {
		t.Fatal(err)
	}
}

func TestDoSwitchesAndRestores(t *testing.T) {
	name := ktest.NewNS(t)
	if err := netns.Add("", name); err != nil {
		t.Fatal(err)
	}
	f, err := netns.Open("", name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, _ := netns.IDOf(f)
	cur, _ := netns.Current()
	before, _ := netns.IDOf(cur)
	cur.Close()
	var inside netns.ID
	err = netns.Do(f, func() error {
		g, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		defer g.Close()
		inside, err = netns.IDOf(g)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != want {
		t.Errorf("inside Do: %v, want %v", inside, want)
	}
	// Every thread is back: check from many goroutines.
	for range 50 {
		c, _ := netns.Current()
		id, _ := netns.IDOf(c)
		c.Close()
		if id != before {
			t.Fatalf("a thread stayed in %v", id)
		}
	}
	// Errors and panics from fn come back as errors.
	if err := netns.Do(f, func() error { return errors.New("boom") }); err == nil || err.Error() != "boom" {
		t.Errorf("Do error: %v", err)
	}
	if err := netns.Do(f, func() error { panic("bang") }); err == nil || !strings.Contains(err.Error(), "bang") {
		t.Errorf("Do panic: %v", err)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
