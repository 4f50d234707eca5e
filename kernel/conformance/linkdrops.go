package conformance

import (
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// linkDropCases are link changes that make the kernel drop dependents by
// itself (QA F-R): the change lists them, and the undo restores them.
func linkDropCases() []Case {
	neighs := func(env Env) []kernel.Want {
		return []kernel.Want{
			neigh(env.NS, "c0", "10.1.0.7", "02:11:22:33:44:55"),
			neigh(env.NS, "c0", "2001:db8::7", "02:11:22:33:44:56"),
		}
	}
	return []Case{
		{Name: "link address and mtu below 1280 at once keep the IPv4 permanent neighbours only", Setup: seq(lab, neighs),
			Want: func(env Env) kernel.Want {
				return link(env.NS, kernel.LinkWant{Name: "c0", Address: mac("02:aa:bb:cc:dd:ef"), MTU: u32(1200)})
			}, Marks: "~~-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				ns, err := k.Neighs(env.NS)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, x := range ns {
					if x.Link == "c0" && x.State&kernel.NeighPermanent != 0 {
						got = append(got, x.IP.String())
					}
				}
				if len(got) != 1 || got[0] != "10.1.0.7" {
					t.Errorf("permanent neighbours of c0: %v, want [10.1.0.7]", got)
				}
			}},
		{Name: "link mtu below 1280 lists the IPv6 addresses and routes it drops", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{addr(env.NS, "c0", "2001:db8:4::1/64"),
				route(env.NS, kernel.Route{Dst: pfx("2001:db8:44::/48"), Dev: "c0"}, kernel.RouteSetDev)}
		}), Want: func(env Env) kernel.Want {
			return link(env.NS, kernel.LinkWant{Name: "c0", MTU: u32(1000)})
		}, Marks: "~--"},
	}
}
