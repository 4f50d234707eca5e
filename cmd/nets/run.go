package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// runOpts are the flags of run and plan.
type runOpts struct {
	ns       string
	json     bool
	model    bool
	vars     varsFlag
	wait     time.Duration
	confirm  time.Duration
	detailed bool
}

var (
	runFlagOrder  = []string{"n", "json", "model", "var", "wait", "confirm"}
	planFlagOrder = []string{"n", "json", "detailed-exitcode", "model", "var"}
)

func (o *runOpts) flags(cmd string) *flag.FlagSet {
	fs := newFlags(cmd)
	fs.StringVar(&o.ns, "n", "", "start the recipe inside the named network namespace `NS` (like ip -n NS)")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object on stdout (schema: see nets help run)")
	fs.Var(&o.vars, "var", "define the recipe variable `NAME=VALUE` ($NAME, typed like a word: 3 is an int, 10.0.0.1 an address); repeatable")
	if cmd == "run" {
		fs.BoolVar(&o.model, "model", false, "run against an empty in-memory kernel instead of this machine's (changes nothing here)")
		o.wait = txn.DefaultWait
		fs.Var(durationFlag{d: &o.wait}, "wait", "wait up to `DURATION` for another run to finish")
		fs.Var(durationFlag{d: &o.confirm, positive: true}, "confirm", "revert the changes `DURATION` after the run started unless `nets confirm` is run first")
	} else {
		fs.BoolVar(&o.model, "model", false, "plan against an empty in-memory kernel instead of this machine's live state")
		fs.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 0 when nothing would change and 3 when changes are pending")
	}
	return fs
}

func (c *cli) cmdRun(args []string) int  { return c.runOrPlan("run", args) }
func (c *cli) cmdPlan(args []string) int { return c.runOrPlan("plan", args) }

// runOrPlan implements run and plan: they share flags, loading,
// checking, kernel setup and rendering.
func (c *cli) runOrPlan(cmd string, args []string) int {
	plan := cmd == "plan"
	var ob *outBuffer
	if !c.stdoutTTY {
		c, ob = c.buffered()
		defer func() {
			if err := ob.Flush(); err != nil {
				fmt.Fprintf(ob.stderr, "nets: writing the output: %v\n", err)
			}
		}()
	}
	var o runOpts
	fs := o.flags(cmd)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return c.flagErr(cmd, err)
	}
	if given(fs, "n") {
		if err := checkNetnsName(o.ns); err != nil {
			return c.usage(cmd, err)
		}
	}
	switch {
	case len(pos) == 0:
		return c.usage(cmd, errors.New("no recipe file given (use - for stdin)"))
	case len(pos) > 1:
		return c.usage(cmd, fmt.Errorf("one recipe file at a time (got %d: %s, %s ...)", len(pos), pos[0], pos[1]))
	case o.confirm > 0 && o.model:
		return c.usage(cmd, errors.New("--confirm cannot be combined with --model (nothing would be left to revert)"))
	}
	out := &output{c: c, cmd: cmd, json: o.json, model: o.model, ns: o.ns, color: !o.json && c.useColor()}

	// Parse and check: errors are rendered and nothing runs.
	r, err := c.loadRecipe(pos[0])
	if err != nil {
		var src sources
		if r != nil {
			src = r.src
		}
		return out.invalid(err, src)
	}
	vars := o.vars.valueMap()
	if ds := checkRecipe(r.file, vars); len(ds) > 0 {
		return out.invalid(ds, r.src)
	}
	names, err := kernel.LoadTableNames(tablesDir)
	if err != nil {
		names = nil // eval falls back to reading them itself and reports the error
	}

	// The kernel: this machine's (over netlink), or an empty model.
	var k kernel.Kernel
	if o.model {
		verb := "running"
		if plan {
			verb = "planning"
		}
		out.note("--model: %s against an empty in-memory kernel (exec statements are recorded, not run); this machine's network is not touched", verb)
		m := kernel.NewModel()
		if o.ns != "" && o.ns != kernel.HostName {
			// -n NS: the recipe starts inside NS, which the empty
			// model must have for that.
			if err := m.AddNamespace(o.ns); err != nil {
				return c.usage(cmd, fmt.Errorf("-n %s: %v", o.ns, err))
			}
		}
		k = m
	} else {
		if !plan && !hasNetAdmin() {
			return out.permission(privilegeMsg("run") + ", or try the recipe with --model")
		}
		nl, err := kernel.NewNetlink(kernel.NetlinkOptions{})
		if err != nil {
			if isPermission(err) {
				return out.permission(privilegeMsg(cmd))
			}
			return out.failed(fmt.Errorf("cannot open the kernel's netlink interface: %w", err), nil)
		}
		defer nl.Close()
		k = nl
		if o.ns != "" && o.ns != kernel.HostName {
			if err := checkNamespace(nl, o.ns); err != nil {
				return out.failed(err, nil)
			}
		}
	}

	// A plan over an interrupted run's journal would be computed on a
	// half-applied state: refuse, as run does (exit 1), so that a check
	// mode never reports "no changes" for a box that recover will change.
	if plan && !o.model {
		if code, stop := c.planJournalCheck(out); stop {
			return code
		}
	}

	// print, show and exec output: stdout, unless stdout carries JSON.
	progOut := c.stdout
	if o.json {
		progOut = c.stderr
	}
	recipePath := r.name
	if r.name != stdinName {
		if abs, err := filepath.Abs(r.name); err == nil {
			recipePath = abs
		}
	}
	eo := eval.Options{
		Kernel:   k,
		NS:       o.ns,
		Vars:     vars,
		Stdout:   progOut,
		Stderr:   c.stderr,
		Getenv:   c.getenv,
		Tables:   names,
		OnChange: out.change,
		// r.file is not used after the run: let it free each
		// statement's tree as it goes (a big recipe's memory).
		Consume: true,
		Tx: txn.Options{
			JournalDir: c.journalDir(),
			Wait:       o.wait,
			Recipe:     recipePath,
			Version:    versionString(),
			NoJournal:  o.model, // the model vanishes with the process: nothing to journal
		},
	}
	if ob != nil {
		eo.Exec = ob.execHook(k)
		// The change lines are out before the rollback starts (what
		// bench/run.sh times the rollback from).
		eo.OnRollback = func() { ob.Flush() }
	}
	if o.wait == 0 {
		eo.Tx.Wait = -1 // --wait 0: do not wait at all (txn's 0 means its default)
	}
	eo.Tx.OnWait = func(pid int) {
		out.note("%s is in progress; waiting up to %v for it to finish", holder(pid), o.wait)
	}
	eo.Tx.OnMoot = func(m txn.MootUndo) {
		out.note("note: rollback: %s", m)
	}
	var deadline time.Time
	if o.confirm > 0 {
		deadline = time.Now().Add(o.confirm)
		eo.Hold = deadline
	}

	ctx, stop := c.signalContext()
	defer stop()
	var res *eval.Result
	if plan {
		res, err = eval.Plan(ctx, r.file, eo)
	} else {
		res, err = eval.Run(ctx, r.file, eo)
	}
	if res != nil {
		out.result = res
	}
	if err != nil {
		if !plan && deniedAtStart(err) {
			if errors.Is(err, kernel.ErrPerm) {
				return out.permission(privilegeMsg("run") + fmt.Sprintf(" (%v)", firstLine(err)))
			}
			return out.permission(fmt.Sprintf("`nets run` cannot write its journal: %v: run it as root (e.g. with sudo)", firstLine(err)))
		}
		if plan && (errors.Is(err, kernel.ErrPerm) || errors.Is(err, syscall.EPERM)) {
			// Reading the live state of a named namespace (setns) needs
			// privileges a plan of the host namespace alone does not; a
			// run (as root) would not fail there, so this is not the
			// recipe's failure. (EACCES, e.g. an unreadable key file, is.)
			return out.permission("`nets plan` needs CAP_NET_ADMIN to read the live state of named namespaces: run it as root (e.g. with sudo), or plan with --model")
		}
		if ctx.Err() != nil {
			out.interrupted = true
		}
		return out.failed(err, r.src)
	}
	if res.Held != nil {
		// --confirm: the changes stay until the waiter reverts them.
		if err := c.startWaiter(eo.Tx.JournalDir, res.Held.ID); err != nil {
			c.errorf("cannot start the process that would revert the changes: %v", err)
			n, rerr := txn.Recover(k, eo.Tx)
			if rerr != nil {
				c.errorf("reverting now failed too: %v", rerr)
				c.errorf("the journal is kept: run `nets recover`")
			} else {
				c.errorf("reverted now instead (%d step(s) undone)", n)
			}
			return exitFail
		}
		out.deadline = res.Held.Deadline
	}
	return out.done(o.detailed)
}

// given reports whether the flag name was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// checkNetnsName rejects a -n value that cannot name a namespace (a file
// name in /run/netns, as for ip netns).
func checkNetnsName(ns string) error {
	switch {
	case ns == "":
		return errors.New("-n needs a namespace name")
	case ns == "." || ns == ".." || strings.ContainsAny(ns, "/\x00") || len(ns) > 255:
		return fmt.Errorf("-n %q: not a namespace name (a file name under /run/netns, as `ip netns list` shows them)", ns)
	}
	return nil
}

// planJournalCheck looks at the journal before a plan of the live state.
// An interrupted run's journal (or one that cannot be read) stops the
// plan: exit 1 with the same message run gives. A run in progress or one
// awaiting confirmation only earns a note: the state is whole, but may
// change (the run goes on, the confirmation may revert).
func (c *cli) planJournalCheck(out *output) (int, bool) {
	info, err := txn.Pending(txn.Options{JournalDir: c.journalDir()})
	switch {
	case isPermission(err):
		// Not root: the journal directory (0700) cannot be read, as
		// much else a plan does not need. run would see it.
		return 0, false
	case err != nil:
		return out.failed(fmt.Errorf("%w; a plan cannot trust the live state: run `nets recover` (or inspect the journal) first", err), nil), true
	case info == nil:
		return 0, false
	case info.Running:
		out.note("note: %s is in progress: this plan reads the state while it changes", holder(info.PID))
		return 0, false
	case info.Held:
		out.note("note: a run awaiting confirmation until %s holds changes: this plan is against the state with them applied; unless confirmed they revert",
			info.Deadline.Local().Format(time.TimeOnly))
		return 0, false
	}
	code := out.failed(&txn.JournalError{Info: *info}, nil)
	if !out.json {
		out.note("no plan: the live state is half-applied until then, so a plan would not tell what a run will do")
	}
	return code, true
}

// checkNamespace fails when -n names a namespace that does not exist,
// before anything runs.
func checkNamespace(k kernel.Kernel, ns string) error {
	names, err := k.Namespaces()
	if err != nil {
		return fmt.Errorf("listing network namespaces: %w", err)
	}
	for _, n := range names {
		if n == ns {
			return nil
		}
	}
	return fmt.Errorf("-n %s: there is no network namespace %q (`ip netns list` shows them; `ip netns add %s` or a recipe's `netns %s` makes it)", ns, ns, ns, ns)
}

// deniedAtStart reports whether a run failed for lack of privileges
// before it changed anything: the kernel refused its first change
// (EPERM), or the journal directory could not be used. A permission
// error later in a run (or from a recipe's own file access) is a recipe
// failure, reported with its diagnostic.
func deniedAtStart(err error) bool {
	var ee *eval.Error
	if errors.As(err, &ee) {
		return errors.Is(err, kernel.ErrPerm) && ee.Undone == 0 && ee.UndoErr == nil
	}
	return isPermission(err)
}

// signalContext returns a context cancelled by SIGINT, SIGTERM or SIGHUP:
// the run then stops and rolls back. The signals stay caught until stop
// is called, so a second Ctrl-C cannot interrupt the rollback.
func (c *cli) signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(c.stderr, "nets: %v: stopping and rolling back\n", s)
			cancel(fmt.Errorf("interrupted by %v", s))
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(sigs)
		cancel(nil)
	}
}

// signalIgnoreHUP makes the process ignore SIGHUP (the confirm waiter).
func signalIgnoreHUP() { signal.Ignore(syscall.SIGHUP) }

func firstLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
