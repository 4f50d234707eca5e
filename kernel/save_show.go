package kernel

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nets-lang/nets/lang"
)

// Show renders part of the live state of namespace ns in recipe syntax,
// for the `show` statement and the REPL, with the same renderers and
// order as Save. Unlike Save it shows what the kernel made by itself too
// (as `ip` does: 127.0.0.1 on lo, connected and local routes, default
// rules, the neighbour cache) except the IPv6 link-local addresses and
// the fe80::/64 and ff00::/8 routes every IPv6 link gets. Every line
// pastes back as a recipe: what a recipe cannot state prints as a
// comment (routes the kernel made and route types a recipe cannot
// write, e.g. `# route local 127.0.0.1 dev lo table local ... (made by
// the kernel)`; neighbours that are not permanent), and a link of a kind
// nets cannot create prints without `type`, after a comment saying it
// must exist.
//
// what is one of lang.ShowWhat; arg narrows it:
//
//	links [NAME]            every link (lo included), or the one named
//	addrs [LINK]            every address, or those of one link
//	routes [table T|all]    table main (as `ip route`), table T, or every table;
//	                        arg is "", "T", "all", "table T" or "table all"
//	rules                   every rule, IPv4 then IPv6
//	neigh [LINK]            every neighbour entry, or those of one link
//	netns                   the named namespaces (ns is ignored)
//	wireguard [NAME]        WireGuard configurations; the private and
//	                        preshared key lines are comments (a block
//	                        without them leaves the keys as they are)
//
// The output ends in a newline unless it is empty. names names routing
// tables (nil: built-ins only).
func Show(k Kernel, ns, what, arg string, names *TableNames) (string, error) {
	lines, _, err := showObjects(k, ns, what, arg, names)
	if err != nil {
		return "", err
	}
	return canonical(lines)
}

// showObjects returns the lines Show prints and the objects behind them
// (for ShowJSON), in the same order.
func showObjects(k Kernel, ns, what, arg string, names *TableNames) ([]string, []any, error) {
	arg = strings.TrimSpace(arg)
	var lines []string
	var objs []any
	switch what {
	case "netns":
		list, err := k.Namespaces()
		if err != nil {
			return nil, nil, err
		}
		for _, n := range list {
			lines = append(lines, "netns "+n)
			objs = append(objs, map[string]string{"name": n})
		}
		return lines, objs, nil
	case "links", "addrs", "neigh", "wireguard", "routes", "rules":
	default:
		return nil, nil, fmt.Errorf("show: unknown %q (one of %s)", what, strings.Join(lang.ShowWhat, ", "))
	}

	links, err := k.Links(ns)
	if err != nil {
		return nil, nil, err
	}
	ordered := orderLinks(links)
	pos := map[string]int{}
	mtus := map[string]uint32{}
	for i, l := range ordered {
		pos[l.Name] = i
		mtus[l.Name] = l.MTU
	}
	exists := func(name string) error {
		if _, ok := pos[name]; !ok && name != "" {
			return &Error{Op: "show " + what + " " + name, NS: ns, Err: fmt.Errorf("no link %s", name), Kind: ErrNotFound}
		}
		return nil
	}

	switch what {
	case "links":
		if err := exists(arg); err != nil {
			return nil, nil, err
		}
		for _, l := range ordered {
			if arg != "" && l.Name != arg {
				continue
			}
			s := linkLine(l, ns, mtus)
			if s == "" {
				s = "link lo down"
			}
			if cm := linkComment(l.Link); cm != "" {
				lines = append(lines, cm)
			}
			lines = append(lines, s)
			objs = append(objs, jsonLink(l))
		}
	case "wireguard":
		if err := exists(arg); err != nil {
			return nil, nil, err
		}
		for _, l := range ordered {
			if l.Kind != KindWireGuard || arg != "" && l.Name != arg {
				continue
			}
			d, err := k.WireGuard(ns, l.Name)
			if err != nil {
				return nil, nil, err
			}
			lines = append(lines, showWireGuardBlock(d))
			objs = append(objs, jsonWG(d, false))
		}
		if arg != "" && len(lines) == 0 {
			return nil, nil, &Error{Op: "show wireguard " + arg, NS: ns, Err: fmt.Errorf("%s is not a wireguard link", arg), Kind: ErrNotFound}
		}
	case "addrs":
		if err := exists(arg); err != nil {
			return nil, nil, err
		}
		addrs, err := k.Addrs(ns)
		if err != nil {
			return nil, nil, err
		}
		sort.SliceStable(addrs, func(i, j int) bool {
			if pi, pj := pos[addrs[i].Link], pos[addrs[j].Link]; pi != pj {
				return pi < pj
			}
			return addrs[i].Prefix.Addr().Is4() && addrs[j].Prefix.Addr().Is6()
		})
		byName := map[string]Link{}
		for _, l := range ordered {
			byName[l.Name] = l.Link
		}
		known := protoKnown(addrs)
		for _, a := range addrs {
			if ip := a.Prefix.Addr(); ip.Is6() && ip.IsLinkLocalUnicast() && kernelAddr(a, byName[a.Link], known) {
				continue // the kernel's own link-local address
			}
			if arg == "" || a.Link == arg {
				lines = append(lines, FormatAddr(a))
				objs = append(objs, jsonAddr(a))
			}
		}
	case "neigh":
		if err := exists(arg); err != nil {
			return nil, nil, err
		}
		neighs, err := k.Neighs(ns)
		if err != nil {
			return nil, nil, err
		}
		sort.SliceStable(neighs, func(i, j int) bool {
			if pi, pj := pos[neighs[i].Link], pos[neighs[j].Link]; pi != pj {
				return pi < pj
			}
			return neighs[i].IP.Less(neighs[j].IP)
		})
		for _, n := range neighs {
			if arg == "" || n.Link == arg {
				line := FormatNeigh(n)
				if n.State&NeighPermanent == 0 {
					line = "# " + line + " (learned by the kernel)"
				}
				lines = append(lines, line)
				objs = append(objs, jsonNeigh(n))
			}
		}
	case "routes":
		t := strings.TrimSpace(strings.TrimPrefix(arg, "table "))
		all := t == "all"
		table := TableMain
		if t != "" && !all {
			id, ok := names.ID(t)
			if !ok {
				return nil, nil, fmt.Errorf("show routes: unknown table %q", t)
			}
			table = id
		}
		routes, err := k.Routes(ns)
		if err != nil {
			return nil, nil, err
		}
		var sel []Route
		for _, r := range routes {
			if ip := r.Dst.Addr(); ip.Is6() && r.Protocol == 2 && (ip.IsMulticast() || ip.IsLinkLocalUnicast()) {
				continue // per-link fe80::/64 and ff00::/8 routes of every IPv6 link
			}
			if all || r.Table == table {
				if r.Type == RouteBlackhole || r.Type == RouteUnreachable || r.Type == RouteProhibit {
					r.Dev = ""
				}
				sel = append(sel, r)
			}
		}
		sort.SliceStable(sel, func(i, j int) bool { return routeLess(sel[i], sel[j]) })
		for _, r := range sel {
			lines = append(lines, showRouteLine(r, names))
			objs = append(objs, jsonRoute(r, names))
		}
	case "rules":
		if arg != "" {
			return nil, nil, fmt.Errorf("show rules takes no argument (got %q)", arg)
		}
		rules, err := k.Rules(ns)
		if err != nil {
			return nil, nil, err
		}
		sort.SliceStable(rules, func(i, j int) bool { return rules[i].Family < rules[j].Family })
		for _, r := range rules {
			lines = append(lines, FormatRule(r, names))
			objs = append(objs, jsonRule(r, names))
		}
	}
	return lines, objs, nil
}

// showRouteLine renders a route for Show. Routes the kernel makes by
// itself (see kernelRoute) and routes of types a recipe cannot state
// (local, broadcast, anycast, multicast, nat) print as comments, so that
// every line Show prints can be pasted back into a recipe.
func showRouteLine(r Route, names *TableNames) string {
	line := FormatRoute(r, names)
	switch {
	case kernelRoute(r):
		return "# " + line + " (made by the kernel)"
	case !recipeRouteType(r.Type):
		return "# " + line + " (a recipe cannot state this route type)"
	}
	return line
}

// recipeRouteType reports whether a recipe's `route` can state type t.
func recipeRouteType(t RouteType) bool {
	switch t {
	case 0, RouteUnicast, RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		return true
	}
	return false
}

// showWireGuardBlock renders d for Show: as Save without secrets, but
// with the private and preshared key lines as comments, so that the
// block pastes back (a block that does not state a key leaves it alone)
// instead of naming variables the reader would have to define.
func showWireGuardBlock(d WGDevice) string {
	lines := strings.Split(wireguardBlock(d, false), "\n")
	out := lines[:0]
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "# secrets not saved") || strings.HasPrefix(t, "# before this block"):
			continue
		case strings.HasPrefix(t, "private-key ") || strings.HasPrefix(t, "preshared-key "):
			kw, _, _ := strings.Cut(t, " ")
			l = l[:len(l)-len(t)] + "# " + kw + " (key): not shown (nets save --secrets writes it)"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
