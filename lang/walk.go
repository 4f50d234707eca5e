package lang

// Inspect walks the tree rooted at n in depth-first order, calling f for
// every node (Stmt, Expr, *Block, *Ident, *RecordField, *File). When f
// returns false the node's children are skipped. Interpolations inside
// words and strings are visited as their expressions.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || isNilNode(n) || !f(n) {
		return
	}
	switch n := n.(type) {
	case *File:
		for _, s := range n.Stmts {
			Inspect(s, f)
		}
	case *Block:
		for _, s := range n.Stmts {
			Inspect(s, f)
		}
	case *Let:
		Inspect(n.Name, f)
		Inspect(n.Value, f)
	case *Set:
		Inspect(n.Name, f)
		Inspect(n.Value, f)
	case *If:
		Inspect(n.Cond, f)
		Inspect(n.Then, f)
		if n.Else != nil {
			Inspect(n.Else, f)
		}
		if n.ElseIf != nil {
			Inspect(n.ElseIf, f)
		}
	case *For:
		Inspect(n.Var, f)
		Inspect(n.Iter, f)
		Inspect(n.Body, f)
	case *Def:
		Inspect(n.Name, f)
		for _, p := range n.Params {
			Inspect(p, f)
		}
		Inspect(n.Body, f)
	case *CallStmt:
		Inspect(n.Call, f)
	case *Print:
		Inspect(n.Value, f)
	case *Assert:
		Inspect(n.Cond, f)
		if n.Msg != nil {
			Inspect(n.Msg, f)
		}
	case *Fail:
		Inspect(n.Msg, f)
	case *Exec:
		for _, a := range n.Args {
			Inspect(a, f)
		}
	case *Show:
		Inspect(n.What, f)
		for _, a := range n.Args {
			Inspect(a, f)
		}
	case *NetStmt:
		for _, a := range n.Args {
			Inspect(a, f)
		}
		if n.Block != nil {
			Inspect(n.Block, f)
		}
	case *InNetns:
		Inspect(n.NS, f)
		if n.Block != nil {
			Inspect(n.Block, f)
		}
	case *Word:
		for _, p := range n.Parts {
			if p.Expr != nil {
				Inspect(p.Expr, f)
			}
		}
	case *String:
		for _, p := range n.Parts {
			if p.Expr != nil {
				Inspect(p.Expr, f)
			}
		}
	case *Call:
		Inspect(n.Name, f)
		for _, a := range n.Args {
			Inspect(a, f)
		}
	case *List:
		for _, e := range n.Elems {
			Inspect(e, f)
		}
	case *Record:
		for _, fl := range n.Fields {
			Inspect(fl, f)
		}
	case *RecordField:
		Inspect(n.Key, f)
		Inspect(n.Value, f)
	case *Binary:
		Inspect(n.X, f)
		Inspect(n.Y, f)
	case *Unary:
		Inspect(n.X, f)
	case *Index:
		Inspect(n.X, f)
		Inspect(n.Index, f)
	case *Selector:
		Inspect(n.X, f)
		Inspect(n.Field, f)
	case *Paren:
		Inspect(n.X, f)
	}
}

// isNilNode reports whether n is a typed nil pointer.
func isNilNode(n Node) bool {
	switch n := n.(type) {
	case *Block:
		return n == nil
	case *Ident:
		return n == nil
	case *If:
		return n == nil
	case *Call:
		return n == nil
	}
	return false
}
