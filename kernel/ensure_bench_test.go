package kernel_test

import (
	"net/netip"
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// Benchmarks of the ensure layer's own per-route cost, without a kernel
// (no root needed): preparing benchN route wants, applying them through
// ApplyAll to a RouteBatcher that accepts everything (so what is measured
// is Prepare, the Step, and the Ensurer's cache update), and a plan's
// Prepares against a Model that already holds the routes. Run with
//
//	go test ./kernel -run '^$' -bench EnsureRoutes -benchmem

// nopBatcher is a Kernel (a Model, read once by the Ensurer) whose
// RouteBatch applies nothing and reports success.
type nopBatcher struct{ *kernel.Model }

func (nopBatcher) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) { return len(ops), nil }

func routeWants(n int) []kernel.Want {
	ws := make([]kernel.Want, n)
	for i := range ws {
		ws[i] = kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Table: 100, Type: kernel.RouteBlackhole,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10 + byte(i>>16), byte(i >> 8), byte(i), 0}), 24)}}}
	}
	return ws
}

func BenchmarkEnsureRoutes(b *testing.B) {
	ws := routeWants(benchN)
	b.Run("run", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			e := kernel.NewEnsurer(nopBatcher{kernel.NewModel()})
			steps := make([]*kernel.Step, 0, len(ws))
			b.StartTimer()
			for _, w := range ws {
				s, err := e.Prepare(w)
				if err != nil || !s.Changed() {
					b.Fatal(s, err)
				}
				steps = append(steps, s)
			}
			if n, err := e.ApplyAll(steps); n != len(steps) || err != nil {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("rollback", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			e := kernel.NewEnsurer(nopBatcher{kernel.NewModel()})
			var invs []kernel.Want
			for _, w := range ws {
				s, err := e.Ensure(w)
				if err != nil {
					b.Fatal(err)
				}
				invs = append(invs, s.Inverse...)
			}
			steps := make([]*kernel.Step, 0, len(ws))
			b.StartTimer()
			for i := len(invs) - 1; i >= 0; i-- {
				s, err := e.Prepare(invs[i])
				if err != nil || !s.Changed() {
					b.Fatal(s, err)
				}
				steps = append(steps, s)
			}
			if n, err := e.ApplyAll(steps); n != len(steps) || err != nil {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("plan", func(b *testing.B) {
		m := kernel.NewModel()
		e := kernel.NewEnsurer(m)
		for _, w := range ws {
			if _, err := e.Ensure(w); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for range b.N {
			for _, w := range ws {
				s, err := e.Prepare(w)
				if err != nil || s.Changed() {
					b.Fatal(s, err)
				}
			}
		}
	})
}
