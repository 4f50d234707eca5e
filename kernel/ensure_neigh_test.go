package kernel

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestNeighChangeText: a neighbour changed in place prints one line per
// attribute in the `~ OBJECT attr old -> new` form links use (QA R9).
func TestNeighChangeText(t *testing.T) {
	m := NewModel()
	must(t, m.AddLink(Host, Link{Name: "br3", Kind: KindBridge}))
	ip := netip.MustParseAddr("10.5.5.9")
	mac1, mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	must(t, m.SetNeigh(Host, Neigh{Link: "br3", IP: ip, LLAddr: mac1, State: NeighStale}))
	e := NewEnsurer(m)
	st, err := e.Ensure(Want{Neigh: &Neigh{Link: "br3", IP: ip, LLAddr: mac2}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range st.Changes {
		got = append(got, c.String())
	}
	want := "~ neigh 10.5.5.9 dev br3 lladdr 02:00:00:00:00:01 -> 02:00:00:00:00:02\n" +
		"~ neigh 10.5.5.9 dev br3 nud stale -> permanent"
	if strings.Join(got, "\n") != want {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestIPv6AddrScope: a scope the kernel would ignore on an IPv6 address
// (it derives the scope from the address) is refused, naming the scope
// word, instead of a change on every run (QA F-Q); the derived scope is
// accepted.
func TestIPv6AddrScope(t *testing.T) {
	m := NewModel()
	must(t, m.AddLink(Host, Link{Name: "s0", Kind: KindBridge}))
	e := NewEnsurer(m)
	_, err := e.Prepare(Want{Addr: &Addr{Link: "s0", Prefix: netip.MustParsePrefix("fd00:1::1/64"), Scope: ScopeLink}})
	want := "addr fd00:1::1/64 dev s0: the kernel gives an IPv6 address the scope of its kind (fd00:1::1 is global): leave out `scope link`"
	var ke *Error
	if err == nil || err.Error() != want || !errors.As(err, &ke) || ke.Field != "scope" {
		t.Errorf("got %v, want %q with Field scope", err, want)
	}
	for _, a := range []Addr{
		{Link: "s0", Prefix: netip.MustParsePrefix("fe80::5/64"), Scope: ScopeLink},
		{Link: "s0", Prefix: netip.MustParsePrefix("10.0.0.1/24"), Scope: ScopeLink},
	} {
		if _, err := e.Prepare(Want{Addr: &a}); err != nil {
			t.Errorf("%s: %v", FormatAddr(a), err)
		}
	}
}
