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
