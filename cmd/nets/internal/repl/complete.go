package repl

import (
	"sort"
	"strconv"
	"strings"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Complete is the Tab completer (liner's WordCompleter): line is the
// line being edited, pos the cursor (in runes). It returns the text
// before the word under the cursor, the candidates for that word, and
// the text after the cursor. A lone candidate ends in a space, so that
// the next word can follow at once.
//
// What is offered depends on the position, read from the unfinished
// statement (earlier lines of a block included) up to the cursor:
//
//   - at the start of a statement: statement keywords (network verbs of
//     the enclosing block, scripting keywords, the REPL's commands) and
//     builtin functions;
//   - a word starting with `$`: the session's variables;
//   - after a network verb: its positional argument (`link <TAB>`: live
//     links), then its options from lang's schema (`rule ... <TAB>`:
//     selectors and actions), with the options of the link's kind after
//     `type KIND`;
//   - after an option: its values: link kinds after `type`, live links
//     after dev, master, link, iif, oif, namespaces after netns, table
//     names after table and lookup, the words of an enum;
//   - `show <TAB>`: what show can show; `in <TAB>`: netns, then namespaces;
//     `help <TAB>`: every topic.
func (r *REPL) Complete(line string, pos int) (head string, completions []string, tail string) {
	runes := []rune(line)
	if pos < 0 || pos > len(runes) {
		pos = len(runes)
	}
	before, tail := string(runes[:pos]), string(runes[pos:])
	start := strings.LastIndexAny(before, " \t<>;(),=[{\"") + 1
	if i := strings.LastIndex(before, "${"); i >= 0 && i+2 >= start && !strings.Contains(before[i:], "}") {
		start = i // inside ${...}: complete the whole interpolation
	}
	head, word := before[:start], before[start:]
	context := head
	if len(r.pending) > 0 {
		context = strings.Join(r.pending, "\n") + "\n" + head
	}
	var cands []string
	switch {
	case strings.HasPrefix(word, "${"):
		// Interpolation inside a string or word: "veth-${i}".
		for _, v := range r.sess.Vars() {
			cands = append(cands, "${"+v+"}")
		}
	case strings.HasPrefix(word, "$"):
		for _, v := range r.sess.Vars() {
			cands = append(cands, "$"+v)
		}
	default:
		cands = r.candidates(context)
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, word) && !seen[c] {
			seen[c] = true
			completions = append(completions, c)
		}
	}
	sort.Strings(completions)
	if len(completions) == 1 && !strings.HasSuffix(completions[0], "(") && !strings.HasPrefix(completions[0], "${") {
		completions[0] += " "
	}
	return head, completions, tail
}

// stmtContext is where the cursor stands: the words of the current
// statement before it, the block vocabulary ("", "wireguard", "peer")
// and the namespace an enclosing `in netns X <` names ("" for none).
type stmtContext struct {
	words  []string
	parent string
	ns     string
	top    bool // the statement is at the top level (REPL commands apply)
}

// scan reads text (the statement up to the cursor) into a stmtContext.
func scan(text string) stmtContext {
	type frame struct{ parent, ns string }
	stack := []frame{{}}
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(text) {
				i++
				cur.WriteByte(text[i])
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			cur.WriteByte(c)
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			i--
		case c == '\\' && i+1 < len(text) && text[i+1] == '\n':
			i++ // a continuation: the statement goes on
			flush()
		case c == ' ' || c == '\t':
			flush()
		case c == '\n' || c == ';':
			flush()
			words = nil
		case c == '<':
			flush()
			f := stack[len(stack)-1]
			f = blockFrame(f.parent, f.ns, words)
			stack = append(stack, frame(f))
			words = nil
		case c == '>':
			flush()
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			words = nil
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	top := stack[len(stack)-1]
	return stmtContext{words: words, parent: top.parent, ns: top.ns, top: len(stack) == 1}
}

// blockFrame is the context inside the block that the statement words
// opens, in the context (parent, ns).
func blockFrame(parent, ns string, words []string) struct{ parent, ns string } {
	if len(words) >= 3 && words[0] == "in" && words[1] == "netns" {
		return struct{ parent, ns string }{parent, words[2]}
	}
	if len(words) > 0 {
		switch {
		case words[0] == "wireguard" && parent == "":
			return struct{ parent, ns string }{"wireguard", ns}
		case words[0] == "peer" && parent == "wireguard":
			return struct{ parent, ns string }{"peer", ns}
		}
	}
	return struct{ parent, ns string }{parent, ns}
}

var scriptKeywords = []string{"let", "set", "if", "else", "for", "def", "include", "print", "assert", "fail", "exec", "show", "in", "del"}

var replCommands = []string{"begin", "commit", "rollback", "plan", "help", "exit"}

// candidates lists every word that may stand at the end of text.
func (r *REPL) candidates(text string) []string {
	sc := scan(text)
	ns := sc.ns
	if ns == "" {
		ns = r.sess.NS()
	}
	if ns == kernel.HostName {
		ns = kernel.Host
	}
	words := sc.words
	if len(words) > 0 && words[0] == "plan" && sc.top {
		words = words[1:]
	}
	if len(words) == 0 {
		return r.statementStart(sc)
	}
	switch words[0] {
	case "del":
		if len(words) == 1 {
			var vs []string
			for _, v := range lang.Verbs(sc.parent) {
				if lang.Lookup(sc.parent, v).Del {
					vs = append(vs, v)
				}
			}
			return vs
		}
		words = words[1:]
	case "help":
		if sc.top && len(words) == 1 {
			return helpTopics()
		}
		return nil
	case "show":
		switch {
		case len(words) == 1:
			return lang.ShowWhat
		case words[1] == "routes" && words[len(words)-1] == "table":
			return append(r.tables(ns), "all")
		case words[1] == "routes" && len(words) == 2:
			return []string{"table"}
		case words[1] == "wireguard" && len(words) == 2:
			return r.links(ns, "wireguard")
		}
		return nil
	case "in":
		switch len(words) {
		case 1:
			return []string{"netns"}
		case 2:
			if words[1] == "netns" {
				return append(r.namespaces(), kernel.HostName)
			}
		}
		return nil
	}
	s := lang.Lookup(sc.parent, words[0])
	if s == nil {
		return nil
	}
	return r.argCandidates(s, words[1:], ns)
}

// statementStart lists what may begin a statement in context sc.
func (r *REPL) statementStart(sc stmtContext) []string {
	out := append([]string(nil), lang.Verbs(sc.parent)...)
	out = append(out, scriptKeywords...)
	if sc.top {
		out = append(out, replCommands...)
	}
	for _, n := range builtins.Names() {
		out = append(out, n+"(")
	}
	for n := range r.funcs {
		out = append(out, n+"(")
	}
	return out
}

func helpTopics() []string {
	var out []string
	for _, p := range []string{"", "wireguard", "peer"} {
		out = append(out, lang.Verbs(p)...)
	}
	for _, ts := range [][]topic{scriptTopics, replTopics} {
		for _, t := range ts {
			out = append(out, t.name)
		}
	}
	return append(out, builtins.Names()...)
}

// argCandidates lists what may follow the arguments args of statement s.
func (r *REPL) argCandidates(s *lang.Schema, args []string, ns string) []string {
	kind := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "type" {
			kind = args[i+1]
		}
	}
	opts := append([]*lang.Param(nil), s.Options...)
	opts = append(opts, s.Kinds[kind]...)
	if len(args) > 0 {
		if p := findOption(opts, args[len(args)-1]); p != nil {
			if p.Flag {
				return r.optionNames(s, opts, args)
			}
			return r.values(p, ns)
		}
	}
	// Positionals come first: count the words that fill them.
	filled := 0
	for _, a := range args {
		if filled >= len(s.Positional) || findOption(opts, a) != nil {
			break
		}
		p := s.Positional[filled]
		if p.Optional && len(p.Enum) > 0 && !contains(p.Enum, a) {
			filled++ // an optional enum positional left out: a takes the next one
			if filled >= len(s.Positional) {
				break
			}
		}
		filled++
	}
	if filled < len(s.Positional) && (filled == len(args)) {
		var out []string
		for i := filled; i < len(s.Positional); i++ {
			p := s.Positional[i]
			out = append(out, r.values(p, ns)...)
			if !p.Optional {
				break
			}
		}
		return out
	}
	return r.optionNames(s, opts, args)
}

// optionNames lists the options of opts not given yet in args. Options
// that are only the canonical name of a keyword written after another
// (veth's `peer P netns NS` is peer-netns) are not words one types.
func (r *REPL) optionNames(s *lang.Schema, opts []*lang.Param, args []string) []string {
	internal := map[string]bool{}
	for _, m := range s.After {
		for _, renamed := range m {
			internal[renamed] = true
		}
	}
	var out []string
	for _, p := range opts {
		if internal[p.Name] || contains(args, p.Name) || containsAny(args, p.Aliases) {
			continue
		}
		out = append(out, p.Name)
	}
	return out
}

func findOption(opts []*lang.Param, word string) *lang.Param {
	for _, p := range opts {
		if p.Name == word || contains(p.Aliases, word) {
			return p
		}
	}
	return nil
}

// values lists the values of parameter p that completion can know.
func (r *REPL) values(p *lang.Param, ns string) []string {
	out := append([]string(nil), p.Words...)
	switch p.Type {
	case lang.TEnum:
		out = append(out, p.Enum...)
	case lang.TIfName:
		out = append(out, r.links(ns, "")...)
	case lang.TNetnsName:
		out = append(out, r.namespaces()...)
	case lang.TTable:
		out = append(out, r.tables(ns)...)
	case lang.TScope:
		out = append(out, "global", "site", "link", "host", "nowhere")
	}
	return out
}

// links lists the live links of ns (of one kind, unless kind is "").
func (r *REPL) links(ns, kind string) []string {
	ls, err := r.cfg.Kernel.Links(ns)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range ls {
		if kind == "" || l.Kind == kind {
			out = append(out, l.Name)
		}
	}
	return out
}

// namespaces lists the named namespaces.
func (r *REPL) namespaces() []string {
	nss, err := r.cfg.Kernel.Namespaces()
	if err != nil {
		return nil
	}
	return nss
}

// tables lists routing table names: the built-in ones, those of
// rt_tables, those this session declared (`table N name X`), and the
// tables that hold routes or are looked up by rules in ns (by name when
// they have one, else by number).
func (r *REPL) tables(ns string) []string {
	var out []string
	for n := range lang.BuiltinTables {
		out = append(out, n)
	}
	for n := range lang.ReadRTTables(kernel.DefaultTablesDir) {
		out = append(out, n)
	}
	for n := range r.declared {
		out = append(out, n)
	}
	ids := map[uint32]bool{}
	if rs, err := r.cfg.Kernel.Routes(ns); err == nil {
		for _, rt := range rs {
			ids[rt.Table] = true
		}
	}
	if rules, err := r.cfg.Kernel.Rules(ns); err == nil {
		for _, ru := range rules {
			ids[ru.Table] = true
		}
	}
	for id := range ids {
		if id == kernel.TableUnspec {
			continue
		}
		name := ""
		for n, d := range r.declared {
			if d == id {
				name = n
			}
		}
		if name == "" {
			name = r.cfg.Tables.Name(id)
		}
		if name == "" {
			name = strconv.FormatUint(uint64(id), 10)
		}
		out = append(out, name)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsAny(list, xs []string) bool {
	for _, x := range xs {
		if contains(list, x) {
			return true
		}
	}
	return false
}
