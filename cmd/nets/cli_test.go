package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

func TestParseFlagsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		ns   string
		json bool
	}{
		{[]string{"x.nets"}, []string{"x.nets"}, "", false},
		{[]string{"-n", "lab", "x.nets", "--json"}, []string{"x.nets"}, "lab", true},
		{[]string{"x.nets", "-n", "lab"}, []string{"x.nets"}, "lab", false},
		{[]string{"x.nets", "--json", "y.nets"}, []string{"x.nets", "y.nets"}, "", true},
		{[]string{"-"}, []string{"-"}, "", false},
		{[]string{"--json", "--", "-n"}, []string{"-n"}, "", true},
		{[]string{"x.nets", "--", "--json"}, []string{"x.nets", "--json"}, "", false},
		// "--" as the value of -n is a value, not the end of the flags.
		{[]string{"-n", "--", "x.nets", "--json"}, []string{"x.nets"}, "--", true},
	} {
		var o runOpts
		pos, err := parseFlags(o.flags("run"), tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(pos, tc.pos) || o.ns != tc.ns || o.json != tc.json {
			t.Errorf("%q: got pos %q ns %q json %v, want %q %q %v", tc.args, pos, o.ns, o.json, tc.pos, tc.ns, tc.json)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"x", "-n"}, "flag needs an argument: -n"},
		{[]string{"--wait", "-1s", "x"}, `invalid value "-1s" for flag -wait: "-1s" is negative`},
		{[]string{"--var", "=3", "x"}, `invalid value "=3" for flag -var: "=3" is not NAME=VALUE`},
		{[]string{"--var", "a-b=3", "x"}, `invalid value "a-b=3" for flag -var: "a-b" is not a variable name (a letter or _, then letters, digits or _, as in $uplink)`},
		{[]string{"--var", "1x=2", "x"}, `invalid value "1x=2" for flag -var: "1x" is not a variable name (a letter or _, then letters, digits or _, as in $uplink)`},
		{[]string{"--var", "a=1", "--var", "a=2", "x"}, `invalid value "a=2" for flag -var: a given twice`},
		{[]string{"--confirm", "0", "x"}, `invalid value "0" for flag -confirm: the duration must be more than 0`},
		{[]string{"--confirm", "-1m", "x"}, `invalid value "-1m" for flag -confirm: "-1m" is negative`},
	} {
		var o runOpts
		_, err := parseFlags(o.flags("run"), tc.args)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.args, err, tc.want)
		}
	}
}

func TestVarsFlag(t *testing.T) {
	var o runOpts
	if _, err := parseFlags(o.flags("run"), []string{"--var", "a=1", "--var", "$b=x=y", "--var", "_c9=", "f"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.vars.names, []string{"a", "b", "_c9"}) || o.vars.values["a"] != "1" || o.vars.values["b"] != "x=y" || o.vars.values["_c9"] != "" {
		t.Errorf("got %q %q", o.vars.names, o.vars.values)
	}
	for _, bad := range []string{"1x", "a-b", "a.b", "é", "$", "x y"} {
		if isVarName(bad) {
			t.Errorf("isVarName(%q) = true", bad)
		}
	}
}

func TestColor(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		tty  bool
		env  func(string) (string, bool)
		want bool
	}{
		{true, env(), true},
		{false, env(), false},
		{true, env("NO_COLOR", "1"), false},
		{true, env("NO_COLOR", ""), true}, // no-color.org: set and not empty
		{true, env("TERM", "dumb"), false},
	} {
		c := &cli{stdoutTTY: tc.tty, getenv: tc.env}
		if got := c.useColor(); got != tc.want {
			t.Errorf("tty=%v: useColor = %v, want %v", tc.tty, got, tc.want)
		}
	}

	var out bytes.Buffer
	o := &output{c: &cli{stdout: &out}, color: true}
	o.change(kernel.Change{Mark: '+', Text: "link a type bridge"})
	o.change(kernel.Change{Mark: '-', Text: "link b type bridge"})
	o.change(kernel.Change{Mark: '~', NS: "lab", Text: "link c mtu 1500 -> 9000"})
	want := "\x1b[32m+\x1b[0m link a type bridge\n" +
		"\x1b[31m-\x1b[0m link b type bridge\n" +
		"\x1b[33m~\x1b[0m in netns lab < link c mtu 1500 -> 9000 >\n"
	if out.String() != want {
		t.Errorf("coloured output:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestDisplayRelativeToNS(t *testing.T) {
	o := &output{ns: "lab"}
	for _, tc := range []struct {
		ch   kernel.Change
		want string
	}{
		{kernel.Change{Mark: '+', NS: "lab", Text: "link a type bridge"}, "+ link a type bridge"},
		{kernel.Change{Mark: '+', NS: "", Text: "link a type bridge"}, "+ in netns host < link a type bridge >"},
		{kernel.Change{Mark: '+', NS: "other", Text: "link a type bridge"}, "+ in netns other < link a type bridge >"},
	} {
		if got := o.display(tc.ch); got != tc.want {
			t.Errorf("display(%+v) = %q, want %q", tc.ch, got, tc.want)
		}
	}
}

func TestCheckTableNames(t *testing.T) {
	dir := t.TempDir()
	old := tablesDir
	tablesDir = dir
	defer func() { tablesDir = old }()
	if err := os.MkdirAll(filepath.Join(dir, "rt_tables.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "rt_tables"), []byte("255 local\n254 main\n# comment\n100 gaming # trailing\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "rt_tables.d", "vpn.conf"), []byte("200 vpn\n"), 0o644)
	for _, tc := range []struct {
		src, want string
	}{
		{"route default dev x table gaming\nroute default dev x table vpn\nrule fwmark 1 lookup gaming\n", ""},
		{"route default dev x table nosuch\n", "t.nets:1:27: unknown table \"nosuch\""},
	} {
		f, err := lang.Parse("t.nets", []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		ds := checkRecipe(f, nil)
		switch {
		case tc.want == "" && len(ds) > 0:
			t.Errorf("%q: %v", tc.src, ds)
		case tc.want != "" && (len(ds) == 0 || !strings.HasPrefix(ds[0].Error(), tc.want)):
			t.Errorf("%q: got %v, want %s...", tc.src, ds, tc.want)
		}
	}
}

func TestHelpCoversEveryCommand(t *testing.T) {
	for _, c := range commands {
		if c.hidden {
			continue
		}
		h := help[c.name]
		if h == nil {
			t.Errorf("command %s has no help", c.name)
			continue
		}
		var b bytes.Buffer
		printHelp(&b, c.name)
		if !strings.HasPrefix(b.String(), "Usage:\n  nets ") || !strings.Contains(b.String(), "Exit status:") {
			t.Errorf("help of %s:\n%s", c.name, b.String())
		}
	}
}
