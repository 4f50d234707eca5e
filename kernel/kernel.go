package kernel

import (
	"context"
	"errors"
	"io"
)

// Kernel reads and changes a host's network stack across namespaces.
//
// Its methods are primitives: each does exactly one thing, as the kernel
// would, and fails as the kernel would (ErrExist, ErrNotFound, ...). The
// ensure logic that compares desired and current state and records
// inverses lives above it (see Want), so it is the same for every
// implementation. Every ns argument is Host ("") or a namespace name.
//
// Implementations: *Netlink (the real kernel) and *Model (in memory).
type Kernel interface {
	// Namespaces lists the named namespaces (like `ip netns list`), sorted.
	Namespaces() ([]string, error)
	// AddNamespace creates a named namespace (like `ip netns add`).
	AddNamespace(name string) error
	// DelNamespace deletes a named namespace (like `ip netns del`).
	DelNamespace(name string) error

	// Links lists the links of ns.
	Links(ns string) ([]Link, error)
	// AddLink creates l (kind, creation parameters and attributes); for a
	// veth it creates both ends, the peer in l.Veth.PeerNetns.
	AddLink(ns string, l Link) error
	// SetLink changes attributes of the existing link `name` in place.
	SetLink(ns, name string, ch LinkChange) error
	// DelLink deletes a link, with everything the kernel removes with it.
	DelLink(ns, name string) error

	// Addrs lists the addresses of ns.
	Addrs(ns string) ([]Addr, error)
	// AddAddr adds a; with replace it changes a's attributes in place.
	AddAddr(ns string, a Addr, replace bool) error
	// DelAddr deletes the address with a's identity.
	DelAddr(ns string, a Addr) error

	// Routes lists the routes of every table of ns.
	Routes(ns string) ([]Route, error)
	// AddRoute adds r; with replace it replaces the route with r's
	// identity (or adds it when absent).
	AddRoute(ns string, r Route, replace bool) error
	// DelRoute deletes the route with r's identity.
	DelRoute(ns string, r Route) error

	// Rules lists the policy rules of ns, both families.
	Rules(ns string) ([]Rule, error)
	// AddRule adds r. A zero Priority lets the kernel choose.
	AddRule(ns string, r Rule) error
	// DelRule deletes the rule equal to r.
	DelRule(ns string, r Rule) error

	// Neighs lists the neighbour entries of ns.
	Neighs(ns string) ([]Neigh, error)
	// SetNeigh adds or replaces n.
	SetNeigh(ns string, n Neigh) error
	// DelNeigh deletes the entry with n's identity.
	DelNeigh(ns string, n Neigh) error

	// WireGuard reads the WireGuard device `name` in ns.
	WireGuard(ns, name string) (WGDevice, error)
	// ConfigureWireGuard applies cfg to the device `name` in ns.
	ConfigureWireGuard(ns, name string, cfg WGConfig) error

	// Exec runs a program inside ns and waits for it; a non-zero exit is
	// an error.
	Exec(ctx context.Context, ns string, cmd Cmd) error

	// Close releases sockets and handles.
	Close() error
}

// LinkChange is an in-place change of a link's attributes. Nil fields are
// left alone.
type LinkChange struct {
	Up      *bool
	MTU     *uint32
	Address []byte  // nil: unchanged
	Master  *string // "" removes the link from its bridge (nomaster)
	Alias   *string
	// Netns moves the link to another namespace (Host or a name). The
	// kernel drops the link's addresses and routes when it moves.
	Netns *string
	// Mode changes a macvlan's mode.
	Mode *string
}

// Cmd is a program for Exec.
type Cmd struct {
	Args   []string // Args[0] is the program, looked up in PATH
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Errors every implementation returns, wrapped, so callers can use
// errors.Is whatever the backend.
var (
	ErrExist    = errors.New("already exists")    // EEXIST
	ErrNotFound = errors.New("not found")         // ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL
	ErrNoNetns  = errors.New("no such namespace") // named namespace missing
	ErrPerm     = errors.New("operation not permitted")
	ErrNotSupp  = errors.New("not supported") // e.g. unknown link kind
)

// Error is a failed kernel operation. It unwraps to both the kernel's
// errno (syscall.Errno, when there was one) and the matching sentinel
// above, and carries the kernel's extended-ack text when it sent one.
type Error struct {
	Op      string // what was attempted, e.g. "add route 10.0.0.0/8 table 100"
	NS      string // namespace
	Err     error  // underlying error (errno or other)
	Kind    error  // one of ErrExist, ErrNotFound, ... or nil
	Message string // the kernel's extended ack text, "" when none
	// Field names the statement word the error is about ("peer" of a
	// veth), so that a diagnostic can point at it; "" for the whole
	// statement.
	Field string
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Err.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns both the underlying error and the sentinel kind.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Kind}
}
