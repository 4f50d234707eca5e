package kernel

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestKernelAddr: which addresses Save leaves out as the kernel's. With
// IFA_PROTO known, a link-local address is the kernel's exactly when it
// says so, whatever the link's MAC became (F-I: a bridge whose MAC
// changed when its first port joined); without it, the EUI-64 guess.
func TestKernelAddr(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	br := Link{Name: "br0", Kind: KindBridge, Address: mac}
	eui := netip.MustParsePrefix("fe80::ff:fe00:1/64")           // EUI-64 of mac
	old := netip.MustParsePrefix("fe80::d882:3dff:fecf:3ba7/64") // EUI-64 of an earlier MAC
	hand := netip.MustParsePrefix("fe80::1/64")
	for _, c := range []struct {
		name  string
		a     Addr
		known bool
		want  bool
	}{
		{"proto LL, MAC changed", Addr{Link: "br0", Prefix: old, Proto: AddrProtoKernelLL}, true, true},
		{"proto LL, current MAC", Addr{Link: "br0", Prefix: eui, Proto: AddrProtoKernelLL}, true, true},
		{"proto 0 on a kernel that says: hand-made", Addr{Link: "br0", Prefix: eui}, true, false},
		{"hand-made fe80::1", Addr{Link: "br0", Prefix: hand}, true, false},
		{"router advertisement", Addr{Link: "br0", Prefix: netip.MustParsePrefix("2001:db8::ff:fe00:1/64"), Proto: AddrProtoKernelRA}, true, true},
		{"lo ::1", Addr{Link: "lo", Prefix: netip.MustParsePrefix("::1/128"), Proto: AddrProtoKernelLo}, true, true},
		{"lo 127.0.0.1 (proto 0)", Addr{Link: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}, true, true},
		{"fallback: EUI-64 of the current MAC", Addr{Link: "br0", Prefix: eui}, false, true},
		{"fallback: EUI-64 of an old MAC", Addr{Link: "br0", Prefix: old}, false, false},
		{"fallback: hand-made", Addr{Link: "br0", Prefix: hand}, false, false},
		{"global address", Addr{Link: "br0", Prefix: netip.MustParsePrefix("10.0.0.1/24")}, true, false},
	} {
		if got := kernelAddr(c.a, br, c.known); got != c.want {
			t.Errorf("%s: kernelAddr(%v, known=%v) = %v, want %v", c.name, FormatAddr(c.a), c.known, got, c.want)
		}
	}
	if protoKnown([]Addr{{Prefix: hand}}) || !protoKnown([]Addr{{Prefix: hand}, {Prefix: eui, Proto: AddrProtoKernelLL}}) {
		t.Error("protoKnown")
	}
}

// TestCreatableKind: links of kinds nets cannot create are saved and
// shown without `type`, after a comment (F-J).
func TestCreatableKind(t *testing.T) {
	for _, c := range []struct {
		l    Link
		want string
	}{
		{Link{Name: "i0", Kind: "ifb"}, "# i0: kind ifb is not created by nets; it must exist"},
		{Link{Name: "eth0", Kind: KindDevice}, "# eth0: a device nets does not create; it must exist"},
		{Link{Name: "lo", Kind: KindDevice}, ""},
		{Link{Name: "br0", Kind: KindBridge}, ""},
	} {
		if got := linkComment(c.l); got != c.want {
			t.Errorf("linkComment(%s) = %q, want %q", c.l.Name, got, c.want)
		}
	}
	out := orderLinks([]Link{{Name: "i0", Kind: "ifb", Up: true}, {Name: "br0", Kind: KindBridge}})
	for _, l := range out {
		if l.Name == "i0" && l.Create {
			t.Errorf("an ifb link is saved as created")
		}
	}
	if got := linkLine(out[1], Host, nil); got != "link i0 up" {
		t.Errorf("i0 saves as %q", got)
	}
}

// TestUserspaceWireGuardNote: creating a wireguard link on a kernel (or a
// model of one) without WireGuard says so in the change (F-A), in the
// line and in JSON; a model seeded from such a kernel knows it.
func TestUserspaceWireGuardNote(t *testing.T) {
	for _, userspace := range []bool{false, true} {
		m := NewModel()
		m.SetUserspaceWireGuard(userspace)
		st, err := NewEnsurer(m).Ensure(Want{Link: &LinkWant{Name: "wg0", Kind: KindWireGuard}})
		if err != nil {
			t.Fatal(err)
		}
		c := st.Changes[0]
		line, note := "+ link wg0 type wireguard", ""
		if userspace {
			line, note = line+" # userspace (no wireguard kernel module)", NoteUserspaceWireGuard
		}
		if c.String() != line || c.Note != note {
			t.Errorf("userspace=%v: change %q (note %q), want %q", userspace, c.String(), c.Note, line)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Change
		if err := json.Unmarshal(b, &back); err != nil || back != c {
			t.Errorf("JSON round trip: %s -> %+v, %v", b, back, err)
		}
		if userspace != strings.Contains(string(b), `"note":"userspace (no wireguard kernel module)"`) {
			t.Errorf("JSON: %s", b)
		}
		ls, _ := m.Links(Host)
		for _, l := range ls {
			if l.Name == "wg0" && l.Userspace != userspace {
				t.Errorf("model link wg0 Userspace = %v, want %v", l.Userspace, userspace)
			}
		}
		seeded, err := NewModelFrom(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seeded.UserspaceWireGuard() != userspace {
			t.Errorf("a model seeded from a kernel with userspace=%v says %v", userspace, seeded.UserspaceWireGuard())
		}
	}
}
