package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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

// ptySession is nets running on a pseudo-terminal.
type ptySession struct {
	t      *testing.T
	bin    string
	cmd    *exec.Cmd
	f      *os.File
	out    *ptyOutput
	mark   int // where the output of the current step starts
	exited chan error
	copied chan struct{}
}

// startPTY starts the multi-call nets binary on a new pseudo-terminal
// (120x40, TERM=xterm) with env added to this process's environment.
func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	bin := multiCallNets(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "TERM=xterm", "NO_COLOR=1"), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptySession{t: t, bin: bin, cmd: cmd, f: f, out: &ptyOutput{}, exited: make(chan error, 1), copied: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			p.out.Write(buf[:n])
			if err != nil {
				close(p.copied)
				return
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		f.Close()
	})
	return p
}

// waitFor waits until the output since the last match shows what.
func (p *ptySession) waitFor(what string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s := p.out.String(); strings.Contains(s[p.mark:], what) {
			p.mark += strings.Index(s[p.mark:], what) + len(what)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("no %q on the terminal; since the last step it shows:\n%s\n(all: %q)", what, p.out.String()[p.mark:], p.out.String())
}

// typeText types s (\r is Enter, \t Tab, \x03 Ctrl-C, \x04 Ctrl-D).
func (p *ptySession) typeText(s string) {
	p.t.Helper()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for nets to exit and returns its error.
func (p *ptySession) wait() error {
	p.t.Helper()
	select {
	case err := <-p.exited:
		<-p.copied
		return err
	case <-time.After(20 * time.Second):
		p.t.Fatalf("nets did not exit; terminal:\n%s", p.out.String())
		return nil
	}
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
	home := t.TempDir()
	state := filepath.Join(home, "state")
	p := startPTY(t, []string{"HOME=" + home, "XDG_STATE_HOME=" + state, envJournalDir + "=" + filepath.Join(home, "journal")})
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "br0").Run() })

	p.waitFor("nets[host]> ")
	p.typeText("link br0 type bridge\r")
	p.waitFor("+ link br0 type bridge")
	p.waitFor("nets[host]> ")

	// Tab completes the live link name.
	p.typeText("link b\t")
	p.waitFor("link br0")
	p.typeText("\x15") // Ctrl-U: clear the line

	// Ctrl-C abandons a line; the session goes on.
	p.typeText("link never type bridge\x03")
	p.waitFor("nets[host]> ")
	p.typeText(`print "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="` + "\r")
	p.waitFor("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
	p.typeText("1 + 2\r")
	p.waitFor("\r\n3\r\n")
	p.typeText("del link br0\r")
	p.waitFor("- link br0")
	p.waitFor("nets[host]> ")
	p.typeText("\x04") // Ctrl-D
	if err := p.wait(); err != nil {
		t.Fatalf("nets exited with %v; terminal:\n%s", err, p.out.String())
	}

	if links, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(links), "never") {
		t.Errorf("the abandoned line ran: %s", links)
	}
	hist := filepath.Join(state, "nets", "history")
	st, err := os.Stat(hist)
	if err != nil {
		t.Fatalf("no history file: %v; terminal:\n%s", err, p.out.String())
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

// TestREPLTerminalBeginAndSignals: on a terminal, Ctrl-D with an open
// transaction asks first ("n" stays in it); `nets --model` opens the
// REPL on the in-memory kernel; SIGTERM rolls back the open transaction
// of a session on the real kernel and leaves no journal. Without
// XDG_STATE_HOME the history goes to ~/.nets_history.
func TestREPLTerminalBeginAndSignals(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root inside the test sandbox (CAP_NET_ADMIN) to change its network")
	}
	home := t.TempDir()
	journal := filepath.Join(home, "journal")
	env := []string{"HOME=" + home, "XDG_STATE_HOME=", envJournalDir + "=" + journal}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "sigterm0").Run() })

	// --model, Ctrl-D with begin open: asked, "n" stays, Ctrl-D, "y" leaves.
	p := startPTY(t, env, "--model")
	p.waitFor("nets[host]> ")
	p.typeText("begin\r")
	p.waitFor("nets[host]*> ")
	p.typeText("link m0 type bridge\r")
	p.waitFor("+ link m0 type bridge")
	p.typeText("\x04")
	p.waitFor("roll it back and leave? [y/N] ")
	p.typeText("n\r")
	p.waitFor("still in the transaction")
	p.waitFor("nets[host]*> ")
	p.typeText("\x04")
	p.waitFor("roll it back and leave? [y/N] ")
	p.typeText("y\r")
	p.waitFor("# rolled back: 1 change undone")
	if err := p.wait(); err != nil {
		t.Fatalf("nets --model exited with %v:\n%s", err, p.out.String())
	}
	if links, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(links), "m0") {
		t.Errorf("--model changed this namespace: %s", links)
	}

	// The real kernel: SIGTERM with begin open rolls back.
	p = startPTY(t, env)
	p.waitFor("nets[host]> ")
	p.typeText("begin\r")
	p.waitFor("nets[host]*> ")
	p.typeText("link sigterm0 type bridge\r")
	p.waitFor("+ link sigterm0 type bridge")
	p.waitFor("nets[host]*> ")
	if err := exec.Command("ip", "link", "show", "sigterm0").Run(); err != nil {
		t.Fatalf("the link is not there inside the transaction: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor("# rolled back: 1 change undone")
	if err := p.wait(); err == nil {
		t.Errorf("nets exited 0 after SIGTERM")
	}
	if err := exec.Command("ip", "link", "show", "sigterm0").Run(); err == nil {
		t.Errorf("the transaction's link survived SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(journal, "journal")); err == nil {
		t.Errorf("a journal was left behind")
	}
	if b, err := os.ReadFile(filepath.Join(home, ".nets_history")); err != nil || !strings.Contains(string(b), "link sigterm0 type bridge") {
		t.Errorf("~/.nets_history: %q, %v", b, err)
	}

	// Killed outright with begin open: the journal stays, and `nets
	// recover` undoes the transaction.
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "kill0").Run() })
	p = startPTY(t, env)
	p.waitFor("nets[host]> ")
	p.typeText("begin\r")
	p.waitFor("nets[host]*> ")
	p.typeText("link kill0 type bridge\r")
	p.waitFor("+ link kill0 type bridge")
	p.waitFor("nets[host]*> ")
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait()
	if _, err := os.Stat(filepath.Join(journal, "journal")); err != nil {
		t.Fatalf("no journal after a kill with begin open: %v", err)
	}
	rec := exec.Command(p.bin, "recover")
	rec.Env = append(os.Environ(), envJournalDir+"="+journal)
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("nets recover: %v\n%s", err, out)
	}
	if err := exec.Command("ip", "link", "show", "kill0").Run(); err == nil {
		t.Errorf("nets recover left the killed transaction's link")
	}
}
