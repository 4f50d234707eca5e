package eval

import (
	"sort"
	"unicode/utf8"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Namespaces returns the named namespaces a recipe touches that can be
// seen without running it: o.NS, the literal names of `in netns NAME`,
// `netns NAME`, and a link's `netns NAME` and veth `peer P netns NAME`.
// Plan seeds its model with these; "host" is left out (it is always
// there). Included files are not read: Plan finds their namespaces when
// it evaluates the include.
func Namespaces(f *lang.File, o Options) []string {
	set := map[string]bool{}
	add := func(s string) {
		if s = normNS(s); s != kernel.Host {
			set[s] = true
		}
	}
	add(o.NS)
	for _, n := range literalNamespaces(f) {
		add(n)
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// literalNamespaces lists the literal namespace names in n.
func literalNamespaces(n lang.Node) []string {
	var out []string
	lit := func(a lang.Arg) {
		if a == nil {
			return
		}
		var text string
		var ok bool
		switch a := a.(type) {
		case *lang.Word:
			text, ok = a.Literal()
		case *lang.String:
			text, ok = a.Literal()
		}
		if ok && text != "" && text != kernel.HostName {
			out = append(out, text)
		}
	}
	lang.Inspect(n, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.InNetns:
			lit(n.NS)
		case *lang.NetStmt:
			if n.Parent != "" {
				return true
			}
			switch n.Verb {
			case "netns":
				if len(n.Args) > 0 {
					lit(n.Args[0])
				}
			case "link":
				d, _ := lang.Decode(n)
				lit(d.Value("netns"))
				lit(d.Value("peer-netns"))
			}
		}
		return true
	})
	return out
}

// touchNS seeds, in a plan, every namespace f names literally.
func (e *evaluator) touchNS(f *lang.File, start string) error {
	if err := e.seed(start); err != nil {
		return errorf(f, "plan: %v", err)
	}
	for _, ns := range literalNamespaces(f) {
		if err := e.seed(ns); err != nil {
			return errorf(f, "plan: %v", err)
		}
	}
	return nil
}

// seed makes sure, in a plan, that the model holds the live state of
// namespace ns before the evaluation first touches it. A namespace the
// live kernel does not have is left to the model (the recipe creates it,
// or using it fails as it would in a run).
func (e *evaluator) seed(ns string) error {
	ns = normNS(ns)
	if !e.plan || e.seeded[ns] {
		return nil
	}
	e.seeded[ns] = true
	live, err := e.live.Namespaces()
	if err != nil {
		return err
	}
	for _, n := range live {
		if n == ns {
			m, ok := e.kern().(*kernel.Model)
			if !ok {
				return nil
			}
			return m.Load(e.live, ns)
		}
	}
	return nil
}

// FormatChange renders a change as run and plan print it: the mark, a
// space and the recipe text, such as "+ route 10.0.0.0/8 via 10.1.0.1".
// A change in a named namespace is wrapped so that the line can be
// pasted back into a recipe: "+ in netns lab-a < addr 10.10.0.1/24 dev
// veth-a >". A note (kernel.Change.Note) follows as a comment:
// "+ link wga type wireguard # userspace (no wireguard kernel module)".
func FormatChange(c kernel.Change) string {
	// Appended into a buffer that stays on the stack when the line is
	// short: one allocation, the string, as the concatenation it
	// replaces made.
	return string(AppendChange(make([]byte, 0, 96), c))
}

// AppendChange appends FormatChange(c) to b, for callers that print many
// changes (a 100k-route run prints 100k lines) into a buffer of their own
// instead of making a string of each.
func AppendChange(b []byte, c kernel.Change) []byte {
	b = utf8.AppendRune(b, rune(c.Mark)) // as string(c.Mark)
	if c.NS == kernel.Host || c.NS == kernel.HostName {
		b = append(b, ' ')
		b = append(b, c.Text...)
	} else {
		b = append(b, " in netns "...)
		b = append(b, c.NS...)
		b = append(b, " < "...)
		b = append(b, c.Text...)
		b = append(b, " >"...)
	}
	if c.Note != "" {
		b = append(b, " # "...)
		b = append(b, c.Note...)
	}
	return b
}
