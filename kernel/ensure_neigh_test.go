package kernel

import (
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
