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
	wait time.Duration
}

func (o *recoverOpts) flags(name string) *flag.FlagSet {
	fs := newFlags(name)
	o.wait = txn.DefaultWait
	fs.Var(durationFlag{&o.wait}, "wait", "wait up to `DURATION` for a run in progress to finish")
	return fs
}

// txnOptions returns the journal options shared by run, recover and confirm.
func (c *cli) txnOptions(wait time.Duration) txn.Options {
	if wait == 0 {
		wait = -1 // txn: negative means do not wait; 0 would mean the default
	}
	return txn.Options{JournalDir: c.journalDir(), Wait: wait, Version: versionString()}
}

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
	info, err := txn.Pending(opts)
	if err != nil && info == nil {
		c.errorf("%v", err)
		return exitFail
	}
	if info == nil {
		fmt.Fprintln(c.stderr, "nets: nothing to recover (no journal in "+opts.JournalDir+")")
		return exitOK
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
	what := "an interrupted run"
	if info.Held {
		what = "a run awaiting confirmation"
	}
	fmt.Fprintf(c.stderr, "nets: undoing %s: recipe %s, pid %d, started %s, %d step(s)\n",
		what, orNone(info.Recipe), info.PID, info.Started.Local().Format(time.DateTime), info.Steps)
	opts.Names, _ = kernel.LoadTableNames(tablesDir)
	n, err := txn.Recover(k, opts)
	if err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg("recover"))
			return exitUsage
		}
		c.errorf("recover failed: %v", err)
		return exitFail
	}
	fmt.Fprintf(c.stderr, "nets: recovered: undid %d step(s); the state from before that run is restored\n", n)
	return exitOK
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
	info, _ := txn.Pending(opts)
	if err := txn.Confirm(opts); err != nil {
		switch {
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
	logf, err := os.OpenFile(filepath.Join(dir, waiterLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
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
		return exitFail
	case reverted:
		logf("run %s: not confirmed in time: reverted (%d step(s) undone)", *id, n)
	default:
		logf("run %s: confirmed (or recovered) before the deadline: nothing to do", *id)
	}
	return exitOK
}
