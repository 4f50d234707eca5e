package kernel

import (
	"errors"
	"syscall"
	"testing"
)

// TestVethPeerNameTaken: a veth whose peer name is taken fails in Prepare
// with a message naming the peer and what holds the name, unwrapping to
// ErrExist and EEXIST, with Field "peer" for the caret (F-L). The pair's
// own other end, or a pair being replaced, is no clash.
func TestVethPeerNameTaken(t *testing.T) {
	m := NewModel()
	must(t, m.AddNamespace("lab"))
	must(t, m.AddLink(Host, Link{Name: "br1", Kind: KindBridge}))
	must(t, m.AddLink("lab", Link{Name: "x1", Kind: KindTun}))
	must(t, m.AddLink(Host, Link{Name: "a0", Kind: KindVeth, Veth: &Veth{Peer: "b0"}}))
	e := NewEnsurer(m)
	for _, c := range []struct {
		w    Want
		want string
	}{
		{Want{Link: &LinkWant{Name: "a1", Kind: KindVeth, Veth: &Veth{Peer: "br1"}}},
			"link a1 type veth: peer br1 already exists (a bridge)"},
		{Want{Link: &LinkWant{Name: "a1", Kind: KindVeth, Veth: &Veth{Peer: "x1", PeerNetns: "lab"}}},
			"link a1 type veth: peer x1 already exists in netns lab (a tun)"},
		{Want{Link: &LinkWant{Name: "a1", Kind: KindVeth, Veth: &Veth{Peer: "lo"}}},
			"link a1 type veth: peer lo already exists (the loopback device)"},
		// Replacing a0's pair (other peer name) with b0 taken by... a0's
		// own end: no clash; with a peer name another link holds: clash.
		{Want{Link: &LinkWant{Name: "a0", Kind: KindVeth, Veth: &Veth{Peer: "br1"}}},
			"link a0 type veth: peer br1 already exists (a bridge)"},
	} {
		_, err := e.Prepare(c.w)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", FormatWant(c.w, nil), err, c.want)
			continue
		}
		var ke *Error
		if !errors.Is(err, ErrExist) || !errors.Is(err, syscall.EEXIST) || !errors.As(err, &ke) || ke.Field != "peer" {
			t.Errorf("%v: not ErrExist/EEXIST with Field peer", err)
		}
	}
	for _, w := range []Want{
		{Link: &LinkWant{Name: "a0", Kind: KindVeth, Veth: &Veth{Peer: "b0"}}},                   // the pair as it is
		{Link: &LinkWant{Name: "b0", Kind: KindVeth, Veth: &Veth{Peer: "a0"}}},                   // from the other end
		{Link: &LinkWant{Name: "a0", Kind: KindVeth, Veth: &Veth{Peer: "b0", PeerNetns: "lab"}}}, // replaced: b0 goes with a0
	} {
		if _, err := e.Prepare(w); err != nil {
			t.Errorf("%s: %v", FormatWant(w, nil), err)
		}
	}
}

// TestReplaceUncreatableKind: a statement that would replace lo or a
// link of a kind nets cannot create (by deleting it) fails before
// changing anything, saying why (QA R7).
func TestReplaceUncreatableKind(t *testing.T) {
	m := NewModel()
	e := NewEnsurer(m)
	_, err := e.Prepare(Want{Link: &LinkWant{Name: "lo", Kind: KindBridge}})
	want := "link lo type bridge: lo is the loopback device, which nets cannot create again: it is not replaced by a bridge"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotSupp) {
		t.Errorf("got %v, want %q (ErrNotSupp)", err, want)
	}
}
