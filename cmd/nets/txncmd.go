package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"golang.org/x/sys/unix"
)

// envJournalDir overrides where the journal and the lock live (default
// /run/nets). Runs with different directories do not exclude each other:
// it exists for tests and for unusual hosts, and every nets command
// (run, recover, confirm) must see the same value.
const envJournalDir = "NETS_JOURNAL_DIR"

// journalDir returns the journal directory to use.
func (c *cli) journalDir() string {
	if d, ok := c.getenv(envJournalDir); ok && d != "" {
		return d
	}
	return txn.DefaultJournalDir
}

// hasNetAdmin reports whether this process has CAP_NET_ADMIN in its
// effective set (in its own user namespace, which is what the kernel
// checks for that namespace's network).
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

// privilegeMsg is the one line printed when nets lacks privileges to
// run command cmd.
func privilegeMsg(cmd string) string {
	return fmt.Sprintf("`nets %s` needs CAP_NET_ADMIN: run it as root (e.g. with sudo)", cmd)
}

// isPermission reports whether err means missing privileges (from the
// kernel, or from the journal directory's permissions).
func isPermission(err error) bool {
	return errors.Is(err, kernel.ErrPerm) || errors.Is(err, fs.ErrPermission)
}

// recoverOpts are the flags of recover and confirm.
type recoverOpts struct {
	wait    time.Duration
	discard bool // recover only
}

func (o *recoverOpts) flags(name string) *flag.FlagSet {
	fs := newFlags(name)
	o.wait = txn.DefaultWait
	fs.Var(durationFlag{d: &o.wait}, "wait", "wait up to `DURATION` for a run in progress to finish")
	if name == "recover" {
		fs.BoolVar(&o.discard, "discard", false, "drop the journal WITHOUT undoing anything, after listing what it would have undone (for an undo step that can never succeed)")
	}
	return fs
}

// txnOptions returns the journal options shared by run, recover and confirm.
func (c *cli) txnOptions(wait time.Duration) txn.Options {
	if wait == 0 {
		wait = -1 // txn: negative means do not wait; 0 would mean the default
	}
	return txn.Options{JournalDir: c.journalDir(), Wait: wait, Version: versionString()}
}

// holder names the process holding the lock, as "a run (pid N)".
func holder(pid int) string {
	if pid <= 0 {
		return "a run"
	}
	return fmt.Sprintf("a run (pid %d)", pid)
}

// lockedMsg explains a lock that stayed held for the whole --wait.
func lockedMsg(cmd string, le *txn.LockedError) string {
	return fmt.Sprintf("cannot %s: %s is in progress (it holds %s); gave up after waiting %v: let it finish, or give a longer --wait",
		cmd, holder(le.PID), le.Path, le.Waited)
}

// cmdRecover is `nets recover [--wait D] [--discard]`. It takes the lock
// first (waiting up to --wait for a run in progress) and only then reads
// the journal: a run that was in progress has then either committed (no
// journal: nothing to recover) or left an interrupted run's journal.
func (c *cli) cmdRecover(args []string) int {
	var o recoverOpts
	pos, err := parseFlags(o.flags("recover"), args)
	if err != nil {
		return c.flagErr("recover", err)
	}
	if len(pos) > 0 {
		return c.usage("recover", fmt.Errorf("unexpected argument %q", pos[0]))
	}
	opts := c.txnOptions(o.wait)
	opts.Names, _ = kernel.LoadTableNames(tablesDir)
	waited := false
	opts.OnWait = func(pid int) {
		waited = true
		c.errorf("%s is in progress; waiting up to %v for it to finish", holder(pid), o.wait)
	}
	r, err := txn.OpenRecovery(opts)
	if err != nil {
		var le *txn.LockedError
		switch {
		case errors.As(err, &le):
			c.errorf("%s", lockedMsg("recover", le))
			return exitFail
		case isPermission(err):
			// Without access to the journal directory there is nothing
			// to lock; when there is no journal either, say so.
			if info, perr := txn.Pending(opts); info == nil && perr == nil {
				c.errorf("nothing to recover (no journal in %s)", opts.JournalDir)
				return exitOK
			}
			c.errorf("%s", privilegeMsg("recover"))
			return exitUsage
		}
		c.errorf("recover: %v", err)
		return exitFail
	}
	defer r.Close()
	info := r.Journal()
	if info == nil {
		if waited {
			// It committed, or rolled back completely: either way
			// there is nothing to undo.
			c.errorf("nothing to recover: the run finished and left no journal (in %s)", opts.JournalDir)
		} else {
			c.errorf("nothing to recover (no journal in %s)", opts.JournalDir)
		}
		return exitOK
	}
	what := "an interrupted run"
	if info.Held {
		what = "a run awaiting confirmation"
	}
	desc := fmt.Sprintf("%s: recipe %s, pid %d, started %s, %d step(s)",
		what, orNone(info.Recipe), info.PID, startedString(info), info.Steps)

	if o.discard {
		return c.discard(r, desc, opts)
	}

	if !hasNetAdmin() {
		c.errorf("%s", privilegeMsg("recover"))
		return exitUsage
	}
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{})
	if err != nil {
		return c.kernelErr(err)
	}
	defer k.Close()
	c.errorf("undoing %s", desc)
	res, err := r.Undo(k)
	for _, m := range res.Moot {
		c.errorf("note: %s", m)
	}
	moot := len(res.Moot)
	if err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg("recover"))
			return exitUsage
		}
		c.errorf("recover failed: %v", err)
		var ue *txn.UndoError
		if errors.As(err, &ue) {
			c.errorf("the journal %s is kept: fix the cause and run `nets recover` again, or, if an undo step can never succeed, drop the journal with `nets recover --discard` (it lists what is then left as it is)", ue.Journal)
		}
		return exitFail
	}
	switch {
	case info.Steps == 0:
		c.errorf("recovered: the run had changed nothing (its journal held no complete step); the journal is removed")
	case moot > 0:
		c.errorf("recovered: undid %d step(s), %d of them moot (see the notes above); the state from before that run is restored, except for what was deleted since", res.Undone, moot)
	default:
		c.errorf("recovered: undid %d step(s); the state from before that run is restored", res.Undone)
	}
	return exitOK
}

// discard is `nets recover --discard`: list what the journal would undo,
// then drop it without undoing anything.
func (c *cli) discard(r *txn.Recovery, desc string, opts txn.Options) int {
	steps := r.Steps(opts.Names)
	c.errorf("discarding the journal of %s, WITHOUT undoing it", desc)
	if len(steps) > 0 {
		c.errorf("these undo steps are dropped (what the run changed stays as it is now):")
	}
	for _, st := range steps {
		note := ""
		if st.Undone {
			note = "  # undone already"
		}
		for _, w := range st.Inverse {
			fmt.Fprintf(c.stderr, "  step %d: %s%s\n", st.Step, w, note)
		}
	}
	if err := r.Discard(); err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg("recover"))
			return exitUsage
		}
		c.errorf("discard failed: %v", err)
		return exitFail
	}
	c.errorf("discarded: %s is removed; nothing was undone", opts.JournalDir+"/journal")
	return exitOK
}

// startedString renders when a journaled run started, in local time.
func startedString(info *txn.JournalInfo) string {
	if info.Started.IsZero() {
		return "unknown"
	}
	return info.Started.Local().Format(time.DateTime)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// kernelErr reports a failure to open the kernel interface.
func (c *cli) kernelErr(err error) int {
	if isPermission(err) {
		c.errorf("%s", privilegeMsg("run"))
		return exitUsage
	}
	c.errorf("cannot open the kernel's netlink interface: %v", err)
	return exitFail
}

func (c *cli) cmdConfirm(args []string) int {
	var o recoverOpts
	pos, err := parseFlags(o.flags("confirm"), args)
	if err != nil {
		return c.flagErr("confirm", err)
	}
	if len(pos) > 0 {
		return c.usage("confirm", fmt.Errorf("unexpected argument %q", pos[0]))
	}
	opts := c.txnOptions(o.wait)
	opts.OnWait = func(pid int) {
		c.errorf("%s is in progress; waiting up to %v for it to finish", holder(pid), o.wait)
	}
	info, _ := txn.Pending(opts)
	if err := txn.Confirm(opts); err != nil {
		var le *txn.LockedError
		switch {
		case errors.As(err, &le):
			c.errorf("%s", lockedMsg("confirm", le))
		case isPermission(err):
			c.errorf("%s", privilegeMsg("confirm"))
			return exitUsage
		case errors.Is(err, txn.ErrNothingHeld):
			c.errorf("nothing to confirm: no run is awaiting confirmation (it may have been reverted already)")
		default:
			c.errorf("%v", err)
		}
		return exitFail
	}
	recipe := ""
	if info != nil && info.Recipe != "" {
		recipe = " of " + info.Recipe
	}
	fmt.Fprintf(c.stderr, "nets: confirmed: the changes%s stay\n", recipe)
	return exitOK
}

// waiterCommand is the hidden subcommand the detached confirm waiter runs.
const waiterCommand = "__confirm-waiter"

// waiterLog is the waiter's log file in the journal directory: the
// waiter has no terminal, so this is where a failed revert is reported.
const waiterLog = "confirm-waiter.log"

// startWaiter starts the detached process that reverts the held run id
// at its deadline unless it is confirmed first: this binary again
// (/proc/self/exe, so an upgrade or a deleted binary does not matter) in
// its own session (Setsid: no controlling terminal, so closing the
// terminal does not end it), stdin on /dev/null and output appended to
// the waiter log. It inherits this process's network namespace, which is
// what the journal's namespaces are relative to.
func (c *cli) startWaiter(dir, id string) error {
	logf, err := os.OpenFile(filepath.Join(dir, waiterLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("/proc/self/exe", waiterCommand, "--journal-dir", dir, "--id", id)
	cmd.Args[0] = "nets"
	cmd.Dir = "/" // do not keep the caller's directory (or its mount) busy
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// cmdWaiter is the detached waiter: txn.AwaitConfirm until the deadline,
// then revert. It logs one line per outcome.
func (c *cli) cmdWaiter(args []string) int {
	fs := newFlags(waiterCommand)
	dir := fs.String("journal-dir", txn.DefaultJournalDir, "")
	id := fs.String("id", "", "")
	if _, err := parseFlags(fs, args); err != nil || *id == "" {
		return c.usage(waiterCommand, fmt.Errorf("internal command: needs --id"))
	}
	// Ignore hangups (there is no terminal, but a parent may still send one).
	signalIgnoreHUP()
	logf := func(format string, args ...any) {
		fmt.Fprintf(c.stderr, "%s nets[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
	}
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{})
	if err != nil {
		logf("run %s: cannot open netlink, NOT reverting: %v", *id, err)
		return exitFail
	}
	defer k.Close()
	opts := txn.Options{JournalDir: *dir, Wait: txn.DefaultWait, Version: versionString()}
	opts.Names, _ = kernel.LoadTableNames(tablesDir)
	reverted, n, err := txn.AwaitConfirm(context.Background(), k, opts, *id)
	switch {
	case err != nil:
		logf("run %s: revert failed: %v", *id, err)
		var ue *txn.UndoError
		if errors.As(err, &ue) {
			logf("run %s: the journal %s is kept: run `nets recover` (or `nets recover --discard`)", *id, ue.Journal)
		}
		return exitFail
	case reverted:
		logf("run %s: not confirmed in time: reverted (%d step(s) undone)", *id, n)
	default:
		logf("run %s: confirmed (or recovered) before the deadline: nothing to do", *id)
	}
	return exitOK
}
