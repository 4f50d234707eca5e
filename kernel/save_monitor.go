package kernel

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nets-lang/nets/kernel/netns"
)

// EventConn opens an rtnetlink socket inside namespace ns (Host or a
// name) and joins the multicast groups given (RTNLGRP_* numbers), for
// following kernel events (see kernel/monitor). The socket is opened and
// verified to be in ns exactly as Netlink's own sockets are (the
// namespace handle stays open until the socket exists, and the socket's
// namespace is compared with the handle's), so an event stream can never
// silently come from another namespace. The caller closes the Conn.
func (n *Netlink) EventConn(ns string, groups []uint32) (*netlink.Conn, error) {
	f, err := n.OpenNS(ns)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	id, err := netns.IDOf(f)
	if err != nil {
		return nil, &Error{Op: "open event socket", NS: ns, Err: err}
	}
	nc, err := dialIn(ns, f, id)
	if err != nil {
		return nil, err
	}
	c := nc.c // nc.file is f, closed above; only the socket is kept
	for _, g := range groups {
		if err := c.JoinGroup(g); err != nil {
			c.Close()
			return nil, nlWrap(fmt.Sprintf("join rtnetlink group %d", g), ns, err)
		}
	}
	return c, nil
}
