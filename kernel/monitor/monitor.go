// Package monitor follows a network namespace's kernel events and reports
// them as recipe lines, the way `nets monitor` prints them:
//
//	$ nets monitor -n lab
//	+ link v0 type veth peer v1 down address 02:...
//	~ link v0 up
//	+ addr 10.0.0.1/24 dev v0
//	- route 10.9.0.0/16 via 10.0.0.254 dev v0
//	+ netns lab2
//	# resynced: the kernel dropped events (ENOBUFS); the lines above are the differences
//
// It reports changes to what `nets save` writes for the namespace (see
// kernel.Config): the configuration, not what the kernel derives by itself
// (local, broadcast and connected routes, link-local addresses, neighbour
// cache entries that are not permanent). WireGuard configurations are not
// followed (they raise no rtnetlink events).
//
// How: a socket opened inside the namespace (kernel.Netlink.EventConn)
// joins the rtnetlink groups for links, IPv4/IPv6 addresses, routes and
// rules, neighbours and namespace ids. Each event says which part of the
// state changed; after a short quiet window (Options.Window) that part is
// read again with the same dump and decoders Netlink itself uses and
// compared with the last known state (kernel.DiffConfig). Re-reading
// rather than decoding each message keeps one decoder for every object,
// prints exactly what `nets save` would print, and reports what the kernel
// removes without an event (IPv4 routes through a deleted link). The cost:
// an object added and removed again within one window is not reported.
//
// Lost events are survived: the receive buffer is enlarged (32 MiB by
// default), and when the kernel still reports an overflow (ENOBUFS) the
// whole state is read again, the differences are reported, and a
// Resync change says so. Named namespaces appearing in and disappearing
// from the netns directory (/run/netns) are followed with inotify.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nets-lang/nets/kernel"
)

// Options configures Run.
type Options struct {
	// NS is the namespace to follow: kernel.Host or a name.
	NS string
	// Names names routing tables (nil: built-ins only).
	Names *kernel.TableNames
	// RecvBuffer is the event socket's receive buffer in bytes (0: 32 MiB).
	RecvBuffer int
	// Window is how long to collect events before re-reading the state
	// (0: 20ms).
	Window time.Duration
	// Ready, when set, is called once the subscription is in place and the
	// initial state has been read: every change after that is reported.
	Ready func()
}

// Resync is the Kind of the change Run reports after it re-read the whole
// state because the kernel dropped events. Its Mark is '#', so that it
// prints as a comment.
const Resync = "resync"

// rtnetlink multicast groups (RTNLGRP_*).
var groups = []uint32{
	unix.RTNLGRP_LINK, unix.RTNLGRP_NEIGH, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
	unix.RTNLGRP_NSID,
}

// partsOf says which parts of the state a message may have changed.
func partsOf(t netlink.HeaderType) kernel.Parts {
	switch t {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		// Deleting or moving a link takes its addresses, routes and
		// neighbours with it, IPv4 routes without an event of their own.
		return kernel.PartLinks | kernel.PartAddrs | kernel.PartRoutes | kernel.PartNeighs
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		return kernel.PartAddrs | kernel.PartRoutes
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return kernel.PartRoutes
	case unix.RTM_NEWRULE, unix.RTM_DELRULE:
		return kernel.PartRules
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		return kernel.PartNeighs
	case unix.RTM_NEWNSID, unix.RTM_DELNSID:
		return kernel.PartLinks // veth peers' namespaces read differently
	}
	return 0
}

// followed are the parts of the state Run follows: all but WireGuard
// configurations, which raise no rtnetlink events (and whose reading
// needs privileges a read-only monitor may lack).
const followed = kernel.PartAll &^ kernel.PartWireGuard

type received struct {
	parts kernel.Parts
	err   error
}

// Run follows namespace opts.NS of k until ctx is done and calls emit for
// every change, in order. It returns nil when ctx is done, the error of
// emit when emit fails, and an error when the namespace cannot be
// followed (it does not exist, its socket fails).
func Run(ctx context.Context, k *kernel.Netlink, opts Options, emit func(kernel.ConfigChange) error) error {
	c, err := k.EventConn(opts.NS, groups)
	if err != nil {
		return err
	}
	defer c.Close()
	size := opts.RecvBuffer
	if size <= 0 {
		size = 32 << 20
	}
	if err := setRecvBuffer(c, size); err != nil {
		return fmt.Errorf("monitor: receive buffer: %w", err)
	}
	window := opts.Window
	if window <= 0 {
		window = 20 * time.Millisecond
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan received, 64)
	go func() {
		defer close(events)
		for {
			msgs, err := c.Receive()
			if ctx.Err() != nil {
				return
			}
			var r received
			switch {
			case errors.Is(err, unix.ENOBUFS):
				r.err = unix.ENOBUFS
			case err != nil:
				r.err = err
			}
			for _, m := range msgs {
				r.parts |= partsOf(m.Header.Type)
			}
			select {
			case events <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil && r.err != unix.ENOBUFS {
				return
			}
		}
	}()
	go func() { <-ctx.Done(); c.Close() }()

	netnsEvents, stopNetns, err := watchNetns(k.NetnsDir())
	if err != nil {
		return err
	}
	defer stopNetns()

	cur, err := kernel.ReadConfigParts(k, opts.NS, opts.Names, nil, followed)
	if err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	for {
		var parts kernel.Parts
		resync := false
		add := func(r received, ok bool) error {
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("monitor: event socket closed")
			}
			switch {
			case r.err == unix.ENOBUFS:
				resync = true
				parts = followed
			case r.err != nil:
				return fmt.Errorf("monitor: receive: %w", r.err)
			}
			parts |= r.parts
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case ev := <-netnsEvents:
			if err := emit(ev); err != nil {
				return err
			}
			continue
		case r, ok := <-events:
			if err := add(r, ok); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if parts == 0 {
			continue
		}
		timer := time.NewTimer(window)
	collect:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case r, ok := <-events:
				if err := add(r, ok); err != nil {
					timer.Stop()
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			case <-timer.C:
				break collect
			}
		}
		next, err := kernel.ReadConfigParts(k, opts.NS, opts.Names, cur, parts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("monitor: read state: %w", err)
		}
		for _, ch := range kernel.DiffConfig(cur, next) {
			if err := emit(ch); err != nil {
				return err
			}
		}
		cur = next
		if resync {
			if err := emit(kernel.ConfigChange{Mark: '#', NS: opts.NS, Kind: Resync,
				Text: "resynced: the kernel dropped events (ENOBUFS); the lines above are the differences"}); err != nil {
				return err
			}
		}
	}
}

// setRecvBuffer sets the socket's receive buffer: SO_RCVBUFFORCE (beyond
// net.core.rmem_max, needs CAP_NET_ADMIN), else SO_RCVBUF.
func setRecvBuffer(c *netlink.Conn, size int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
	}); err != nil {
		return err
	}
	if serr != nil {
		return c.SetReadBuffer(size)
	}
	return nil
}

// watchNetns reports named namespaces appearing in and disappearing from
// dir (inotify; a directory that does not exist is not watched).
func watchNetns(dir string) (<-chan kernel.ConfigChange, func(), error) {
	out := make(chan kernel.ConfigChange, 16)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil, fmt.Errorf("monitor: inotify: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: reads go through the poller, Close wakes them
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOENT) {
			return out, func() {}, nil
		}
		return nil, nil, fmt.Errorf("monitor: watch %s: %w", dir, err)
	}
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				nameb := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				name := string(nameb)
				for i := 0; i < len(name); i++ {
					if name[i] == 0 {
						name = name[:i]
						break
					}
				}
				if name == "" || filepath.Base(name) != name {
					continue
				}
				mark := byte('+')
				if ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
					mark = '-'
				}
				select {
				case out <- kernel.ConfigChange{Mark: mark, Kind: "netns", Text: "netns " + name, Object: name}:
				case <-done:
					return
				}
			}
		}
	}()
	return out, func() { close(done); f.Close() }, nil
}
