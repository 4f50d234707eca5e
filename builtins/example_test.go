package builtins_test

import (
	"fmt"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/eval/value"
)

// Calling builtins the way the evaluator does: by name, with evaluated
// arguments and an Env.
func ExampleCall() {
	env := &builtins.StaticEnv{Vars: map[string]string{"UPLINK": "eth1"}}
	for _, c := range []struct {
		name string
		args []value.Value
	}{
		{"host", []value.Value{value.FromWord("10.12.112.0/20"), value.Int(268)}},
		{"subnet", []value.Value{value.FromWord("172.16.0.0/12"), value.Int(4), value.Int(2)}},
		{"env", []value.Value{value.String("UPLINK")}},
		{"env", []value.Value{value.String("PORT"), value.Int(51820)}},
		{"range", []value.Value{value.Int(3)}},
		{"genkey", nil},
		{"pubkey", []value.Value{value.Int(1)}},
	} {
		v, err := builtins.Call(env, c.name, c.args)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(v.Type(), value.Repr(v))
	}
	// Output:
	// address 10.12.113.12
	// prefix 172.18.0.0/16
	// string "eth1"
	// int 51820
	// list [0, 1, 2]
	// key (key)
	// error: pubkey: argument 1 must be key, not int
}

// A builtin's help, as the REPL prints it.
func ExampleBuiltin_Help() {
	b, _ := builtins.Lookup("len")
	fmt.Println(b.Help())
	// Output:
	// len(X)
	//     Returns the length of X: the number of characters (Unicode code
	//     points) of a string, elements of a list, or fields of a record.
}
