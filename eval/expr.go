package eval

import (
	"fmt"
	"strings"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// expr evaluates an expression. In an expression a bare word is typed by
// its shape (value.ParseWord), also after interpolation: `${$net}.0/24`
// is a prefix.
func (e *evaluator) expr(x lang.Expr, sc *scope) (value.Value, error) {
	switch x := x.(type) {
	case nil:
		return nil, fmt.Errorf("internal error: missing expression")
	case *lang.Word:
		text, err := e.wordText(x, sc)
		if err != nil {
			return nil, err
		}
		v, err := value.ParseWord(text)
		if err != nil {
			return nil, errAt(x, err)
		}
		return v, nil
	case *lang.String:
		var b strings.Builder
		for _, p := range x.Parts {
			if p.Expr == nil {
				b.WriteString(p.Lit)
				continue
			}
			v, err := e.interp(p.Expr, sc)
			if err != nil {
				return nil, err
			}
			b.WriteString(value.TextInString(v))
			if err := value.CheckLen(b.Len()); err != nil {
				return nil, errAt(x, err)
			}
		}
		return value.String(b.String()), nil
	case *lang.Var:
		v, ok := sc.lookup(x.Name)
		if !ok {
			return nil, errorf(x, "undefined variable $%s", x.Name)
		}
		return v, nil
	case *lang.Call:
		if c := sc.lookupFunc(x.Name.Name); c != nil {
			return nil, errorf(x, "%s is a recipe function: it returns no value, so call it as a statement", x.Name.Name)
		}
		return e.call(x, sc)
	case *lang.List:
		l := make(value.List, 0, len(x.Elems))
		for _, el := range x.Elems {
			v, err := e.expr(el, sc)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case *lang.Record:
		fields := make([]value.RecordField, 0, len(x.Fields))
		for _, f := range x.Fields {
			v, err := e.expr(f.Value, sc)
			if err != nil {
				return nil, err
			}
			fields = append(fields, value.RecordField{Name: f.Key.Name, Value: v})
		}
		r, err := value.NewRecord(fields...)
		if err != nil {
			return nil, errAt(x, err)
		}
		return r, nil
	case *lang.Binary:
		l, err := e.expr(x.X, sc)
		if err != nil {
			return nil, err
		}
		if x.Op == "and" || x.Op == "or" {
			lb, err := value.Truth(l)
			if err != nil {
				return nil, errAt(x.X, fmt.Errorf("%s: %w", x.Op, err))
			}
			if lb == (x.Op == "or") {
				return value.Bool(lb), nil
			}
			r, err := e.expr(x.Y, sc)
			if err != nil {
				return nil, err
			}
			rb, err := value.Truth(r)
			if err != nil {
				return nil, errAt(x.Y, fmt.Errorf("%s: %w", x.Op, err))
			}
			return value.Bool(rb), nil
		}
		r, err := e.expr(x.Y, sc)
		if err != nil {
			return nil, err
		}
		v, err := value.Binary(x.Op, l, r)
		if err != nil {
			return nil, errAt(x, err)
		}
		return v, nil
	case *lang.Unary:
		v, err := e.expr(x.X, sc)
		if err != nil {
			return nil, err
		}
		v, err = value.Unary(x.Op, v)
		if err != nil {
			return nil, errAt(x, err)
		}
		return v, nil
	case *lang.Index:
		v, err := e.expr(x.X, sc)
		if err != nil {
			return nil, err
		}
		i, err := e.expr(x.Index, sc)
		if err != nil {
			return nil, err
		}
		v, err = value.Index(v, i)
		if err != nil {
			return nil, errAt(x, err)
		}
		return v, nil
	case *lang.Selector:
		v, err := e.expr(x.X, sc)
		if err != nil {
			return nil, err
		}
		v, err = value.Field(v, x.Field.Name)
		if err != nil {
			return nil, errAt(x.Field, err)
		}
		return v, nil
	case *lang.Paren:
		return e.expr(x.X, sc)
	}
	return nil, errorf(x, "internal error: unknown expression %T", x)
}

// wordText is a word's text with its ${...} interpolated (value.AsText:
// a key is an error there, so that it never lands in a name by mistake).
func (e *evaluator) wordText(w *lang.Word, sc *scope) (string, error) {
	if len(w.Parts) == 1 && w.Parts[0].Expr == nil {
		return w.Parts[0].Lit, nil // a literal word (the common case): its text, not a copy
	}
	var b strings.Builder
	for _, p := range w.Parts {
		if p.Expr == nil {
			b.WriteString(p.Lit)
			continue
		}
		v, err := e.interp(p.Expr, sc)
		if err != nil {
			return "", err
		}
		t, err := value.AsText(v)
		if err != nil {
			return "", errAt(&lang.Ident{Span: p.Span}, err)
		}
		b.WriteString(t)
		if err := value.CheckLen(b.Len()); err != nil {
			return "", errAt(w, err)
		}
	}
	return b.String(), nil
}

// interp evaluates the expression of a ${...}. As in the contract's
// `veth-${i}`, a bare name there is the variable of that name: ${i} is
// ${$i}. A name that is no variable is an error (the literal text would
// need no ${}).
func (e *evaluator) interp(x lang.Expr, sc *scope) (value.Value, error) {
	if w, ok := x.(*lang.Word); ok {
		if name, ok := w.Literal(); ok && isIdent(name) && name != "true" && name != "false" {
			if v, ok := sc.lookup(name); ok {
				return v, nil
			}
			return nil, lang.Diagnostic{Pos: w.Pos(), End: w.End(), Msg: fmt.Sprintf("undefined variable %s in ${%s}", name, name),
				Hint: "${name} interpolates the variable $name"}
		}
	}
	return e.expr(x, sc)
}

// isIdent reports whether s is a name: a letter or '_', then letters,
// digits and '_'.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// call calls a builtin.
func (e *evaluator) call(c *lang.Call, sc *scope) (value.Value, error) {
	b, ok := builtins.Lookup(c.Name.Name)
	if !ok {
		return nil, errorf(c.Name, "undefined function %s", c.Name.Name)
	}
	args := make([]value.Value, 0, len(c.Args))
	for _, a := range c.Args {
		v, err := e.expr(a, sc)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	v, err := b.Call(&env{e: e, file: posOf(c).Filename, call: c}, args)
	if err != nil {
		return nil, errAt(c, err)
	}
	return v, nil
}

// convert reads argument a of a statement as parameter p wants it, with
// lang's word parsers, so that a literal and a computed value are read by
// the same code with the same messages. A word is interpolated and
// parsed; a string likewise; any other argument ($var, call, (expr), a
// list) is evaluated and its text (value.AsText) parsed, except that a
// key parameter takes a key value (or a string holding one) directly.
// A bare address where a prefix is expected is the host prefix.
//
// The result has the Go type lang.ParseWord gives for p.Type; for a list
// parameter it is a []any of those.
func (e *evaluator) convert(p *lang.Param, a lang.Arg, sc *scope) (any, error) {
	if p.List {
		var elems []lang.Expr
		if l, ok := a.(*lang.List); ok {
			elems = l.Elems
		} else if _, isWord := a.(*lang.Word); !isWord {
			if _, isStr := a.(*lang.String); !isStr {
				v, err := e.expr(a, sc)
				if err != nil {
					return nil, err
				}
				vals := []value.Value{v}
				if l, ok := v.(value.List); ok {
					vals = l
				}
				out := make([]any, 0, len(vals))
				for _, v := range vals {
					x, err := parseValue(p, v)
					if err != nil {
						return nil, errAt(a, err)
					}
					out = append(out, x)
				}
				return out, nil
			}
		}
		if elems == nil {
			elems = []lang.Expr{a}
		}
		out := make([]any, 0, len(elems))
		for _, el := range elems {
			x, err := e.convert(&lang.Param{Name: p.Name, Type: p.Type, Min: p.Min, Max: p.Max, Enum: p.Enum, Noun: p.Noun, Words: p.Words}, el, sc)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	var text string
	switch a := a.(type) {
	case *lang.Word:
		t, err := e.wordText(a, sc)
		if err != nil {
			return nil, err
		}
		text = t
	case *lang.List:
		return nil, errorf(a, "%s takes one value, not a list", p.Name)
	default:
		v, err := e.expr(a, sc)
		if err != nil {
			return nil, err
		}
		x, err := parseValue(p, v)
		if err != nil {
			return nil, errAt(a, err)
		}
		return x, nil
	}
	x, err := p.Parse(text)
	if err != nil {
		return nil, errAt(a, err)
	}
	return x, nil
}

// parseValue converts a computed value for parameter p.
func parseValue(p *lang.Param, v value.Value) (any, error) {
	if p.Type == lang.TKey {
		k, err := value.AsKey(v)
		if err != nil {
			return nil, err
		}
		return [32]byte(k), nil
	}
	if l, ok := v.(value.List); ok {
		return nil, fmt.Errorf("%s takes one value, not a list (%d elements)", p.Name, len(l))
	}
	text, err := value.AsText(v)
	if err != nil {
		return nil, err
	}
	return p.Parse(text)
}

// keyOf converts a [32]byte from a TKey parameter.
func keyOf(x any) kernel.Key {
	switch k := x.(type) {
	case [32]byte:
		return kernel.Key(k)
	case kernel.Key:
		return k
	}
	return kernel.Key{}
}
