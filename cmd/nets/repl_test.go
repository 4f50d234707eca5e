package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyOutput collects what the program writes to its terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ptyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// TestREPLTerminal drives `nets` on a real pseudo-terminal, inside the
// test sandbox's network namespace (TestMain): it applies a statement,
// completes a live link name with Tab, abandons a line with Ctrl-C,
// leaves with Ctrl-D, and finds the history file, without the line that
// held a key.
func TestREPLTerminal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root inside the test sandbox (CAP_NET_ADMIN) to change its network")
	}
	bin := multiCallNets(t)
	home := t.TempDir()
	state := filepath.Join(home, "state")
	cmd := exec.Command(bin)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+state, "TERM=xterm", "NO_COLOR=1",
		envJournalDir+"="+filepath.Join(home, "journal"))
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &ptyOutput{}
	copied := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				close(copied)
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		_ = exec.Command("ip", "link", "del", "br0").Run()
	}()

	// mark is where the output of the current step starts.
	mark := 0
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if s := out.String(); strings.Contains(s[mark:], what) {
				mark += strings.Index(s[mark:], what) + len(what)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no %q on the terminal; it shows:\n%s\n(all: %q)", what, out.String()[mark:], out.String())
	}
	typeText := func(s string) {
		t.Helper()
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}

	waitFor("nets[host]> ")
	typeText("link br0 type bridge\r")
	waitFor("+ link br0 type bridge")
	waitFor("nets[host]> ")

	// Tab completes the live link name.
	typeText("link b\t")
	waitFor("link br0")
	typeText("\x15") // Ctrl-U: clear the line

	// Ctrl-C abandons a line; the session goes on.
	typeText("link never type bridge\x03")
	waitFor("nets[host]> ")
	typeText(`print "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="` + "\r")
	waitFor("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
	typeText("1 + 2\r")
	waitFor("\r\n3\r\n")
	typeText("del link br0\r")
	waitFor("- link br0")
	waitFor("nets[host]> ")
	typeText("\x04") // Ctrl-D

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("nets exited with %v; terminal:\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("nets did not leave on Ctrl-D; terminal:\n%s", out.String())
	}
	<-copied

	if links, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(links), "never") {
		t.Errorf("the abandoned line ran: %s", links)
	}
	hist := filepath.Join(state, "nets", "history")
	st, err := os.Stat(hist)
	if err != nil {
		t.Fatalf("no history file: %v; terminal:\n%s", err, out.String())
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("history mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(hist)
	got := string(b)
	for _, want := range []string{"link br0 type bridge\n", "1 + 2\n", "del link br0\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("history lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"yAnz5", "never"} {
		if strings.Contains(got, bad) {
			t.Errorf("history holds %q:\n%s", bad, got)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".nets_history")); err == nil {
		t.Errorf("~/.nets_history written although XDG_STATE_HOME is set")
	}
}
