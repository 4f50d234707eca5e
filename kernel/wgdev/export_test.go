package wgdev

// Internals for the external tests (package wgdev_test, which must be
// external because ktest imports kernel, which imports wgdev).
var (
	Answers    = answers
	Alive      = alive
	IsSocket   = isSocket
	WaitFor    = waitFor
	HelperArg0 = helperArg0
)

// SetHelperReady pretends the program did (or did not) call
// MaybeRunHelper, returning the previous state.
func SetHelperReady(v bool) bool { return helperReady.Swap(v) }
