package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// exec runs a program in the current namespace through the transaction
// (which then re-reads the state it caches: a program may change
// anything). Its output streams to Options.Stdout/Stderr; a non-zero
// exit fails the run. What the program changes is not undone by a
// rollback. A plan does not run it.
func (e *evaluator) exec(s *lang.Exec, sc *scope) error {
	var argv []string
	for _, a := range s.Args {
		switch a := a.(type) {
		case *lang.Word:
			t, err := e.wordText(a, sc)
			if err != nil {
				return err
			}
			argv = append(argv, t)
		default:
			v, err := e.expr(a, sc)
			if err != nil {
				return err
			}
			// A list stands for several arguments.
			vals := []value.Value{v}
			if l, ok := v.(value.List); ok {
				vals = l
			}
			for _, v := range vals {
				t, err := value.AsText(v)
				if err != nil {
					return errAt(a, fmt.Errorf("exec: %w", err))
				}
				argv = append(argv, t)
			}
		}
	}
	if len(argv) == 0 || argv[0] == "" {
		return errorf(s, "exec: no program to run")
	}
	text := "exec " + quoteArgv(argv)
	if e.ns != kernel.Host {
		text = "in netns " + e.ns + " < " + text + " >"
	}
	if e.plan {
		e.res.Skipped = append(e.res.Skipped, text)
		_, err := fmt.Fprintf(e.stdout, "# %s (not run in plan)\n", text)
		return errAt(s, err)
	}
	cmd := kernel.Cmd{Args: argv, Stdout: e.stdout, Stderr: e.stderr}
	var err error
	if e.o.Exec != nil {
		err = e.o.Exec(e.ctx, e.ns, cmd)
		e.tx.Ensurer().InvalidateAll()
	} else {
		err = e.tx.Exec(e.ctx, e.ns, cmd)
	}
	if err != nil {
		return execError(s, e.ns, argv, err)
	}
	return nil
}

// execError is the diagnostic of a failed exec: the command as the
// recipe would write it, once, and why it failed (`exec sh -c "echo
// out; exit 3": exit status 3`), the namespace named when it is not the
// host's. err stays reachable (errors.Is/As).
func execError(s *lang.Exec, ns string, argv []string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errAt(s, err)
	}
	why := err.Error()
	var ee *exec.ExitError
	var ke *kernel.Error
	switch {
	case errors.As(err, &ee):
		why = ee.Error() // "exit status 3", "signal: killed"
	case errors.As(err, &ke) && ke.Err != nil:
		why = ke.Err.Error()
	}
	msg := "exec " + quoteArgv(argv) + ": " + why
	if ns != kernel.Host {
		msg = "in netns " + ns + ": " + msg
	}
	pos, end := s.Bounds()
	return lang.Diagnostic{Pos: pos, End: end, Msg: msg, Err: err}
}

// quoteArgv renders argv as recipe words, quoting what needs it, for
// plan notes and error messages. An argument that is a WireGuard key in
// base64 (revealed with string($k) for a program like wg) shows as
// (key): the program gets it, the output does not.
func quoteArgv(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if _, err := kernel.ParseKey(a); err == nil {
			out[i] = "(key)"
			continue
		}
		if a == "" || strings.ContainsAny(a, " \t\n\"\\#;<>$'(){}[],") {
			out[i] = lang.QuoteString(a)
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}

// show prints the live state of the current namespace in recipe syntax,
// exactly as kernel.Show renders it (the REPL and `nets show` use the
// same renderer), so that what it prints pastes back as a recipe:
//
//	show links | addrs | routes [table T|all] | rules | neigh | netns | wireguard [NAME]
//
// routes shows table main unless a table (or all) is given. Private and
// preshared keys are never printed. Showing something absent (`show
// wireguard nosuch`) prints a comment saying so; it is no error.
func (e *evaluator) show(s *lang.Show, sc *scope) error {
	d, ds := lang.DecodeShow(s)
	if len(ds) > 0 {
		return ds[0]
	}
	a := &args{e: e, sc: sc, d: d}
	arg := ""
	switch s.What.Name {
	case "routes":
		if f := d.Get("table"); f != nil {
			v, _, cerr := a.get("table")
			if cerr != nil {
				return cerr
			}
			if v == "all" {
				arg = "all"
			} else {
				id, _, err := e.tableID(a, "table")
				if err != nil {
					return err
				}
				arg = fmt.Sprint(id)
			}
		}
	case "wireguard":
		only, _, cerr := a.str("name")
		if cerr != nil {
			return cerr
		}
		arg = only
	}
	out, err := kernel.Show(e.tx.Ensurer().Kernel(), e.ns, s.What.Name, arg, e.names)
	var ke *kernel.Error
	if errors.Is(err, kernel.ErrNotFound) && errors.As(err, &ke) && ke.Err != nil {
		// A query of something absent answers so; it does not fail
		// (and roll back) the recipe.
		out, err = "# "+ke.Op+": "+ke.Err.Error()+"\n", nil
	}
	if err != nil {
		return errAt(s, err)
	}
	_, err = io.WriteString(e.stdout, out)
	return errAt(s, err)
}
