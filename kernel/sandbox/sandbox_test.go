package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the program run inside the sandbox.
func TestMain(m *testing.M) {
	if Inside() && os.Getenv("SANDBOX_TEST_CHILD") == "1" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child runs inside the sandbox: it sets it up and reports what it sees.
func child() int {
	if err := Setup(); err != nil {
		fmt.Println("setup:", err)
		return 1
	}
	for _, d := range Dirs {
		var st unix.Statfs_t
		if err := unix.Statfs(d, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
			fmt.Printf("%s is not a private tmpfs (%v)\n", d, err)
			return 1
		}
		ents, _ := os.ReadDir(d)
		if len(ents) != 0 {
			fmt.Printf("%s is not empty\n", d)
			return 1
		}
	}
	ino, err := netnsInode()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	ifr, _ := unix.NewIfreq("lo")
	fd, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil || ifr.Uint16()&unix.IFF_UP == 0 {
		fmt.Println("lo is not up", err)
		return 1
	}
	fmt.Printf("netns=%d pid=%d\n", ino, os.Getpid())
	return 0
}

func netnsInode() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

func TestReexecRunsInFreshNamespaces(t *testing.T) {
	t.Setenv("SANDBOX_TEST_CHILD", "1")
	var out, errb bytes.Buffer
	code := Reexec([]string{"-test.run=^$"}, nil, &out, &errb)
	if code == 2 && strings.Contains(errb.String(), "user namespaces are not allowed") {
		t.Skip(errb.String())
	}
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	host, err := netnsInode()
	if err != nil {
		t.Fatal(err)
	}
	var ino uint64
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(out.String()), "netns=%d pid=%d", &ino, &pid); err != nil {
		t.Fatalf("unexpected child output %q: %v", out.String(), err)
	}
	if ino == host {
		t.Fatalf("child ran in the caller's network namespace (inode %d)", ino)
	}
	if pid != 1 {
		t.Fatalf("child is pid %d in its PID namespace, want 1 (a fresh PID namespace)", pid)
	}
}

func TestSetupRefusesOutsideSandbox(t *testing.T) {
	t.Setenv(EnvMarker, "")
	if err := Setup(); err == nil {
		t.Fatal("Setup outside a sandbox succeeded; it must refuse (it would hide the host's /run/netns)")
	}
}
