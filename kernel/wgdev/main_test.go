package wgdev_test

import (
	"testing"

	"github.com/nets-lang/nets/kernel/ktest"
)

// TestMain runs the tests inside ktest's sandbox (private network, mount
// and PID namespaces; private /run/netns, /run/nets and /run/wireguard),
// and serves as the userspace WireGuard helper when started as one.
func TestMain(m *testing.M) { ktest.Main(m) }
