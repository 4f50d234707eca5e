package lang

import (
	"fmt"
	"testing"
)

// TestSpanPositions pins positions where a column counted in runes and
// one counted in bytes differ, and the end of a file ending in such a
// token: what participle's lexer gave (and the 80-byte spans kept).
func TestSpanPositions(t *testing.T) {
	src := "\ufeffprint \"é${x}ü\" # café\r\nlet a = 1 # ☕"
	f, err := Parse("u.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	str := func(n Node) string {
		p, e := n.Bounds()
		return fmt.Sprintf("%d:%d(%d)-%d:%d(%d)", p.Line, p.Column, p.Offset, e.Line, e.Column, e.Offset)
	}
	s := f.Stmts[0].(*Print).Value.(*String)
	let := f.Stmts[1].(*Let)
	for _, c := range []struct {
		what string
		n    Node
		want string
	}{
		{"file", f, "1:1(0)-2:14(44)"},
		{"string", s, "1:10(9)-1:18(19)"},
		{"literal part é", s.Parts[0], "1:11(10)-1:13(12)"},
		{"${x}", s.Parts[1], "1:12(12)-1:16(16)"},
		{"literal part ü", s.Parts[2], "1:16(16)-1:18(18)"},
		{"comment café", f.Comments[0], "1:19(20)-1:27(28)"},
		{"let", let, "2:1(29)-2:10(38)"},
		{"comment ☕", f.Comments[1], "2:11(39)-2:16(44)"},
	} {
		if got := str(c.n); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
}
