package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// output renders what run and plan did: change lines as they happen and
// a summary on stderr, or, with --json, one JSON object on stdout (the
// schema is documented in help.go, jsonSchema; keep the two in step).
type output struct {
	c     *cli
	cmd   string // "run" or "plan"
	json  bool
	model bool
	color bool
	ns    string // -n: the namespace the recipe starts in

	// interrupted is set when a signal cancelled the run.
	interrupted bool

	// result is what the run or plan did; its Changes are the changes
	// to report (the output keeps no copy of its own: a 100k-route run
	// has 100k of them).
	result   *eval.Result
	deadline time.Time // run --confirm: when the changes revert

	line, colored []byte // change's buffers
}

// jsonResult is the --json document.
type jsonResult struct {
	Command         string       `json:"command"`
	Model           bool         `json:"model"`
	Changed         bool         `json:"changed"`
	Changes         []jsonChange `json:"changes"`
	ConfirmDeadline string       `json:"confirm_deadline,omitempty"`
	Error           *jsonError   `json:"error"`
}

// jsonChange is kernel.Change's JSON form, encoded here so that the
// encoder's settings (no HTML escaping: "->" stays readable) apply.
type jsonChange struct {
	Mark string `json:"mark"`
	NS   string `json:"ns"`
	Text string `json:"text"`
	Note string `json:"note,omitempty"`
}

func toJSONChange(ch kernel.Change) jsonChange {
	return jsonChange{Mark: string(ch.Mark), NS: ch.NS, Text: ch.Text, Note: ch.Note}
}

type jsonError struct {
	Kind        string     `json:"kind"`
	Message     string     `json:"message"`
	RolledBack  bool       `json:"rolled_back"`
	Diagnostics []jsonDiag `json:"diagnostics"`
}

type jsonDiag struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	EndLine int    `json:"end_line,omitempty"`
	EndCol  int    `json:"end_col,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// note prints an informational "nets: ..." line on stderr.
func (o *output) note(format string, args ...any) {
	o.c.errorf(format, args...)
}

// change is eval's OnChange: print the line at once (run prints each
// change as it is applied).
func (o *output) change(ch kernel.Change) {
	if o.json {
		return
	}
	// Rendered into buffers reused for every line: a 100k-route run
	// prints 100k of them.
	line := o.appendDisplay(o.line[:0], ch)
	o.line = line
	if o.color {
		if col := markColor(ch.Mark); col != "" && len(line) > 0 {
			o.colored = append(append(append(append(o.colored[:0], col...), line[0]), colorReset...), line[1:]...)
			line = o.colored
		}
	}
	line = append(line, '\n')
	o.c.stdout.Write(line)
}

// display renders a change line. Changes in the namespace the recipe
// started in (-n NS) print without their namespace, as if nets ran inside
// it, so that `nets run -n lab x.nets` prints what `ip netns exec lab
// nets run x.nets` would; changes elsewhere are wrapped in `in netns`.
// JSON keeps the real namespace.
func (o *output) display(ch kernel.Change) string {
	return string(o.appendDisplay(nil, ch))
}

// appendDisplay appends display(ch) to b.
func (o *output) appendDisplay(b []byte, ch kernel.Change) []byte {
	if o.ns != "" && o.ns != kernel.HostName {
		switch ch.NS {
		case o.ns:
			ch.NS = kernel.Host
		case kernel.Host, kernel.HostName:
			// "in netns host <...>", which eval.AppendChange writes
			// for no other namespace than host.
			b = utf8.AppendRune(b, rune(ch.Mark))
			b = append(b, " in netns "+kernel.HostName+" < "...)
			b = append(b, ch.Text...)
			b = append(b, " >"...)
			return append(b, ch.Comment()...)
		}
	}
	return eval.AppendChange(b, ch)
}

// allChanges returns the changes to report: the Result's (eval reports
// every change it passes to OnChange there too; without a Result the
// evaluation never started and changed nothing).
func (o *output) allChanges() []kernel.Change {
	if o.result != nil && o.result.Changes != nil {
		return o.result.Changes
	}
	return []kernel.Change{}
}

func (o *output) emit(doc jsonResult) { o.emitChanges(doc, nil) }

// emitChanges writes doc with changes as its "changes", exactly as
// json.Encoder (indented, no HTML escaping) writes the document holding
// them, but streaming them one at a time instead of holding a copy of
// all of them and the whole document in memory (a 100k-route run has
// 100k changes: about 30 MB at the very end of the run).
func (o *output) emitChanges(doc jsonResult, changes []kernel.Change) {
	doc.Command, doc.Model = o.cmd, o.model
	doc.Changes = []jsonChange{} // encoded as "[]", the changes go there
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		o.c.errorf("writing JSON: %v", err)
		return
	}
	const empty = `"changes": []`
	text := head.Bytes()
	at := bytes.Index(text, []byte(empty)) // the first: command, model and changed come before
	w := bufio.NewWriterSize(o.c.stdout, 64<<10)
	if len(changes) == 0 || at < 0 {
		w.Write(text)
	} else {
		w.Write(text[:at+len(empty)-1]) // up to and including '['
		// Each change as the document's encoder indents it: two levels
		// deep, its fields three.
		var elem bytes.Buffer
		ee := json.NewEncoder(&elem)
		ee.SetIndent("    ", "  ")
		ee.SetEscapeHTML(false)
		for i, ch := range changes {
			elem.Reset()
			if err := ee.Encode(toJSONChange(ch)); err != nil {
				o.c.errorf("writing JSON: %v", err)
				return
			}
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString("\n    ")
			w.Write(bytes.TrimSuffix(elem.Bytes(), []byte("\n")))
		}
		w.WriteString("\n  ]")
		w.Write(text[at+len(empty):])
	}
	if err := w.Flush(); err != nil {
		o.c.errorf("writing JSON: %v", err)
	}
}

// invalid reports a recipe that does not parse or check: exit 1.
func (o *output) invalid(err error, src sources) int {
	if !o.json {
		renderError(o.c.stderr, err, src)
		return exitFail
	}
	o.emit(jsonResult{Error: errorDoc("invalid", err, false)})
	return exitFail
}

// permission reports missing privileges in one line: exit 2.
func (o *output) permission(msg string) int {
	if o.json {
		o.emit(jsonResult{Error: &jsonError{Kind: "permission", Message: msg, Diagnostics: []jsonDiag{}}})
	} else {
		o.c.errorf("%s", msg)
	}
	return exitUsage
}

// failed reports a run or plan that failed: the diagnostic (with the
// kernel's own message as detail), then what became of the changes.
func (o *output) failed(err error, src sources) int {
	var ee *eval.Error
	isEval := errors.As(err, &ee)
	kind := "failed"
	if o.interrupted || errors.Is(err, context.Canceled) {
		kind = "interrupted"
	}
	if o.json {
		rolledBack := isEval && !ee.Plan && ee.UndoErr == nil
		doc := jsonResult{Error: errorDoc(kind, err, rolledBack)}
		doc.Changed = isEval && ee.UndoErr != nil
		if isEval && ee.UndoErr != nil {
			doc.Error.Message += "; " + firstLine(ee.UndoErr)
		}
		o.emitChanges(doc, o.allChanges())
		return exitFail
	}
	if !isEval {
		// Not a recipe error: the lock, an unrecovered journal, ...
		renderError(o.c.stderr, err, src)
		return exitFail
	}
	lookup := func(string) []byte { return nil }
	if src != nil {
		lookup = src.lookup
	}
	lang.Render(o.c.stderr, ee.Diagnostic, lookup(ee.Diagnostic.Pos.Filename))
	for _, l := range strings.Split(ee.Summary(), "\n") {
		o.c.errorf("%s", l)
	}
	return exitFail
}

// errorDoc describes err for JSON.
func errorDoc(kind string, err error, rolledBack bool) *jsonError {
	je := &jsonError{Kind: kind, RolledBack: rolledBack, Diagnostics: []jsonDiag{}}
	var ee *eval.Error
	var ds []lang.Diagnostic
	if errors.As(err, &ee) {
		ds = []lang.Diagnostic{ee.Diagnostic}
	} else {
		ds = diagnostics(err)
	}
	for _, d := range ds {
		jd := jsonDiag{File: d.Pos.Filename, Line: d.Pos.Line, Col: d.Pos.Column,
			Message: d.Msg, Hint: d.Hint, Detail: d.Detail}
		if d.End.Line > 0 {
			jd.EndLine, jd.EndCol = d.End.Line, d.End.Column
		}
		je.Diagnostics = append(je.Diagnostics, jd)
	}
	if len(ds) > 0 {
		je.Message = ds[0].Error()
	} else {
		je.Message = firstLine(err)
	}
	return je
}

// done reports success: the summary line, or the JSON document. It
// returns the exit status (plan --detailed-exitcode: 3 when changes are
// pending).
func (o *output) done(detailed bool) int {
	changes := o.allChanges()
	changed := len(changes) > 0
	if o.json {
		doc := jsonResult{Changed: changed}
		if !o.deadline.IsZero() {
			doc.ConfirmDeadline = o.deadline.Format(time.RFC3339)
		}
		o.emitChanges(doc, changes)
	} else {
		n := len(changes)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		switch {
		case o.cmd == "plan" && !changed:
			o.note("no changes")
		case o.cmd == "plan":
			o.note("%d change%s pending", n, plural)
		case !changed:
			o.note("nothing to do (0 changes)")
		case o.model:
			o.note("%d change%s applied to the in-memory model (this machine was not changed)", n, plural)
		case !o.deadline.IsZero() && !time.Now().Before(o.deadline):
			// The window counts from the start of the run (so that a
			// run that cuts you off mid-way still reverts in time); a
			// run longer than the window is reverted at once.
			o.note("%d change%s applied, but the --confirm window ended at %s, during the run: they are being reverted now (give a longer --confirm)",
				n, plural, o.deadline.Local().Format(time.TimeOnly))
		case !o.deadline.IsZero():
			o.note("%d change%s applied; they revert at %s unless you run `nets confirm`",
				n, plural, o.deadline.Local().Format(time.TimeOnly))
		default:
			o.note("%d change%s applied", n, plural)
		}
	}
	if detailed && changed {
		return exitPending
	}
	return exitOK
}
