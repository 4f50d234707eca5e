package kernel

import (
	"errors"
	"fmt"
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
	if len(ops) == 0 {
		return 0, nil
	}
	idx, err := n.batchLinkIndexes(ns, ops)
	if err != nil {
		return 0, err
	}
	c, chunk, err := n.bulkConn(ns)
	if err != nil {
		return 0, err
	}
	defer c.close()

	msgs := make([]netlink.Message, 0, min(chunk, len(ops)))
	for start := 0; start < len(ops); {
		// Encode a chunk; an op that cannot be encoded (a missing link)
		// ends the batch there, after the ops before it are sent.
		msgs = msgs[:0]
		size := 0
		var encErr error
		end := start
		for end < len(ops) && len(msgs) < chunk && size < bulkChunkBytes {
			m, err := encodeRouteOp(ns, ops[end], idx)
			if err != nil {
				encErr = err
				break
			}
			size += len(m.Data) + 16
			msgs = append(msgs, m)
			end++
		}
		if len(msgs) > 0 {
			if i, err := sendChunk(c.c, ns, ops[start:end], msgs); err != nil {
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

// sendChunk writes msgs (the requests of ops) and reads their replies.
// It returns the index of the first failed request and its error.
func sendChunk(c *netlink.Conn, ns string, ops []RouteOp, msgs []netlink.Message) (int, error) {
	last := len(msgs) - 1
	for i := range msgs {
		msgs[i].Header.Sequence = 0 // numbered by the Conn
		if bulkAckEach || i == last {
			msgs[i].Header.Flags |= netlink.Acknowledge
		}
	}
	if err := c.SetDeadline(time.Now().Add(bulkTimeout)); err != nil {
		return 0, nlWrap(routeOpText(ops[0]), ns, err)
	}
	sent, err := c.SendMessages(msgs)
	if err != nil {
		// Nothing, or an unknown part, reached the kernel.
		return 0, nlWrap(routeOpText(ops[0]), ns, err)
	}
	first := sent[0].Header.Sequence
	lastSeq := sent[last].Header.Sequence
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
				if i := int(oe.Sequence - first); oe.Sequence-first < uint32(len(msgs)) {
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
					len(msgs), len(msgs)-answered-1)}
		}
		done := false
		for _, m := range replies {
			if m.Header.Type != netlink.Error || m.Header.Sequence-first >= uint32(len(msgs)) {
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
	return len(msgs), nil
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

// encodeRouteOp builds the request for one op. It mirrors AddRoute and
// DelRoute (which send one request each and wait for its ack) and must
// stay equal to them; TestRouteBatchEncoding compares the two on the
// kernel's own read-back.
func encodeRouteOp(ns string, o RouteOp, idx map[string]uint32) (netlink.Message, error) {
	r := o.Route
	m, err := nlRouteKey(r)
	if err != nil {
		return netlink.Message{}, nlOpErr(routeOpText(o), ns, nil, "%v", err)
	}
	if o.Del {
		m.Type, m.Scope = unix.RTN_UNSPEC, unix.RT_SCOPE_NOWHERE
		body, err := m.MarshalBinary()
		if err != nil {
			return netlink.Message{}, nlOpErr(routeOpText(o), ns, nil, "%v", err)
		}
		return netlink.Message{Header: netlink.Header{Type: unix.RTM_DELROUTE, Flags: netlink.Request}, Data: body}, nil
	}
	nlRouteAttrs(m, r)
	if r.Dev != "" {
		i, ok := idx[r.Dev]
		if !ok {
			return netlink.Message{}, kerr(routeOpText(o), ns, unix.ENODEV, "")
		}
		m.Attributes.OutIface = i
	}
	flags := netlink.Request | netlink.Create | netlink.Excl
	if o.Replace {
		flags = netlink.Request | netlink.Create | netlink.Replace
	}
	body, err := m.MarshalBinary()
	if err != nil {
		return netlink.Message{}, nlOpErr(routeOpText(o), ns, nil, "%v", err)
	}
	return netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE, Flags: flags}, Data: body}, nil
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
