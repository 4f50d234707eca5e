package kernel

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel/netns"
)

// TestDialRefusesWrongNamespace checks the guard against the fd-reuse
// trap: a socket whose namespace is not the intended one is refused.
// It only opens (and closes) a socket in the current namespace.
func TestDialRefusesWrongNamespace(t *testing.T) {
	f, err := netns.Current()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := netns.IDOf(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialIn("x", f, id)
	if err != nil {
		t.Fatalf("dial in own namespace: %v", err)
	}
	c.c.Close()
	wrong := netns.ID{Dev: id.Dev, Ino: id.Ino + 1}
	_, err = dialIn("x", f, wrong)
	if err == nil || !strings.Contains(err.Error(), "refusing to use it") {
		t.Fatalf("dial with a wrong expected namespace: %v", err)
	}
}

func TestRuleCodecRoundTrip(t *testing.T) {
	spl := uint8(3)
	for _, r := range []Rule{
		{Family: 4, Priority: 1, Invert: true, Src: mustPrefix("10.0.0.0/8"), Mark: 5, Mask: 0xf0, IIF: "a", OIF: "b",
			IPProto: 6, SPort: PortRange{1, 2}, DPort: PortRange{3, 4}, UID: &UIDRange{5, 4000000000},
			Action: ActionLookup, Table: 4000000000, SuppressPrefixLen: &spl},
		{Family: 6, Priority: 2, Dst: mustPrefix("2001:db8::/32"), Action: ActionGoto, Goto: 9},
		{Family: 6, Action: ActionBlackhole},
	} {
		b, err := encodeRule(r)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := decodeRule(b)
		if err != nil || !ok || !rulesEqual(got, canonRule(r)) {
			t.Errorf("round trip of %+v: %+v ok=%v err=%v", r, got, ok, err)
		}
	}
	if _, err := encodeRule(Rule{Family: 4, Action: ActionLookup}); err == nil {
		t.Error("lookup without table encoded")
	}
	if _, err := encodeRule(Rule{Family: 4, Src: mustPrefix("2001:db8::/32"), Action: ActionNop}); err == nil {
		t.Error("v6 prefix in v4 rule encoded")
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
