package kernel_test

import (
	"testing"

	"github.com/nets-lang/nets/kernel/ktest"
)

// TestMain runs every test of package kernel inside ktest's sandbox, with
// a host-state guard around the whole suite.
func TestMain(m *testing.M) { ktest.Main(m) }
