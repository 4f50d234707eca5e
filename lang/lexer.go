package lang

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// nets's tokens are specified by participle's stateful lexer lexDef; the
// scanner (lexer_scan.go) makes the same tokens without regular
// expressions, and TestScanMatchesLexDef holds it to lexDef. States:
//
//   - Root: statement level and expressions.
//   - String: inside "...", with escapes and ${ } interpolation.
//   - Interp: inside ${ ... } (in a word or a string); '}' returns.
//   - Brace: inside a record { ... }, so that a record inside an
//     interpolation does not end it.
//
// Every state ends in a catch-all rule so that the lexer itself never
// fails: bad characters become "Bad" tokens that the parser reports with a
// position, and scanning continues.
var lexDef = lexer.MustStateful(lexer.Rules{
	"Root": {
		{Name: "Comment", Pattern: `#[^\n]*`},
		{Name: "Cont", Pattern: `\\[ \t]*\r?\n`},
		{Name: "NL", Pattern: `\r?\n`},
		{Name: "Space", Pattern: `[ \t\r\f\v]+`},
		{Name: "Quote", Pattern: `"`, Action: lexer.Push("String")},
		{Name: "Interp", Pattern: `\$\{`, Action: lexer.Push("Interp")},
		{Name: "Var", Pattern: `\$[A-Za-z_][A-Za-z0-9_]*`},
		// [v6]:port, e.g. [2001:db8::1]:51820, is one word.
		{Name: "V6Port", Pattern: `\[[0-9A-Za-z.%]*:[0-9A-Za-z:.%]*\]:[0-9]+`},
		{Name: "LBrace", Pattern: `\{`, Action: lexer.Push("Brace")},
		{Name: "Op", Pattern: `==|!=|<=|>=|[<>()\[\],;=+*}]`},
		{Name: "Word", Pattern: `[A-Za-z0-9_.:/%@\-]+`},
		{Name: "Bad", Pattern: `[^\n]`},
	},
	"String": {
		{Name: "StrEnd", Pattern: `"`, Action: lexer.Pop()},
		{Name: "StrEsc", Pattern: `\\[^\n]?`},
		{Name: "Interp", Pattern: `\$\{`, Action: lexer.Push("Interp")},
		{Name: "StrText", Pattern: `[^"\\$\n]+|\$`},
		// A newline ends an unterminated string so the lexer can recover.
		{Name: "StrNL", Pattern: `\r?\n`, Action: lexer.Pop()},
	},
	"Interp": {
		{Name: "InterpEnd", Pattern: `\}`, Action: lexer.Pop()},
		lexer.Include("Root"),
	},
	"Brace": {
		{Name: "RBrace", Pattern: `\}`, Action: lexer.Pop()},
		lexer.Include("Root"),
	},
})

type tokKind int8

const (
	tEOF       tokKind = iota
	tNL                // newline
	tWord              // bare word text
	tVar               // $name
	tOp                // punctuation, including ';' '{' '}'
	tQuote             // opening "
	tStrEnd            // closing "
	tStrEsc            // \x
	tStrText           // literal string text
	tStrNL             // newline inside a string (unterminated)
	tInterp            // ${
	tInterpEnd         // } closing ${
	tBad               // a character that starts no token
	tComment
)

// tok is one token: its kind, its text and its byte offsets in the
// source (positions are made from them on demand; see pos.go).
type tok struct {
	v        string
	off, end uint32
	k        tokKind
}

var kindByName map[lexer.TokenType]tokKind

func init() {
	kindByName = map[lexer.TokenType]tokKind{lexer.EOF: tEOF}
	names := map[string]tokKind{
		"NL": tNL, "Word": tWord, "V6Port": tWord, "Var": tVar, "Op": tOp, "LBrace": tOp, "RBrace": tOp,
		"Quote": tQuote, "StrEnd": tStrEnd, "StrEsc": tStrEsc, "StrText": tStrText,
		"StrNL": tStrNL, "Interp": tInterp, "InterpEnd": tInterpEnd, "Bad": tBad,
		"Comment": tComment,
		"Space":   -1, "Cont": -1,
	}
	for name, tt := range lexDef.Symbols() {
		if k, ok := names[name]; ok {
			kindByName[tt] = k
		}
	}
}
