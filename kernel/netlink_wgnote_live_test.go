package kernel_test

import (
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// TestNetlinkUserspaceWireGuard: the real kernel says whether wireguard
// links are userspace devices, a plan's model seeded from it knows, and
// creating one on it notes it (F-A).
func TestNetlinkUserspaceWireGuard(t *testing.T) {
	k, _ := ktest.New(t)
	has, err := kernel.KernelHasWireGuard()
	if err != nil {
		t.Fatal(err)
	}
	if k.UserspaceWireGuard() == has {
		t.Fatalf("UserspaceWireGuard() = %v on a kernel with WireGuard = %v", k.UserspaceWireGuard(), has)
	}
	m, err := kernel.NewModelFrom(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.UserspaceWireGuard() != k.UserspaceWireGuard() {
		t.Errorf("the plan's model says userspace=%v, the kernel %v", m.UserspaceWireGuard(), k.UserspaceWireGuard())
	}
	for name, kk := range map[string]kernel.Kernel{"model": m, "netlink": k} {
		st, err := kernel.NewEnsurer(kk).Ensure(kernel.Want{Link: &kernel.LinkWant{Name: "wgn0", Kind: kernel.KindWireGuard}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := st.Changes[0].Note != "", !has; got != want {
			t.Errorf("%s: change %q has a note: %v, want %v", name, st.Changes[0], got, want)
		}
		if err := kk.DelLink(kernel.Host, "wgn0"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
