package kernel

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	_ "github.com/jsimonetti/rtnetlink/v2/driver" // registers veth, bridge, vxlan, macvlan codecs
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nets-lang/nets/kernel/netns"
)

// DefaultWireGuardDir is where WireGuard userspace implementations keep
// their UAPI sockets (as wireguard-go and wg(8) expect).
const DefaultWireGuardDir = "/var/run/wireguard"

// NetlinkOptions configures NewNetlink. The zero value is the normal CLI
// setup: Host is the namespace the caller runs in.
type NetlinkOptions struct {
	// Host is the network namespace Host ("") means. NewNetlink
	// duplicates the descriptor; the caller keeps ownership of the file.
	// nil: the calling thread's current namespace, captured at
	// construction (tests pass a fresh namespace here).
	Host *os.File
	// NetnsDir is where named namespaces live; "" means /run/netns.
	NetnsDir string
	// WireGuardDir is where userspace WireGuard UAPI sockets live; ""
	// means /var/run/wireguard.
	WireGuardDir string
}

// Netlink is the real kernel: a Kernel over rtnetlink sockets, one per
// network namespace it has touched, each opened inside its namespace
// (netlink.Config.NetNS) and verified to be there.
//
// It speaks rtnetlink through a raw github.com/mdlayher/netlink Conn,
// encoding and decoding messages with github.com/jsimonetti/rtnetlink/v2's
// message types and link drivers. It does not use rtnetlink.Conn
// because that hides the netlink header flags (NLM_F_DUMP_INTR must be
// seen to retry an inconsistent dump) and its rule codec both rejects
// whole dumps on unknown attributes and mis-sizes FRA_UID_RANGE; rules
// are therefore encoded here with netlink's attribute encoder.
//
// A Netlink is safe for concurrent use.
type Netlink struct {
	host   *os.File
	hostID netns.ID
	dir    string
	wgDir  string

	mu     sync.Mutex
	conns  map[string]*nsConn
	closed bool

	// wgProbe asks once whether the kernel has WireGuard
	// (UserspaceWireGuard).
	wgProbe     sync.Once
	wgUserspace bool
}

var _ Kernel = (*Netlink)(nil)

// nsConn is the rtnetlink socket of one namespace.
type nsConn struct {
	name string
	file *os.File // the namespace, kept open for the socket's lifetime
	id   netns.ID
	c    *netlink.Conn
}

// NewNetlink returns a Netlink. It fails when the Host namespace cannot
// be opened or an rtnetlink socket cannot be opened in it.
func NewNetlink(opts NetlinkOptions) (*Netlink, error) {
	n := &Netlink{
		dir:   opts.NetnsDir,
		wgDir: opts.WireGuardDir,
		conns: map[string]*nsConn{},
	}
	if n.dir == "" {
		n.dir = netns.DefaultDir
	}
	if n.wgDir == "" {
		n.wgDir = DefaultWireGuardDir
	}
	var err error
	if opts.Host == nil {
		n.host, err = netns.Current()
	} else {
		var fd int
		fd, err = unix.FcntlInt(opts.Host.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		runtime.KeepAlive(opts.Host)
		if err == nil {
			n.host = os.NewFile(uintptr(fd), opts.Host.Name())
		}
	}
	if err != nil {
		return nil, &Error{Op: "open host namespace", Err: err, Kind: errnoKind(err)}
	}
	if n.hostID, err = netns.IDOf(n.host); err != nil {
		n.host.Close()
		return nil, &Error{Op: "open host namespace", Err: err, Kind: errnoKind(err)}
	}
	if _, err := n.conn(Host); err != nil {
		n.host.Close()
		return nil, err
	}
	return n, nil
}

// NetnsDir returns the directory of named namespaces.
func (n *Netlink) NetnsDir() string { return n.dir }

// WireGuardDir returns the directory of userspace WireGuard UAPI sockets.
func (n *Netlink) WireGuardDir() string { return n.wgDir }

// OpenNS opens the namespace ns (Host or a name) for the caller, who must
// close the returned file. A missing named namespace gives ErrNoNetns.
func (n *Netlink) OpenNS(ns string) (*os.File, error) {
	if ns == Host {
		fd, err := unix.FcntlInt(n.host.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		runtime.KeepAlive(n.host)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), n.host.Name()), nil
	}
	f, err := netns.Open(n.dir, ns)
	if err != nil {
		kind := errnoKind(err)
		if errors.Is(err, netns.ErrNotExist) {
			kind = ErrNoNetns
		}
		return nil, &Error{Op: "open netns " + ns, NS: ns, Err: err, Kind: kind}
	}
	return f, nil
}

// Do runs fn on an OS thread switched into ns (see netns.Do). Use it only
// for what cannot be done through a socket opened in the namespace.
func (n *Netlink) Do(ns string, fn func() error) error {
	f, err := n.OpenNS(ns)
	if err != nil {
		return err
	}
	defer f.Close()
	return netns.Do(f, fn)
}

// conn returns the socket of ns, dialing it when needed. For a named
// namespace the file under NetnsDir is checked on every call, so a
// namespace deleted and re-created under the same name gets a new
// socket instead of silently using the old one.
func (n *Netlink) conn(ns string) (*nsConn, error) {
	var f *os.File
	var id netns.ID
	if ns == Host {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return nil, &Error{Op: "netlink", NS: ns, Err: os.ErrClosed}
		}
		if c := n.conns[Host]; c != nil {
			n.mu.Unlock()
			return c, nil
		}
		n.mu.Unlock()
		var err error
		if f, err = n.OpenNS(Host); err != nil {
			return nil, &Error{Op: "open host namespace", Err: err, Kind: errnoKind(err)}
		}
		id = n.hostID
	} else {
		var err error
		if f, err = n.OpenNS(ns); err != nil {
			if errors.Is(err, ErrNoNetns) {
				// Deleted behind our back (ip netns del): drop the
				// socket, which would keep the namespace alive.
				n.forget(ns)
			}
			return nil, err
		}
		if id, err = netns.IDOf(f); err != nil {
			f.Close()
			return nil, &Error{Op: "open netns " + ns, NS: ns, Err: err, Kind: errnoKind(err)}
		}
		n.mu.Lock()
		if c := n.conns[ns]; c != nil && c.id == id {
			n.mu.Unlock()
			f.Close()
			return c, nil
		}
		n.mu.Unlock()
	}
	c, err := dialIn(ns, f, id)
	if err != nil {
		f.Close()
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		c.close()
		return nil, &Error{Op: "netlink", NS: ns, Err: os.ErrClosed}
	}
	if old := n.conns[ns]; old != nil {
		if old.id == id { // lost a race with another dialer
			c.close()
			return old, nil
		}
		old.close()
	}
	n.conns[ns] = c
	return c, nil
}

// dialIn opens an rtnetlink socket inside the namespace f and verifies it
// is there.
//
// Verification: SIOCGSKNS on the socket returns a descriptor of the
// namespace the socket really belongs to; its nsfs inode must equal f's.
// This catches the trap where f's descriptor was closed (a collected
// *os.File) and its number reused, which makes Dial succeed in the wrong
// namespace. SIOCGSKNS needs CAP_NET_ADMIN over the namespace; when it
// is refused and f is the caller's own namespace (an unprivileged
// read-only run), the socket cannot have landed anywhere else that
// matters, so that one case is accepted unverified.
//
// When f is the namespace the dialing thread is already in (the CLI's
// Host), the socket is opened without switching namespaces, because
// setns(2), even into one's own namespace, needs CAP_SYS_ADMIN and an
// unprivileged `nets show` must still be able to read.
func dialIn(ns string, f *os.File, id netns.ID) (*nsConn, error) {
	c, err := dialSameOrIn(f, id)
	runtime.KeepAlive(f) // f must stay open until the socket exists
	if err != nil {
		return nil, nlWrap("open rtnetlink socket", ns, err)
	}
	got, err := socketNS(c)
	switch {
	case err == nil && got != id:
		c.Close()
		return nil, &Error{Op: "open rtnetlink socket", NS: ns,
			Err: fmt.Errorf("socket landed in namespace %v, wanted %v: refusing to use it", got, id)}
	case err != nil && errors.Is(err, unix.EPERM):
		cur, cerr := netns.Current()
		same := false
		if cerr == nil {
			cid, _ := netns.IDOf(cur)
			cur.Close()
			same = cid == id
		}
		if !same {
			c.Close()
			return nil, &Error{Op: "verify rtnetlink socket namespace", NS: ns, Err: err, Kind: ErrPerm}
		}
	case err != nil:
		c.Close()
		return nil, nlWrap("verify rtnetlink socket namespace", ns, err)
	}
	return &nsConn{name: ns, file: f, id: id, c: c}, nil
}

// dialSameOrIn opens an rtnetlink socket in namespace f (identity id):
// on a locked thread, directly when that thread is in f already, else
// through netlink.Config.NetNS.
func dialSameOrIn(f *os.File, id netns.ID) (*netlink.Conn, error) {
	type result struct {
		c    *netlink.Conn
		err  error
		same bool
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cur, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		cid, err := netns.IDOf(cur)
		cur.Close()
		if err != nil || cid != id {
			ch <- result{}
			return
		}
		c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Strict: true})
		ch <- result{c: c, err: err, same: true}
	}()
	if r := <-ch; r.same || r.err != nil {
		return r.c, r.err
	}
	return netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: int(f.Fd()), Strict: true})
}

// socketNS returns the identity of the namespace c's socket lives in.
func socketNS(c *netlink.Conn) (netns.ID, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netns.ID{}, err
	}
	var id netns.ID
	var ierr error
	err = rc.Control(func(fd uintptr) {
		nsfd, err := unix.IoctlRetInt(int(fd), unix.SIOCGSKNS)
		if err != nil {
			ierr = err
			return
		}
		defer unix.Close(nsfd)
		id, ierr = netns.IDOfFD(nsfd)
	})
	if err != nil {
		return id, err
	}
	return id, ierr
}

func (c *nsConn) close() {
	c.c.Close()
	c.file.Close()
}

// Close releases every socket and the Host namespace handle.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	for k, c := range n.conns {
		c.close()
		delete(n.conns, k)
	}
	return n.host.Close()
}

// forget drops the cached socket of ns (after the namespace was deleted).
func (n *Netlink) forget(ns string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.conns[ns]; c != nil {
		c.close()
		delete(n.conns, ns)
	}
}

// ---- errors ----

// errnoKind maps an errno to the sentinel kinds of this package.
func errnoKind(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return ErrExist
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH),
		errors.Is(err, unix.EADDRNOTAVAIL):
		return ErrNotFound
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return ErrPerm
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EAFNOSUPPORT),
		errors.Is(err, unix.EPROTONOSUPPORT):
		return ErrNotSupp
	}
	return nil
}

// nlWrap turns err into a *Error carrying the errno kind and the
// kernel's extended-ack text.
func nlWrap(op, ns string, err error) error {
	if err == nil {
		return nil
	}
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	e := &Error{Op: op, NS: ns, Err: err, Kind: errnoKind(err)}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Message = oe.Message
		e.Err = opError{oe}
	}
	return e
}

// opError shows a *netlink.OpError as its bare cause ("file exists"),
// since Error adds the operation and the ext-ack text itself; it
// unwraps to the OpError, so errors.Is(err, unix.EEXIST) and
// errors.As(err, **netlink.OpError) still work.
type opError struct{ oe *netlink.OpError }

func (e opError) Error() string {
	var errno unix.Errno
	if errors.As(e.oe.Err, &errno) {
		return errno.Error()
	}
	return e.oe.Err.Error()
}

func (e opError) Unwrap() error { return e.oe }

// nlOpErr is a *Error for a failure found by nets itself (not an errno).
func nlOpErr(op, ns string, kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if kind != nil {
		err = fmt.Errorf("%w: %w", kind, err)
	}
	return &Error{Op: op, NS: ns, Err: err, Kind: kind}
}

// ---- requests and dumps ----

// nlMaxDumpRetries bounds the retries of a dump the kernel flagged as
// interrupted (NLM_F_DUMP_INTR) by concurrent changes.
const nlMaxDumpRetries = 20

// request sends one rtnetlink request and waits for its acknowledgement.
func (n *Netlink) request(op, ns string, typ uint16, flags netlink.HeaderFlags, msg encoding.BinaryMarshaler) error {
	_, err := n.execute(op, ns, typ, netlink.Acknowledge|flags, msg)
	return err
}

// get sends a non-dump request and returns the reply messages.
func (n *Netlink) get(op, ns string, typ uint16, msg encoding.BinaryMarshaler) ([]netlink.Message, error) {
	return n.execute(op, ns, typ, 0, msg)
}

// execute sends msg as one request with flags on ns's socket and returns
// the replies.
func (n *Netlink) execute(op, ns string, typ uint16, flags netlink.HeaderFlags, msg encoding.BinaryMarshaler) ([]netlink.Message, error) {
	c, body, err := n.prepare(op, ns, msg)
	if err != nil {
		return nil, err
	}
	msgs, err := c.c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | flags},
		Data:   body,
	})
	return msgs, nlWrap(op, ns, err)
}

// prepare marshals msg and returns it with ns's socket.
func (n *Netlink) prepare(op, ns string, msg encoding.BinaryMarshaler) (*nsConn, []byte, error) {
	body, err := msg.MarshalBinary()
	if err != nil {
		return nil, nil, nlOpErr(op, ns, nil, "%v", err)
	}
	c, err := n.conn(ns)
	if err != nil {
		return nil, nil, err
	}
	return c, body, nil
}

// dump runs a dump request and returns every message of one consistent
// dump: when the kernel flags any message with NLM_F_DUMP_INTR (the
// table changed while it was being dumped) the whole dump is retried,
// never returned partially. (netlink.Conn swallows the final NLMSG_DONE;
// a DUMP_INTR set only there means the change came after the last entry
// was read, so the entries read are a consistent earlier snapshot.)
func (n *Netlink) dump(op, ns string, typ uint16, msg encoding.BinaryMarshaler) ([]netlink.Message, error) {
	c, body, err := n.prepare(op, ns, msg)
	if err != nil {
		return nil, err
	}
	for range nlMaxDumpRetries {
		msgs, err := c.c.Execute(netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Dump},
			Data:   body,
		})
		if err != nil {
			return nil, nlWrap(op, ns, err)
		}
		intr := false
		for _, m := range msgs {
			if m.Header.Flags&netlink.DumpInterrupted != 0 {
				intr = true
				break
			}
		}
		if !intr {
			return msgs, nil
		}
	}
	return nil, nlOpErr(op, ns, nil, "dump interrupted by concurrent changes %d times in a row", nlMaxDumpRetries)
}

// rawBody is a request body encoded by nets itself.
type rawBody []byte

func (b rawBody) MarshalBinary() ([]byte, error) { return b, nil }

// ---- namespaces ----

// Namespaces lists the named namespaces in NetnsDir, sorted.
func (n *Netlink) Namespaces() ([]string, error) {
	names, err := netns.List(n.dir)
	if err != nil {
		return nil, &Error{Op: "list netns", Err: err, Kind: errnoKind(err)}
	}
	return names, nil
}

// AddNamespace creates the named namespace name as `ip netns add` does.
func (n *Netlink) AddNamespace(name string) error {
	if err := netns.Add(n.dir, name); err != nil {
		kind := errnoKind(err)
		if errors.Is(err, netns.ErrExist) {
			kind = ErrExist
		}
		return &Error{Op: "add netns " + name, NS: name, Err: err, Kind: kind}
	}
	return nil
}

// DelNamespace deletes the named namespace name as `ip netns del` does.
// Userspace WireGuard devices inside it are stopped first, and veths
// whose other end lives in another namespace are deleted first: the
// kernel destroys a namespace (and with it those veth pairs)
// asynchronously, after its last reference is gone, so without this the
// far ends would outlive the call for a moment.
func (n *Netlink) DelNamespace(name string) error {
	if links, err := n.Links(name); err == nil {
		for _, l := range links {
			if l.Kind == KindVeth && l.Veth != nil && l.Veth.PeerNetns != "" {
				if err := n.DelLink(name, l.Name); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
			}
		}
	} else if !errors.Is(err, ErrNoNetns) {
		return err
	}
	if userspaceWGStopAll != nil {
		if err := userspaceWGStopAll(n, name); err != nil {
			return nlWrap("del netns "+name, name, err)
		}
	}
	n.forget(name)
	if err := netns.Delete(n.dir, name); err != nil {
		kind := errnoKind(err)
		if errors.Is(err, netns.ErrNotExist) {
			kind = ErrNoNetns
		}
		return &Error{Op: "del netns " + name, NS: name, Err: err, Kind: kind}
	}
	return nil
}

// ---- exec ----

// Exec runs cmd inside ns like `ip netns exec`: the program is started
// from an OS thread switched into the namespace, so it and its children
// live there; its output streams to cmd.Stdout and cmd.Stderr. Exec
// waits for it and returns an error naming the exit status when it
// fails. Unlike `ip netns exec` it does not remount /sys or bind
// /etc/netns/NAME files.
func (n *Netlink) Exec(ctx context.Context, ns string, cmd Cmd) error {
	if len(cmd.Args) == 0 {
		return nlOpErr("exec", ns, nil, "no program")
	}
	op := "exec " + strings.Join(cmd.Args, " ")
	path, err := exec.LookPath(cmd.Args[0])
	if err != nil {
		return &Error{Op: op, NS: ns, Err: err, Kind: ErrNotFound}
	}
	c := exec.CommandContext(ctx, path, cmd.Args[1:]...)
	c.Args[0] = cmd.Args[0]
	c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	if err := n.Do(ns, c.Start); err != nil {
		if c.Process != nil {
			// Started, but the thread could not be switched back: the
			// program runs in the right namespace all the same.
			_ = c.Wait()
		}
		return nlWrap(op, ns, err)
	}
	if err := c.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &Error{Op: op, NS: ns, Err: fmt.Errorf("%s: %w", cmd.Args[0], err)}
		}
		return nlWrap(op, ns, err)
	}
	return nil
}

// ---- WireGuard userspace seam ----

// These hooks connect link creation and deletion to the userspace
// WireGuard fallback (kernel/netlink_wg.go sets them in an init func).
// While they are nil, a wireguard link on a kernel without the module
// fails with ErrNotSupp.
var (
	// userspaceWGStart creates the userspace device name in ns and
	// returns once its link exists.
	userspaceWGStart func(n *Netlink, ns, name string) error
	// userspaceWGStop stops the userspace device name in ns, removing
	// its link.
	userspaceWGStop func(n *Netlink, ns, name string) error
	// userspaceWGIs reports whether the tun link name in ns is a
	// userspace WireGuard device.
	userspaceWGIs func(n *Netlink, ns, name string) bool
	// userspaceWGStopAll stops every userspace device in ns (before the
	// namespace is deleted).
	userspaceWGStopAll func(n *Netlink, ns string) error
)

// rtnetlink is imported for its message codecs; keep the reference
// explicit for readers.
var _ rtnetlink.Message = (*rtnetlink.LinkMessage)(nil)

// NSPath returns a path naming the namespace ns for tools that take a
// namespace file (such as wgdev.Start): /run/netns/NAME for a named one,
// /proc/PID/fd/N of Netlink's own handle for Host (valid while the
// Netlink is open).
func (n *Netlink) NSPath(ns string) string {
	if ns == Host {
		return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.host.Fd())
	}
	return netns.Path(n.dir, ns)
}
