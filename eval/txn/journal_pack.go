package txn

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/nets-lang/nets/kernel"
)

// Packed inverses: the in-memory form of a running Tx's journaled route
// inverses.
//
// A Tx keeps every step's inverse for as long as it runs, since Rollback
// needs them; nothing else reads them once they are journaled. The
// inverse of an added route is a []kernel.Want of one Want pointing to a
// kernel.RouteWant: two allocations, 96 + 144 bytes, plus the record's 40
// — 28 MB for a 100k-route run, most of it zero fields (a blackhole route
// has no gateway, device or source). Packed, the same want is about 20
// bytes in one shared array (pack), and Rollback unpacks them again, a
// window at a time just ahead of the undo (unpacking), so undo sees
// exactly the wants Prepare made. Only the common shape is packed (packable); any other inverse
// stays as it is.

// packable reports whether inv is packed: one want of a route and
// nothing else but its namespace and the Absent and Exact flags.
func packable(inv []kernel.Want) bool {
	if len(inv) != 1 {
		return false
	}
	w := &inv[0]
	return w.Route != nil && w.Neigh == nil && fastWant(w)
}

// Flag bits of a packed want.
const (
	packAbsent = 1 << iota
	packExact
	packOnLink
)

// packWant appends w (packable) to b.
func packWant(b []byte, w *kernel.Want) []byte {
	r := &w.Route.Route
	var flags byte
	if w.Absent {
		flags |= packAbsent
	}
	if w.Exact {
		flags |= packExact
	}
	if r.OnLink {
		flags |= packOnLink
	}
	b = append(b, flags)
	b = packString(b, w.NS)
	b = binary.AppendUvarint(b, uint64(w.Route.Set))
	b = binary.AppendUvarint(b, uint64(r.Table))
	b = packAddr(b, r.Dst.Addr())
	b = append(b, byte(r.Dst.Bits()+1)) // -1 (an invalid prefix) .. 128
	b = append(b, r.TOS)
	b = binary.AppendUvarint(b, uint64(r.Priority))
	b = append(b, byte(r.Type))
	b = packAddr(b, r.Gateway)
	b = packString(b, r.Dev)
	b = packAddr(b, r.Src)
	b = append(b, r.Protocol, byte(r.Scope))
	return binary.AppendUvarint(b, uint64(r.MTU))
}

func packString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// packAddr appends a: a byte 0 (the zero Addr), 4 and 4 bytes, or 6, 16
// bytes and the zone.
func packAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		a4 := a.As4()
		return append(append(b, 4), a4[:]...)
	}
	a16 := a.As16()
	b = append(append(b, 6), a16[:]...)
	return packString(b, a.Zone())
}

// unpacker reads packed wants back. It keeps the last namespace and
// device it read, so that a run's 100k routes share their strings
// instead of allocating one each.
type unpacker struct {
	b       []byte
	ns, dev string
}

func (u *unpacker) byte() byte {
	c := u.b[0]
	u.b = u.b[1:]
	return c
}

func (u *unpacker) uvarint() uint64 {
	v, n := binary.Uvarint(u.b)
	u.b = u.b[n:]
	return v
}

// string reads a string, returning last when it is the same text.
func (u *unpacker) string(last string) string {
	n := int(u.uvarint())
	s := u.b[:n]
	u.b = u.b[n:]
	if string(s) == last {
		return last
	}
	return string(s)
}

func (u *unpacker) addr() netip.Addr {
	switch u.byte() {
	case 4:
		a := netip.AddrFrom4([4]byte(u.b[:4]))
		u.b = u.b[4:]
		return a
	case 6:
		a := netip.AddrFrom16([16]byte(u.b[:16]))
		u.b = u.b[16:]
		if zone := u.string(""); zone != "" {
			a = a.WithZone(zone)
		}
		return a
	}
	return netip.Addr{}
}

// want reads the want packWant wrote into w and rw (w.Route = rw).
func (u *unpacker) want(w *kernel.Want, rw *kernel.RouteWant) {
	flags := u.byte()
	u.ns = u.string(u.ns)
	*w = kernel.Want{NS: u.ns, Absent: flags&packAbsent != 0, Exact: flags&packExact != 0, Route: rw}
	rw.Set = kernel.RouteFields(u.uvarint())
	r := &rw.Route
	r.Table = uint32(u.uvarint())
	dst := u.addr()
	r.Dst = netip.PrefixFrom(dst, int(u.byte())-1)
	r.TOS = u.byte()
	r.Priority = uint32(u.uvarint())
	r.Type = kernel.RouteType(u.byte())
	r.Gateway = u.addr()
	u.dev = u.string(u.dev)
	r.Dev = u.dev
	r.Src = u.addr()
	r.Protocol = u.byte()
	r.Scope = kernel.Scope(u.byte())
	r.MTU = uint32(u.uvarint())
	r.OnLink = flags&packOnLink != 0
}

// pack replaces the inverses of t.recs[from:] that are packable by their
// packed form in t.packed (record.packed says where), once they are
// journaled. It stops packing (and keeps the wants) if the array would
// outgrow the offsets a record can hold.
func (t *Tx) pack(from int) {
	for i := from; i < len(t.recs); i++ {
		r := &t.recs[i]
		if !packable(r.inverse) || len(t.packed) >= 1<<31-64 {
			continue
		}
		if cap(t.packed)-len(t.packed) < 64 {
			// Room for the rest (a blackhole route packs to about 20
			// bytes, one through a gateway and a device to about 30),
			// grown by doubling: append grows a big array by a quarter,
			// which for 100k routes allocated and copied five times
			// what it holds.
			t.packed = slices.Grow(t.packed, max(32*(len(t.recs)-i), cap(t.packed), 64))
		}
		r.packed = int32(len(t.packed)) + 1
		t.packed = packWant(t.packed, &r.inverse[0])
		r.inverse = nil
	}
}

// unpacking returns the function undo calls (for Rollback) with the
// index of each step it comes to, newest first, or nil when no record is
// packed. It unpacks the records undo is about to read — step i and the
// undoGroupMax before it, which undoGroupStart may look back over — a
// window at a time, and first drops the unpacked inverses of the steps
// after i, which undo is done with (it reads only recs[:i+1] from then
// on). A rollback of 100k routes thus holds a few windows of wants, not
// 100k of them. Records left packed below the window read as having no
// inverse to the moot test undo runs on older steps, which only looks
// for inverses that delete a link or a namespace (never a route).
func (t *Tx) unpacking() func(i int) {
	if t.packed == nil {
		return nil
	}
	low, high := len(t.recs), len(t.recs) // t.recs[low:high] are unpacked
	return func(i int) {
		if max(0, i-undoGroupMax) >= low {
			return
		}
		for k := i + 1; k < high; k++ {
			if t.recs[k].packed != 0 {
				t.recs[k].inverse = nil
			}
		}
		lo := max(0, i-undoGroupMax-unpackAhead)
		t.unpackRange(lo, low)
		low, high = lo, i+1
	}
}

// unpackAhead is how many steps beyond the undoGroupMax that undo may
// read next a window unpacks (a variable for tests).
var unpackAhead = undoGroupMax

// unpackRange gives the packed records of t.recs[lo:hi] their inverses
// again. Their wants and route wants share two arrays (freed when the
// last of them is dropped). The records stay marked packed: their
// inverses may be dropped again.
func (t *Tx) unpackRange(lo, hi int) {
	n := 0
	for i := lo; i < hi; i++ {
		if t.recs[i].packed != 0 {
			n++
		}
	}
	if n == 0 {
		return
	}
	ws := make([]kernel.Want, n)
	rws := make([]kernel.RouteWant, n)
	u := unpacker{}
	x := 0
	for i := lo; i < hi; i++ {
		r := &t.recs[i]
		if r.packed == 0 {
			continue
		}
		u.b = t.packed[r.packed-1:]
		u.want(&ws[x], &rws[x])
		r.inverse = ws[x : x+1 : x+1]
		x++
	}
}
