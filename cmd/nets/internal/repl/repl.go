// Package repl is nets' interactive read-eval-print loop: each statement
// an operator types is applied as its own transaction as soon as it is
// complete, `begin` … `commit`/`rollback` group statements into one,
// and `plan`, `show`, bare expressions and `help` answer questions.
//
// The loop (REPL.Run) reads through a LineReader, so that it can be
// driven by a terminal line editor (NewTerminal, github.com/peterh/liner,
// with completion and persistent history) or by any io.Reader (NewReader:
// tests, piped input). Completion (REPL.Complete) and the history filter
// (Secret) are plain functions over the session's state and the kernel.
//
// # Transactions
//
// The REPL, not eval, owns the transactions: each input runs in an
// eval/txn Tx the REPL begins (journal, lock) and commits or rolls back,
// and between `begin` and `commit` one Tx spans many inputs, so that a
// rollback, a failing statement, SIGTERM or `nets recover` after a crash
// undoes them all. eval.Session.Run, which begins a transaction of its
// own, runs over a kernel whose writes are made by the REPL's Tx (see
// shadowKernel in kernel.go).
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// ErrInterrupted is what a LineReader returns when the user pressed
// Ctrl-C at the prompt: the REPL abandons the line (or the unfinished
// block) and prompts again.
var ErrInterrupted = errors.New("interrupted")

// LineReader reads the REPL's input one line at a time.
type LineReader interface {
	// ReadLine shows prompt and returns one line without its newline. It
	// returns io.EOF at the end of the input (Ctrl-D) and ErrInterrupted
	// when the user pressed Ctrl-C.
	ReadLine(prompt string) (string, error)
	// Interactive reports whether a person is typing: only then does the
	// REPL ask before rolling back an open transaction on exit.
	Interactive() bool
}

// HistoryAppender is implemented by LineReaders that keep a history:
// the REPL hands them each entered statement that may be remembered
// (Secret filters the rest).
type HistoryAppender interface {
	AppendHistory(entry string)
}

// Config configures a REPL.
type Config struct {
	// Kernel is the kernel the session changes: a *kernel.Netlink or a
	// *kernel.Model. Required.
	Kernel kernel.Kernel
	// NS is the namespace the session starts in ("" or "host" for the
	// namespace nets runs in).
	NS string
	// Vars are variables defined before the first statement.
	Vars map[string]value.Value
	// Tables are the routing table names known at the start (rt_tables);
	// nil reads /etc/iproute2.
	Tables *kernel.TableNames
	// Tx configures each transaction: journal directory, lock wait,
	// NoJournal (set it for a *kernel.Model and for read-only sessions).
	Tx txn.Options
	// Stdout receives change lines and the values of show, print and bare
	// expressions; Stderr diagnostics and notes. Nil discards.
	Stdout, Stderr io.Writer
	// Getenv answers env(NAME); nil uses the process environment.
	Getenv func(string) (string, bool)
	// Color marks change lines with ANSI colours (+ green, - red, ~ yellow).
	Color bool
	// Context returns the context a statement runs under and a function
	// to call when it is done; the CLI cancels it on Ctrl-C (SIGINT), which
	// stops the statement and rolls it back. Nil: context.Background.
	Context func() (context.Context, func())
}

// REPL is one interactive session. It is not safe for concurrent use.
type REPL struct {
	// mu is held while an input is evaluated and while the open
	// transaction is ended, so that Abort (from a signal handler's
	// goroutine) waits for a running statement.
	mu sync.Mutex

	cfg    Config
	k      *shadowKernel
	sess   *eval.Session
	stdout io.Writer
	stderr io.Writer

	tx      *txn.Tx // the open `begin` transaction, nil when none
	txBegan string  // the input name of its `begin`, for messages

	n       int               // inputs evaluated so far
	sources map[string][]byte // input name ("<input N>") → text, for diagnostics
	pending []string          // lines of an unfinished statement
	history []string          // entries handed to the history
	failed  int               // inputs that failed (for a non-interactive exit status)

	// keys are the key files (writekey, loadkey) of the transaction,
	// written when it commits, dropped when it rolls back.
	keys builtins.KeyWrites

	// declared are the table names this session declared (`table N
	// name X`), for completion.
	declared map[string]uint32
	// funcs are the recipe functions this session defined (`def`), for
	// completion.
	funcs map[string]bool

	// display state of the change being printed: the namespace the
	// running input started in.
	runNS string
}

// New starts a session.
func New(cfg Config) (*REPL, error) {
	if cfg.Kernel == nil {
		return nil, errors.New("repl: Config.Kernel is nil")
	}
	r := &REPL{cfg: cfg, stdout: cfg.Stdout, stderr: cfg.Stderr, sources: map[string][]byte{}, declared: map[string]uint32{}, funcs: map[string]bool{}}
	if r.stdout == nil {
		r.stdout = io.Discard
	}
	if r.stderr == nil {
		r.stderr = io.Discard
	}
	r.k = &shadowKernel{Kernel: cfg.Kernel}
	if cfg.Tables == nil {
		names, err := kernel.LoadTableNames("")
		if err != nil {
			return nil, err
		}
		r.cfg.Tables = names
	}
	if r.cfg.Tx.Names == nil {
		r.cfg.Tx.Names = r.cfg.Tables
	}
	if r.cfg.Tx.Recipe == "" {
		r.cfg.Tx.Recipe = "(nets REPL)"
	}
	sess, err := eval.NewSession(eval.Options{
		Kernel: r.k,
		NS:     cfg.NS,
		Vars:   cfg.Vars,
		Stdout: r.stdout,
		Stderr: r.stderr,
		Getenv: cfg.Getenv,
		Tables: r.cfg.Tables,
		// The shadow transaction: no journal, no lock (the outer one
		// has both); each step it applies is made by the outer one.
		Tx:        txn.Options{NoJournal: true, Names: r.cfg.Tables, BeforeApply: r.k.beforeApply},
		OnChange:  r.change,
		KeyFiles:  keyFiles(cfg.Kernel),
		KeyWrites: &r.keys,
	})
	if err != nil {
		return nil, err
	}
	r.sess = sess
	return r, nil
}

// NS returns the session's current namespace as the prompt shows it
// ("host" for the namespace nets runs in).
func (r *REPL) NS() string {
	if ns := r.sess.NS(); ns != kernel.Host {
		return ns
	}
	return kernel.HostName
}

// InTransaction reports whether a `begin` transaction is open.
func (r *REPL) InTransaction() bool { return r.tx != nil }

// Prompt is the prompt for a new statement: `nets[NS]> `, with a `*`
// after the namespace while a `begin` transaction is open.
func (r *REPL) Prompt() string {
	mark := ""
	if r.tx != nil {
		mark = "*"
	}
	return "nets[" + r.NS() + "]" + mark + "> "
}

// ContinuationPrompt is the prompt for the next line of an unfinished
// statement: dots as wide as Prompt, so that the text lines up.
func (r *REPL) ContinuationPrompt() string {
	return strings.Repeat(".", len(r.Prompt())-2) + "> "
}

// History returns the entries handed to the history so far (secrets
// filtered out), oldest first.
func (r *REPL) History() []string { return append([]string(nil), r.history...) }

// Pending returns the lines of the unfinished statement being entered.
func (r *REPL) Pending() []string { return append([]string(nil), r.pending...) }

// Run reads and evaluates statements until the input ends or the user
// leaves (`exit`, Ctrl-D). It returns the exit status: 0, or 1 when the
// input was not interactive and a statement failed.
func (r *REPL) Run(in LineReader) int {
	for {
		prompt := r.Prompt()
		if len(r.pending) > 0 {
			prompt = r.ContinuationPrompt()
		}
		line, err := in.ReadLine(prompt)
		switch {
		case errors.Is(err, ErrInterrupted):
			if len(r.pending) > 0 {
				r.note("abandoned the unfinished statement")
			}
			r.pending = nil
			continue
		case errors.Is(err, io.EOF):
			if len(r.pending) > 0 {
				src := strings.Join(r.pending, "\n")
				r.pending = nil
				if !in.Interactive() {
					// Show why the last statement is incomplete.
					r.Eval(src)
				} else {
					r.note("abandoned the unfinished statement")
				}
			}
			if r.leave(in) {
				return r.status(in)
			}
			continue
		case err != nil:
			fmt.Fprintf(r.stderr, "nets: reading input: %v\n", err)
			r.leave(nonInteractive{})
			return 1
		}
		r.pending = append(r.pending, line)
		src := strings.Join(r.pending, "\n")
		if lang.Incomplete([]byte(src)) {
			continue
		}
		r.pending = nil
		if strings.TrimSpace(src) == "" {
			continue
		}
		if entry, ok := historyEntry(src); ok {
			r.history = append(r.history, entry)
			if h, ok := in.(HistoryAppender); ok {
				h.AppendHistory(entry)
			}
		}
		if r.Eval(src) && r.leave(in) {
			return r.status(in)
		}
	}
}

func (r *REPL) status(in LineReader) int {
	if !in.Interactive() && r.failed > 0 {
		return 1
	}
	return 0
}

type nonInteractive struct{}

func (nonInteractive) ReadLine(string) (string, error) { return "", io.EOF }
func (nonInteractive) Interactive() bool               { return false }

// leave ends the session: it returns true when the REPL may exit. With an
// open transaction it asks (interactive input) whether to roll it back,
// or (other input) rolls it back and says so.
func (r *REPL) leave(in LineReader) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tx == nil {
		return true
	}
	n := len(r.tx.Changes())
	if !in.Interactive() {
		r.note("end of input with a transaction open (begin at %s): rolling it back", r.txBegan)
		r.rollback()
		return true
	}
	r.mu.Unlock()
	answer, err := in.ReadLine(fmt.Sprintf("a transaction is open (begin at %s, %s): roll it back and leave? [y/N] ", r.txBegan, plural(n, "change")))
	r.mu.Lock()
	if r.tx == nil {
		return true // Abort ended it meanwhile
	}
	if err == nil && isYes(answer) {
		r.rollback()
		return true
	}
	r.note("still in the transaction: `commit` keeps its changes, `rollback` undoes them")
	return false
}

func isYes(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "y" || s == "yes"
}

// Eval evaluates one complete input: a REPL command (begin, commit,
// rollback, plan, help, exit) or statements of the language, applied as
// one transaction (or as part of the open `begin` transaction). It
// returns true when the input asks to leave (exit, quit); leaving is the
// caller's business (Run asks about an open transaction first).
func (r *REPL) Eval(src string) (exit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eval(src)
}

func (r *REPL) eval(src string) (exit bool) {
	r.n++ // every input has a number: <input N> names it in messages
	word, rest := splitWord(src)
	switch word {
	case "exit", "quit":
		if rest == "" {
			return true
		}
	case "help":
		r.help(rest)
		return false
	case "begin", "commit", "rollback":
		if rest != "" {
			r.errorf("%s takes no arguments", word)
			return false
		}
		switch word {
		case "begin":
			r.begin()
		case "commit":
			r.commit()
		default:
			if r.tx == nil {
				r.errorf("no transaction is open (`begin` opens one)")
				r.failed++
				return false
			}
			r.rollback()
		}
		return false
	case "plan":
		if rest == "" {
			r.planPending()
			return false
		}
		// Blank out the word so that positions in diagnostics match the
		// text as typed.
		i := strings.Index(src, "plan")
		r.exec(src[:i]+"    "+src[i+4:], src, true)
		return false
	}
	r.exec(src, src, false)
	return false
}

// splitWord returns the first word of src and the rest, trimmed; word is
// "" unless src starts with a letter word followed by a blank or the end.
func splitWord(src string) (word, rest string) {
	s := strings.TrimSpace(src)
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	if i == 0 || (i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') {
		return "", s
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// exec parses, checks and runs (or plans) src. shown is the text
// diagnostics display (src with `plan` blanked out is shown as typed).
func (r *REPL) exec(src, shown string, plan bool) {
	// Diagnostics read "<input 14>:1:24: ...": the input's number, then
	// line and column within it. A name without a colon, so that it is
	// not read as a line number ("repl:14:1:24" was).
	name := inputName(r.n)
	r.sources[name] = []byte(shown)
	f, shift, err := parseInput(name, src)
	if err != nil {
		r.failed++
		r.render(err, name, shift)
		return
	}
	if len(f.Stmts) == 0 {
		return // only comments
	}
	if ds := r.sess.Check(f); len(ds) > 0 {
		r.failed++
		r.render(ds, name, shift)
		return
	}
	ctx, done := context.Background(), func() {}
	if r.cfg.Context != nil {
		ctx, done = r.cfg.Context()
	}
	defer done()
	r.runNS = r.sess.NS()
	if plan {
		r.k.planning = true
		res, err := r.sess.Plan(ctx, f)
		r.k.planning = false
		if err != nil {
			r.failed++
			r.render(err, name, shift)
			return
		}
		if len(res.Changes) == 0 {
			r.note("no changes")
		} else {
			r.note("%s pending (plan changes nothing)", plural(len(res.Changes), "change"))
		}
		return
	}

	tx := r.tx
	own := tx == nil
	if own {
		if tx, err = txn.Begin(r.cfg.Kernel, r.cfg.Tx); err != nil {
			r.failed++
			r.errorf("%v", err)
			return
		}
	} else {
		// Someone (ip, another terminal) may have changed the kernel
		// since the last statement: prepare against the truth.
		tx.Ensurer().InvalidateAll()
	}
	r.k.outer = tx
	res, err := r.sess.Run(ctx, f)
	r.k.outer = nil
	if err != nil {
		r.failed++
		r.render(err, name, shift)
		n := len(tx.Changes())
		rerr := tx.Rollback()
		r.keys.Reset()
		switch {
		case !own:
			r.tx = nil
			r.undoNote(rerr, "the transaction (begin at %s) is rolled back: %s undone", r.txBegan, plural(n, "change"))
		case n > 0:
			r.undoNote(rerr, "rolled back: %s undone", plural(n, "change"))
		case rerr != nil:
			r.undoNote(rerr, "")
		}
		return
	}
	if own {
		if !r.writeKeys(tx) {
			return
		}
		if err := tx.Commit(); err != nil {
			r.failed++
			r.errorf("commit: %v", err)
			return
		}
	}
	r.recordTables(f)
	for _, st := range f.Stmts {
		if d, ok := st.(*lang.Def); ok && d.Name != nil {
			r.funcs[d.Name.Name] = true
		}
	}
	if !res.Changed && hasNetStmt(f) {
		r.note("no changes")
	}
}

// keyFiles says whether writekey and loadkey write their files: eval
// decides by the kernel it sees, which here is the shadow; on a model
// (`nets --model`) nothing on the machine may change, files included.
// On a real kernel the files go to r.keys (eval.Options.KeyWrites) and
// are written when the input's transaction commits: at the end of the
// input, or at `commit` after `begin` (`rollback` drops them).
func keyFiles(k kernel.Kernel) eval.KeyFileMode {
	if _, ok := k.(*kernel.Model); ok {
		return eval.KeyFilesNever
	}
	return eval.KeyFilesAuto
}

// inputName names input n in diagnostics: "<input 14>".
func inputName(n int) string { return fmt.Sprintf("<input %d>", n) }

// recordTables remembers the literal `table ID name NAME` declarations
// of f: for completion, and for the static check of later inputs. The
// session evaluates with the names it declared, but eval.Session.Check
// checks against Options.Tables only, which is r.cfg.Tables: adding the
// names there lets `rule ... lookup NAME` pass the check in a later
// input as it would later in one recipe.
func (r *REPL) recordTables(f *lang.File) {
	lang.Inspect(f, func(n lang.Node) bool {
		s, ok := n.(*lang.NetStmt)
		if !ok || s.Verb != "table" || s.Del {
			return true
		}
		d, ds := lang.Decode(s)
		if len(ds) > 0 || d.Value("name") == nil {
			return true
		}
		name := lang.Keyword(d.Value("name"))
		if str, ok := d.Value("name").(*lang.String); ok && name == "" {
			name = strings.Trim(lang.FormatExpr(str), `"`)
		}
		id, err := strconv.ParseUint(lang.Keyword(d.Value("table")), 0, 32)
		if name != "" && err == nil {
			r.declared[name] = uint32(id)
			// An error means the name or id is taken; the evaluator
			// already reported a real conflict.
			_ = r.cfg.Tables.Add(uint32(id), name)
		}
		return true
	})
}

// undoNote reports the end of a rollback: the note, or the undo failures.
func (r *REPL) undoNote(rerr error, format string, args ...any) {
	if rerr != nil {
		r.errorf("rollback incomplete: %v", rerr)
		var ue *txn.UndoError
		if errors.As(rerr, &ue) && ue.Journal != "" {
			r.errorf("the journal %s is kept: run `nets recover` once the cause is fixed", ue.Journal)
		}
		return
	}
	if format != "" {
		r.note(format, args...)
	}
}

// parseInput parses one input. A bare expression (`1 + 2`, `$k`,
// `host(10.0.0.0/24, 1)`) is not a statement of the language; it is
// evaluated as `print EXPR`, and shift is how many columns the
// diagnostics of line 1 must move back to point into the text as typed.
func parseInput(name, src string) (f *lang.File, shift int, err error) {
	f, err = lang.Parse(name, []byte(src))
	if err != nil {
		if !looksLikeExpr(src) {
			return nil, 0, err
		}
		g, gerr := lang.Parse(name, []byte("print "+src))
		if gerr != nil {
			// The input reads as an expression (`1 +`): its error as
			// one (`expected an operand`), not "unknown statement".
			return nil, len("print "), gerr
		}
		if len(g.Stmts) != 1 {
			return nil, 0, err
		}
		return g, len("print "), nil
	}
	// A builtin called as a statement is an expression: print its value.
	if len(f.Stmts) == 1 {
		if cs, ok := f.Stmts[0].(*lang.CallStmt); ok {
			if _, builtin := lang.DefaultBuiltins[cs.Call.Name.Name]; builtin {
				f.Stmts[0] = &lang.Print{Span: cs.Span, Value: cs.Call}
			}
		}
	}
	return f, 0, nil
}

// looksLikeExpr reports whether src starts the way an expression does
// and no statement can: a variable, number, string, list, record,
// parenthesis, minus, or the words not/true/false. A mistyped statement
// keyword (`lnik a up`) keeps its parse error.
func looksLikeExpr(src string) bool {
	s := strings.TrimSpace(src)
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case c == '$' || c == '"' || c == '[' || c == '{' || c == '(' || c == '-':
		return true
	case c >= '0' && c <= '9':
		return true
	}
	w, _ := splitWord(s)
	if w == "" {
		w = s
	}
	return w == "not" || w == "true" || w == "false"
}

// hasNetStmt reports whether f contains a network statement (so that
// "no changes" is worth saying).
func hasNetStmt(f *lang.File) bool {
	found := false
	lang.Inspect(f, func(n lang.Node) bool {
		if _, ok := n.(*lang.Def); ok {
			return false // a definition runs nothing
		}
		// `table N name X` only names a table: nothing to change.
		if s, ok := n.(*lang.NetStmt); ok && !(s.Verb == "table" && s.Block == nil) {
			found = true
		}
		return !found
	})
	return found
}

// begin opens a transaction that stays open across inputs.
func (r *REPL) begin() {
	if r.tx != nil {
		r.errorf("a transaction is already open (begin at %s): commit or rollback first", r.txBegan)
		r.failed++
		return
	}
	tx, err := txn.Begin(r.cfg.Kernel, r.cfg.Tx)
	if err != nil {
		r.errorf("%v", err)
		r.failed++
		return
	}
	r.tx = tx
	r.txBegan = fmt.Sprintf("input %d", r.n)
	msg := "transaction open until commit or rollback: statements apply as you enter them"
	if !r.cfg.Tx.NoJournal {
		msg += " (other nets runs wait)"
	}
	r.note("%s", msg)
}

func (r *REPL) commit() {
	if r.tx == nil {
		r.errorf("no transaction is open (`begin` opens one)")
		r.failed++
		return
	}
	n := len(r.tx.Changes())
	if !r.writeKeys(r.tx) {
		r.tx = nil
		return
	}
	err := r.tx.Commit()
	r.tx = nil
	if err != nil {
		r.errorf("commit: %v", err)
		r.failed++
		return
	}
	r.note("committed: %s kept", plural(n, "change"))
}

// writeKeys writes the transaction's pending key files before tx
// commits. When one cannot be written, the files written before it are
// put back, tx is rolled back, and writeKeys reports false.
func (r *REPL) writeKeys(tx *txn.Tx) bool {
	paths := r.keys.Paths()
	if err := r.keys.Flush(); err != nil {
		r.failed++
		r.errorf("writing the key file: %v", err)
		n := len(tx.Changes())
		r.undoNote(tx.Rollback(), "rolled back: %s undone", plural(n, "change"))
		return false
	}
	for _, p := range paths {
		r.note("writekey %s (written)", p)
	}
	return true
}

// Abort ends the session's open transaction, if any, by rolling it
// back, after waiting for a running statement to finish (cancel its
// context first). The CLI calls it when SIGTERM or SIGHUP ends the
// session. It reports whether there was a transaction.
func (r *REPL) Abort(reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tx == nil {
		return false
	}
	r.note("%s with a transaction open (begin at %s): rolling it back", reason, r.txBegan)
	r.rollback()
	return true
}

// rollback undoes the open transaction.
func (r *REPL) rollback() {
	if r.tx == nil {
		return
	}
	n := len(r.tx.Changes())
	err := r.tx.Rollback()
	r.tx = nil
	r.keys.Reset()
	r.undoNote(err, "rolled back: %s undone", plural(n, "change"))
	if err != nil {
		r.failed++
	}
}

// planPending shows what `commit` would keep.
func (r *REPL) planPending() {
	if r.tx == nil {
		r.note("no transaction is open: nothing pending (`plan STATEMENT` shows what a statement would do)")
		return
	}
	chs := r.tx.Changes()
	r.runNS = r.sess.NS()
	for _, ch := range chs {
		r.printChange(ch)
	}
	r.note("pending until commit: %s (`rollback` undoes them)", plural(len(chs), "change"))
}

// change is the session's OnChange: print each change as it happens.
func (r *REPL) change(ch kernel.Change) { r.printChange(ch) }

func (r *REPL) printChange(ch kernel.Change) {
	line := r.display(ch)
	if r.cfg.Color {
		if col := markColor(ch.Mark); col != "" && len(line) > 0 {
			line = col + line[:1] + colorReset + line[1:]
		}
	}
	fmt.Fprintln(r.stdout, line)
}

// display renders a change as `nets run -n NS` does: changes in the
// namespace the input started in print without their namespace, others
// wrapped in `in netns`.
func (r *REPL) display(ch kernel.Change) string {
	if r.runNS != kernel.Host {
		switch ch.NS {
		case r.runNS:
			ch.NS = kernel.Host
		case kernel.Host, kernel.HostName:
			return string(ch.Mark) + " in netns " + kernel.HostName + " < " + ch.Text + " >" + ch.Comment()
		}
	}
	return eval.FormatChange(ch)
}

const colorReset = "\x1b[0m"

func markColor(mark byte) string {
	switch mark {
	case '+':
		return "\x1b[32m"
	case '-':
		return "\x1b[31m"
	case '~':
		return "\x1b[33m"
	}
	return ""
}

// render writes err: its diagnostics with the source line and a caret
// (line 1 moved back by shift columns), or the plain error.
func (r *REPL) render(err error, name string, shift int) {
	ds := diagnostics(err)
	if len(ds) == 0 {
		r.errorf("%v", err)
		return
	}
	for i := range ds {
		if shift > 0 && ds[i].Pos.Filename == name {
			ds[i].Pos = unshift(ds[i].Pos, shift)
			ds[i].End = unshift(ds[i].End, shift)
		}
	}
	lang.RenderAll(r.stderr, ds, func(file string) []byte { return r.sources[file] })
}

func unshift(p lang.Position, shift int) lang.Position {
	if p.Line == 1 && p.Column > shift {
		p.Column -= shift
		p.Offset -= shift
	}
	return p
}

// diagnostics extracts the diagnostics err carries.
func diagnostics(err error) []lang.Diagnostic {
	var ds lang.Diagnostics
	if errors.As(err, &ds) {
		return append([]lang.Diagnostic(nil), ds...)
	}
	var d lang.Diagnostic
	if errors.As(err, &d) {
		return []lang.Diagnostic{d}
	}
	return nil
}

// note prints an informational line (a recipe comment, so that a pasted
// transcript stays a valid recipe).
func (r *REPL) note(format string, args ...any) {
	fmt.Fprintf(r.stderr, "# "+format+"\n", args...)
}

func (r *REPL) errorf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "nets: "+format+"\n", args...)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
