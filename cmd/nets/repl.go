package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/nets-lang/nets/cmd/nets/internal/repl"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// replOpts are the flags of the REPL.
type replOpts struct {
	ns    string
	model bool
	vars  varsFlag
}

var replFlagOrder = []string{"n", "model", "var"}

func (o *replOpts) flags() *flag.FlagSet {
	fs := newFlags("repl")
	fs.StringVar(&o.ns, "n", "", "start the session inside the named network namespace `NS`")
	fs.BoolVar(&o.model, "model", false, "work on an empty in-memory kernel instead of this machine's (changes nothing here)")
	fs.Var(&o.vars, "var", "define the variable `NAME=VALUE` before the first statement; repeatable")
	return fs
}

var replHelp = &helpEntry{
	usage:   []string{"[repl] [flags]"},
	summary: "the interactive REPL (`nets` alone on a terminal)",
	body: `Reads statements and applies each one, as its own transaction, as soon as
it is complete; the prompt shows the current namespace (nets[host]>).
A block (in netns x < ... >) or a line ending in \ continues on the
next line. ` + "`in netns X`" + ` without a block switches the session into X.

  begin ... commit    group statements into one transaction: each takes
                      effect as it is entered, commit keeps them all
  rollback            undo everything since begin (a statement that
                      fails inside begin rolls back all of it too)
  plan [STATEMENT]    what STATEMENT would change; alone, inside begin,
                      the changes commit would keep
  show WHAT           the live state as a recipe
  1 + 2, $k           a bare expression prints its value
  help [NAME]         the statements and functions, or one's syntax
  exit, Ctrl-D        leave (an open begin is rolled back after asking)

Ctrl-C abandons the line being typed (or stops a running statement,
which is rolled back). Tab completes statement words, options, link
kinds, and live names: links, namespaces, tables, variables.

An open begin holds the nets lock and keeps a journal like a run does:
SIGTERM or SIGHUP (the terminal closing) rolls it back and ends the
session, and if nets is killed outright, ` + "`nets recover`" + ` undoes it.

History is kept in $XDG_STATE_HOME/nets/history, or ~/.nets_history
when XDG_STATE_HOME is not set (mode 0600). Lines holding a WireGuard
key literal or calling string() are never written to it.

Changing the network needs CAP_NET_ADMIN. Without it the session is
read-only: show, plan, expressions and help work, and changes fail
with the kernel's "operation not permitted". --model works on an empty
in-memory kernel instead (no privileges needed). With stdin not a
terminal, ` + "`nets repl`" + ` reads statements from it the same way, one
transaction each (` + "`nets -`" + ` runs the whole input as one recipe).`,
	flags: func() (*flag.FlagSet, []string) {
		var o replOpts
		return o.flags(), replFlagOrder
	},
	examples: `sudo nets
# experiment without root and without touching this machine
nets --model
# a session inside the namespace gaming
sudo nets repl -n gaming`,
	exit: `0 when the session ends; with stdin not a terminal, 1 when a statement
failed; 2 usage error or no access to the kernel.`,
}

// The REPL is registered here, after main.go's init has built the
// command list (init functions run in file-name order).
func init() {
	replMain = func(c *cli) int { return c.cmdRepl(nil) }
}

// cmdRepl runs the REPL: on the terminal with line editing, completion
// and history, or over stdin when it is not a terminal.
func (c *cli) cmdRepl(args []string) int {
	var o replOpts
	pos, err := parseFlags(o.flags(), args)
	if err != nil {
		return c.flagErr("repl", err)
	}
	if len(pos) > 0 {
		return c.usage("repl", fmt.Errorf("unexpected argument %q (to apply a recipe file, run `nets run %s`)", pos[0], pos[0]))
	}
	vars := map[string]value.Value{}
	for _, n := range o.vars.names {
		vars[n] = value.FromWord(o.vars.values[n])
	}
	names, err := kernel.LoadTableNames(tablesDir)
	if err != nil {
		c.errorf("reading routing table names: %v (only main, local and default are known)", err)
		names = kernel.NewTableNames()
	}
	txo := txn.Options{JournalDir: c.journalDir(), Version: versionString()}

	var k kernel.Kernel
	switch {
	case o.model:
		c.errorf("--model: an empty in-memory kernel (exec statements are recorded, not run); this machine's network is not touched")
		k = kernel.NewModel()
		txo.NoJournal = true
	default:
		nl, err := kernel.NewNetlink(kernel.NetlinkOptions{})
		if err != nil {
			if isPermission(err) {
				c.errorf("%s", privilegeMsg("repl"))
				return exitUsage
			}
			c.errorf("cannot open the kernel's netlink interface: %v", err)
			return exitUsage
		}
		defer nl.Close()
		k = nl
		if !hasNetAdmin() {
			// Reading needs no privileges, so the session stays useful:
			// without a journal, since /run/nets is root's.
			c.errorf("%s; this session is read-only (show, plan, expressions and help work; changes fail). `nets repl --model` experiments on an in-memory kernel.", privilegeMsg("repl"))
			txo.NoJournal = true
		}
	}
	if o.ns != "" && o.ns != kernel.HostName {
		if err := checkNamespace(k, o.ns); err != nil {
			return c.usage("repl", err)
		}
	}

	sig := newReplSignals()
	defer sig.stop()
	r, err := repl.New(repl.Config{
		Kernel:  k,
		NS:      o.ns,
		Vars:    vars,
		Tables:  names,
		Tx:      txo,
		Stdout:  c.stdout,
		Stderr:  c.stderr,
		Getenv:  c.getenv,
		Color:   c.useColor(),
		Context: sig.statement,
	})
	if err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	end := func(close func() error) {
		sig.mu.Lock()
		sig.onEnd = func(s os.Signal) {
			r.Abort(fmt.Sprintf("%v", s))
			if close != nil {
				if err := close(); err != nil {
					c.errorf("%v", err)
				}
			}
			os.Exit(exitFail)
		}
		sig.mu.Unlock()
	}
	if !c.stdinTTY {
		end(nil)
		return r.Run(repl.NewReader(c.stdin))
	}
	where := "this machine's network"
	if o.model {
		where = "an in-memory kernel"
	}
	fmt.Fprintf(c.stderr, "nets REPL on %s. `help` lists the statements, Tab completes, Ctrl-D leaves.\n", where)
	path := repl.HistoryPath(c.getenv)
	t := repl.NewTerminal(r, path)
	end(t.Close)
	if err := t.LoadErr(); err != nil {
		c.errorf("reading the history %s: %v", path, err)
	}
	status := r.Run(t)
	if err := t.Close(); err != nil {
		c.errorf("%v", err)
	}
	return status
}

// replSignals catches SIGINT for the whole session: at the prompt the
// line editor reads Ctrl-C as a key, but while a statement runs (or
// output is printed) the terminal is in its normal mode, where Ctrl-C
// is a signal. It then cancels the running statement, which is rolled
// back; between statements it is ignored rather than killing the
// session (and an open transaction with it).
//
// SIGTERM and SIGHUP end the session: they cancel a running statement,
// then onEnd rolls back an open transaction, restores the terminal and
// exits (a hung-up terminal would otherwise leave the transaction's
// journal for `nets recover`).
type replSignals struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc // of the running statement; nil between statements
	onEnd  func(os.Signal)         // set once the session exists
	sigs   chan os.Signal
	done   chan struct{}
}

func newReplSignals() *replSignals {
	s := &replSignals{sigs: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(s.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for {
			select {
			case sg := <-s.sigs:
				s.mu.Lock()
				if s.cancel != nil {
					s.cancel(fmt.Errorf("interrupted by %v", sg))
				}
				end := s.onEnd
				s.mu.Unlock()
				if sg != syscall.SIGINT && end != nil {
					end(sg)
				}
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// statement returns the context of one statement and its end.
func (s *replSignals) statement() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel(errors.New("statement done"))
	}
}

func (s *replSignals) stop() {
	signal.Stop(s.sigs)
	close(s.done)
}
