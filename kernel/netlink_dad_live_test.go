package kernel_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// TestRouteSrcWaitsForDAD: a route whose IPv6 source address was just
// added (still tentative: duplicate address detection) is added once
// detection ends, not refused (QA F-Q): `addr X; route ... src X` in one
// recipe applies.
func TestRouteSrcWaitsForDAD(t *testing.T) {
	k, ns := ktest.New(t)
	ktest.IP(t, ns, "link", "add", "s0", "type", "veth", "peer", "name", "s1")
	ktest.IP(t, ns, "link", "set", "s0", "up")
	ktest.IP(t, ns, "link", "set", "s1", "up")
	src := netip.MustParseAddr("2001:db8:1::1")
	if err := k.AddAddr(kernel.Host, kernel.Addr{Link: "s0", Prefix: netip.PrefixFrom(src, 64)}, false); err != nil {
		t.Fatal(err)
	}
	r := kernel.Route{Table: 600, Dst: netip.MustParsePrefix("2001:db8:2::/48"), Gateway: netip.MustParseAddr("2001:db8:1::2"),
		Dev: "s0", Src: src}
	if err := k.AddRoute(kernel.Host, r, false); err != nil {
		t.Fatalf("route with a just-added source: %v", err)
	}
	out := ktest.IP(t, ns, "-6", "route", "show", "table", "600")
	if want := "2001:db8:2::/48 via 2001:db8:1::2 dev s0 src 2001:db8:1::1"; !strings.Contains(out, want) {
		t.Errorf("ip -6 route show table 600:\n%s\nwant %q", out, want)
	}
}
