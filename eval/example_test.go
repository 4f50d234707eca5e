package eval_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// A provisioning program applies a recipe: Load parses and checks it,
// Run applies it as one transaction and returns the changes. Here the
// kernel is an in-memory model; use kernel.NewNetlink for the real one.
func ExampleRun() {
	k := kernel.NewModel()
	opts := eval.Options{
		Kernel: k,
		Vars:   map[string]value.Value{"uplink": value.String("isp2")},
		Stdout: os.Stdout,
		Tables: kernel.NewTableNames(), // only main/local/default: no /etc/iproute2 lookups
	}
	src := []byte(`
table 100 name gaming
link $uplink type bridge
link $uplink up
addr 192.0.2.2/24 dev $uplink
table gaming < route default via 192.0.2.1 dev $uplink >
rule fwmark 0x1 lookup gaming priority 100
print "configured ${uplink}"
`)
	f, err := eval.Load("gaming.nets", src, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := eval.Run(context.Background(), f, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Changes {
		fmt.Println(eval.FormatChange(c))
	}

	// The same recipe again: nothing to do.
	res, _ = eval.Run(context.Background(), f, opts)
	fmt.Println("changed the second time:", res.Changed)
	// Output:
	// configured isp2
	// + link isp2 type bridge
	// ~ link isp2 down -> up
	// + addr 192.0.2.2/24 dev isp2
	// + route default via 192.0.2.1 dev isp2 table gaming
	// + rule fwmark 0x1 lookup gaming priority 100
	// configured isp2
	// changed the second time: false
}

// When a statement fails, every change already made is undone and the
// error names the statement.
func ExampleRun_rollback() {
	k := kernel.NewModel()
	opts := eval.Options{Kernel: k, Tables: kernel.NewTableNames()}
	f, _ := lang.Parse("site.nets", []byte(`
link br0 type bridge
link br0 up
assert has_link("eth9"), "eth9 is missing"
`))
	_, err := eval.Run(context.Background(), f, opts)
	fmt.Println(err)

	var d lang.Diagnostic
	if errors.As(err, &d) {
		fmt.Println("line", d.Pos.Line)
	}
	links, _ := k.Links(kernel.Host)
	fmt.Println(len(links), "link left:", links[0].Name)
	// Output:
	// site.nets:4:1: assertion failed: eth9 is missing
	// the run was rolled back: 2 changes undone
	// line 4
	// 1 link left: lo
}

// Plan shows what Run would change, without changing anything. exec
// statements are not run in a plan.
func ExamplePlan() {
	live := kernel.NewModel()
	opts := eval.Options{Kernel: live, Stdout: os.Stdout, Tables: kernel.NewTableNames()}
	f, _ := lang.Parse("lab.nets", []byte(`
netns lab-a
in netns lab-a <
  link lo up
  addr 10.10.0.1/24 dev lo
  exec ping -c 1 10.10.0.1
>
`))
	res, err := eval.Plan(context.Background(), f, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Changes {
		fmt.Println(eval.FormatChange(c))
	}
	nss, _ := live.Namespaces()
	fmt.Println("namespaces now:", nss)
	// Output:
	// # in netns lab-a < exec ping -c 1 10.10.0.1 > (not run in plan)
	// + netns lab-a
	// ~ in netns lab-a < link lo down -> up >
	// + in netns lab-a < addr 10.10.0.1/24 dev lo >
	// namespaces now: []
}

// A Session keeps variables, functions and the current namespace from
// one recipe to the next, as the REPL does; each Run is a transaction.
func ExampleSession() {
	s, err := eval.NewSession(eval.Options{Kernel: kernel.NewModel(), Stdout: os.Stdout, Tables: kernel.NewTableNames()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range []string{
		`def pair($a, $b) < link $a type veth peer $b >`,
		`let n = 2`,
		`for $i in range(0, $n) < pair("a${i}", "b${i}") >`,
		`print has_link("b1")`,
	} {
		f, err := lang.Parse("repl", []byte(line))
		if err == nil {
			err = s.Check(f).Err()
		}
		if err == nil {
			_, err = s.Run(context.Background(), f)
		}
		if err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// true
}
