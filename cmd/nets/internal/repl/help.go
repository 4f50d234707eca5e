package repl

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/lang"
)

// topic is the help of one statement or REPL command that lang's
// schema does not describe (scripting statements and the REPL's own).
type topic struct {
	name, usage, doc string
}

// scriptTopics are the scripting statements (LANGUAGE.md, "Scripting"),
// in the order help lists them.
var scriptTopics = []topic{
	{"let", "let NAME = EXPR", "bind a variable (in this session: until you leave)"},
	{"set", "set NAME = EXPR", "rebind an existing variable"},
	{"if", "if COND < ... > [else < ... >]", "run a block when COND is true"},
	{"for", "for $x in EXPR < ... >", "run a block for each element of a list (or field of a record)"},
	{"def", "def NAME($a, $b) < ... >", "define a recipe function; call it as a statement: NAME(x, y)"},
	{"include", `include "PATH"`, "run the statements of a recipe file (relative to the current directory)"},
	{"print", "print EXPR", "print a value (keys print as (key))"},
	{"assert", "assert COND[, MSG]", "fail (and roll back) unless COND is true"},
	{"fail", "fail MSG", "fail and roll back"},
	{"exec", "exec PROG ARGS...", "run a program in the current namespace; a non-zero exit fails"},
	{"show", "show links|addrs|routes [table T|all]|rules|neigh|netns|wireguard [NAME]", "print the live state of the current namespace as a recipe"},
	{"in", "in netns NAME [< ... >]", "run a block inside namespace NAME; without a block, switch the session to it (`in netns host` switches back)"},
	{"del", "del OBJECT ...", "ensure an object is absent: del link x, del route 10.0.0.0/8, del rule ... lookup 100"},
}

// replShort are one-line summaries of the REPL's commands for `help`.
var replShort = map[string]string{
	"begin":    "open a transaction that spans the statements up to commit/rollback",
	"commit":   "keep the changes of the open transaction",
	"rollback": "undo every change of the open transaction",
	"plan":     "what a statement would change; alone, inside begin: what commit keeps",
	"help":     "list the statements and functions, or show one's syntax",
	"exit":     "leave (also Ctrl-D); an open transaction is rolled back after asking",
}

// replTopics are the REPL's own commands.
var replTopics = []topic{
	{"begin", "begin", "open a transaction: the statements that follow take effect as you enter them and stay one transaction until commit or rollback (a statement that fails rolls back all of it)"},
	{"commit", "commit", "keep the changes of the open transaction"},
	{"rollback", "rollback", "undo every change of the open transaction, newest first"},
	{"plan", "plan [STATEMENT]", "with a statement: show what it would change, changing nothing; alone, inside begin: the changes commit would keep"},
	{"help", "help [STATEMENT|FUNCTION]", "list the statements and functions, or show one's syntax"},
	{"exit", "exit", "leave (also Ctrl-D); an open transaction is rolled back after asking"},
}

// help prints the list of statements and builtins, or the syntax of one.
func (r *REPL) help(arg string) {
	w := r.stdout
	if arg == "" {
		writeOverview(w)
		return
	}
	name := strings.TrimSuffix(strings.TrimSpace(arg), "()")
	if !writeTopic(w, name) {
		r.errorf("no help for %q: `help` lists the statements and functions", arg)
	}
}

func writeOverview(w io.Writer) {
	fmt.Fprintln(w, "Network statements (each is an ensure; `del` in front ensures absence):")
	for _, v := range lang.Verbs("") {
		fmt.Fprintf(w, "  %s\n", lang.Lookup("", v).Usage)
	}
	fmt.Fprintln(w, "  inside wireguard NAME < >: "+strings.Join(lang.Verbs("wireguard"), ", "))
	fmt.Fprintln(w, "  inside peer KEY < >:       "+strings.Join(lang.Verbs("peer"), ", "))
	fmt.Fprintln(w, "Scripting:")
	for _, t := range scriptTopics {
		fmt.Fprintf(w, "  %s\n", t.usage)
	}
	fmt.Fprintln(w, "Functions:")
	for _, n := range builtins.Names() {
		b, _ := builtins.Lookup(n)
		fmt.Fprintf(w, "  %s\n", b.Usage())
	}
	fmt.Fprintln(w, "REPL:")
	for _, t := range replTopics {
		fmt.Fprintf(w, "  %-26s %s\n", t.usage, replShort[t.name])
	}
	fmt.Fprintln(w, "A bare expression prints its value: 1 + 2, $k, host(10.0.0.0/24, 1).")
	fmt.Fprintln(w, "`help NAME` shows one statement or function; Tab completes.")
}

// writeTopic prints the help of one statement, function or command and
// reports whether name has any.
func writeTopic(w io.Writer, name string) bool {
	for _, parent := range []string{"", "wireguard", "peer"} {
		if s := lang.Lookup(parent, name); s != nil {
			fmt.Fprintln(w, s.Usage)
			if parent != "" {
				fmt.Fprintf(w, "  (inside a %s block)\n", parent)
			}
			writeParams(w, s)
			if s.Del {
				fmt.Fprintf(w, "  del %s ... ensures it is absent (only what identifies it matters)\n", s.Verb)
			}
			return true
		}
	}
	if b, ok := builtins.Lookup(name); ok {
		fmt.Fprintln(w, b.Help())
		return true
	}
	for _, ts := range [][]topic{scriptTopics, replTopics} {
		for _, t := range ts {
			if t.name == name {
				fmt.Fprintf(w, "%s\n  %s\n", t.usage, t.doc)
				return true
			}
		}
	}
	return false
}

// writeParams lists a statement's options with their value types, and
// the per-kind options of link.
func writeParams(w io.Writer, s *lang.Schema) {
	var opts []string
	for _, p := range s.Options {
		opts = append(opts, paramText(p))
	}
	if len(opts) > 0 {
		fmt.Fprintf(w, "  options: %s\n", strings.Join(opts, ", "))
	}
	if len(s.Kinds) > 0 {
		kinds := make([]string, 0, len(s.Kinds))
		for k := range s.Kinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			var ps []string
			for _, p := range s.Kinds[k] {
				ps = append(ps, paramText(p))
			}
			if len(ps) == 0 {
				fmt.Fprintf(w, "  type %s\n", k)
			} else {
				fmt.Fprintf(w, "  type %s: %s\n", k, strings.Join(ps, ", "))
			}
		}
	}
}

func paramText(p *lang.Param) string {
	t := p.Name
	if len(p.Aliases) > 0 {
		t += " (" + strings.Join(p.Aliases, ", ") + ")"
	}
	switch {
	case p.Flag:
	case len(p.Enum) > 0:
		t += " " + strings.Join(p.Enum, "|")
	default:
		t += " " + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))
	}
	if p.Required {
		t += " (required)"
	}
	return t
}
