package lang

// Constructors for programs that build syntax trees to print them (plans,
// `nets save`, `show`). Nodes built this way have zero positions, which the
// printer handles.

// NewWord returns a literal word. The text is printed as is, so it must
// be a valid word (see QuoteString for arbitrary text).
func NewWord(text string) *Word {
	return &Word{Parts: []Part{{Lit: text}}}
}

// NewString returns a string literal with the given (unescaped) text.
func NewString(text string) *String {
	return &String{Parts: []Part{{Lit: text}}}
}

// NewWords returns literal words, one per text.
func NewWords(texts ...string) []Arg {
	args := make([]Arg, len(texts))
	for i, t := range texts {
		args[i] = NewWord(t)
	}
	return args
}

// NewNetStmt returns the network statement `verb args...` with literal
// word arguments, e.g. NewNetStmt("route", "10.0.0.0/8", "via", "10.1.0.1").
func NewNetStmt(verb string, args ...string) *NetStmt {
	return &NetStmt{Verb: verb, Args: NewWords(args...)}
}
