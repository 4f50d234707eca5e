package eval

import (
	"fmt"
	"net/netip"
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
		return errAt(s, fmt.Errorf("%s: %w", quoteArgv(argv), err))
	}
	return nil
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

// show prints the live state of the current namespace in recipe syntax
// (kernel.Format*), one object per line, so that it can be pasted back:
//
//	show links | addrs | routes [table T|all] | rules | neigh | netns | wireguard [NAME]
//
// routes shows table main unless a table (or all) is given. IPv6
// link-local addresses, which the kernel makes on its own, are left out.
// Private and preshared keys print as (key).
func (e *evaluator) show(s *lang.Show, sc *scope) error {
	d, ds := lang.DecodeShow(s)
	if len(ds) > 0 {
		return ds[0]
	}
	a := &args{e: e, sc: sc, d: d}
	k := e.tx.Ensurer().Kernel()
	ns := e.ns
	var lines []string
	var err error
	switch s.What.Name {
	case "links":
		var ls []kernel.Link
		if ls, err = k.Links(ns); err == nil {
			for _, l := range ls {
				lines = append(lines, kernel.FormatLink(l))
			}
		}
	case "addrs":
		var as []kernel.Addr
		if as, err = k.Addrs(ns); err == nil {
			for _, x := range as {
				if x.Prefix.Addr().Is6() && x.Prefix.Addr().IsLinkLocalUnicast() {
					continue
				}
				lines = append(lines, kernel.FormatAddr(x))
			}
		}
	case "routes":
		all := false
		table := kernel.TableMain
		if f := d.Get("table"); f != nil {
			v, _, cerr := a.get("table")
			if cerr != nil {
				return cerr
			}
			if v == "all" {
				all = true
			} else if table, _, err = e.tableID(a, "table"); err != nil {
				return err
			}
		}
		var rs []kernel.Route
		if rs, err = k.Routes(ns); err == nil {
			for _, r := range rs {
				if !all && r.Table != table {
					continue
				}
				if r.Dst.Addr().Is6() && (r.Dst.Addr().IsLinkLocalUnicast() || r.Dst.Addr().IsMulticast() ||
					r.Dst == netip.MustParsePrefix("fe80::/64")) {
					continue
				}
				lines = append(lines, kernel.FormatRoute(r, e.names))
			}
		}
	case "rules":
		var rs []kernel.Rule
		if rs, err = k.Rules(ns); err == nil {
			for _, r := range rs {
				lines = append(lines, kernel.FormatRule(r, e.names))
			}
		}
	case "neigh":
		var ns2 []kernel.Neigh
		if ns2, err = k.Neighs(ns); err == nil {
			for _, n := range ns2 {
				lines = append(lines, kernel.FormatNeigh(n))
			}
		}
	case "netns":
		var names []string
		if names, err = k.Namespaces(); err == nil {
			for _, n := range names {
				lines = append(lines, "netns "+n)
			}
		}
	case "wireguard":
		only, _, cerr := a.str("name")
		if cerr != nil {
			return cerr
		}
		var ls []kernel.Link
		if ls, err = k.Links(ns); err == nil {
			found := false
			for _, l := range ls {
				if l.Kind != kernel.KindWireGuard || only != "" && l.Name != only {
					continue
				}
				found = true
				dev, werr := k.WireGuard(ns, l.Name)
				if werr != nil {
					return errAt(s, werr)
				}
				lines = append(lines, kernel.FormatWireGuard(dev, false))
			}
			if only != "" && !found {
				return errorf(s, "no wireguard device %q here", only)
			}
		}
	default:
		return errorf(s.What, "cannot show %q", s.What.Name)
	}
	if err != nil {
		return errAt(s, err)
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(e.stdout, l); err != nil {
			return errAt(s, err)
		}
	}
	return nil
}
