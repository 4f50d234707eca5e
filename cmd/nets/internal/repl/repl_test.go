package repl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// scriptReader is a LineReader that types the lines of a script and
// echoes each prompt with the line after it into the transcript, as a
// terminal shows them. "^C" stands for Ctrl-C, "^D" for Ctrl-D; the end
// of the script is Ctrl-D too.
type scriptReader struct {
	lines       []string
	out         io.Writer
	interactive bool
	history     []string
}

func (s *scriptReader) ReadLine(prompt string) (string, error) {
	if len(s.lines) == 0 {
		fmt.Fprintf(s.out, "%s^D\n", prompt)
		return "", io.EOF
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	fmt.Fprintf(s.out, "%s%s\n", prompt, l)
	switch l {
	case "^C":
		return "", ErrInterrupted
	case "^D":
		return "", io.EOF
	}
	return l, nil
}

func (s *scriptReader) Interactive() bool { return s.interactive }

func (s *scriptReader) AppendHistory(e string) { s.history = append(s.history, e) }

// session is a REPL on an in-memory kernel with its transcript.
type session struct {
	t   *testing.T
	k   *kernel.Model
	r   *REPL
	out *bytes.Buffer
}

func newSession(t *testing.T) *session {
	t.Helper()
	k := kernel.NewModel()
	out := &bytes.Buffer{}
	r, err := New(Config{
		Kernel: k,
		Tables: kernel.NewTableNames(),
		Tx:     txn.Options{NoJournal: true},
		Stdout: out,
		Stderr: out,
		Getenv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &session{t: t, k: k, r: r, out: out}
}

// run types script (one line per line; see scriptReader) and returns the
// transcript and the exit status.
func (s *session) run(script string, interactive bool) (*scriptReader, int) {
	s.t.Helper()
	in := &scriptReader{lines: strings.Split(strings.TrimPrefix(script, "\n"), "\n"), out: s.out, interactive: interactive}
	if in.lines[len(in.lines)-1] == "" {
		in.lines = in.lines[:len(in.lines)-1]
	}
	status := s.r.Run(in)
	return in, status
}

// expect runs script non-interactively and compares the transcript.
func (s *session) expect(script, want string) {
	s.t.Helper()
	s.out.Reset()
	s.run(script, false)
	got := s.out.String()
	want = strings.TrimPrefix(want, "\n")
	if got != want {
		s.t.Errorf("transcript differs\n--- got:\n%s\n--- want:\n%s", got, want)
	}
}

func (s *session) dump(ns string) string {
	s.t.Helper()
	d, err := kernel.DumpState(s.k, ns)
	if err != nil {
		s.t.Fatal(err)
	}
	return d
}

func TestContinuation(t *testing.T) {
	s := newSession(t)
	s.expect(`
netns gaming
in netns gaming <
  link br0 type bridge
  link v0 type veth \
      peer v1 \
      mtu 1400
>
link x type bridge \
mtu 9000
in netns gaming <
link never type bridge
^C
show links
`, `
nets[host]> netns gaming
+ netns gaming
nets[host]> in netns gaming <
..........>   link br0 type bridge
..........>   link v0 type veth \
..........>       peer v1 \
..........>       mtu 1400
..........> >
+ in netns gaming < link br0 type bridge >
+ in netns gaming < link v0 type veth peer v1 mtu 1400 >
nets[host]> link x type bridge \
..........> mtu 9000
+ link x type bridge mtu 9000
nets[host]> in netns gaming <
..........> link never type bridge
..........> ^C
# abandoned the unfinished statement
nets[host]> show links
link lo down
link x type bridge down mtu 9000 address 02:6e:65:00:00:04
nets[host]> ^D
`)
	if d := s.dump("gaming"); strings.Contains(d, "never") {
		t.Errorf("the abandoned block ran:\n%s", d)
	}
}

func TestErrorsKeepTheSessionAlive(t *testing.T) {
	s := newSession(t)
	s.expect(`
route 10.0.0.300/8 dev lo
lnik a up
$nope + 1
link v0 type veth peer v1
link v0 master nothere
fail "boom"
let n = 2
assert ($n > 3), "need more"
print $n
`, `
nets[host]> route 10.0.0.300/8 dev lo
<input 1>:1:7: "10.0.0.300" is not an IP address
 1 | route 10.0.0.300/8 dev lo
   |       ^~~~~~~~~~~~
nets[host]> lnik a up
<input 2>:1:1: unknown statement "lnik"
 1 | lnik a up
   | ^~~~
   = hint: did you mean `+"`link`"+`?
nets[host]> $nope + 1
<input 3>:1:1: undefined variable $nope
 1 | $nope + 1
   | ^~~~~
nets[host]> link v0 type veth peer v1
+ link v0 type veth peer v1
nets[host]> link v0 master nothere
<input 5>:1:16: there is no link nothere
 1 | link v0 master nothere
   |                ^~~~~~~
   = hint: create it first (`+"`link nothere type ...`"+`), or check the name
nets[host]> fail "boom"
<input 6>:1:1: boom
 1 | fail "boom"
   | ^~~~~~~~~~~
nets[host]> let n = 2
nets[host]> assert ($n > 3), "need more"
<input 8>:1:1: assertion failed: need more
 1 | assert ($n > 3), "need more"
   | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~
nets[host]> print $n
2
nets[host]> ^D
`)
}

// A statement that fails after changing something is rolled back as a
// whole: the kernel is as it was before it.
func TestFailedStatementRollsBack(t *testing.T) {
	s := newSession(t)
	s.expect("link br0 type bridge\n", "nets[host]> link br0 type bridge\n+ link br0 type bridge\nnets[host]> ^D\n")
	before := s.dump("")
	s.out.Reset()
	_, status := s.run(`
link a type bridge; link b type bridge; link br0 mtu 1400; fail "stop"
`, false)
	got := s.out.String()
	for _, want := range []string{"+ link a type bridge", "~ link br0 mtu 1500 -> 1400", `<input 2>:1:60: stop`, "# rolled back: 3 changes undone"} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	if after := s.dump(""); after != before {
		t.Errorf("state after the failed statement differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if status != 1 {
		t.Errorf("non-interactive status after a failure = %d, want 1", status)
	}
}

func TestBeginCommitRollback(t *testing.T) {
	s := newSession(t)
	s.expect(`
link keep type bridge
`, `
nets[host]> link keep type bridge
+ link keep type bridge
nets[host]> ^D
`)
	before := s.dump("")
	s.expect(`
commit
begin
netns lab
link t1 type bridge
link keep mtu 1400
in netns lab < link inner type bridge >
plan
plan link t2 type bridge
show links
begin
rollback
show links
show netns
rollback
`, `
nets[host]> commit
nets: no transaction is open (`+"`begin`"+` opens one)
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> netns lab
+ netns lab
nets[host]*> link t1 type bridge
+ link t1 type bridge
nets[host]*> link keep mtu 1400
~ link keep mtu 1500 -> 1400
nets[host]*> in netns lab < link inner type bridge >
+ in netns lab < link inner type bridge >
nets[host]*> plan
+ netns lab
+ link t1 type bridge
~ link keep mtu 1500 -> 1400
+ in netns lab < link inner type bridge >
# pending until commit: 4 changes (`+"`rollback`"+` undoes them)
nets[host]*> plan link t2 type bridge
+ link t2 type bridge
# 1 change pending (plan changes nothing)
nets[host]*> show links
link lo down
link keep type bridge down mtu 1400 address 02:6e:65:00:00:01
link t1 type bridge down address 02:6e:65:00:00:02
nets[host]*> begin
nets: a transaction is already open (begin at input 3): commit or rollback first
nets[host]*> rollback
# rolled back: 4 changes undone
nets[host]> show links
link lo down
link keep type bridge down address 02:6e:65:00:00:01
nets[host]> show netns
nets[host]> rollback
nets: no transaction is open (`+"`begin`"+` opens one)
nets[host]> ^D
`)
	if after := s.dump(""); after != before {
		t.Errorf("state after rollback differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if nss, _ := s.k.Namespaces(); len(nss) != 0 {
		t.Errorf("namespaces after rollback: %v", nss)
	}

	// commit keeps everything; a later rollback has nothing to undo.
	s.expect(`
begin
link c1 type bridge
link c2 type bridge
commit
show links
`, `
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> link c1 type bridge
+ link c1 type bridge
nets[host]*> link c2 type bridge
+ link c2 type bridge
nets[host]*> commit
# committed: 2 changes kept
nets[host]> show links
link lo down
link c1 type bridge down address 02:6e:65:00:00:04
link c2 type bridge down address 02:6e:65:00:00:05
link keep type bridge down address 02:6e:65:00:00:01
nets[host]> ^D
`)
}

// Inside begin, a statement that fails at run time rolls back the whole
// transaction (the recipe rule: one transaction, all or nothing), while
// a statement that does not parse or check changes nothing and leaves
// the transaction open.
func TestFailureInsideBeginRollsBackAll(t *testing.T) {
	s := newSession(t)
	before := s.dump("")
	s.expect(`
begin
link a type bridge
link a mtu 99999
link b type bridge
link b master nothere
show links
`, `
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> link a type bridge
+ link a type bridge
nets[host]*> link a mtu 99999
<input 3>:1:12: 99999 is out of range (68 to 65535)
 1 | link a mtu 99999
   |            ^~~~~
nets[host]*> link b type bridge
+ link b type bridge
nets[host]*> link b master nothere
<input 5>:1:15: there is no link nothere
 1 | link b master nothere
   |               ^~~~~~~
   = hint: create it first (`+"`link nothere type ...`"+`), or check the name
# the transaction (begin at input 1) is rolled back: 2 changes undone
nets[host]> show links
link lo down
nets[host]> ^D
`)
	if after := s.dump(""); after != before {
		t.Errorf("state differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Errors point into the input they come from: a line of a block, a
// function body entered earlier.
func TestErrorsInBlocksAndFunctions(t *testing.T) {
	s := newSession(t)
	s.expect(`
netns x
in netns x <
  link a type bridge
  link a mtu 99999
>
def mk($n) <
  link $n type bridge
  link $n master nothere
>
mk(b0)
show links
`, `
nets[host]> netns x
+ netns x
nets[host]> in netns x <
..........>   link a type bridge
..........>   link a mtu 99999
..........> >
<input 2>:3:14: 99999 is out of range (68 to 65535)
 3 |   link a mtu 99999
   |              ^~~~~
nets[host]> def mk($n) <
..........>   link $n type bridge
..........>   link $n master nothere
..........> >
nets[host]> mk(b0)
+ link b0 type bridge
<input 3>:3:18: there is no link nothere
 3 |   link $n master nothere
   |                  ^~~~~~~
   = hint: create it first (`+"`link nothere type ...`"+`), or check the name
# rolled back: 1 change undone
nets[host]> show links
link lo down
nets[host]> ^D
`)
}

func TestShowAndExpressions(t *testing.T) {
	s := newSession(t)
	s.expect(`
1 + 2
"a" + "b"
let k = genkey()
$k
len([1, 2, 3])
host(10.0.0.0/24, 5)
10.1.0.0/16
$missing
link br0 type bridge
addr 10.0.0.1/24 dev br0
show addrs
show links
`, `
nets[host]> 1 + 2
3
nets[host]> "a" + "b"
ab
nets[host]> let k = genkey()
nets[host]> $k
(key)
nets[host]> len([1, 2, 3])
3
nets[host]> host(10.0.0.0/24, 5)
10.0.0.5
nets[host]> 10.1.0.0/16
10.1.0.0/16
nets[host]> $missing
<input 8>:1:1: undefined variable $missing
 1 | $missing
   | ^~~~~~~~
nets[host]> link br0 type bridge
+ link br0 type bridge
nets[host]> addr 10.0.0.1/24 dev br0
+ addr 10.0.0.1/24 dev br0
nets[host]> show addrs
addr 10.0.0.1/24 dev br0
nets[host]> show links
link lo down
link br0 type bridge down address 02:6e:65:00:00:01
nets[host]> ^D
`)
}

func TestInNetnsSwitchesThePrompt(t *testing.T) {
	s := newSession(t)
	s.expect(`
in netns gaming
netns gaming
in netns gaming
in netns gaming
link v0 type veth peer v1 netns host
show links
in netns host
show links
`, `
nets[host]> in netns gaming
<input 1>:1:10: namespace "gaming" does not exist
 1 | in netns gaming
   |          ^~~~~~
   = hint: create it first with `+"`netns gaming`"+`
nets[host]> netns gaming
+ netns gaming
nets[host]> in netns gaming
nets[gaming]> in netns gaming
nets[gaming]> link v0 type veth peer v1 netns host
+ link v0 type veth peer v1 netns host
nets[gaming]> show links
link lo down
link v0 type veth peer v1 netns host down address 02:6e:65:00:00:01
nets[gaming]> in netns host
nets[host]> show links
link lo down
link v1 type veth peer v0 netns gaming down address 02:6e:65:00:00:02
nets[host]> ^D
`)
}

func TestExitWithOpenTransaction(t *testing.T) {
	// Interactive: the REPL asks; "n" stays, "y" rolls back and leaves.
	s := newSession(t)
	before := s.dump("")
	_, status := s.run(`
begin
link a type bridge
exit
n
link b type bridge
^D
y
`, true)
	got := s.out.String()
	for _, want := range []string{
		"nets[host]*> exit\na transaction is open (begin at input 1, 1 change): roll it back and leave? [y/N] n\n# still in the transaction",
		"nets[host]*> link b type bridge\n+ link b type bridge\n",
		"roll it back and leave? [y/N] y\n# rolled back: 2 changes undone\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	if status != 0 {
		t.Errorf("status %d", status)
	}
	if after := s.dump(""); after != before {
		t.Errorf("state differs after leaving:\n%s", after)
	}

	// Not interactive: roll back and say so.
	s = newSession(t)
	s.expect(`
begin
link a type bridge
`, `
nets[host]> begin
# transaction open until commit or rollback: statements apply as you enter them
nets[host]*> link a type bridge
+ link a type bridge
nets[host]*> ^D
# end of input with a transaction open (begin at input 1): rolling it back
# rolled back: 1 change undone
`)
	if after := s.dump(""); after != before {
		t.Errorf("state differs after end of input:\n%s", after)
	}
}

func TestHelp(t *testing.T) {
	for _, tp := range replTopics {
		if replShort[tp.name] == "" {
			t.Errorf("REPL command %s has no summary for help", tp.name)
		}
	}
	s := newSession(t)
	s.out.Reset()
	s.run("help\nhelp link\nhelp rule\nhelp host\nhelp begin\nhelp nosuch\n", false)
	got := s.out.String()
	for _, want := range []string{
		"Network statements", "  link NAME [type KIND ...]", "Scripting:", "  let NAME = EXPR",
		"Functions:", "  host(PREFIX, N)", "REPL:", "  begin ",
		"type veth: peer PEER (required)", "lookup (table)", "host(PREFIX, N)\n",
		"open a transaction", `nets: no help for "nosuch"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("help output lacks %q:\n%s", want, got)
		}
	}
}

func TestHistoryFiltersSecrets(t *testing.T) {
	s := newSession(t)
	key := "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
	in, _ := s.run(`
let k = genkey()
wireguard wg0 < private-key "`+key+`" >
let p = `+key+`
print string($k)
in netns x <
  link a up
>
link b type bridge \
  mtu 1400
link c up # a comment
1 + 2
`, false)
	want := []string{
		"let k = genkey()",
		"in netns x < link a up >",
		"link b type bridge mtu 1400",
		"link c up # a comment",
		"1 + 2",
	}
	if got := s.r.History(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(in.history, "\n") != strings.Join(want, "\n") {
		t.Errorf("the reader was given %q", in.history)
	}
}

func TestSecret(t *testing.T) {
	for _, c := range []struct {
		line   string
		secret bool
	}{
		{"peer yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk= < endpoint 1.2.3.4:5 >", true},
		{`private-key "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="`, true},
		{`let k = [yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=]`, true},
		{`print string($k)`, true},
		{`print "${string($k)}"`, true},
		{`let k = readkey("wg.key")`, false},
		{`link wg0 type wireguard`, false},
		{`route 10.0.0.0/8 via 10.1.0.1`, false},
		{`let s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, false},
	} {
		if got := Secret(c.line); got != c.secret {
			t.Errorf("Secret(%q) = %v, want %v", c.line, got, c.secret)
		}
	}
}

func TestHistoryPath(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/nets/history"},
		{map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/h"}, "/h/.nets_history"},
		{map[string]string{"HOME": "/h"}, "/h/.nets_history"},
		{map[string]string{}, ""},
	} {
		if got := HistoryPath(env(c.env)); got != c.want {
			t.Errorf("HistoryPath(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}

// A table named in one input is known to the inputs after it, as it is
// to the statements after it in one recipe.
func TestTableNamesCarryOver(t *testing.T) {
	s := newSession(t)
	s.expect(`
table 100 name gaming
rule fwmark 0x1 lookup gaming priority 100
table gaming < route blackhole 10.9.0.0/16 >
show routes table gaming
`, `
nets[host]> table 100 name gaming
nets[host]> rule fwmark 0x1 lookup gaming priority 100
+ rule fwmark 0x1 lookup gaming priority 100
nets[host]> table gaming < route blackhole 10.9.0.0/16 >
+ route blackhole 10.9.0.0/16 table gaming
nets[host]> show routes table gaming
route blackhole 10.9.0.0/16 table gaming
nets[host]> ^D
`)
}

// Ctrl-C while a statement runs cancels its context: the statement
// stops and is rolled back.
func TestInterruptedStatementRollsBack(t *testing.T) {
	s := newSession(t)
	before := s.dump("")
	s.r.cfg.Context = func() (context.Context, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, func() {}
	}
	s.out.Reset()
	s.run("link a type bridge; link b type bridge\n", false)
	if got := s.out.String(); !strings.Contains(got, "context canceled") {
		t.Errorf("no cancellation reported:\n%s", got)
	}
	if after := s.dump(""); after != before {
		t.Errorf("state changed:\n%s", after)
	}
}

// Diagnostics name the input as <input N> (no colon that reads as a line
// number), a table named in an earlier input is suggested for a
// misspelling, and a key literal in an echoed line is masked.
func TestInputNamesHintsAndKeys(t *testing.T) {
	s := newSession(t)
	s.expect(`
table 100 name gaming
rule fwmark 0x2 lookup gamming
wireguard wgx < private-key "EDISD57qKL3gXq7gy4A45r3wIVTOIraBgDRVQG56Ek8=" >
`, `
nets[host]> table 100 name gaming
nets[host]> rule fwmark 0x2 lookup gamming
<input 2>:1:24: unknown table "gamming"
 1 | rule fwmark 0x2 lookup gamming
   |                        ^~~~~~~
   = hint: did you mean `+"`gaming`"+`?
nets[host]> wireguard wgx < private-key "EDISD57qKL3gXq7gy4A45r3wIVTOIraBgDRVQG56Ek8=" >
<input 3>:1:1: wireguard wgx: no such device
 1 | wireguard wgx < private-key "(key)                                       " >
   | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
   = link "wgx" does not exist
nets[host]> ^D
`)
}

// An input that starts like an expression gets the expression's error.
func TestBrokenExpression(t *testing.T) {
	s := newSession(t)
	s.expect(`
1 +
$x +
`, `
nets[host]> 1 +
<input 1>:1:4: unexpected end of file, expected an expression
 1 | 1 +
   |    ^
nets[host]> $x +
<input 2>:1:5: unexpected end of file, expected an expression
 1 | $x +
   |     ^
nets[host]> ^D
`)
}
