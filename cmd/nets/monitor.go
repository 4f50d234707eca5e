package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/monitor"
)

// monitorOpts are the flags of monitor.
type monitorOpts struct {
	ns   string
	json bool
}

func (o *monitorOpts) flags() *flag.FlagSet {
	fs := newFlags("monitor")
	fs.StringVar(&o.ns, "n", "", "follow named network namespace `NS` instead of the one nets runs in")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per line instead of recipe lines")
	return fs
}

var monitorHelp = &helpEntry{
	usage:   []string{"monitor [-n NS] [--json]"},
	summary: "print kernel network events as recipe lines",
	body: `Follows the kernel's network events in the namespace nets runs in (or
in NS) and prints each change as a recipe line, the mark first, until
interrupted (Ctrl-C):

  + link v0 type veth peer v1 down address 2a:...
  ~ link v0 up mtu 9000
  + addr 10.0.0.1/24 dev v0
  - route 10.9.0.0/16 via 10.0.0.254 dev v0
  + netns lab

"+" is an object that appeared, "-" one that went away, "~" a link
whose attributes changed (the line sets the new values). The lines are
what ` + "`nets save`" + ` would print, so they can be pasted into a recipe, and
they cover the same objects: links, addresses, routes of every table,
rules and permanent neighbours, not what the kernel derives by itself
(local and connected routes, link-local addresses, the neighbour
cache), plus named namespaces appearing and disappearing. Changes are
collected for 20ms and then read back from the kernel, so an object
added and removed within that time is not shown; objects the kernel
removes silently (routes through a deleted link) are.

When the kernel drops events because nets could not keep up (ENOBUFS),
nets reads the whole state again, prints the differences and then a
comment line saying it resynced.

With --json, each change is one JSON object per line:
{"mark": "+", "ns": "", "kind": "route", "text": "route ...", "object":
{...}}, kind one of table, netns, link, addr, route, rule, neigh, or
"resync" (mark "#", no object); the object has nets save --json's
fields.`,
	flags: func() (*flag.FlagSet, []string) {
		var o monitorOpts
		return o.flags(), []string{"n", "json"}
	},
	examples: `nets monitor
nets monitor -n lab --json | jq .text`,
	exit: `0 when interrupted (SIGINT, SIGTERM); 1 when the namespace cannot be
followed; 2 usage error or missing privileges.`,
}

// cmdMonitor implements `nets monitor [-n NS] [--json]`.
func (c *cli) cmdMonitor(args []string) int {
	stdout := c.stdout
	var o monitorOpts
	pos, err := parseFlags(o.flags(), args)
	if err != nil {
		return c.flagErr("monitor", err)
	}
	if len(pos) > 0 {
		return c.usage("monitor", fmt.Errorf("unexpected argument %q", pos[0]))
	}
	k, ns, names, code := c.openNamespace("monitor", o.ns)
	if k == nil {
		return code
	}
	defer k.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	where := "the namespace nets runs in"
	if ns != kernel.Host {
		where = "namespace " + ns
	}
	err = monitor.Run(ctx, k, monitor.Options{
		NS:    ns,
		Names: names,
		Ready: func() { fmt.Fprintf(c.stderr, "nets: monitoring %s (Ctrl-C to stop)\n", where) },
	}, func(ch kernel.ConfigChange) error {
		if o.json {
			return enc.Encode(ch)
		}
		_, err := fmt.Fprintln(stdout, ch.String())
		return err
	})
	if err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg("monitor"))
			return exitUsage
		}
		c.errorf("monitor: %v", err)
		return exitFail
	}
	return exitOK
}
