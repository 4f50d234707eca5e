package lang

import "testing"

func TestFormatBuilt(t *testing.T) {
	one, two, three := NewWord("1"), NewWord("2"), NewWord("3")
	sum := &Binary{Op: "+", X: one, Y: two}
	for _, tc := range []struct {
		e    Expr
		want string
	}{
		{&Binary{Op: "*", X: sum, Y: three}, "(1 + 2) * 3"},
		{&Binary{Op: "-", X: one, Y: &Binary{Op: "-", X: two, Y: three}}, "1 - (2 - 3)"},
		{&Binary{Op: "==", X: &Binary{Op: "==", X: one, Y: two}, Y: three}, "(1 == 2) == 3"},
		{&Unary{Op: "-", X: one}, "- 1"},
		{&Unary{Op: "not", X: &Binary{Op: "and", X: one, Y: two}}, "not (1 and 2)"},
		{&Selector{X: &Index{X: &Var{Name: "l"}, Index: one}, Field: &Ident{Name: "f"}}, "$l[1].f"},
		{&Index{X: sum, Index: one}, "(1 + 2)[1]"},
		{NewString("a \"b\" ${c}"), `"a \"b\" \${c}"`},
		{&List{Elems: []Expr{one, NewString("x")}}, `[1, "x"]`},
		{&Record{Fields: []*RecordField{{Key: &Ident{Name: "a"}, Value: one}}}, "{a: 1}"},
	} {
		if got := FormatExpr(tc.e); got != tc.want {
			t.Errorf("FormatExpr = %q, want %q", got, tc.want)
		}
	}

	lt := &Binary{Op: "<", X: &Var{Name: "a"}, Y: two}
	f := &File{Stmts: []Stmt{
		&Let{Name: &Ident{Name: "x"}, Value: lt},
		&If{Cond: lt, Then: &Block{Stmts: []Stmt{NewNetStmt("link", "a", "up")}}},
		&NetStmt{Verb: "route", Args: []Arg{NewWord("default"), NewWord("via"), sum}},
		&NetStmt{Verb: "wireguard", Args: NewWords("wg0"), Block: &Block{Stmts: []Stmt{
			&NetStmt{Verb: "listen-port", Args: NewWords("51820"), Parent: "wireguard"},
			&NetStmt{Verb: "peer", Args: []Arg{NewString("k")}, Parent: "wireguard", Block: &Block{}},
		}}},
	}}
	want := `let x = ($a < 2)
if ($a < 2) < link a up >
route default via (1 + 2)
wireguard wg0 <
  listen-port 51820
  peer "k" < >
>
`
	if got := string(Format(f)); got != want {
		t.Errorf("Format of built tree:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Parse("", []byte(want)); err != nil {
		t.Errorf("formatted built tree does not parse: %v", err)
	}
	if got := FormatStmt(f.Stmts[3]); got != "wireguard wg0 <\n  listen-port 51820\n  peer \"k\" < >\n>" {
		t.Errorf("FormatStmt = %q", got)
	}
}
