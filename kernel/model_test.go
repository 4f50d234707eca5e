package kernel_test

import (
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/conformance"
)

// TestModelConformance runs the shared conformance table on the Model,
// in the Host namespace of a fresh Model per case.
func TestModelConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (kernel.Kernel, string) {
		m := kernel.NewModel()
		if err := m.SetLink(kernel.Host, "lo", kernel.LinkChange{Up: bp(true)}); err != nil {
			t.Fatal(err)
		}
		return m, kernel.Host
	})
}

// TestModelConformanceNamed runs it in a named namespace of the Model.
func TestModelConformanceNamed(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (kernel.Kernel, string) {
		m := kernel.NewModel()
		if err := m.AddNamespace("work"); err != nil {
			t.Fatal(err)
		}
		return m, "work"
	})
}

func bp(b bool) *bool { return &b }
