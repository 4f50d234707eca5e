// Command embed is an example of a provisioning tool built on nets' Go
// API (package eval). Copy it, then replace the recipe and the variables
// with your own.
//
// It applies a recipe to this machine as one transaction: it plans first
// and prints what would change, then runs the recipe and prints each
// change as it is made. When anything fails, or on Ctrl-C (SIGINT) or
// SIGTERM, every change already made is rolled back. Running it again
// changes nothing.
//
// Usage:
//
//	embed [-f FILE] [-n NS] [-var NAME=VALUE]... [-plan] [-model]
//
// Without -f it applies the recipe compiled into the binary,
// recipes/site.nets, whose include of lib/attach.nets is read from the
// same embedded file system. Changing the real kernel needs
// CAP_NET_ADMIN (root); -model runs against an empty in-memory kernel
// instead, anywhere, without changing anything.
//
// Exit status: 0 success (or nothing to change), 1 the recipe is invalid
// or failed (and was rolled back), 2 usage error.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// recipes holds site.nets and what it includes.
//
//go:embed recipes
var recipes embed.FS

// defaults are the recipe's variables; -var overrides them.
func defaults() map[string]value.Value {
	return map[string]value.Value{
		"bridge":    value.String("br-site"),
		"subnet":    value.FromWord("10.77.0.0/24"), // typed by shape: a prefix
		"workloads": value.List{value.String("web"), value.String("db")},
		"settle":    value.Int(0),
	}
}

func main() {
	// SIGINT and SIGTERM cancel ctx; eval.Run then rolls back what it did.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, with its arguments and output streams as
// parameters so that the test can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("embed", flag.ContinueOnError)
	fl.SetOutput(stderr)
	file := fl.String("f", "", "apply the recipe `FILE` instead of the embedded one")
	ns := fl.String("n", "", "start the recipe in the named network namespace `NS`")
	planOnly := fl.Bool("plan", false, "print what would change and stop")
	model := fl.Bool("model", false, "use an empty in-memory kernel instead of this machine's")
	vars := defaults()
	fl.Func("var", "set the recipe variable `NAME=VALUE` (repeatable)", func(s string) error {
		name, text, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return errors.New("want NAME=VALUE")
		}
		return setVar(vars, name, text)
	})
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "embed: unexpected argument %q\n", fl.Arg(0))
		return 2
	}

	// The kernel: this machine's, over netlink, or an in-memory model.
	var k kernel.Kernel
	if *model {
		m := kernel.NewModel()
		if *ns != "" && *ns != kernel.HostName {
			// The start namespace must exist; the empty model has none.
			if err := m.AddNamespace(*ns); err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 2
			}
		}
		k = m
	} else {
		nl, err := kernel.NewNetlink(kernel.NetlinkOptions{})
		if err != nil {
			fmt.Fprintln(stderr, "embed: cannot open netlink:", err)
			return 1
		}
		defer nl.Close()
		k = nl
	}

	opts := eval.Options{
		Kernel: k,
		NS:     *ns, // "" is the namespace this program runs in
		Vars:   vars,
		// Output hooks: print and show write to Stdout; exec'd programs
		// write to Stdout and Stderr.
		Stdout: stdout,
		Stderr: stderr,
		// Exec hook: log each exec, then run it inside its namespace as
		// nets would (a model only records it). A tool could refuse
		// programs here, or run them elsewhere.
		Exec: func(ctx context.Context, ns string, cmd kernel.Cmd) error {
			fmt.Fprintf(stderr, "exec in %s: %s\n", nsName(ns), strings.Join(cmd.Args, " "))
			return k.Exec(ctx, ns, cmd)
		},
		// The transaction's journal (in /run/nets) lets `nets recover`
		// undo a run that was killed outright; a model needs none.
		Tx: txn.Options{NoJournal: *model},
	}
	name := "site.nets"
	if *file != "" {
		name = *file // read from disk, includes relative to it
	} else {
		sub, err := fs.Sub(recipes, "recipes")
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		opts.FS = sub // the recipe and its includes come from the binary
	}

	// Load parses and checks the recipe (also its includes and the
	// variables it uses) without touching the kernel.
	f, err := eval.Load(name, nil, opts)
	if err != nil {
		report(stderr, err, opts.FS)
		return 1
	}

	// Plan: what a run would change now. It changes nothing and runs no
	// exec (it notes each one on Stdout instead).
	fmt.Fprintln(stdout, "plan:")
	plan, err := eval.Plan(ctx, f, opts)
	if err != nil {
		report(stderr, err, opts.FS)
		return 1
	}
	if !plan.Changed {
		fmt.Fprintln(stdout, "nothing to change")
		return 0
	}
	for _, c := range plan.Changes {
		fmt.Fprintln(stdout, "  "+eval.FormatChange(c))
	}
	if *planOnly {
		return 0
	}

	// Run: the same recipe as one transaction. The state may have moved
	// since the plan; Run ensures against the state it finds, so its
	// changes are what it actually did.
	fmt.Fprintln(stdout, "applying:")
	opts.OnChange = func(c kernel.Change) { fmt.Fprintln(stdout, "  "+eval.FormatChange(c)) }
	res, err := eval.Run(ctx, f, opts)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "embed: interrupted")
		}
		report(stderr, err, opts.FS)
		return 1
	}
	fmt.Fprintf(stdout, "changed: %v (%d changes)\n", res.Changed, len(res.Changes))
	return 0
}

// setVar sets vars[name] from a -var value. A word is typed by its shape
// (10.0.0.0/24 is a prefix, 3 an int, anything else a string); a
// variable whose default is a list takes a comma-separated list.
func setVar(vars map[string]value.Value, name, text string) error {
	if _, isList := vars[name].(value.List); isList {
		var l value.List
		for _, w := range strings.Split(text, ",") {
			if w = strings.TrimSpace(w); w != "" {
				l = append(l, value.FromWord(w))
			}
		}
		vars[name] = l
		return nil
	}
	v, err := value.ParseWord(text)
	if err != nil {
		return err
	}
	vars[name] = v
	return nil
}

// report prints a Load, Plan or Run error. Diagnostics are rendered with
// the offending source line and a caret; a failed Plan or Run (an
// *eval.Error) also says what became of the changes (rolled back).
func report(w io.Writer, err error, fsys fs.FS) {
	source := func(name string) []byte {
		var b []byte
		if fsys != nil {
			b, _ = fs.ReadFile(fsys, name)
		} else {
			b, _ = os.ReadFile(name)
		}
		return b
	}
	var ds lang.Diagnostics
	var ee *eval.Error
	switch {
	case errors.As(err, &ds):
		lang.RenderAll(w, ds, source)
	case errors.As(err, &ee):
		lang.Render(w, ee.Diagnostic, source(ee.Diagnostic.Pos.Filename))
		fmt.Fprintln(w, ee.Summary())
	default:
		fmt.Fprintln(w, "embed:", err)
	}
}

func nsName(ns string) string {
	if ns == kernel.Host {
		return kernel.HostName
	}
	return ns
}
