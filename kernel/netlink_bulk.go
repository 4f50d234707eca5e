package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nets-lang/nets/kernel/netns"
)

// Pipelined route changes (Netlink's RouteBatcher).
//
// A batch is sent in chunks: every request of a chunk is written with one
// sendmsg(2) before any reply is read. Only the last request of a chunk
// asks for an acknowledgement (NLM_F_ACK): the kernel handles the
// requests of a socket in order and reports a failed request whether or
// not it asked for an ack, so once the last request's ack arrives every
// earlier request has been handled, and each error that arrived before it
// names, by its sequence number, the request that failed. Requests before
// the first failure succeeded; the ones after it in the same chunk were
// sent and may or may not have been applied (the caller's journal holds
// their inverses, which are idempotent ensures, so undoing them is safe
// either way). No chunk is sent after a failed one.
//
// Measured with BenchmarkBulkRouteBatch (kernel/bulk_bench_test.go) on
// Linux 6.18, 2 cores, 100k blackhole routes, on a machine at load 6–10:
// with an ack only on the last request of each chunk of 1000, adding
// them took 0.54–0.66 s and deleting them 0.40–0.56 s; with an ack on
// every request 1.6–2.1 s and 2.2–2.4 s. (The field notes measured 0.21
// s and 0.76 s for the adds on an idle machine.)
//
// Batches use a socket of their own per call, opened in the namespace and
// verified exactly as Netlink's request socket is, so that replies to a
// batch can never be read by a concurrent request on the shared socket
// (netlink.Conn serializes Execute calls, not a Send followed by several
// Receives), and so that its enlarged receive buffer costs nothing to
// the other sockets.

// bulkChunk is the most requests written before waiting for replies.
const bulkChunk = 1000

// bulkChunkBytes bounds the bytes of one chunk: a netlink sendmsg larger
// than the socket's send buffer (212 KB by default) fails with EMSGSIZE.
const bulkChunkBytes = 128 << 10

// bulkBufs holds encoding buffers of batches (a run of a full table
// sends about a hundred batches, each of which would otherwise allocate
// its own).
var bulkBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, bulkChunkBytes+routeMsgMax)
	return &b
}}

// bulkRcvBuf is the receive buffer asked for a batch socket. Every reply
// (an ack or an error, each echoing its request) takes about 1–2 KB of
// receive buffer until read; 32 MB holds the replies of any chunk even
// when every request fails or acks are asked for every request. (A
// variable for tests.)
var bulkRcvBuf = 32 << 20

// bulkReplyCost is the receive-buffer space one reply is assumed to take
// when sizing chunks for a socket whose buffer could not be enlarged.
const bulkReplyCost = 2048

// bulkTimeout bounds the wait for a chunk's replies.
const bulkTimeout = 60 * time.Second

// bulkAckEach makes every request of a batch ask for an ack (benchmarks
// compare it with an ack on the last request only).
var bulkAckEach = false

// bulkForceRcvBuf: try SO_RCVBUFFORCE before SO_RCVBUF (tests turn it
// off to exercise the fallback's smaller buffer and chunks).
var bulkForceRcvBuf = true

var _ RouteBatcher = (*Netlink)(nil)

// RouteBatch applies route changes of namespace ns as pipelined netlink
// requests (see RouteBatcher): adds (NLM_F_EXCL, or NLM_F_REPLACE with
// Replace) and deletes, encoded exactly as AddRoute and DelRoute encode
// them. It returns len(ops), nil when every change was applied. On a
// failure it returns the index of the first op that failed and its error
// (a *Error, as AddRoute or DelRoute would have returned it); every op
// before that index was applied, and ops after it may have been applied
// too (they were already sent), so the caller must treat them as
// unknown. An error that cannot be tied to one op (the socket failing,
// replies lost) is reported at the first op whose outcome is unknown.
func (n *Netlink) RouteBatch(ns string, ops []RouteOp) (int, error) {
	s := n.bulkSession() // a socket of its own, for this call only
	defer s.close()
	return s.RouteBatch(ns, ops)
}

// A bulkSession is RouteBatch on one socket kept open from call to call,
// for the calls of a Flight: a 100k-route run sends 100 batches, and
// opening, verifying and closing a batch socket for each took about 90 µs
// of the kernel's time (the run's critical path) every time. It holds one
// namespace's socket at a time (a call for another namespace opens that
// one's), and starts afresh after a failed call, whose socket may hold
// replies nobody read. Only the Flight's goroutine uses it, until close.
//
// Before each call it checks that the namespace's name still names the
// namespace its socket is in (a stat of the namespace file, not a dial).
// A socket keeps its namespace alive: the Flight closes the session
// before it applies a step that may delete a namespace or a link, and
// when it ends, so that no socket outlives the runs it was opened for.
type bulkSession struct {
	n     *Netlink
	ns    string
	c     *nsConn // nil when closed
	chunk int
}

// bulkSession starts a session (see Flight).
func (n *Netlink) bulkSession() *bulkSession { return &bulkSession{n: n} }

// RouteBatch is Netlink.RouteBatch on the session's socket.
func (s *bulkSession) RouteBatch(ns string, ops []RouteOp) (int, error) {
	if len(ops) == 0 {
		return 0, nil
	}
	idx, err := s.n.batchLinkIndexes(ns, ops)
	if err != nil {
		return 0, err
	}
	if s.c != nil && (s.ns != ns || !s.n.isNS(ns, s.c.id)) {
		s.close()
	}
	if s.c == nil {
		c, chunk, err := s.n.bulkConn(ns)
		if err != nil {
			return 0, err
		}
		s.c, s.ns, s.chunk = c, ns, chunk
	}
	applied, err := routeBatchOn(s.c, s.chunk, ns, ops, idx)
	if err != nil {
		s.close()
	}
	return applied, err
}

// isNS reports whether the namespace called ns is still the one with
// identity id (a name can be deleted and given to a new namespace between
// two calls, by another program or by a call on the Ensurer itself; the
// socket would then be in the old one). The Host namespace is held open,
// never renamed.
func (n *Netlink) isNS(ns string, id netns.ID) bool {
	if ns == Host {
		return true
	}
	f, err := n.OpenNS(ns)
	if err != nil {
		return false // bulkConn reports it
	}
	defer f.Close()
	got, err := netns.IDOf(f)
	return err == nil && got == id
}

// close closes the session's socket, if it has one.
func (s *bulkSession) close() {
	if s.c != nil {
		s.c.close()
		s.c = nil
	}
}

// routeBatchOn is RouteBatch on socket c (chunks of at most chunk
// requests), with the links' indexes idx (see batchLinkIndexes).
func routeBatchOn(c *nsConn, chunk int, ns string, ops []RouteOp, idx map[string]uint32) (int, error) {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return 0, nlWrap(routeOpText(ops[0]), ns, err)
	}
	// One buffer, reused by every chunk (and, through bulkBufs, by the
	// batches after this one), holds a chunk's requests as they go on the
	// wire (see appendRouteMsg); a chunk ends once it holds
	// bulkChunkBytes, so it never grows.
	bp := bulkBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0]; bulkBufs.Put(bp) }()
	seq := uint32(0)
	for start := 0; start < len(ops); {
		// Encode a chunk; an op that cannot be encoded (a missing link)
		// ends the batch there, after the ops before it are sent.
		buf = buf[:0]
		var encErr error
		end, last := start, 0
		for end < len(ops) && end-start < chunk && len(buf) < bulkChunkBytes {
			o := ops[end]
			oif, err := routeOpOIF(ns, o, idx)
			if err != nil {
				encErr = err
				break
			}
			seq++
			last = len(buf)
			buf = appendRouteMsg(buf, o, oif, seq, bulkAckEach)
			end++
		}
		if end > start {
			// Only the last request of the chunk asks for an ack (with
			// bulkAckEach every request already does).
			flags := binary.NativeEndian.Uint16(buf[last+6:])
			binary.NativeEndian.PutUint16(buf[last+6:], flags|uint16(netlink.Acknowledge))
			if i, err := sendChunk(c.c, rc, ns, ops[start:end], buf, seq-uint32(end-start)+1); err != nil {
				return start + i, err
			}
		}
		if encErr != nil {
			return end, encErr
		}
		start = end
	}
	return len(ops), nil
}

// sendChunk writes buf, the requests of ops numbered from sequence
// number first on, with one sendmsg(2) and reads their replies. It
// returns the index of the first failed request and its error.
func sendChunk(c *netlink.Conn, rc syscall.RawConn, ns string, ops []RouteOp, buf []byte, first uint32) (int, error) {
	n := uint32(len(ops))
	lastSeq := first + n - 1
	if err := c.SetDeadline(time.Now().Add(bulkTimeout)); err != nil {
		return 0, nlWrap(routeOpText(ops[0]), ns, err)
	}
	if err := sendRaw(rc, buf); err != nil {
		// Nothing, or an unknown part, reached the kernel.
		return 0, nlWrap(routeOpText(ops[0]), ns, err)
	}
	failed := -1
	var ferr error
	// answered: requests 0..answered-1 were answered (with acks on every
	// request, where the outcome becomes unknown if the socket fails).
	answered := 0
	for {
		replies, err := c.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Sequence != 0 {
				if i := int(oe.Sequence - first); oe.Sequence-first < n {
					if failed < 0 || i < failed {
						failed, ferr = i, nlWrap(routeOpText(ops[i]), ns, err)
					}
					answered = max(answered, i+1)
					if oe.Sequence == lastSeq {
						break
					}
					continue
				}
				continue // a reply to nothing of ours
			}
			// The socket failed (ENOBUFS: replies were dropped). Requests
			// before the first unanswered one are known; an earlier
			// failure still names its op.
			if failed >= 0 {
				return failed, ferr
			}
			if !bulkAckEach {
				answered = 0 // successes are silent: nothing is known
			}
			return answered, &Error{Op: routeOpText(ops[answered]), NS: ns, Err: err, Kind: errnoKind(err),
				Message: fmt.Sprintf("reading the replies to %d pipelined requests failed: the outcome of this request and the %d after it is unknown",
					len(ops), len(ops)-answered-1)}
		}
		done := false
		for _, m := range replies {
			if m.Header.Type != netlink.Error || m.Header.Sequence-first >= n {
				continue
			}
			answered = max(answered, int(m.Header.Sequence-first)+1)
			if m.Header.Sequence == lastSeq {
				done = true
			}
		}
		if done {
			break
		}
	}
	if failed >= 0 {
		return failed, ferr
	}
	return len(ops), nil
}

// sendRaw writes buf, netlink requests already numbered, to the kernel
// with one sendmsg(2) on the socket behind rc, waiting (within the
// socket's deadline) while the socket is not writable. Its errors are
// those netlink.Conn.SendMessages returns: a *netlink.OpError
// "send-messages" around the syscall's error.
//
// Why not SendMessages: it marshals every message into a buffer of its
// own and appends them all into another (two allocations and two copies
// per request, about a third of a 100k-route batch's garbage); the
// batch's requests are already encoded in one buffer, in wire form.
func sendRaw(rc syscall.RawConn, buf []byte) error {
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	var serr error
	perr := rc.Write(func(fd uintptr) bool {
		_, serr = unix.SendmsgN(int(fd), buf, nil, sa, 0)
		switch serr {
		case unix.EAGAIN, unix.EINPROGRESS, unix.EINTR:
			return false // wait until writable (as mdlayher/socket does)
		}
		return true
	})
	switch {
	case perr != nil:
		return &netlink.OpError{Op: "send-messages", Err: perr}
	case serr != nil:
		return &netlink.OpError{Op: "send-messages", Err: os.NewSyscallError("sendmsg", serr)}
	}
	return nil
}

// routeOpText names a batched op as AddRoute and DelRoute name theirs.
func routeOpText(o RouteOp) string {
	if o.Del {
		return nlRouteOp("del", o.Route)
	}
	return nlRouteOp("add", o.Route)
}

// batchLinkIndexes resolves the links the ops go through with one link
// dump (nil when no op names a link).
func (n *Netlink) batchLinkIndexes(ns string, ops []RouteOp) (map[string]uint32, error) {
	need := false
	for _, o := range ops {
		if o.Route.Dev != "" && !o.Del {
			need = true
			break
		}
	}
	if !need {
		return nil, nil
	}
	names, err := n.linkNames(ns)
	if err != nil {
		return nil, err
	}
	idx := make(map[string]uint32, len(names))
	for i, name := range names {
		idx[name] = i
	}
	return idx, nil
}

// routeOpOIF checks that o can be encoded and returns the index of its
// output interface (0 for none), as AddRoute and DelRoute check and
// resolve theirs: an invalid destination and a missing link are the
// errors they return.
func routeOpOIF(ns string, o RouteOp, idx map[string]uint32) (uint32, error) {
	if !o.Route.Dst.IsValid() {
		return 0, nlOpErr(routeOpText(o), ns, nil, "invalid destination") // as nlRouteKey
	}
	if o.Del || o.Route.Dev == "" {
		return 0, nil
	}
	i, ok := idx[o.Route.Dev]
	if !ok {
		return 0, kerr(routeOpText(o), ns, unix.ENODEV, "")
	}
	return i, nil
}

// routeMsgMax bounds the length of one message appendRouteMsg writes:
// header 16, rtmsg 12, dst, prefsrc and gateway (or via) 20 each, oif,
// priority, table 8 each, metrics 12.
const routeMsgMax = 16 + 12 + 3*20 + 3*8 + 12

// appendRouteMsg appends to b the complete netlink request for o (a
// valid destination, see routeOpOIF), with output interface oif (0:
// none), sequence number seq, PID 0 (the kernel ignores it in requests)
// and NLM_F_ACK when ack: RTM_NEWROUTE with NLM_F_CREATE and NLM_F_EXCL
// or NLM_F_REPLACE, or RTM_DELROUTE, exactly the bytes AddRoute and
// DelRoute send (nlRouteKey, nlRouteAttrs and rtnetlink's
// RouteMessage.MarshalBinary: the same fields, attributes in the same
// order, addresses in the same form, the same padding).
//
// Hand-written because rtnetlink's marshalling was most of a batch's
// garbage: a RouteMessage, a net.IP per address, an AttributeEncoder
// with a closure and a slice per attribute, the attribute bytes and the
// message body (about 9 allocations and 580 bytes per route, 100k routes
// → 58 MB; see BenchmarkBulkRouteBatch -benchmem). This appends into
// the batch's one buffer and allocates nothing. TestAppendRouteMsg
// compares it byte for byte with the rtnetlink encoding for every route
// shape; TestRouteBatchEncoding compares the kernel's read-back.
func appendRouteMsg(b []byte, o RouteOp, oif, seq uint32, ack bool) []byte {
	ne := binary.NativeEndian
	r := o.Route
	start := len(b)
	table := r.Table
	if table == TableUnspec {
		table = TableMain
	}
	dst := r.Dst.Masked()
	fam := nlFamily(dst.Addr())

	typ, flags := uint16(unix.RTM_NEWROUTE), netlink.Request|netlink.Create|netlink.Excl
	if o.Replace {
		flags = netlink.Request | netlink.Create | netlink.Replace
	}
	rtype, proto, scope, rflags := uint8(r.Type), r.Protocol, uint8(r.Scope), uint32(0)
	if o.Del {
		typ, flags = unix.RTM_DELROUTE, netlink.Request
		rtype, proto, scope = unix.RTN_UNSPEC, 0, unix.RT_SCOPE_NOWHERE
	} else {
		if rtype == 0 {
			rtype = unix.RTN_UNICAST
		}
		if r.OnLink {
			rflags |= unix.RTNH_F_ONLINK
		}
	}
	if ack {
		flags |= netlink.Acknowledge
	}
	// struct nlmsghdr; the length is filled in at the end.
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, uint16(flags))
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0)
	// struct rtmsg: a table that does not fit the byte is only in
	// RTA_TABLE.
	tbl8 := uint8(0)
	if table < 256 {
		tbl8 = uint8(table)
	}
	b = append(b, fam, uint8(dst.Bits()), 0, r.TOS, tbl8, proto, scope, rtype)
	b = ne.AppendUint32(b, rflags)
	// Attributes, in the order rtnetlink's RouteAttributes.encode writes
	// them.
	if dst.Bits() > 0 || !dst.Addr().IsUnspecified() {
		b = appendAttrIP(b, unix.RTA_DST, dst.Addr())
	}
	if !o.Del {
		if r.Src.IsValid() {
			b = appendAttrIP(b, unix.RTA_PREFSRC, r.Src)
		}
		if r.Gateway.IsValid() {
			if r.Gateway.Is4() != r.Dst.Addr().Is4() {
				// RTA_VIA: family and the address as given (rtnetlink
				// copies it without shortening a v4-mapped one).
				a := r.Gateway.AsSlice()
				b = appendAttrHdr(b, unix.RTA_VIA, 2+len(a))
				b = ne.AppendUint16(b, uint16(nlFamily(r.Gateway)))
				b = append(b, a...)
				b = append(b, make([]byte, nlaPad(2+len(a)))...)
			} else {
				b = appendAttrIP(b, unix.RTA_GATEWAY, r.Gateway)
			}
		}
		if oif != 0 {
			b = appendAttrU32(b, unix.RTA_OIF, oif)
		}
	}
	prio := r.Priority
	if fam == unix.AF_INET6 && prio == 0 {
		prio = 1024 // see nlRouteKey
	}
	if prio != 0 {
		b = appendAttrU32(b, unix.RTA_PRIORITY, prio)
	}
	b = appendAttrU32(b, unix.RTA_TABLE, table)
	if !o.Del && r.MTU != 0 {
		b = appendAttrHdr(b, netlink.Nested|unix.RTA_METRICS, 8)
		b = appendAttrU32(b, unix.RTAX_MTU, r.MTU)
	}
	ne.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendAttrHdr appends a netlink attribute header for n bytes of data.
func appendAttrHdr(b []byte, typ uint16, n int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+n))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// nlaPad is how many zero bytes pad n bytes of attribute data to a
// multiple of 4.
func nlaPad(n int) int { return (4 - n%4) % 4 }

func appendAttrU32(b []byte, typ uint16, v uint32) []byte {
	return binary.NativeEndian.AppendUint32(appendAttrHdr(b, typ, 4), v)
}

// appendAttrIP appends an address attribute as rtnetlink encodes a
// net.IP: 4 bytes for IPv4 and v4-mapped IPv6 addresses, else 16.
func appendAttrIP(b []byte, typ uint16, a netip.Addr) []byte {
	if a.Is4() || a.Is4In6() {
		v := a.Unmap().As4()
		return append(appendAttrHdr(b, typ, 4), v[:]...)
	}
	v := a.As16()
	return append(appendAttrHdr(b, typ, 16), v[:]...)
}

// bulkConn opens a batch socket in ns (verified as conn verifies
// Netlink's own) with an enlarged receive buffer, and returns how many
// requests may be written before waiting for replies on it.
func (n *Netlink) bulkConn(ns string) (*nsConn, int, error) {
	f, err := n.OpenNS(ns)
	if err != nil {
		return nil, 0, err
	}
	id := n.hostID
	if ns != Host {
		if id, err = netns.IDOf(f); err != nil {
			f.Close()
			return nil, 0, &Error{Op: "open netns " + ns, NS: ns, Err: err, Kind: errnoKind(err)}
		}
	}
	c, err := dialIn(ns, f, id)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	got := growRcvBuf(c.c, bulkRcvBuf)
	// Size the chunk so that the replies of a chunk fit the buffer even
	// when every request fails (or, with bulkAckEach, acks).
	return c, min(bulkChunk, max(16, got/bulkReplyCost)), nil
}

// growRcvBuf enlarges c's receive buffer to size: SO_RCVBUFFORCE
// (which needs CAP_NET_ADMIN in the initial user namespace) and, when
// that is refused, SO_RCVBUF (capped by net.core.rmem_max). It returns
// the size the kernel granted (half of what SO_RCVBUF reads back, which
// counts bookkeeping overhead too).
func growRcvBuf(c *netlink.Conn, size int) int {
	forced := false
	if rc, err := c.SyscallConn(); err == nil && bulkForceRcvBuf {
		_ = rc.Control(func(fd uintptr) {
			forced = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) == nil
		})
	}
	if !forced {
		_ = c.SetReadBuffer(size)
	}
	got, err := c.ReadBuffer()
	if err != nil {
		return 212992
	}
	return got / 2
}
