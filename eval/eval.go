package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Options configure Run and Plan. Only Kernel is required.
type Options struct {
	// Kernel is the kernel the recipe changes (Run) or whose live state a
	// plan starts from (Plan): a *kernel.Netlink or a *kernel.Model.
	Kernel kernel.Kernel
	// NS is the namespace the recipe starts in: kernel.Host ("" or
	// "host") for the namespace nets runs in, or a named namespace
	// (`nets run -n NS`).
	NS string
	// Vars are variables defined before the recipe runs (embedders, the
	// CLI's -var flags). The recipe sees them as $name in an outer scope,
	// so it may `set` them but a `let` of the same name shadows them.
	Vars map[string]value.Value
	// Stdout receives print and show output, exec's standard output and,
	// in plans, the notes about what was not run. Nil discards it.
	Stdout io.Writer
	// Stderr receives exec's standard error. Nil discards it.
	Stderr io.Writer
	// Getenv answers env(NAME); nil uses os.LookupEnv.
	Getenv func(name string) (string, bool)
	// FS, when set, is where include reads files: the recipe's file
	// names are then paths inside FS (slash-separated, unrooted, as
	// io/fs wants them). Nil reads the OS file system, include paths
	// relative to the including file. readkey and writekey always use
	// the OS file system, relative to the directory of the recipe file
	// that calls them.
	FS fs.FS
	// Tx configures the transaction (journal directory, lock wait, fault
	// injection hooks). Recipe defaults to the file's name. Plan, and a
	// Run on a *kernel.Model, always set NoJournal: a model needs no
	// crash journal.
	Tx txn.Options
	// OnChange is called for each change as soon as it is applied (Run)
	// or computed (Plan). Render it with FormatChange.
	OnChange func(kernel.Change)
	// OnRollback, when set, is called when a Run or Plan failed, just
	// before its changes are rolled back: a caller that buffers what it
	// prints (the CLI's change lines) writes it out there, so that it
	// shows while the rollback runs.
	OnRollback func()
	// Exec, when set, runs exec statements instead of the kernel
	// (Kernel.Exec, which for a *kernel.Model records the command and
	// succeeds). The evaluator sets cmd.Stdout and cmd.Stderr to the
	// writers above. Plan never runs exec.
	Exec func(ctx context.Context, ns string, cmd kernel.Cmd) error

	// Tables are the routing table names known before the recipe runs;
	// the recipe's `table N name X` declarations are added to a copy.
	// Nil reads /etc/iproute2/rt_tables and rt_tables.d/*.conf
	// (kernel.LoadTableNames).
	Tables *kernel.TableNames
	// LookupHost resolves a WireGuard endpoint's host name (once per name
	// and run). Nil uses net.DefaultResolver; addresses are never looked
	// up.
	LookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
	// Hold, when not zero, ends a successful Run with Tx.Hold(Hold)
	// instead of Commit: the changes stay, the journal is kept and
	// reverted at Hold unless `nets confirm` runs first (`nets run
	// --confirm`). Result.Held describes the held journal (nil when the
	// run changed nothing: there is nothing to confirm, and the Tx was
	// committed). Plan ignores it.
	Hold time.Time
	// MaxDepth bounds nested recipe function calls and includes; 0 means
	// 100.
	MaxDepth int
	// Consume lets Run and Plan release the syntax tree of the recipe's
	// top-level statements as they run: each entry of f.Stmts is set to
	// nil once its statement was evaluated, so that a big generated
	// recipe's tree (100k route lines: ≈56 MB) is freed during the run
	// instead of after it. The File must not be evaluated again
	// afterwards (its other fields are kept). For one-shot callers: the
	// CLI's run and plan set it.
	Consume bool
	// KeyFiles says whether the key files writekey and loadkey ask for
	// are written. The default (KeyFilesAuto) writes them when a Run on
	// a real kernel succeeds, just before its commit (a failed run
	// leaves every key file as it was), and never in a Plan, on a
	// kernel.Model, or inside nets try's sandbox; where they are not
	// written a note `# writekey PATH (...)` goes to Stdout and
	// Result.Skipped lists it. A readkey later in the same run sees the
	// pending key either way. With Txn set, the files are written when
	// the Run succeeds, not when the caller commits.
	KeyFiles KeyFileMode
	// KeyWrites, when set, receives the key files a Run that writes them
	// asks for, instead of a queue of the Run's own: Run then neither
	// writes nor discards them, and the caller calls KeyWrites.Flush
	// when its own transaction commits (before Tx.Commit, rolling back
	// when Flush fails) or Reset when it rolls back. The REPL does this
	// so that `begin ... rollback` puts key files back too. Readkeys see
	// what is pending there. Plans and runs that write no files ignore
	// it.
	KeyWrites *builtins.KeyWrites
	// Txn, when set, is an open transaction for Run to work in instead of
	// beginning its own (Tx and Hold are then ignored): several recipes
	// become one transaction, as the REPL's `begin ... commit`. Run
	// neither commits nor rolls it back: on failure it returns an *Error
	// with Open set, and the caller decides. Its Ensurer's table names
	// are set to the run's. Plan ignores Txn.
	Txn *txn.Tx
}

// Result is what a Run or Plan did.
type Result struct {
	// Changes are the applied (Run) or pending (Plan) changes in order,
	// one per output line; render them with FormatChange. After a failed
	// run they are the changes made before the failure, all undone.
	Changes []kernel.Change `json:"changes"`
	// Changed reports whether anything changed (or would change).
	Changed bool `json:"changed"`
	// NS is the current namespace when the recipe ended: the starting
	// namespace, unless a bare `in netns NAME` switched it (the REPL
	// carries it to the next line).
	NS string `json:"ns,omitempty"`
	// Skipped lists the exec commands a plan did not run, as recipe
	// text (`exec ping -c 1 10.0.0.2`), and the key files the run did
	// not write (`writekey /etc/nets/wg0.key`, see Options.KeyFiles).
	Skipped []string `json:"skipped,omitempty"`
	// Held is set when Options.Hold kept the run awaiting confirmation.
	Held *txn.JournalInfo `json:"held,omitempty"`
}

// Error is the error Run and Plan return when the recipe fails while it
// runs: a kernel error, assert, fail, a failing exec, an error in an
// expression, or the context being cancelled (a signal). The Diagnostic
// names file:line:col of the failing statement; Run has rolled the
// transaction back before returning it.
//
// errors.As(err, &lang.Diagnostic{}) finds the diagnostic (render it with
// lang.Render); errors.Is sees through it to the kernel's error
// (kernel.ErrExist, ...) or context.Canceled.
type Error struct {
	Diagnostic lang.Diagnostic
	// Undone is how many changes (Result.Changes lines) the rollback
	// undid.
	Undone int
	// UndoErr is non-nil when the rollback could not undo everything; it
	// lists every step that failed (txn's *UndoError), and the journal
	// is kept for `nets recover`.
	UndoErr error
	// Plan is true for a plan: nothing was changed in the first place.
	Plan bool
	// Open is true when the run worked in the caller's transaction
	// (Options.Txn), which is left open: nothing was rolled back yet.
	Open bool
}

// Error returns the diagnostic's "file:line:col: message", the kernel's
// extended-ack text (the diagnostic's Detail) indented on the next line
// when there is one, and on the last line what happened to the changes
// made before the failure.
func (e *Error) Error() string {
	s := e.Diagnostic.Error() + "\n"
	if d := strings.TrimRight(e.Diagnostic.Detail, "\n"); d != "" {
		s += "    " + strings.ReplaceAll(d, "\n", "\n    ") + "\n"
	}
	return s + e.Summary()
}

// Summary says what became of the run's changes: rolled back, nothing
// changed, or the undo failures.
func (e *Error) Summary() string {
	switch {
	case e.Open:
		return "the transaction is still open: roll it back (or commit what it holds)"
	case e.Plan:
		return "plan failed: a run would fail here and roll back"
	case e.UndoErr != nil:
		return fmt.Sprintf("rollback INCOMPLETE: %v\nthe journal is kept: run `nets recover`", e.UndoErr)
	case e.Undone == 0:
		return "nothing had been changed (the run was rolled back)"
	case e.Undone == 1:
		return "the run was rolled back: 1 change undone"
	}
	return fmt.Sprintf("the run was rolled back: %d changes undone", e.Undone)
}

// Unwrap returns the diagnostic and, when the rollback failed, the undo
// error.
func (e *Error) Unwrap() []error {
	if e.UndoErr != nil {
		return []error{e.Diagnostic, e.UndoErr}
	}
	return []error{e.Diagnostic}
}

// Run evaluates the recipe f against o.Kernel as one transaction. Every
// network statement becomes an ensure through an eval/txn Tx; when
// anything fails, or ctx is cancelled, every change made so far is
// undone newest-first and the returned error is an *Error. On success
// the transaction is committed (or held, see Options.Hold).
//
// The Result is non-nil whenever the evaluation started, also with an
// *Error (its Changes are then the changes that were undone). Errors that
// come before the evaluation (txn.Begin: another run holds the lock, an
// interrupted run needs `nets recover`) and a failed Commit are returned
// as they are, not as an *Error.
//
// Run does not check f statically: call Check (or Load) first, or a
// misspelled variable is found only when the run reaches it, and rolls
// back what came before.
func Run(ctx context.Context, f *lang.File, o Options) (*Result, error) {
	return run(ctx, f, o, false, nil)
}

// Plan evaluates f like Run, but against a kernel.Model seeded from the
// live state of o.Kernel (the host namespace and every namespace the
// recipe names), so that the Result's Changes are what Run would do now.
// It changes nothing: no journal, no lock, exec statements are not run
// (Result.Skipped lists them and a `# exec ... (not run in plan)` line
// goes to Stdout). A recipe that would fail makes Plan return an *Error
// with Plan set.
//
// Namespaces the static scan cannot see (a computed `in netns $name`) are
// copied from the live kernel when the evaluation first enters them.
// Assertions and has_link() see the model, which exec never changes: a
// condition that depends on what an exec'd program would do is evaluated
// as if the program did nothing.
func Plan(ctx context.Context, f *lang.File, o Options) (*Result, error) {
	return run(ctx, f, o, true, nil)
}

// run evaluates f as one transaction. With a session, f runs in the
// session's scope, namespace and table names, which it updates.
func run(ctx context.Context, f *lang.File, o Options, plan bool, sess *Session) (res *Result, err error) {
	if f == nil {
		return nil, errors.New("eval: no recipe (nil *lang.File)")
	}
	if o.Kernel == nil {
		return nil, errors.New("eval: Options.Kernel is nil")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var names *kernel.TableNames
	var sc *scope
	if sess != nil {
		names, sc = sess.names, sess.scope
		if plan {
			// A plan must not leave its declarations or variables behind.
			names, sc = names.Clone(), sc.clone()
		}
	} else {
		if names, err = tableNames(o); err != nil {
			return nil, err
		}
		vars, err := varScope(o.Vars)
		if err != nil {
			return nil, err
		}
		sc = newScope(vars)
	}

	k := o.Kernel
	txo := o.Tx
	if _, isModel := k.(*kernel.Model); isModel {
		// The journal protects a real kernel from a crash; a model's
		// state dies with the process, so it runs without (no files, no
		// lock). Rollback works the same.
		txo.NoJournal = true
		if !plan && !o.Hold.IsZero() {
			return nil, errors.New("eval: Options.Hold (--confirm) needs a journal, and a run on a kernel.Model keeps none")
		}
	}
	if txo.Recipe == "" {
		txo.Recipe = f.Filename
	}
	e := &evaluator{
		ctx:      ctx,
		o:        o,
		names:    names,
		plan:     plan,
		stdout:   o.Stdout,
		stderr:   o.Stderr,
		maxDepth: o.MaxDepth,
		resolved: map[string]netip.Addr{},
		res:      &Result{},
	}
	if e.stdout == nil {
		e.stdout = io.Discard
	}
	if e.stderr == nil {
		e.stderr = io.Discard
	}
	if e.maxDepth <= 0 {
		e.maxDepth = 100
	}
	e.ns = normNS(o.NS)
	if sess != nil {
		e.ns = sess.ns
	}
	if plan {
		txo.NoJournal = true
		e.live = k
		e.seeded = map[string]bool{kernel.Host: true}
		nss := Namespaces(f, o)
		m, err := kernel.NewModelFrom(k, nss)
		if err != nil {
			return nil, fmt.Errorf("plan: reading the live state: %w", err)
		}
		for _, n := range nss {
			e.seeded[n] = true
		}
		k = m
	}
	txo.Names = names
	external := o.Txn != nil && !plan
	var tx *txn.Tx
	if external {
		tx = o.Txn
		tx.Ensurer().Names = names
	} else if tx, err = txn.Begin(k, txo); err != nil {
		return nil, err
	}
	e.tx = tx
	// The run's changes are the transaction's from here on: the Tx keeps
	// them (Tx.Changes), and the Result shares that list rather than
	// keeping a copy (see runChanges).
	firstChange := len(tx.Changes())
	e.keys.init(o, keyFilesSkip(o, plan, o.Kernel))

	evalErr := e.endBatch(e.top(f, sc))
	if evalErr == nil && !plan && ctx.Err() != nil {
		// Interrupted after the last statement, before the commit: the
		// caller asked to stop (the CLI has said it rolls back), so
		// nothing is kept.
		evalErr = lang.Diagnostic{Pos: f.End(), End: f.End(), Msg: "interrupted before the commit: " + ctx.Err().Error(), Err: ctx.Err()}
	}
	if evalErr == nil {
		// Key files are part of the transaction: written only now that
		// everything else succeeded, before the commit (a failure here
		// rolls the kernel back too). See keyfiles.go.
		evalErr = e.flushKeys(f)
	} else {
		e.keys.discard()
	}
	res = e.res
	res.Changes = runChanges(tx, firstChange)
	res.NS = e.ns
	if sess != nil && !plan {
		sess.ns = e.ns
		sess.declared = append(sess.declared, e.declared...)
	}
	res.Changed = len(res.Changes) > 0
	if evalErr != nil {
		var d lang.Diagnostic
		if !errors.As(evalErr, &d) {
			d = lang.Diagnostic{Pos: f.Pos(), Msg: evalErr.Error(), Err: evalErr}
		}
		if external {
			return res, &Error{Diagnostic: d, Open: true}
		}
		undone := len(res.Changes)
		if o.OnRollback != nil {
			o.OnRollback()
		}
		rerr := tx.Rollback()
		return res, &Error{Diagnostic: d, Undone: undone, UndoErr: rerr, Plan: plan}
	}
	if external {
		return res, nil
	}
	if plan {
		// Nothing real was changed; the model is discarded.
		if err := tx.Commit(); err != nil {
			return res, err
		}
		return res, nil
	}
	if !o.Hold.IsZero() {
		info, err := tx.Hold(o.Hold)
		if err != nil {
			return res, err
		}
		res.Held = info
		return res, nil
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// runChanges returns the changes tx applied from the first-th on (those
// of this run: an external Txn may hold earlier ones), nil when there are
// none. Every change the evaluation passed to OnChange is there, in the
// same order: the Tx records exactly the changes of the steps it applied,
// which are the steps whose changes the evaluation reports. The slice
// shares the Tx's array (a 100k-route run keeps one list of changes, not
// two), capped so that the Tx's later appends never show through it.
func runChanges(tx *txn.Tx, first int) []kernel.Change {
	all := tx.Changes()
	if len(all) <= first {
		return nil
	}
	return all[first:len(all):len(all)]
}

// tableNames returns a copy of the table names of o (rt_tables when nil).
func tableNames(o Options) (*kernel.TableNames, error) {
	if o.Tables != nil {
		return o.Tables.Clone(), nil
	}
	names, err := kernel.LoadTableNames("")
	if err != nil {
		return nil, fmt.Errorf("reading routing table names: %w", err)
	}
	return names, nil
}

// varScope is the outermost scope, holding the variables passed in.
func varScope(vars map[string]value.Value) (*scope, error) {
	sc := newScope(nil)
	for name, v := range vars {
		if v == nil {
			return nil, fmt.Errorf("eval: variable $%s passed in has no value", name)
		}
		sc.vars[name] = v
	}
	return sc, nil
}

// normNS maps the recipe's name of the start namespace to kernel.Host.
func normNS(ns string) string {
	if ns == kernel.HostName {
		return kernel.Host
	}
	return ns
}

// readFile reads a recipe file through o.FS or the OS.
func (o *Options) readFile(name string) ([]byte, error) {
	if o.FS != nil {
		return fs.ReadFile(o.FS, fsPath(name))
	}
	return os.ReadFile(name)
}
