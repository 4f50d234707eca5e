package lang_test

import (
	"fmt"
	"os"

	"github.com/nets-lang/nets/lang"
)

func Example() {
	src := []byte("table 100 name gaming\nrule fwmark 0x1 lokup gaming\nroute default via 10.0.0.300 table gaming\n")
	f, err := lang.Parse("gaming.nets", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range lang.Check(f, lang.CheckOptions{}) {
		lang.Render(os.Stdout, d, src)
	}
	// Output:
	// gaming.nets:2:17: unknown rule option "lokup"
	//  2 | rule fwmark 0x1 lokup gaming
	//    |                 ^~~~~
	//    = hint: did you mean `lookup`?
	// gaming.nets:3:19: "10.0.0.300" is not an IP address
	//  3 | route default via 10.0.0.300 table gaming
	//    |                   ^~~~~~~~~~
}

func ExampleFormat() {
	f, _ := lang.Parse("x.nets", []byte("in netns lab<link v0   up;addr 10.0.0.1/24 dev v0># lab\n"))
	fmt.Print(string(lang.Format(f)))
	// Output:
	// in netns lab <
	//   link v0 up
	//   addr 10.0.0.1/24 dev v0
	// >  # lab
}

func ExampleDecode() {
	f, _ := lang.Parse("x.nets", []byte("rule not fwmark 0x1/0xff lookup 100 priority 10"))
	d, _ := lang.Decode(f.Stmts[0].(*lang.NetStmt))
	for _, fl := range d.Fields {
		v := "(flag)"
		if fl.Value != nil {
			x, err := fl.Param.Parse(lang.Keyword(fl.Value))
			v = fmt.Sprintf("%v %v", x, err)
		}
		fmt.Println(fl.Name, v)
	}
	// Output:
	// not (flag)
	// fwmark {1 255} <nil>
	// lookup {100 } <nil>
	// priority 10 <nil>
}

func ExampleIncomplete() {
	fmt.Println(lang.Incomplete([]byte("wireguard wg0 <\n  listen-port 51820\n")))
	fmt.Println(lang.Incomplete([]byte("wireguard wg0 < listen-port 51820 >\n")))
	// Output:
	// true
	// false
}
