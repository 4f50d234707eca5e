package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The help texts below are nets' CLI reference: `nets help`, `nets help
// CMD` and `nets CMD --help` print them, and docs/nets.1 is generated
// from them (man.go). Flag lines come from each command's FlagSet, so
// they cannot drift from what the command accepts.

// helpEntry documents one command.
type helpEntry struct {
	// usage lines, without the leading "nets ".
	usage []string
	// summary is one line for the overview.
	summary string
	// body is the description (paragraphs separated by blank lines).
	body string
	// flags builds the command's FlagSet (with throwaway targets) and
	// lists the flags in the order to show; nil: no flags.
	flags func() (*flag.FlagSet, []string)
	// examples are shell lines with # comments.
	examples string
	// exit describes the exit status when it differs from the general rule.
	exit string
}

const exitGeneral = `0 success; 1 the recipe failed (and was rolled back) or is invalid;
2 usage error or missing privileges.`

const jsonSchema = `With --json, stdout holds exactly one JSON object (and nothing else;
the recipe's print and exec output go to stderr). The schema is stable:

  {
    "command": "run",          # "run" or "plan"
    "model": false,            # true with --model: the host was not touched
    "changed": true,           # run: changes were made and kept;
                               # plan: changes are pending
    "changes": [               # in order; [] when there are none
      {"mark": "+", "ns": "", "text": "route 10.0.0.0/8 via 10.1.0.1"},
      {"mark": "+", "ns": "", "text": "link wg0 type wireguard",
       "note": "userspace (no wireguard kernel module)"}   # note: only when there is one
    ],
    "confirm_deadline": "...", # run --confirm only: RFC 3339 time of the revert
    "error": null              # or, when the command failed:
  }

  "error": {
    "kind": "failed",          # "invalid" (parse/check errors), "failed"
                               # (the run failed), "interrupted" (a signal),
                               # "permission" (missing privileges)
    "message": "lab.nets:4:1: ...",   # the first diagnostic, one line
    "rolled_back": true,       # run: every change made was undone
    "diagnostics": [
      {"file": "lab.nets", "line": 4, "col": 1, "end_line": 4, "end_col": 30,
       "message": "...", "hint": "...", "detail": "kernel's own message"}
    ]
  }

mark is "+" (add), "-" (remove) or "~" (change in place; text reads
"old -> new"); ns is the namespace the change happens in ("" is the
namespace nets runs in). On failure "changes" lists what was applied
before the failure (undone when rolled_back is true) and "changed" is
false unless undoing failed. Keys never appear in text.`

var help = map[string]*helpEntry{
	"run": {
		usage:   []string{"run [flags] FILE", "-"},
		summary: "apply a recipe as one transaction",
		body: `Parses and checks FILE, then applies it to the kernel as one transaction:
every change is journaled under /run/nets before it is made, and if
anything fails (a kernel error, assert, fail, a failing exec, SIGINT,
SIGTERM or SIGHUP) every change already made is undone, newest first,
and the kernel is left as it was. Each change is printed as it is
applied, one per line, the mark first:

  + link v0 type veth peer v1
  ~ link eth1 mtu 1500 -> 9000
  - route 10.9.0.0/16 dev eth1

A recipe that is already in effect changes nothing, and nets says so
("nets: nothing to do (0 changes)", on stderr). FILE "-" (or plain
` + "`nets -`" + `) reads the recipe from stdin.

Changing the kernel needs CAP_NET_ADMIN (run as root). --model runs the
recipe against an empty in-memory kernel instead: nothing on this
machine changes, which is handy to see what a recipe does.

With --confirm DURATION the changes are applied and kept, and a
detached process reverts them after DURATION unless ` + "`nets confirm`" + ` is
run first (like Junos' "commit confirmed"): a remote change that cuts
you off undoes itself. The revert survives the terminal closing.

Only one run changes the kernel at a time; a second one waits up to
--wait, then fails naming the holder's pid. A run that was killed
leaves its journal behind; the next run refuses to start until
` + "`nets recover`" + ` has undone it.

` + jsonSchema,
		flags: func() (*flag.FlagSet, []string) {
			var o runOpts
			return o.flags("run"), runFlagOrder
		},
		examples: `# apply a recipe
sudo nets run examples/gaming.nets
# the same inside the named namespace lab (flags may follow the file)
sudo nets run lab.nets -n lab
# see what a recipe does without touching this machine
nets run --model examples/netns-lab.nets
# pass a variable to the recipe ($uplink)
sudo nets run --var uplink=eth1 router.nets
# apply, and revert in 2 minutes unless confirmed
sudo nets run --confirm 2m remote.nets && sudo nets confirm
# from stdin
echo 'link br0 type bridge' | sudo nets -`,
		exit: `0 applied (or nothing to do); 1 the recipe is invalid, or it failed
and was rolled back; 2 usage error or missing privileges.`,
	},
	"plan": {
		usage:   []string{"plan [flags] FILE"},
		summary: "show what run would change; changes nothing",
		body: `Evaluates FILE against an in-memory copy of the live state of every
namespace the recipe touches and prints the changes a run would make,
in recipe syntax, one per line, marked + (add), - (remove) or
~ (change in place, "old -> new"). It changes nothing. When nothing
would change it prints no change lines (and "nets: no changes" on
stderr). Reading the live state needs no privileges beyond what ip(8)
needs to show it; --model plans against an empty kernel instead.

Over an interrupted run's journal plan refuses, as run does (exit 1,
also with --detailed-exitcode): the live state is half-applied until
` + "`nets recover`" + ` undoes that run, so a plan would not tell what a run will
do. While a run is in progress, or one awaits confirmation, it plans
and says so in a note on stderr.

` + jsonSchema,
		flags: func() (*flag.FlagSet, []string) {
			var o runOpts
			return o.flags("plan"), planFlagOrder
		},
		examples: `nets plan examples/gaming.nets
# Ansible-style check mode: 0 nothing to do, 3 changes pending
nets plan --detailed-exitcode site.nets; echo $?
nets plan --json site.nets | jq -r '.changes[] | .mark + " " + .text'`,
		exit: `0 success (changes pending or not); 1 the recipe is invalid or cannot
be evaluated, or an interrupted run's journal awaits ` + "`nets recover`" + `;
2 usage error. With --detailed-exitcode: 0 no changes, 3 changes
pending (1 and 2 as without it).`,
	},
	"check": {
		usage:   []string{"check FILE..."},
		summary: "parse and check recipes statically; touches no kernel",
		body: `Parses each FILE and checks it without running it: syntax, undefined
variables and functions (with did-you-mean hints), wrong arity,
literals that cannot be what their position needs ("10.0.0.300" is not
an IP address), unknown table names, include cycles and missing
includes. Every error is reported, each as

  file:line:col: message
     4 | route 10.0.0.300/8 dev eth0
       |       ^~~~~~~~~~~~

Table names from /etc/iproute2/rt_tables and rt_tables.d/*.conf are
known. FILE "-" reads stdin.`,
		flags: func() (*flag.FlagSet, []string) {
			var o checkOpts
			return o.flags(), []string{"var"}
		},
		examples: `nets check examples/*.nets
nets check --var uplink=eth1 router.nets`,
		exit: `0 every file is valid; 1 some file has errors; 2 usage error.`,
	},
	"fmt": {
		usage:   []string{"fmt [-w | -l | --check] FILE..."},
		summary: "print recipes in canonical formatting",
		body: `Prints each FILE in canonical formatting: one statement per line,
blocks indented by two spaces, canonical spacing, comments kept.
Formatting is stable: formatting the output again changes nothing.
FILE "-" reads stdin (and cannot be combined with -w).`,
		flags: func() (*flag.FlagSet, []string) {
			var o fmtOpts
			return o.flags(), []string{"w", "l", "check"}
		},
		examples: `nets fmt lab.nets
# rewrite every recipe in place (files already canonical are not touched)
nets fmt -w *.nets
# CI: fail when a recipe is not formatted
nets fmt --check *.nets`,
		exit: `0 success (with --check: every file is formatted); 1 a file does not
parse (with --check: or is not formatted); 2 usage error.`,
	},
	"recover": {
		usage:   []string{"recover [--wait DURATION] [--discard]"},
		summary: "undo an interrupted run from its journal",
		body: `A run that was killed (SIGKILL, a crash) leaves its journal under
/run/nets (a tmpfs: after a reboot, like the kernel's own network
state, there is nothing to undo). recover replays the journal's undo
steps, newest first, restoring the state from before that run, and
removes the journal. Undo steps are
idempotent ensures, so recover is safe whether or not the last change
reached the kernel, and safe to run again. With nothing to recover it
says so and succeeds. Changes applied with ` + "`run --confirm`" + ` and not yet
confirmed are reverted too.

recover takes the lock before it reads the journal: while a run is in
progress it waits up to --wait for it to finish (and fails, naming the
run's pid, if it does not); a run that has then committed leaves
nothing to recover.

An undo step that only restores settings of a link (mtu, alias,
master, ...) that something other than nets deleted since is skipped
with a note: there is nothing left to restore. So is one that would
delete what the run added in a namespace deleted since. An undo step
that can never succeed for another reason (say it would put an address
back on a link that is gone) makes recover fail and keep the journal,
and every run refuses to start over it. Fix the cause and run recover
again, or drop the journal with --discard: it lists the undo steps it
drops, then removes the journal WITHOUT undoing anything, so what that
run changed stays as it is now.`,
		flags: func() (*flag.FlagSet, []string) {
			var o recoverOpts
			return o.flags("recover"), []string{"wait", "discard"}
		},
		examples: `sudo nets recover
# an undo step that can never succeed: drop the journal, keep things as they are
sudo nets recover --discard`,
		exit: `0 recovered, discarded, or nothing to recover; 1 some undo step failed
(the journal is kept: fix the cause and run recover again, or
--discard), or a run held the lock for all of --wait; 2 usage error or
missing privileges.`,
	},
	"confirm": {
		usage:   []string{"confirm"},
		summary: "keep the changes of `run --confirm` (cancel the revert)",
		body: `Keeps the changes of the last ` + "`nets run --confirm DURATION`" + ` and
cancels their automatic revert. Without a pending confirmation it says
so and exits 1.`,
		flags: func() (*flag.FlagSet, []string) {
			var o recoverOpts
			return o.flags("confirm"), []string{"wait"}
		},
		examples: `sudo nets run --confirm 2m remote.nets
# still connected? keep it:
sudo nets confirm`,
		exit: `0 confirmed; 1 nothing to confirm (or it was reverted already);
2 usage error or missing privileges.`,
	},
	"version": {
		usage:   []string{"version"},
		summary: "print the version",
		body:    `Prints nets' version, the Go version it was built with and the platform.`,
	},
	"help": {
		usage:   []string{"help [COMMAND]"},
		summary: "show help for nets or a command",
		body:    `Shows the list of commands, or the full help of COMMAND with examples.`,
		flags: func() (*flag.FlagSet, []string) {
			fs := newFlags("help")
			fs.Bool("man", false, "print the whole reference as a man page (roff), as in docs/nets.1")
			return fs, []string{"man"}
		},
		examples: `nets help run
nets run --help
nets help --man | man -l -`,
	},
}

// helpOrder is the order of commands in the overview.
func helpOrder() []string {
	var names []string
	for _, c := range commands {
		if !c.hidden {
			names = append(names, c.name)
		}
	}
	return names
}

const overviewIntro = `nets applies network recipes (links, addresses, routes, rules,
neighbours, namespaces, WireGuard) to Linux as transactions: a recipe
takes effect completely or not at all, and running it again changes
nothing.`

// printOverview writes `nets help`.
func (c *cli) printOverview(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  nets COMMAND [flags] [FILE]\n", overviewIntro)
	if replMain != nil {
		fmt.Fprintln(w, "  nets              the interactive REPL (on a terminal)")
	}
	fmt.Fprintln(w, "  nets -            run a recipe from stdin (also plain `nets` when stdin is no terminal)")
	fmt.Fprintln(w, "\nCommands:")
	width := 0
	for _, name := range helpOrder() {
		width = max(width, len(name))
	}
	for _, name := range helpOrder() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, name, help[name].summary)
	}
	fmt.Fprintf(w, `
Flags may stand before or after FILE.

Exit status:
%s
  plan --detailed-exitcode: 3 when changes are pending.

Environment:
%s

Run 'nets help COMMAND' for a command's flags and examples.
`, indent(exitGeneral, "  "), indent(envHelp, "  "))
}

// printHelp writes the help of one command.
func printHelp(w io.Writer, name string) {
	h := help[name]
	fmt.Fprintln(w, "Usage:")
	for _, u := range h.usage {
		fmt.Fprintf(w, "  nets %s\n", u)
	}
	fmt.Fprintf(w, "\n%s\n", capitalize(h.summary)+".")
	if h.body != "" {
		fmt.Fprintf(w, "\n%s\n", h.body)
	}
	if h.flags != nil {
		fs, order := h.flags()
		fmt.Fprintf(w, "\nFlags:\n%s", formatFlags(fs, order))
	}
	if h.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", indent(h.examples, "  "))
	}
	exit := h.exit
	if exit == "" {
		exit = exitGeneral
	}
	fmt.Fprintf(w, "\nExit status:\n%s\n", indent(exit, "  "))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func (c *cli) cmdHelp(args []string) int {
	fs := newFlags("help")
	man := fs.Bool("man", false, "print the whole reference as a man page (roff), as in docs/nets.1")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return c.flagErr("help", err)
	}
	switch {
	case *man && len(pos) == 0:
		writeMan(c.stdout)
	case len(pos) == 0:
		c.printOverview(c.stdout)
	case len(pos) > 1:
		return c.usage("help", fmt.Errorf("too many arguments"))
	case help[pos[0]] != nil && lookupCommand(pos[0]) != nil:
		printHelp(c.stdout, pos[0])
	default:
		return c.usage("help", fmt.Errorf("unknown command %q", pos[0]))
	}
	return exitOK
}

// flagErr handles an error from parseFlags: --help prints the command's
// help and succeeds; anything else is a usage error.
func (c *cli) flagErr(cmd string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		printHelp(c.stdout, cmd)
		return exitOK
	}
	return c.usage(cmd, err)
}
