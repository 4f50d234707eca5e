package kernel

import (
	"fmt"
	"slices"
	"strings"
)

// ConfigChange is one difference between two Configs of a namespace, as
// `nets monitor` prints it: Mark '+' (added), '-' (removed) or '~' (a
// link's attributes changed in place), and the object as a recipe line.
// For '+' and '-' Text is the whole statement Save writes for the object
// (the removed one for '-'); for '~' it is `link NAME` with the changed
// attributes' new values (`link v0 down mtu 9000`), which ensures the
// change when pasted.
type ConfigChange struct {
	Mark byte
	NS   string
	// Kind is what changed: table, netns, link, addr, route, rule, neigh.
	Kind string
	Text string
	// Object is the kernel object (Link, Addr, Route, Rule, Neigh; the new
	// one for '+' and '~', the old one for '-'), TableDecl or the netns
	// name.
	Object any

	names *TableNames
}

// String returns the line as printed: the mark, a space, the text.
func (c ConfigChange) String() string { return string(c.Mark) + " " + c.Text }

// MarshalJSON encodes the change as {"mark": "+", "ns": "lab", "kind":
// "route", "text": "route ...", "object": {...}}: ns "" is the namespace
// nets runs in (as in run and plan output), the object is in the form
// SaveJSON documents (absent for the resync line), and text is not
// HTML-escaped.
func (c ConfigChange) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Mark   string `json:"mark"`
		NS     string `json:"ns"`
		Kind   string `json:"kind"`
		Text   string `json:"text"`
		Object any    `json:"object,omitempty"`
	}{string(c.Mark), c.NS, c.Kind, c.Text, JSONObject(c.Object, c.names)}, "")
}

type cfgItem struct {
	kind, key, text string
	obj             any
}

// items lists c's objects in recipe order with their identity keys. A
// link's key is its name; every other object's key is its line.
func (c *Config) items() []cfgItem {
	var out []cfgItem
	for _, t := range c.Tables {
		s := fmt.Sprintf("table %d name %s", t.ID, quote(t.Name))
		out = append(out, cfgItem{"table", s, s, t})
	}
	for _, n := range c.Netns {
		out = append(out, cfgItem{"netns", "netns " + n, "netns " + n, n})
	}
	mtus := map[string]uint32{}
	for _, l := range c.Links {
		mtus[l.Name] = l.MTU
	}
	for _, l := range c.Links {
		s := linkLine(l, c.NS, mtus)
		if s == "" {
			s = "link lo down"
		}
		out = append(out, cfgItem{"link", "link " + l.Name, s, l.Link})
	}
	for _, a := range c.Addrs {
		s := FormatAddr(a)
		out = append(out, cfgItem{"addr", s, s, a})
	}
	for _, r := range c.Routes {
		s := FormatRoute(r, c.names)
		out = append(out, cfgItem{"route", s, s, r})
	}
	for _, r := range c.Rules {
		s := FormatRule(r, c.names)
		out = append(out, cfgItem{"rule", s, s, r})
	}
	for _, n := range c.Neighs {
		s := FormatNeigh(n)
		out = append(out, cfgItem{"neigh", s, s, n})
	}
	return out
}

// DiffConfig returns what changed from old to new (two Configs of the same
// namespace): removals first, dependents before what they depend on
// (neighbours, rules, routes, addresses, then links), then additions and
// changes in recipe order. WireGuard configurations are not compared.
func DiffConfig(old, new *Config) []ConfigChange {
	oi, ni := old.items(), new.items()
	oldBy, newBy := map[string]cfgItem{}, map[string]cfgItem{}
	for _, it := range oi {
		oldBy[it.key] = it
	}
	for _, it := range ni {
		newBy[it.key] = it
	}
	var out []ConfigChange
	mk := func(mark byte, it cfgItem, text string) ConfigChange {
		return ConfigChange{Mark: mark, NS: new.NS, Kind: it.kind, Text: text, Object: it.obj, names: new.names}
	}
	var removed []ConfigChange
	for _, it := range oi {
		n, ok := newBy[it.key]
		if !ok || it.kind == "link" && linkKindText(it.obj.(Link)) != linkKindText(n.obj.(Link)) {
			removed = append(removed, mk('-', it, it.text))
		}
	}
	slices.Reverse(removed)
	out = append(out, removed...)
	for _, it := range ni {
		o, ok := oldBy[it.key]
		switch {
		case !ok:
			out = append(out, mk('+', it, it.text))
		case it.kind == "link":
			ol, nl := o.obj.(Link), it.obj.(Link)
			if linkKindText(ol) != linkKindText(nl) {
				out = append(out, mk('+', it, it.text))
			} else if s := linkAttrChange(ol, nl); s != "" {
				out = append(out, mk('~', it, s))
			}
		}
	}
	return out
}

func linkKindText(l Link) string {
	return l.Kind + formatLinkKind(l.Kind, l.Veth, l.VXLAN, l.Macvlan, l.Tun)
}

// linkAttrChange renders the attributes that differ between old and new
// as a `link NAME ...` statement, "" when none does.
func linkAttrChange(o, n Link) string {
	var b strings.Builder
	if o.Up != n.Up {
		if n.Up {
			b.WriteString(" up")
		} else {
			b.WriteString(" down")
		}
	}
	if o.MTU != n.MTU {
		fmt.Fprintf(&b, " mtu %d", n.MTU)
	}
	if o.Address.String() != n.Address.String() && len(n.Address) > 0 {
		b.WriteString(" address " + n.Address.String())
	}
	if o.Master != n.Master {
		if n.Master == "" {
			b.WriteString(" nomaster")
		} else {
			b.WriteString(" master " + n.Master)
		}
	}
	if o.Alias != n.Alias {
		b.WriteString(" alias " + quote(n.Alias)) // quote("") is ""
	}
	if b.Len() == 0 {
		return ""
	}
	return "link " + n.Name + b.String()
}
