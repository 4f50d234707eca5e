package eval

import (
	"errors"
	"fmt"
	"sort"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// linkFields are the arguments of network statements that name an
// existing link.
var linkFields = []string{"dev", "iif", "oif", "master"}

// netErr is the diagnostic of a failed ensure of statement n. When the
// kernel said "not found" and the statement names, by a literal word, a
// link that the current namespace does not have (`addr ... dev d0`),
// the diagnostic points at that name and says so, with a did-you-mean
// among the links there (the kernel's own text, `get link d0: no such
// device`, names neither the argument nor a fix). Otherwise it is
// errAt(n, err).
//
// A kernel error that names the statement's word it is about
// (kernel.Error.Field, e.g. a veth's "peer") points there.
func (e *evaluator) netErr(n lang.Node, err error) error {
	s, ok := n.(*lang.NetStmt)
	if !ok {
		return errAt(n, err)
	}
	var d lang.Diagnostic
	if errors.As(err, &d) {
		return err
	}
	var fe *kernel.Error
	if errors.As(err, &fe) && fe.Field != "" {
		if dec, ds := lang.Decode(s); len(ds) == 0 && dec != nil {
			if f := dec.Get(fe.Field); f != nil && f.Value != nil {
				return errAt(f.Value, err)
			}
		}
	}
	if !errors.Is(err, kernel.ErrNotFound) {
		return errAt(n, err)
	}
	dec, ds := lang.Decode(s)
	if len(ds) > 0 || dec == nil {
		return errAt(n, err)
	}
	// The namespace of the failing want: a batch may be flushed after
	// its statements' `in netns` block ended.
	ns := e.ns
	var ke *kernel.Error
	if errors.As(err, &ke) {
		ns = ke.NS
	}
	links, lerr := e.kern().Links(ns)
	if lerr != nil {
		return errAt(n, err)
	}
	have := map[string]bool{}
	var names []string
	for _, l := range links {
		have[l.Name] = true
		names = append(names, l.Name)
	}
	sort.Strings(names)
	for _, f := range linkFields {
		v := dec.Value(f)
		if v == nil {
			continue
		}
		name := lang.Keyword(v)
		if name == "" || have[name] {
			continue
		}
		pos, end := v.Bounds()
		hint := lang.DidYouMean(name, names)
		if hint == "" {
			hint = fmt.Sprintf("create it first (`link %s type ...`), or check the name", name)
		}
		where := ""
		if ns != kernel.Host && ns != kernel.HostName {
			where = " in netns " + ns
		}
		return lang.Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf("there is no link %s%s", name, where), Hint: hint, Err: err}
	}
	return errAt(n, err)
}
