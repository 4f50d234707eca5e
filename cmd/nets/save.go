package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"

	"github.com/nets-lang/nets/kernel"
)

// saveOpts are the flags of save.
type saveOpts struct {
	ns      string
	json    bool
	secrets bool
}

func (o *saveOpts) flags() *flag.FlagSet {
	fs := newFlags("save")
	fs.StringVar(&o.ns, "n", "", "save named network namespace `NS` instead of the one nets runs in")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of a recipe")
	fs.BoolVar(&o.secrets, "secrets", false, "write WireGuard private and preshared keys (base64) instead of placeholders")
	return fs
}

var saveHelp = &helpEntry{
	usage:   []string{"save [-n NS] [--json] [--secrets]"},
	summary: "print the live network configuration as a recipe",
	body: `Prints the network configuration of the namespace nets runs in (or of
NS) as a recipe that ` + "`nets run`" + ` restores, in canonical formatting and in
dependency order: named routing tables, the namespaces veth peers live
in, links with their kind, creation parameters and attributes (up or
down, mtu unless it is the kind's default, the hardware address of
kinds whose address is random, master, alias), WireGuard
configurations, addresses, routes of every table, rules and permanent
neighbours. What the kernel makes by itself is left out: 127.0.0.1/8
and ::1 on lo, derived IPv6 link-local addresses, local, broadcast,
connected and multicast routes (proto kernel), the default rules, and
neighbour cache entries that are not permanent.

This is nets' persistence story: save the state, keep the file, and
` + "`nets run`" + ` it to restore (running it again changes nothing).

Keys: WireGuard private and preshared keys are never printed unless
--secrets is given. Without it each appears as a variable the recipe
does not define ($wg0_private_key, $wg0_peer1_psk), with a comment, so
that ` + "`nets check`" + ` and ` + "`nets run`" + ` fail loudly until you define it
(let wg0_private_key = readkey("wg0.key")). Public keys are always
shown.

With --json, stdout holds one JSON object: {"ns", "tables", "netns",
"links", "wireguard", "addrs", "routes", "rules", "neighs"}, each a list
of objects in the same order as the recipe, with ip -json's field names
(ifname, mtu, address, dev, local, dst, gateway, prefsrc, metric,
protocol, table, lladdr, ...) and ip's words for values ("link",
"blackhole", "kernel", "main"); keys print as "(key)" unless --secrets.`,
	flags: func() (*flag.FlagSet, []string) {
		var o saveOpts
		return o.flags(), []string{"n", "json", "secrets"}
	},
	examples: `# keep the configuration, restore it later (or elsewhere)
nets save > net.nets
nets run net.nets
# a named namespace, keys included (keep the file private)
nets save -n lab --secrets > lab.nets && chmod 600 lab.nets
nets run -n lab lab.nets`,
	exit: `0 success; 1 the state could not be read (e.g. no such namespace);
2 usage error or missing privileges.`,
}

// cmdSave implements `nets save [-n NS] [--json] [--secrets]`.
func (c *cli) cmdSave(args []string) int {
	var o saveOpts
	pos, err := parseFlags(o.flags(), args)
	if err != nil {
		return c.flagErr("save", err)
	}
	if len(pos) > 0 {
		return c.usage("save", fmt.Errorf("unexpected argument %q (save prints to stdout; redirect it to a file)", pos[0]))
	}
	k, ns, names, code := c.openNamespace("save", o.ns)
	if k == nil {
		return code
	}
	defer k.Close()
	opts := kernel.SaveOptions{Secrets: o.secrets, Names: names}
	var out []byte
	if o.json {
		out, err = kernel.SaveJSON(k, ns, opts)
		out = append(out, '\n')
	} else {
		var s string
		s, err = kernel.Save(k, ns, opts)
		out = []byte(s)
	}
	if err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg("save"))
			return exitUsage
		}
		c.errorf("save: %v", err)
		return exitFail
	}
	if _, err := c.stdout.Write(out); err != nil {
		c.errorf("save: %v", err)
		return exitFail
	}
	return exitOK
}

// openNamespace opens the kernel for reading namespace name (-n; "" or
// "host" is the namespace nets runs in), checks that it exists and loads
// the routing table names to render with. On failure it reports the
// error and returns a nil kernel and the exit status.
func (c *cli) openNamespace(cmd, name string) (*kernel.Netlink, string, *kernel.TableNames, int) {
	ns := name
	if ns == kernel.HostName {
		ns = kernel.Host
	}
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{})
	if err != nil {
		if isPermission(err) {
			c.errorf("%s", privilegeMsg(cmd))
			return nil, "", nil, exitUsage
		}
		c.errorf("cannot open the kernel's netlink interface: %v", err)
		return nil, "", nil, exitFail
	}
	if ns != kernel.Host {
		list, err := k.Namespaces()
		if err == nil && !slices.Contains(list, ns) {
			err = fmt.Errorf("%w: %s", kernel.ErrNoNetns, ns)
		}
		if err != nil {
			k.Close()
			if errors.Is(err, kernel.ErrNoNetns) {
				c.errorf("%s: no network namespace named %q (see `ip netns list`)", cmd, ns)
			} else {
				c.errorf("%s: %v", cmd, err)
			}
			return nil, "", nil, exitFail
		}
	}
	names, err := kernel.LoadTableNames(tablesDir)
	if err != nil {
		k.Close()
		c.errorf("reading routing table names: %v", err)
		return nil, "", nil, exitFail
	}
	return k, ns, names, exitOK
}
