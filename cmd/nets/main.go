// Command nets applies network recipes to Linux network namespaces as
// transactions: a recipe either takes effect completely or is rolled
// back, and running it again changes nothing.
//
// Run `nets help` for the commands, `nets help CMD` (or `nets CMD --help`)
// for one command with examples. The texts printed there are the CLI
// reference; docs/nets.1 is generated from them.
//
// This package is thin on purpose: it parses flags, wires lang (parse and
// check), eval (run and plan), eval/txn (recover and confirm) and the
// kernel implementations together, and renders their results.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nets-lang/nets/kernel/wgdev"
)

// Exit statuses (LANGUAGE.md, "The command line").
const (
	exitOK      = 0 // success
	exitFail    = 1 // the recipe failed (and was rolled back) or is invalid
	exitUsage   = 2 // usage error or missing privileges
	exitPending = 3 // plan --detailed-exitcode: changes are pending
)

func main() {
	// A userspace WireGuard device is served by a copy of this binary
	// started in helper mode; that must be the very first thing main does.
	wgdev.MaybeRunHelper()
	tuneGC(os.LookupEnv)
	stop := startProfile(os.LookupEnv, os.Stderr)
	code := newCLI().main(os.Args[1:])
	stop()
	os.Exit(code)
}

// cli holds what a command may touch of the process: its standard
// streams and environment. Tests drive the binary through testscript, so
// this exists for clarity, not for injection.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	// stdinTTY and stdoutTTY report whether stdin/stdout are terminals.
	stdinTTY, stdoutTTY bool
}

func newCLI() *cli {
	return &cli{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		getenv:    os.LookupEnv,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
	}
}

// command is one subcommand.
type command struct {
	name string
	run  func(c *cli, args []string) int
	// hidden commands are internal (the confirm waiter) and not listed.
	hidden bool
}

// commands lists the subcommands in the order `nets help` shows them.
// Their help texts live in help.go, keyed by name. It is filled in by an
// init function (a variable initializer cannot refer to the commands,
// which refer back to it through help); files that add a command append
// to it in their own init, which runs later only when the file name
// sorts after main.go.
var commands []*command

func init() {
	commands = []*command{
		{name: "run", run: (*cli).cmdRun},
		{name: "plan", run: (*cli).cmdPlan},
		{name: "check", run: (*cli).cmdCheck},
		{name: "fmt", run: (*cli).cmdFmt},
		{name: "try", run: (*cli).cmdTry},
		{name: "save", run: (*cli).cmdSave},
		{name: "monitor", run: (*cli).cmdMonitor},
		{name: "repl", run: (*cli).cmdRepl},
		{name: "recover", run: (*cli).cmdRecover},
		{name: "confirm", run: (*cli).cmdConfirm},
		{name: "completion", run: (*cli).cmdCompletion},
		{name: "version", run: (*cli).cmdVersion},
		{name: "help", run: (*cli).cmdHelp},
		{name: waiterCommand, run: (*cli).cmdWaiter, hidden: true},
	}
	// The help entries of these commands live beside them.
	help["try"] = tryHelp
	help["save"] = saveHelp
	help["monitor"] = monitorHelp
	help["repl"] = replHelp
	help["completion"] = completionHelp
}

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// replMain runs the interactive REPL on a terminal; repl.go sets it.
// Without it (a build without the REPL) `nets` on a terminal prints the
// help instead.
var replMain func(c *cli) int

// main runs nets with the arguments after the program name and returns
// the exit status.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		if !c.stdinTTY {
			// `echo 'link x type bridge' | sudo nets` runs stdin.
			return c.cmdRun([]string{"-"})
		}
		if replMain != nil {
			return replMain(c)
		}
		c.printOverview(c.stderr)
		fmt.Fprintln(c.stderr, "\nnets: the interactive REPL is not built yet; give a command (above), or pipe a recipe into `nets -`.")
		return exitUsage
	}
	switch name := args[0]; {
	case name == "-":
		// `nets -` reads a recipe from stdin (LANGUAGE.md).
		return c.cmdRun(args)
	case (name == "--model" || name == "-model" || name == "-n") && lookupCommand("repl") != nil:
		// `nets --model`, `nets -n NS`: nets alone with flags. On a
		// terminal that is the REPL with them (repl.go); with stdin
		// not a terminal, like `nets` alone, run stdin as a recipe.
		if !c.stdinTTY {
			return c.cmdRun(append(args, "-"))
		}
		return lookupCommand("repl").run(c, args)
	case name == "-h" || name == "--help" || name == "-help":
		c.printOverview(c.stdout)
		return exitOK
	case name == "--version" || name == "-version":
		return c.cmdVersion(args[1:])
	default:
		cmd := lookupCommand(name)
		if cmd == nil {
			msg := fmt.Sprintf("unknown command %q", name)
			if strings.HasPrefix(name, "-") {
				msg = fmt.Sprintf("unknown flag %s before a command", name)
			} else if st, err := os.Stat(name); err == nil && !st.IsDir() {
				msg += fmt.Sprintf(" (to apply the recipe, run `nets run %s`)", name)
			}
			return c.usage("", errors.New(msg))
		}
		return cmd.run(c, args[1:])
	}
}

// usage reports a usage error of command cmd ("" for nets itself) in one
// line plus a hint, and returns exitUsage.
func (c *cli) usage(cmd string, err error) int {
	prefix, help := "nets", "nets --help"
	if cmd != "" {
		prefix, help = "nets "+cmd, "nets "+cmd+" --help"
	}
	fmt.Fprintf(c.stderr, "%s: %v\nRun '%s' for usage.\n", prefix, err, help)
	return exitUsage
}

// errorf prints one "nets: ..." line to stderr.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "nets: "+format+"\n", args...)
}
