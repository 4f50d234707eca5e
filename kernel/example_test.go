package kernel_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/nets-lang/nets/kernel"
)

// A TableNames holds the built-in table names and those added (from
// rt_tables with LoadTableNames, or declared with Add); All lists them.
func ExampleTableNames_All() {
	names := kernel.NewTableNames()
	if err := names.Add(100, "gaming"); err != nil {
		panic(err)
	}
	all := maps.Collect(names.All())
	for _, name := range slices.Sorted(maps.Keys(all)) {
		fmt.Println(all[name], name)
	}
	// Output:
	// 253 default
	// 100 gaming
	// 255 local
	// 254 main
}
