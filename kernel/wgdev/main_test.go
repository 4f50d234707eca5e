package wgdev_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/kernel/wgdev"
)

// envStarter makes the test binary a short-lived program that starts one
// device ("NSPATH NAME") and exits, like `nets run` does.
const envStarter = "NETS_WGDEV_TEST_STARTER"

// TestMain runs the tests inside ktest's sandbox (private network, mount
// and PID namespaces; private /run/netns, /run/nets and /run/wireguard),
// and serves as the userspace WireGuard helper when started as one.
func TestMain(m *testing.M) {
	if v := os.Getenv(envStarter); v != "" && ktest.InSandbox() {
		wgdev.MaybeRunHelper()
		ns, name, _ := strings.Cut(v, " ")
		if err := wgdev.Start(ns, name, wgdev.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	ktest.Main(m)
}
