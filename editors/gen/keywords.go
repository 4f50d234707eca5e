package main

import (
	"sort"
	"strings"

	"github.com/nets-lang/nets/lang"
)

// The scripting keywords are the parser's reserved words, split the way
// editors colour them. lang keeps its list unexported (isKeyword);
// TestScriptKeywordsMatchLang reads it from lang's source and fails when
// these lists differ from it.
var (
	// controlWords start scripting statements (and `else`, `in`).
	controlWords = []string{"let", "set", "if", "else", "for", "in", "def", "include", "print", "assert", "fail", "exec", "show", "del"}
	// operatorWords are the word operators of expressions.
	operatorWords = []string{"and", "or", "not"}
	// boolWords are the boolean literals.
	boolWords = []string{"true", "false"}
	// namespaceWords are words with a meaning of their own in some
	// position: `in netns host`.
	namespaceWords = []string{"host"}
)

// keywordSets are the words the grammars highlight, each word in one set
// only (the first that has it, in this order: control, operator, verb,
// option, value), sorted.
type keywordSets struct {
	Control, Operator, Verb, Option, Value, Builtin []string
}

// collect reads the keyword sets from lang: the statement verbs of every
// block context, their keyword options (with ip(8) aliases) including the
// per-kind options of `link ... type KIND`, and the values: enums, literal
// words like `default` and `all`, link kinds, `show` topics, built-in table
// names, booleans and `host`. Builtin functions come from
// lang.DefaultBuiltins.
func collect() keywordSets {
	seen := map[string]bool{}
	take := func(words []string) []string {
		var out []string
		for _, w := range words {
			if w != "" && !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
		sort.Strings(out)
		return out
	}
	var verbs, options, values []string
	for _, s := range lang.Schemas() {
		verbs = append(verbs, s.Verb)
		// Names After renames to (veth's peer-netns) are no keywords
		// written in a recipe.
		renamed := map[string]bool{}
		for _, m := range s.After {
			for _, to := range m {
				renamed[to] = true
			}
		}
		params := append([]*lang.Param{}, s.Options...)
		for _, ps := range s.Kinds {
			params = append(params, ps...)
		}
		for _, p := range params {
			if !renamed[p.Name] {
				options = append(options, p.Name)
			}
			options = append(options, p.Aliases...)
		}
		for _, p := range append(params, s.Positional...) {
			values = append(values, p.Enum...)
			values = append(values, p.Words...)
		}
	}
	values = append(values, lang.LinkKinds...)
	values = append(values, lang.ShowWhat...)
	for name := range lang.BuiltinTables {
		values = append(values, name)
	}
	values = append(values, boolWords...)
	values = append(values, namespaceWords...)
	var builtins []string
	for name := range lang.DefaultBuiltins {
		builtins = append(builtins, name)
	}
	sort.Strings(builtins)
	return keywordSets{
		Control:  take(controlWords),
		Operator: take(operatorWords),
		Verb:     take(verbs),
		Option:   take(options),
		Value:    take(values),
		Builtin:  builtins,
	}
}

// all returns every keyword of every set except the builtins.
func (k keywordSets) all() []string {
	var out []string
	for _, s := range [][]string{k.Control, k.Operator, k.Verb, k.Option, k.Value} {
		out = append(out, s...)
	}
	return out
}

// alt renders words as a regexp alternation, longest first so that a
// prefix (peer) never wins over a longer word (peer-netns) where a regexp
// engine takes the first alternative that matches.
func alt(words []string) string {
	w := append([]string{}, words...)
	sort.SliceStable(w, func(i, j int) bool { return len(w[i]) > len(w[j]) })
	for i := range w {
		w[i] = strings.ReplaceAll(w[i], ".", `\.`)
	}
	return strings.Join(w, "|")
}
