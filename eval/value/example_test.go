package value_test

import (
	"fmt"

	"github.com/nets-lang/nets/eval/value"
)

// Words of an expression are typed by their shape.
func ExampleFromWord() {
	for _, w := range []string{"10.50.0.0/16", "10.0.0.1", "42", "0x1", "30s", "aa:bb:cc:dd:ee:ff", "true", "eth0"} {
		fmt.Println(w, "is", value.FromWord(w).Type())
	}
	// Output:
	// 10.50.0.0/16 is prefix
	// 10.0.0.1 is address
	// 42 is int
	// 0x1 is int
	// 30s is duration
	// aa:bb:cc:dd:ee:ff is mac
	// true is bool
	// eth0 is string
}

func ExampleBinary() {
	in, _ := value.Binary("in", value.FromWord("10.50.3.4"), value.FromWord("10.50.0.0/16"))
	fmt.Println(in)
	_, err := value.Binary("+", value.String("veth-"), value.Int(1))
	fmt.Println(err)
	// Output:
	// true
	// cannot apply + to string and int (convert with string(...) first, or interpolate: "${...}")
}
