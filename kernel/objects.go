// Package kernel is nets' model of a host's network stack: the objects a
// recipe talks about (namespaces, links, addresses, routes, rules,
// neighbours, WireGuard devices), the Kernel interface that reads and
// changes them, and two implementations of it: the real kernel over
// netlink, and an in-memory model used for unit tests and plans.
//
// Every object documents its identity: the fields that say *which* object
// it is. The remaining fields are attributes, which an ensure may change in
// place. Two objects with equal identity are the same object.
//
// Namespaces are named by string. Host ("") is the namespace nets started
// in; any other name is a named namespace under /run/netns.
package kernel

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Host names the network namespace nets started in.
const Host = ""

// HostName is how recipes name Host (`in netns host`). Veth.PeerNetns
// uses it for a peer in Host, because "" there means "same namespace";
// a named namespace cannot be called "host".
const HostName = "host"

// Well-known routing tables.
const (
	TableUnspec  uint32 = 0
	TableDefault uint32 = 253
	TableMain    uint32 = 254
	TableLocal   uint32 = 255
)

// Link kinds nets can create. A link whose kind nets does not know (eth0,
// lo) reads back with KindDevice.
const (
	KindDevice    = "device"
	KindVeth      = "veth"
	KindBridge    = "bridge"
	KindVXLAN     = "vxlan"
	KindMacvlan   = "macvlan"
	KindTun       = "tun"
	KindTap       = "tap"
	KindWireGuard = "wireguard"
)

// Link is a network interface.
//
// Identity: Name, within its namespace. Kind is fixed at creation: a link
// of the same name but another kind is a different object (changing kind
// means delete and create). Everything else is an attribute.
type Link struct {
	Name  string `json:"ifname"`
	Index int32  `json:"ifindex,omitempty"` // informational; never identity
	Kind  string `json:"kind"`

	Up      bool             `json:"up"`                // administrative state (IFF_UP)
	MTU     uint32           `json:"mtu,omitempty"`     // 0: kernel default
	Address net.HardwareAddr `json:"address,omitempty"` // nil: kernel's choice
	Master  string           `json:"master,omitempty"`  // bridge this link is a port of
	Alias   string           `json:"ifalias,omitempty"`

	// Kind-specific creation parameters; nil unless Kind says so.
	Veth    *Veth    `json:"veth,omitempty"`
	VXLAN   *VXLAN   `json:"vxlan,omitempty"`
	Macvlan *Macvlan `json:"macvlan,omitempty"`
	Tun     *Tun     `json:"tun,omitempty"`
	// Userspace is true for a WireGuard link served by nets' userspace
	// helper rather than the kernel module.
	Userspace bool `json:"userspace,omitempty"`
}

// Veth describes the other end of a veth pair.
type Veth struct {
	Peer string `json:"peer"`
	// PeerNetns is the namespace the peer lives in, "" when it is the
	// same namespace as this end. When read back from a kernel where the
	// peer's namespace has no name nets can find, it is "?". A peer in
	// Host seen from an end in a named namespace is HostName ("host"),
	// since "" already means "the same namespace".
	PeerNetns string `json:"peer_netns,omitempty"`
}

// VXLAN parameters (fixed at creation).
type VXLAN struct {
	ID      uint32     `json:"id"`
	Remote  netip.Addr `json:"remote,omitzero"`
	Group   netip.Addr `json:"group,omitzero"`
	Local   netip.Addr `json:"local,omitzero"`
	Dev     string     `json:"dev,omitempty"`
	DstPort uint16     `json:"dstport,omitempty"` // 0: kernel default
}

// Macvlan parameters (fixed at creation; Mode may change in place).
type Macvlan struct {
	Dev  string `json:"dev"`
	Mode string `json:"mode,omitempty"` // bridge, private, vepa, passthru ("" = kernel default, vepa)
}

// Tun parameters of a persistent tun or tap device.
type Tun struct {
	User  int `json:"user"`  // owner uid, -1 for none
	Group int `json:"group"` // owner gid, -1 for none
}

// Scope is a route or address scope (RT_SCOPE_*).
type Scope uint8

// Scopes as ip(8) names them.
const (
	ScopeUniverse Scope = 0
	ScopeSite     Scope = 200
	ScopeLink     Scope = 253
	ScopeHost     Scope = 254
	ScopeNowhere  Scope = 255
)

// Addr is an IP address on a link.
//
// Identity: Link, Prefix (address and prefix length) and Peer. Broadcast,
// Label and Scope are attributes.
type Addr struct {
	Link      string       `json:"dev"`
	Prefix    netip.Prefix `json:"local"`            // the local address with its prefix length
	Peer      netip.Prefix `json:"address,omitzero"` // point-to-point peer; invalid when none
	Broadcast netip.Addr   `json:"broadcast,omitzero"`
	Label     string       `json:"label,omitempty"`
	Scope     Scope        `json:"scope"`
	// Proto says who made the address (IFA_PROTO, Linux ≥ 5.18): 0
	// unspecified (a user, or a kernel that does not say), or the
	// kernel itself: AddrProtoKernelLo (lo's addresses),
	// AddrProtoKernelRA (router advertisement), AddrProtoKernelLL
	// (IPv6 link-local). Read-only: not identity, not an attribute an
	// ensure compares or sets.
	Proto uint8 `json:"proto,omitempty"`
}

// Address protocols (IFAPROT_*, linux/if_addr.h).
const (
	AddrProtoKernelLo uint8 = 1
	AddrProtoKernelRA uint8 = 2
	AddrProtoKernelLL uint8 = 3
)

// RouteType is a route's type (RTN_*).
type RouteType uint8

// Route types as ip(8) names them.
const (
	RouteUnicast     RouteType = 1
	RouteLocal       RouteType = 2
	RouteBroadcast   RouteType = 3
	RouteAnycast     RouteType = 4
	RouteMulticast   RouteType = 5
	RouteBlackhole   RouteType = 6
	RouteUnreachable RouteType = 7
	RouteProhibit    RouteType = 8
	RouteThrow       RouteType = 9
)

// Route is a route in a routing table.
//
// Identity: Table, Dst (which also gives the family), TOS and Priority
// (the metric). That is the key the kernel's FIB looks routes up by, so at
// most one route per key exists in IPv4; Type and the next hop are
// attributes an ensure replaces in place (NLM_F_REPLACE).
type Route struct {
	Table    uint32       `json:"table"`
	Dst      netip.Prefix `json:"dst"` // 0.0.0.0/0 or ::/0 for default
	TOS      uint8        `json:"tos,omitempty"`
	Priority uint32       `json:"metric,omitempty"`

	Type     RouteType  `json:"type"`
	Gateway  netip.Addr `json:"gateway,omitzero"`
	Dev      string     `json:"dev,omitempty"`
	Src      netip.Addr `json:"prefsrc,omitzero"`
	Protocol uint8      `json:"protocol"`
	Scope    Scope      `json:"scope"`
	MTU      uint32     `json:"mtu,omitempty"`
	OnLink   bool       `json:"onlink,omitempty"`
}

// RuleAction is what a rule does when it matches (FR_ACT_*).
type RuleAction uint8

// Rule actions.
const (
	ActionLookup      RuleAction = 1 // FR_ACT_TO_TBL
	ActionGoto        RuleAction = 2
	ActionNop         RuleAction = 3
	ActionBlackhole   RuleAction = 6
	ActionUnreachable RuleAction = 7
	ActionProhibit    RuleAction = 8
)

// PortRange is an inclusive range of ports; the zero value means "any".
type PortRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
}

// UIDRange is an inclusive range of user ids.
type UIDRange struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// Rule is a policy routing rule (an RPDB entry).
//
// Identity: every field. Two rules differing in any selector, action or
// priority are different rules, as the kernel sees them. (A desired rule
// with no priority is matched against existing rules ignoring priority;
// that is the ensure's business, see Want.)
type Rule struct {
	Family   int    `json:"family"` // 4 or 6
	Priority uint32 `json:"priority"`
	Invert   bool   `json:"not,omitempty"`

	Src     netip.Prefix `json:"src,omitzero"`
	Dst     netip.Prefix `json:"dst,omitzero"`
	IIF     string       `json:"iif,omitempty"`
	OIF     string       `json:"oif,omitempty"`
	Mark    uint32       `json:"fwmark,omitempty"`
	Mask    uint32       `json:"fwmask,omitempty"` // 0 with Mark != 0: exact match (0xffffffff)
	IPProto uint8        `json:"ipproto,omitempty"`
	SPort   PortRange    `json:"sport,omitzero"`
	DPort   PortRange    `json:"dport,omitzero"`
	UID     *UIDRange    `json:"uidrange,omitempty"`

	Action RuleAction `json:"action"`
	Table  uint32     `json:"table,omitempty"` // for ActionLookup
	Goto   uint32     `json:"goto,omitempty"`  // for ActionGoto
	// SuppressPrefixLen is suppress_prefixlength; nil when unset.
	SuppressPrefixLen *uint8 `json:"suppress_prefixlength,omitempty"`
}

// NeighState mirrors NUD_* states nets cares about.
type NeighState uint16

// Neighbour states.
const (
	NeighPermanent NeighState = 0x80
	NeighNoARP     NeighState = 0x40
	NeighReachable NeighState = 0x02
	NeighStale     NeighState = 0x04
)

// Neigh is a neighbour (ARP/NDP) entry.
//
// Identity: Link and IP. LLAddr and State are attributes.
type Neigh struct {
	Link   string           `json:"dev"`
	IP     netip.Addr       `json:"dst"`
	LLAddr net.HardwareAddr `json:"lladdr,omitempty"`
	State  NeighState       `json:"state"`
}

// Key is a WireGuard key (Curve25519, 32 bytes). It never prints its
// value: String, GoString, fmt verbs and JSON all give "(key)". Use
// Base64 to reveal it deliberately.
type Key [32]byte

// String returns "(key)".
func (Key) String() string { return "(key)" }

// GoString returns "(key)".
func (Key) GoString() string { return "(key)" }

// Format prints "(key)" for every verb.
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("(key)")) }

// MarshalText returns "(key)": keys never leave nets by accident.
func (Key) MarshalText() ([]byte, error) { return []byte("(key)"), nil }

// IsZero reports whether k is all zeroes (no key).
func (k Key) IsZero() bool { return k == Key{} }

// Base64 reveals the key in wg(8)'s base64 form.
func (k Key) Base64() string { return base64.StdEncoding.EncodeToString(k[:]) }

// ParseKey parses a base64 key as wg(8) writes it.
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, fmt.Errorf("not a WireGuard key (want 44 characters of base64)")
	}
	copy(k[:], b)
	return k, nil
}

// WGPeer is one WireGuard peer.
//
// Identity: PublicKey within its device. Everything else is an attribute.
// A public key is not secret; it still prints as "(key)" unless revealed.
type WGPeer struct {
	PublicKey           Key            `json:"public_key"`
	PresharedKey        Key            `json:"preshared_key"` // secret; zero when none
	Endpoint            netip.AddrPort `json:"endpoint,omitzero"`
	AllowedIPs          []netip.Prefix `json:"allowed_ips"`
	PersistentKeepalive time.Duration  `json:"persistent_keepalive,omitempty"`
	// Read-only, from the device:
	LastHandshake time.Time `json:"latest_handshake,omitzero"`
	RxBytes       int64     `json:"transfer_rx,omitempty"`
	TxBytes       int64     `json:"transfer_tx,omitempty"`
}

// WGDevice is a WireGuard device's configuration.
//
// Identity: Name (the link's name) within its namespace.
type WGDevice struct {
	Name         string   `json:"ifname"`
	PrivateKey   Key      `json:"private_key"` // secret
	PublicKey    Key      `json:"public_key"`  // derived from PrivateKey
	ListenPort   int      `json:"listen_port"`
	FirewallMark uint32   `json:"fwmark,omitempty"`
	Peers        []WGPeer `json:"peers"`
	Userspace    bool     `json:"userspace,omitempty"`
}

// WGConfig is a change to a WireGuard device, applied as one wgctrl
// ConfigureDevice call. Nil fields are left alone.
type WGConfig struct {
	PrivateKey   *Key
	ListenPort   *int
	FirewallMark *uint32
	// ReplacePeers removes every peer not in Peers first.
	ReplacePeers bool
	Peers        []WGPeerConfig
}

// WGPeerConfig is a change to one peer.
type WGPeerConfig struct {
	PublicKey Key
	Remove    bool
	// UpdateOnly fails instead of creating the peer when it is absent.
	UpdateOnly          bool
	PresharedKey        *Key
	Endpoint            *netip.AddrPort
	PersistentKeepalive *time.Duration
	// ReplaceAllowedIPs replaces the peer's allowed IPs with AllowedIPs
	// instead of adding to them.
	ReplaceAllowedIPs bool
	AllowedIPs        []netip.Prefix
}

// UnmarshalText parses a base64 key. The redacted form "(key)" is
// refused: a key that was never revealed cannot be restored.
func (k *Key) UnmarshalText(b []byte) error {
	if string(b) == "(key)" {
		return fmt.Errorf("a redacted key cannot be restored")
	}
	p, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// JournalKey is a secret key carried inside a Want. Unlike Key it marshals
// to JSON (and text) in clear, because Wants are written only to nets' own
// journal (mode 0600 under /run/nets), which must be able to restore a
// previous private key after a crash. It still prints "(key)" with fmt.
// Never marshal a JournalKey anywhere but the journal; convert to Key for
// everything else.
type JournalKey Key

// String returns "(key)".
func (JournalKey) String() string { return "(key)" }

// GoString returns "(key)".
func (JournalKey) GoString() string { return "(key)" }

// Format prints "(key)" for every verb.
func (JournalKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("(key)")) }

// MarshalText reveals the key in base64, for the journal only.
func (k JournalKey) MarshalText() ([]byte, error) { return []byte(Key(k).Base64()), nil }

// UnmarshalText parses a base64 key.
func (k *JournalKey) UnmarshalText(b []byte) error { return (*Key)(k).UnmarshalText(b) }
