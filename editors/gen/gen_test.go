package main

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nets-lang/nets/lang"
)

// TestGenerated fails when a committed file is not what gen writes
// (run `go generate ./editors/...`).
func TestGenerated(t *testing.T) {
	k := collect()
	for _, o := range outputs {
		want, err := o.gen(k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", o.path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("editors/%s is out of date: run `go generate ./editors/...`", o.path)
		}
	}
}

// schemaKeywords lists, straight from lang (not through collect), every
// word a recipe may write as a statement verb, keyword option (with
// aliases, per-kind options of link) or enumerated value.
func schemaKeywords() []string {
	var out []string
	for _, s := range lang.Schemas() {
		out = append(out, s.Verb)
		renamed := map[string]bool{}
		for _, m := range s.After {
			for from, to := range m {
				renamed[to] = true
				out = append(out, from)
			}
		}
		ps := append(append([]*lang.Param{}, s.Options...), s.Positional...)
		for _, kps := range s.Kinds {
			ps = append(ps, kps...)
		}
		for _, p := range ps {
			if p.Name != "" && !renamed[p.Name] && !contains(s.Positional, p) {
				out = append(out, p.Name)
			}
			out = append(out, p.Aliases...)
			out = append(out, p.Enum...)
			out = append(out, p.Words...)
		}
	}
	out = append(out, lang.LinkKinds...)
	return append(out, lang.ShowWhat...)
}

func contains(ps []*lang.Param, p *lang.Param) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TestCommittedHaveSchemaKeywords fails when the committed Vim syntax or
// TextMate grammar lacks a keyword of lang's schema.
func TestCommittedHaveSchemaKeywords(t *testing.T) {
	vim, err := os.ReadFile("../vim/syntax/nets.vim")
	if err != nil {
		t.Fatal(err)
	}
	vimWords := map[string]bool{}
	for _, line := range strings.Split(string(vim), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "syn" && f[1] == "keyword" {
			for _, w := range f[3:] {
				vimWords[w] = true
			}
		}
		if m := regexp.MustCompile(`^syn match netsValue /\\v<([a-z_-]+)>`).FindStringSubmatch(line); m != nil {
			vimWords[m[1]] = true
		}
	}

	raw, err := os.ReadFile("../textmate/nets.tmLanguage.json")
	if err != nil {
		t.Fatal(err)
	}
	var g grammar
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("nets.tmLanguage.json: %v", err)
	}
	tmWords := map[string]bool{}
	alts := regexp.MustCompile(`\(\?:([^()]*)\)`)
	for _, r := range g.Repository["keywords"].Patterns {
		for _, m := range alts.FindAllStringSubmatch(r.Match, -1) {
			for _, w := range strings.Split(m[1], "|") {
				tmWords[strings.ReplaceAll(w, `\.`, ".")] = true
			}
		}
	}
	for _, w := range schemaKeywords() {
		if !vimWords[w] {
			t.Errorf("nets.vim lacks the keyword %q", w)
		}
		if !tmWords[w] {
			t.Errorf("nets.tmLanguage.json lacks the keyword %q", w)
		}
	}
	if len(tmWords) < 50 {
		t.Errorf("only %d keywords found in the TextMate grammar", len(tmWords))
	}
}

// expectation: on sample line line, the nth (from 0) occurrence of word
// is highlighted as the Vim group vim and carries the TextMate scope tm
// ("" for neither: plain text of the base scope only).
type expectation struct {
	line    int
	word    string
	nth     int
	vim, tm string
}

var expectations = []expectation{
	{1, "#", 0, "netsComment", "comment.line.number-sign.nets"},
	{1, "link", 0, "netsComment", "comment.line.number-sign.nets"},
	{2, "let", 0, "netsControl", "keyword.control.nets"},
	{2, `"isp2"`, 0, "netsString", "string.quoted.double.nets"},
	{3, "table", 0, "netsVerb", "keyword.other.statement.nets"},
	{3, "100", 0, "netsNumber", "constant.numeric.integer.nets"},
	{3, "name", 0, "netsOption", "variable.parameter.option.nets"},
	{3, "gaming", 0, "", ""},
	{4, "link", 0, "netsVerb", "keyword.other.statement.nets"},
	{4, "veth-link", 0, "", ""},
	{4, "link", 1, "", ""},
	{4, "type", 0, "netsOption", "variable.parameter.option.nets"},
	{4, "veth", 1, "netsValue", "constant.language.nets"},
	{4, "peer", 0, "netsVerb", "keyword.other.statement.nets"},
	{4, "vpeer-", 0, "", ""},
	{4, "${", 0, "netsInterpDelim", "punctuation.section.interpolation.begin.nets"},
	{4, "idx", 0, "netsInterp", "meta.interpolation.nets"},
	{4, "netns", 0, "netsVerb", "keyword.other.statement.nets"},
	{5, "10.0.0.1/24", 0, "netsAddress", "constant.other.address.ipv4.nets"},
	{5, "dev", 0, "netsOption", "variable.parameter.option.nets"},
	{5, "$uplink", 0, "netsVariable", "variable.other.nets"},
	{6, "fe80::1/64", 0, "netsAddress", "constant.other.address.ipv6.nets"},
	{7, "10.0.0.2", 0, "netsAddress", "constant.other.address.ipv4.nets"},
	{7, "lladdr", 0, "netsOption", "variable.parameter.option.nets"},
	{7, "aa:bb:cc:dd:ee:ff", 0, "netsMAC", "constant.other.mac.nets"},
	{8, "fwmark", 0, "netsVerb", "keyword.other.statement.nets"},
	{8, "0x1/0xff", 0, "netsHex", "constant.numeric.hex.nets"},
	{8, "lookup", 0, "netsOption", "variable.parameter.option.nets"},
	{8, "priority", 0, "netsOption", "variable.parameter.option.nets"},
	{9, "default", 0, "netsValue", "constant.language.nets"},
	{9, "192.0.2.1", 0, "netsAddress", "constant.other.address.ipv4.nets"},
	{9, "isp2", 0, "", ""},
	{10, "wireguard", 0, "netsVerb", "keyword.other.statement.nets"},
	{10, "<", 0, "netsBlock", "punctuation.section.block.nets"},
	{11, "private-key", 0, "netsVerb", "keyword.other.statement.nets"},
	{11, "readkey", 0, "netsBuiltin", "support.function.builtin.nets"},
	{11, `"a.key"`, 0, "netsString", "string.quoted.double.nets"},
	{12, "pubkey", 0, "netsBuiltin", "support.function.builtin.nets"},
	{12, "$kb", 0, "netsVariable", "variable.other.nets"},
	{13, "endpoint", 0, "netsVerb", "keyword.other.statement.nets"},
	{13, "[2001:db8::1]:51820", 0, "netsAddress", "constant.other.endpoint.nets"},
	{14, "persistent-keepalive", 0, "netsVerb", "keyword.other.statement.nets"},
	{14, "25s", 0, "netsDuration", "constant.numeric.duration.nets"},
	{17, "in", 0, "netsControl", "keyword.control.nets"},
	{17, "host", 0, "netsValue", "constant.language.nets"},
	{17, "print", 0, "netsControl", "keyword.control.nets"},
	{17, "peer ", 0, "netsString", "string.quoted.double.nets"},
	{17, "host", 1, "netsBuiltin", "support.function.builtin.nets"},
	{17, "10.0.0.0/24", 0, "netsAddress", "constant.other.address.ipv4.nets"},
	{17, ` ok`, 0, "netsString", "string.quoted.double.nets"},
	{17, `\n`, 0, "netsEscape", "constant.character.escape.nets"},
	{18, "def", 0, "netsControl", "keyword.control.def.nets"},
	{18, "pair", 0, "netsFunction", "entity.name.function.nets"},
	{19, "pair", 0, "netsCall", "entity.name.function.call.nets"},
	{19, "left", 0, "", ""},
	{20, "if", 0, "netsControl", "keyword.control.nets"},
	{20, ">=", 0, "netsComparison", "keyword.operator.comparison.nets"},
	{20, "and", 0, "netsOperatorWord", "keyword.operator.word.nets"},
	{20, "not", 0, "netsOperatorWord", "keyword.operator.word.nets"},
	{20, "false", 0, "netsValue", "constant.language.nets"},
	{21, "sport", 0, "netsOption", "variable.parameter.option.nets"},
	{21, "1000-2000", 0, "netsNumber", "constant.numeric.integer.nets"},
	{21, "main", 0, "netsValue", "constant.language.nets"},
}

// column returns the 0-based byte column of e's word on its line.
func (e expectation) column(t *testing.T, lines []string) int {
	line := lines[e.line-1]
	col := -1
	for i := 0; i <= e.nth; i++ {
		n := strings.Index(line[col+1:], e.word)
		if n < 0 {
			t.Fatalf("sample line %d has no occurrence %d of %q", e.line, e.nth, e.word)
		}
		col += 1 + n
	}
	return col
}

func sampleLines(t *testing.T) []string {
	b, err := os.ReadFile("testdata/sample.nets")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestVimSyntax opens the sample in Vim with editors/vim on the
// runtimepath (so ftdetect sets the filetype) and reads the syntax group
// at the first and last character of each expectation's word.
func TestVimSyntax(t *testing.T) {
	vim, err := exec.LookPath("vim")
	if err != nil {
		t.Skip("vim is not installed")
	}
	lines := sampleLines(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	rtp, err := filepath.Abs("../vim")
	if err != nil {
		t.Fatal(err)
	}
	var q strings.Builder
	q.WriteString("let out = [&filetype]\n")
	for _, e := range expectations {
		c := e.column(t, lines)
		for _, col := range []int{c, c + len(e.word) - 1} {
			q.WriteString("call add(out, synIDattr(synID(" + strconv.Itoa(e.line) + ", " + strconv.Itoa(col+1) + ", 1), 'name'))\n")
		}
	}
	q.WriteString("call writefile(out, " + strconv.Quote(out) + ")\n")
	script := filepath.Join(dir, "query.vim")
	if err := os.WriteFile(script, []byte(q.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vim, "-u", "NONE", "-i", "NONE", "-N", "-n", "-Es",
		"--cmd", "set rtp^="+rtp, "-c", "filetype on", "-c", "syntax on",
		"-c", "edit testdata/sample.nets", "-c", "source "+script, "-c", "qa!")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vim: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("vim wrote no result: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if got[0] != "nets" {
		t.Fatalf("filetype is %q, want nets (ftdetect)", got[0])
	}
	for i, e := range expectations {
		for j, where := range []string{"first", "last"} {
			if g := got[1+2*i+j]; g != e.vim {
				t.Errorf("line %d %q (%s char): Vim group %q, want %q", e.line, e.word, where, g, e.vim)
			}
		}
	}
}

// TestTextMateGrammar tokenizes the sample with the committed grammar
// (testdata/tokenize.js, run by node) and checks the scopes at
// the first and last character of each expectation's word: the scope
// must be among those there (the base scope alone for plain words).
func TestTextMateGrammar(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	lines := sampleLines(t)
	b, err := exec.Command(node, "testdata/tokenize.js", "../textmate/nets.tmLanguage.json", "testdata/sample.nets").CombinedOutput()
	if err != nil {
		t.Fatalf("tokenize.js: %v\n%s", err, b)
	}
	var scopes [][][]string
	if err := json.Unmarshal(b, &scopes); err != nil {
		t.Fatalf("tokenize.js output: %v", err)
	}
	for _, e := range expectations {
		c := e.column(t, lines)
		for _, col := range []int{c, c + len(e.word) - 1} {
			s := scopes[e.line-1][col]
			switch {
			case e.tm == "" && len(s) != 1:
				t.Errorf("line %d %q col %d: scopes %v, want only the base scope", e.line, e.word, col, s)
			case e.tm != "" && !slices.Contains(s, e.tm):
				t.Errorf("line %d %q col %d: scopes %v, want %q among them", e.line, e.word, col, s, e.tm)
			}
		}
	}
}

// TestVSCodeExtension checks the extension's manifest points at the
// grammar and the language configuration, and that both parse.
func TestVSCodeExtension(t *testing.T) {
	var pkg struct {
		Contributes struct {
			Languages []struct {
				ID            string   `json:"id"`
				Extensions    []string `json:"extensions"`
				Configuration string   `json:"configuration"`
			} `json:"languages"`
			Grammars []struct {
				Language, ScopeName, Path string
			} `json:"grammars"`
		} `json:"contributes"`
	}
	readJSON(t, "../vscode/package.json", &pkg)
	c := pkg.Contributes
	if len(c.Languages) != 1 || c.Languages[0].ID != "nets" || !slices.Contains(c.Languages[0].Extensions, ".nets") {
		t.Fatalf("package.json languages: %+v", c.Languages)
	}
	var conf struct {
		Comments struct{ LineComment string }
		Brackets [][2]string
	}
	readJSON(t, filepath.Join("../vscode", c.Languages[0].Configuration), &conf)
	if conf.Comments.LineComment != "#" || len(conf.Brackets) != 4 {
		t.Errorf("language-configuration.json: %+v", conf)
	}
	if len(c.Grammars) != 1 {
		t.Fatalf("package.json grammars: %+v", c.Grammars)
	}
	var g grammar
	readJSON(t, filepath.Join("../vscode", c.Grammars[0].Path), &g)
	if g.ScopeName != c.Grammars[0].ScopeName || c.Grammars[0].Language != "nets" {
		t.Errorf("grammar scope %q, package.json says %+v", g.ScopeName, c.Grammars[0])
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTextMateExamples tokenizes every example recipe: the grammar must
// get through each (no pattern that fails to advance, no JavaScript
// regexp error) and leave no comment line outside a comment scope.
func TestTextMateExamples(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	files, err := filepath.Glob("../../examples/*.nets")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		b, err := exec.Command(node, "testdata/tokenize.js", "../textmate/nets.tmLanguage.json", f).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", f, err, b)
			continue
		}
		var scopes [][][]string
		if err := json.Unmarshal(b, &scopes); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "#") && !slices.Contains(scopes[i][len(line)-1], "comment.line.number-sign.nets") {
				t.Errorf("%s:%d: comment line ends in scopes %v", f, i+1, scopes[i][len(line)-1])
			}
		}
	}
}

// TestVimIndent reindents testdata/indent.nets, stripped of its
// indentation, with editors/vim (ftplugin and indent on) and compares.
func TestVimIndent(t *testing.T) {
	vim, err := exec.LookPath("vim")
	if err != nil {
		t.Skip("vim is not installed")
	}
	want, err := os.ReadFile("testdata/indent.nets")
	if err != nil {
		t.Fatal(err)
	}
	var flat []string
	for _, l := range strings.Split(string(want), "\n") {
		flat = append(flat, strings.TrimLeft(l, " "))
	}
	file := filepath.Join(t.TempDir(), "flat.nets")
	if err := os.WriteFile(file, []byte(strings.Join(flat, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	rtp, err := filepath.Abs("../vim")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vim, "-u", "NONE", "-i", "NONE", "-N", "-n", "-Es",
		"--cmd", "set rtp^="+rtp, "-c", "filetype plugin indent on",
		"-c", "edit "+file, "-c", "set sw=2 et", "-c", "normal gg=G",
		"-c", "if &commentstring !=# '# %s' | cquit | endif", "-c", "wq")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vim: %v (commentstring not set by the ftplugin?)\n%s", err, b)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Vim indents:\n%s\nwant:\n%s", got, want)
	}
}

// TestScriptKeywordsMatchLang reads the parser's reserved words from
// lang's source (lang keeps them unexported: the isKeyword function) and
// checks that gen highlights each, so that a keyword added to the
// language cannot be missed here.
func TestScriptKeywordsMatchLang(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../../lang", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reserved []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Name.Name != "isKeyword" {
					continue
				}
				ast.Inspect(fn, func(n ast.Node) bool {
					if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil {
							reserved = append(reserved, s)
						}
					}
					return true
				})
			}
		}
	}
	if len(reserved) < 10 {
		t.Fatalf("found %d reserved words in lang's isKeyword (%v): has it moved? Update this test and controlWords", len(reserved), reserved)
	}
	ours := append(append([]string{}, controlWords...), operatorWords...)
	for _, w := range reserved {
		if !slices.Contains(ours, w) {
			t.Errorf("lang reserves %q, which gen's controlWords/operatorWords lack", w)
		}
	}
	for _, w := range ours {
		if !slices.Contains(reserved, w) {
			t.Errorf("gen highlights %q as a keyword, which lang does not reserve", w)
		}
	}
}
