package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/sandbox"
)

// tryHelp documents `nets try`.
var tryHelp = &helpEntry{
	usage:   []string{"try [flags] FILE"},
	summary: "run a recipe in a throwaway sandbox and show the result",
	body: `Runs FILE exactly as ` + "`nets run`" + ` would, but inside fresh network, mount and
PID namespaces (plus a user namespace when you are not root, as
` + "`unshare -Urn`" + ` does) with private /run/netns, /run/nets and
/run/wireguard. It prints the changes, then the state the recipe left
in every namespace, as a recipe, and throws everything away: named
namespaces, links, routes, journals and userspace WireGuard helpers
vanish when it exits. Nothing touches this machine's network.

No root is needed where unprivileged user namespaces are allowed; where
they are not, nets says so and you can run it as root instead.

The recipe's exec statements run inside the sandbox too, so a ping
between two namespaces the recipe made works, and nothing can reach
beyond them.`,
	flags: func() (*flag.FlagSet, []string) {
		var o runOpts
		return o.flags("run"), []string{"json", "var"}
	},
	examples: `# see what the gaming example does, without root and without risk
nets try examples/gaming.nets
# a two-namespace lab with a ping across it
nets try examples/netns-lab.nets`,
	exit: `the exit status of the run inside (0, 1 or 2); 2 when no sandbox
can be made.`,
}

// cmdTry implements `nets try`: outside a sandbox it runs itself again
// inside one; inside, it runs the recipe and prints the state it left.
func (c *cli) cmdTry(args []string) int {
	var o runOpts
	pos, err := parseFlags(o.flags("run"), args)
	if err != nil {
		return c.flagErr("try", err)
	}
	switch {
	case len(pos) != 1:
		return c.usage("try", errors.New("give one recipe file"))
	case o.confirm > 0 || o.model || o.ns != "":
		return c.usage("try", errors.New("--confirm, --model and -n do not apply to try (the sandbox is thrown away)"))
	}
	if !sandbox.Inside() {
		if pos[0] == "-" || pos[0] == stdinName {
			return c.usage("try", errors.New("try needs a file (stdin cannot be read again inside the sandbox)"))
		}
		// Check first: a broken recipe is reported without making a sandbox.
		r, err := c.loadRecipe(pos[0])
		if err != nil {
			out := &output{c: c, cmd: "run", json: o.json}
			var src sources
			if r != nil {
				src = r.src
			}
			return out.invalid(err, src)
		}
		return sandbox.Reexec(append([]string{"try"}, args...), c.stdin, c.stdout, c.stderr)
	}
	if err := sandbox.Setup(); err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	if !o.json {
		c.errorf("trying %s in a throwaway sandbox (%s); nothing here reaches this machine", pos[0], sandbox.Describe())
	}
	code := c.runOrPlan("run", args)
	if o.json {
		return code
	}
	if err := printSandboxState(c.stdout); err != nil {
		c.errorf("cannot read the state the recipe left: %v", err)
		if code == exitOK {
			code = exitFail
		}
	}
	return code
}

// printSandboxState prints the state of the sandbox's own namespace and of
// every named namespace in it, as one recipe.
func printSandboxState(w io.Writer) error {
	nl, err := kernel.NewNetlink(kernel.NetlinkOptions{})
	if err != nil {
		return err
	}
	defer nl.Close()
	names, _ := kernel.LoadTableNames(tablesDir)
	namespaces, err := nl.Namespaces()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\n# The state the recipe left (discarded now that `nets try` ends):")
	host, err := kernel.Save(nl, kernel.Host, kernel.SaveOptions{Names: names})
	if err != nil {
		return err
	}
	fmt.Fprint(w, host)
	for _, ns := range namespaces {
		text, err := kernel.Save(nl, ns, kernel.SaveOptions{Names: names})
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		fmt.Fprintf(w, "\nin netns %s <\n", ns)
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if line == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintln(w, "  "+line)
		}
		fmt.Fprintln(w, ">")
	}
	return nil
}
