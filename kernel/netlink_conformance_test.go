package kernel_test

import (
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/conformance"
	"github.com/nets-lang/nets/kernel/ktest"
)

// TestNetlinkConformance runs the shared conformance table against the
// real kernel, in the Host namespace (a fresh one per case, lo up) of a
// Netlink — the same setup as TestModelConformance.
func TestNetlinkConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (kernel.Kernel, string) {
		k, _ := ktest.New(t)
		return k, kernel.Host
	})
}

// TestNetlinkConformanceNamed runs it in a fresh named namespace (lo
// down), like TestModelConformanceNamed.
func TestNetlinkConformanceNamed(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (kernel.Kernel, string) {
		k, _ := ktest.New(t)
		name := ktest.NewNS(t)
		if err := k.AddNamespace(name); err != nil {
			t.Fatal(err)
		}
		return k, name
	})
}
