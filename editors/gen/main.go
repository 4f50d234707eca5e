// Command gen writes the keyword-dependent editor files of nets from
// lang's statement schema (lang.Schemas), so that the grammars never
// drift from the language:
//
//	editors/vim/syntax/nets.vim
//	editors/textmate/nets.tmLanguage.json
//	editors/vscode/syntaxes/nets.tmLanguage.json (a copy the extension ships)
//
// Run it with `go generate ./editors/...` (or `go run ./editors/gen`
// from the repository root). Its test fails when a committed file
// differs from what it would write, or lacks a keyword of the schema.
package main

//go:generate go run . -dir ..

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// outputs are the generated files, relative to the editors directory.
var outputs = []struct {
	path string
	gen  func(keywordSets) ([]byte, error)
}{
	{filepath.Join("vim", "syntax", "nets.vim"), vimSyntax},
	{filepath.Join("textmate", "nets.tmLanguage.json"), textMate},
	{filepath.Join("vscode", "syntaxes", "nets.tmLanguage.json"), textMate},
}

func main() {
	dir := flag.String("dir", "editors", "the editors directory to write into")
	flag.Parse()
	k := collect()
	for _, o := range outputs {
		b, err := o.gen(k)
		if err == nil {
			err = os.WriteFile(filepath.Join(*dir, o.path), b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
