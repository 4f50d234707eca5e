package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// stdinName is the file name diagnostics use for a recipe read from stdin.
const stdinName = "<stdin>"

// sources reads and remembers recipe sources by file name, so that
// diagnostics can show the offending line of the recipe or of any file it
// includes.
type sources map[string][]byte

// lookup returns the text of the file called name (reading included
// files on first use), or nil.
func (s sources) lookup(name string) []byte {
	if b, ok := s[name]; ok {
		return b
	}
	if name == "" || name == stdinName {
		return nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		b = nil
	}
	s[name] = b
	return b
}

// recipe is a parsed (and possibly checked) recipe.
type recipe struct {
	name string // file name as diagnostics show it
	file *lang.File
	src  sources
}

// readRecipe reads path ("-" for stdin).
func (c *cli) readRecipe(path string) (name string, src []byte, err error) {
	if path == "-" {
		src, err = io.ReadAll(c.stdin)
		if err != nil {
			return "", nil, fmt.Errorf("reading stdin: %w", err)
		}
		return stdinName, src, nil
	}
	src, err = os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	return path, src, nil
}

// loadRecipe reads and parses path. The error is the read error or the
// lang.Diagnostics of every syntax error; r is nil then, except that
// r.src is usable to render the diagnostics (see renderError).
func (c *cli) loadRecipe(path string) (*recipe, error) {
	name, src, err := c.readRecipe(path)
	if err != nil {
		return nil, err
	}
	r := &recipe{name: name, src: sources{name: src}}
	r.file, err = lang.Parse(name, src)
	if err != nil {
		return &recipe{name: name, src: r.src}, err
	}
	return r, nil
}

// parseRecipe is loadRecipe rendering its error to w; it returns nil on
// failure.
func (c *cli) parseRecipe(w io.Writer, path string) *recipe {
	r, err := c.loadRecipe(path)
	if err != nil {
		var src sources
		if r != nil {
			src = r.src
		}
		renderError(w, err, src)
		return nil
	}
	return r
}

// check checks r statically; on errors it renders all of them to w and
// returns false.
func (r *recipe) check(w io.Writer, vars map[string]value.Value) bool {
	ds := checkRecipe(r.file, vars)
	if len(ds) == 0 {
		return true
	}
	lang.RenderAll(w, ds, r.src.lookup)
	return false
}

// renderError writes err: every lang.Diagnostic in it with its source
// line and caret, or the plain error as "nets: ...".
func renderError(w io.Writer, err error, src sources) {
	ds := diagnostics(err)
	if len(ds) == 0 {
		fmt.Fprintf(w, "nets: %v\n", err)
		return
	}
	lookup := func(string) []byte { return nil }
	if src != nil {
		lookup = src.lookup
	}
	lang.RenderAll(w, ds, lookup)
}

// diagnostics extracts the diagnostics err carries (a lang.Diagnostics
// list, or one lang.Diagnostic anywhere in its chain).
func diagnostics(err error) []lang.Diagnostic {
	var ds lang.Diagnostics
	if errors.As(err, &ds) {
		return ds
	}
	var d lang.Diagnostic
	if errors.As(err, &d) {
		return []lang.Diagnostic{d}
	}
	var pd *lang.Diagnostic
	if errors.As(err, &pd) && pd != nil {
		return []lang.Diagnostic{*pd}
	}
	return nil
}

// tablesDir is where rt_tables is read from (a variable for tests).
var tablesDir = kernel.DefaultTablesDir

// checkRecipe checks f statically exactly as eval's embedders do
// (eval.Check): the builtins, the variables given with --var, includes
// from the OS file system, and the routing table names of
// tablesDir/rt_tables and rt_tables.d/*.conf.
func checkRecipe(f *lang.File, vars map[string]value.Value) lang.Diagnostics {
	o := eval.Options{Vars: vars}
	if names, err := kernel.LoadTableNames(tablesDir); err == nil {
		o.Tables = names
	}
	return eval.Check(f, o)
}

// checkOpts are the flags of check.
type checkOpts struct {
	vars varsFlag
}

func (o *checkOpts) flags() *flag.FlagSet {
	fs := newFlags("check")
	fs.Var(&o.vars, "var", "define the recipe variable `NAME=VALUE` ($NAME); repeatable")
	return fs
}

func (c *cli) cmdCheck(args []string) int {
	var o checkOpts
	files, err := parseFlags(o.flags(), args)
	if err != nil {
		return c.flagErr("check", err)
	}
	if len(files) == 0 {
		return c.usage("check", errors.New("no recipe file given"))
	}
	status := exitOK
	for _, path := range files {
		r := c.parseRecipe(c.stderr, path)
		if r == nil || !r.check(c.stderr, o.vars.valueMap()) {
			status = exitFail
		}
	}
	return status
}

// fmtOpts are the flags of fmt.
type fmtOpts struct {
	write, list, check bool
}

func (o *fmtOpts) flags() *flag.FlagSet {
	fs := newFlags("fmt")
	fs.BoolVar(&o.write, "w", false, "write the result back to each FILE instead of printing it (files already formatted are not touched)")
	fs.BoolVar(&o.list, "l", false, "list the files whose formatting differs instead of printing them")
	fs.BoolVar(&o.check, "check", false, "like -l, and exit 1 when any file is not formatted")
	return fs
}

func (c *cli) cmdFmt(args []string) int {
	var o fmtOpts
	files, err := parseFlags(o.flags(), args)
	if err != nil {
		return c.flagErr("fmt", err)
	}
	switch {
	case len(files) == 0:
		return c.usage("fmt", errors.New("no recipe file given (use - for stdin)"))
	case o.check && o.write:
		return c.usage("fmt", errors.New("--check and -w cannot be combined"))
	}
	status := exitOK
	for _, path := range files {
		if path == "-" && o.write {
			return c.usage("fmt", errors.New("-w cannot rewrite stdin"))
		}
		r := c.parseRecipe(c.stderr, path)
		if r == nil {
			status = exitFail
			continue
		}
		src := r.src[r.name]
		out := lang.Format(r.file)
		differs := !bytes.Equal(out, src)
		if (o.list || o.check) && differs {
			fmt.Fprintln(c.stdout, path)
			if o.check {
				status = exitFail
			}
		}
		switch {
		case o.write && differs:
			if err := writeFileAtomic(path, out); err != nil {
				c.errorf("%v", err)
				status = exitFail
			}
		case !o.write && !o.list && !o.check:
			c.stdout.Write(out)
		}
	}
	return status
}

// writeFileAtomic replaces path's contents with data, keeping its mode:
// it writes a temporary file in the same directory and renames it over
// path, so an interrupted write never leaves a truncated recipe.
func writeFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
