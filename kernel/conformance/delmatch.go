package conformance

import (
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// delMatchCases are the cases of a `del` that leaves part of the
// identity unstated, as ip(8) allows (QA F-O): a route without a metric,
// an address without a prefix length.
func delMatchCases() []Case {
	r9 := func(metric uint32) func(Env) []kernel.Want {
		return func(env Env) []kernel.Want {
			return []kernel.Want{route(env.NS, kernel.Route{Dst: pfx("10.9.0.0/16"), Gateway: ip("10.1.0.2"), Priority: metric},
				kernel.RouteSetGateway)}
		}
	}
	del9 := func(env Env) kernel.Want { return absent(route(env.NS, kernel.Route{Dst: pfx("10.9.0.0/16")}, 0)) }
	metrics := func(t *testing.T, k kernel.Kernel, env Env, dst string) []uint32 {
		t.Helper()
		rs, err := k.Routes(env.NS)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, r := range rs {
			if r.Dst == pfx(dst) && r.Table == kernel.TableMain {
				out = append(out, r.Priority)
			}
		}
		return out
	}
	return []Case{
		{Name: "del route without metric deletes the one of another metric", Setup: seq(lab, r9(100)),
			Want: del9, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if m := metrics(t, k, env, "10.9.0.0/16"); len(m) != 0 {
					t.Errorf("routes left with metrics %v", m)
				}
			}},
		{Name: "del route without metric, default and another metric, is ambiguous", Setup: seq(lab, r9(0), r9(100)),
			Want: del9, Err: kernel.ErrAmbiguous},
		{Name: "del route without metric, narrowed by via", Setup: seq(lab, r9(0), func(env Env) []kernel.Want {
			return []kernel.Want{route(env.NS, kernel.Route{Dst: pfx("10.9.0.0/16"), Gateway: ip("10.1.0.3"), Priority: 100},
				kernel.RouteSetGateway)}
		}), Want: func(env Env) kernel.Want {
			return absent(route(env.NS, kernel.Route{Dst: pfx("10.9.0.0/16"), Gateway: ip("10.1.0.3")}, kernel.RouteSetGateway))
		}, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if m := metrics(t, k, env, "10.9.0.0/16"); len(m) != 1 || m[0] != 0 {
					t.Errorf("routes left with metrics %v, want [0]", m)
				}
			}},
		{Name: "del IPv6 route without metric leaves the kernel's prefix route", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{addr(env.NS, "c0", "2001:db8:5::1/64"),
				route(env.NS, kernel.Route{Dst: pfx("2001:db8:5::/64"), Dev: "c1"}, kernel.RouteSetDev)}
		}), Want: func(env Env) kernel.Want {
			return absent(route(env.NS, kernel.Route{Dst: pfx("2001:db8:5::/64")}, 0))
		}, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if r := findRoute(t, k, env.NS, kernel.TableMain, "2001:db8:5::/64"); r == nil || r.Dev != "c0" {
					t.Errorf("want the kernel's prefix route through c0 kept, have %v", r)
				}
			}},
		{Name: "del route without metric, several metrics, is ambiguous", Setup: seq(lab, r9(100), r9(200)),
			Want: del9, Err: kernel.ErrAmbiguous},
		{Name: "del route with a metric stays exact", Setup: seq(lab, r9(100)),
			Want: func(env Env) kernel.Want {
				return absent(route(env.NS, kernel.Route{Dst: pfx("10.9.0.0/16"), Priority: 200}, 0))
			}, Marks: ""},
		{Name: "del IPv6 route without metric deletes the one of another metric", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{route(env.NS, kernel.Route{Dst: pfx("2001:db8:9::/48"), Dev: "c0", Priority: 100}, kernel.RouteSetDev)}
		}), Want: func(env Env) kernel.Want {
			return absent(route(env.NS, kernel.Route{Dst: pfx("2001:db8:9::/48")}, 0))
		}, Marks: "-"},
		{Name: "del addr without prefix length deletes the address of any length", Setup: ws(lab),
			Want: func(env Env) kernel.Want { return absent(addr(env.NS, "c0", "10.1.0.1/32")) }, Marks: "-",
			Check: func(t *testing.T, k kernel.Kernel, env Env) {
				if hasAddr(t, k, env.NS, "c0", "10.1.0.1/24") {
					t.Errorf("10.1.0.1/24 survived")
				}
			}},
		{Name: "del addr without prefix length, several lengths, is ambiguous", Setup: seq(lab, func(env Env) []kernel.Want {
			return []kernel.Want{addr(env.NS, "c0", "10.1.0.1/16")}
		}), Want: func(env Env) kernel.Want { return absent(addr(env.NS, "c0", "10.1.0.1/32")) }, Err: kernel.ErrAmbiguous},
		{Name: "del addr with a prefix length stays exact", Setup: ws(lab),
			Want: func(env Env) kernel.Want { return absent(addr(env.NS, "c0", "10.1.0.1/16")) }, Marks: ""},
	}
}
