package kernel

import (
	"encoding/json"
	"net"
	"net/netip"
	"time"
)

// This file defines the ensure layer's types: a Want is one desired state
// ("route X holds gateway G", "link Y is absent"), a Step is a prepared
// Want (what it will change and the Wants that undo it), and the Ensurer
// (ensure_apply.go) turns Wants into Steps and Steps into kernel calls.
//
// The one idea that makes rollback safe: every change is an ensure whose
// inverse is also an ensure. Ensures are idempotent, so replaying an
// inverse that was already applied, or whose forward change never reached
// the kernel, is harmless. Rollback applies the inverses of the steps made
// so far, newest step first, each step's Inverse in slice order.

// Want is one ensure: the state one object should be in, in namespace NS.
// Exactly one of the object fields is set. With Absent the object must
// not exist (`del ...`); only its identity fields matter then.
//
// A Want is JSON-serializable: the transaction journal stores inverses as
// JSON lines. Because an inverse may have to restore a WireGuard private
// key, the JSON form of a Want carries keys in base64 (see WGWant); it is
// meant for the journal (a root-only file), never for printing.
type Want struct {
	NS     string `json:"ns,omitempty"`
	Absent bool   `json:"absent,omitempty"`
	// Exact states every attribute of Addr, even zero ones (scope
	// global, no label, no broadcast), and with Absent makes the
	// identity exact: without it an absent route with a zero Priority
	// matches a route of any metric, and an absent address given as a
	// host prefix the link's address of any prefix length, when exactly
	// one matches (as ip(8)'s del; several are ErrAmbiguous). Inverses
	// set it; recipes need not.
	Exact bool `json:"exact,omitempty"`

	Netns     *NetnsWant `json:"netns,omitempty"`
	Link      *LinkWant  `json:"link,omitempty"`
	Addr      *Addr      `json:"addr,omitempty"`
	Route     *RouteWant `json:"route,omitempty"`
	Rule      *RuleWant  `json:"rule,omitempty"`
	Neigh     *Neigh     `json:"neigh,omitempty"`
	WireGuard *WGWant    `json:"wireguard,omitempty"`

	// Restore-only forms, produced by the Ensurer as inverses.

	// LinkState restores a link exactly as it was, with its dependents
	// (see LinkState). Absent is not allowed with it.
	LinkState *LinkState `json:"link_state,omitempty"`
	// NetnsState restores a deleted namespace and what it held, as far as
	// nets can (see NetnsState). Absent is not allowed with it.
	NetnsState *NetnsState `json:"netns_state,omitempty"`
}

// NetnsWant is a named network namespace. Want.NS is ignored for it:
// named namespaces are global (/run/netns/NAME).
type NetnsWant struct {
	Name string `json:"name"`
}

// LinkWant is a desired link.
//
// Identity: Name within Want.NS. With Kind "" the link must already
// exist and only the stated attributes are ensured (`link eth0 up`); an
// absent link is then an error (ErrNotFound). With a Kind the link is
// created when absent; a link of the same name but another kind or other
// creation parameters is deleted and created again.
//
// Attributes are pointers (nil: not stated, not compared). Address nil is
// "not stated".
type LinkWant struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`

	// Creation parameters (compared only when Kind is set and they are).
	Veth    *Veth    `json:"veth,omitempty"`
	VXLAN   *VXLAN   `json:"vxlan,omitempty"`
	Macvlan *Macvlan `json:"macvlan,omitempty"`
	Tun     *Tun     `json:"tun,omitempty"`

	Up      *bool            `json:"up,omitempty"`
	MTU     *uint32          `json:"mtu,omitempty"`
	Address net.HardwareAddr `json:"address,omitempty"`
	Master  *string          `json:"master,omitempty"` // "" = nomaster
	Alias   *string          `json:"alias,omitempty"`
	// Netns moves the link to that namespace (Host or a name). A link
	// that is absent from Want.NS but present in Netns already satisfies
	// the move. The kernel drops the link's addresses and routes when it
	// moves (and it arrives down); the inverse moves it back and restores
	// them.
	Netns *string `json:"netns,omitempty"`
}

// RouteFields says which of a Route's attributes a recipe stated.
type RouteFields uint16

// Route attributes that may be stated. Identity fields (Table, Dst, TOS,
// Priority) are always "stated": an unset Table means main, an unset
// Priority means 0 for IPv4 and 1024 for IPv6 (the kernel's default).
// Type is always compared too: unset means unicast.
const (
	RouteSetGateway RouteFields = 1 << iota
	RouteSetDev
	RouteSetSrc
	RouteSetProtocol
	RouteSetScope
	RouteSetMTU
	RouteSetOnLink
)

// RouteWant is a desired route: Route plus which attributes were stated.
//
// Creating fills ip(8)'s defaults for what was not stated: table main,
// type unicast, proto boot, scope link for a unicast route with a device
// and no gateway, host for type local, universe otherwise. Comparing
// ignores unstated attributes: `route 10.0.0.0/8 via G` is satisfied by
// 10.0.0.0/8 via G proto static dev eth0. A route with the same identity
// and different stated attributes is replaced in place.
type RouteWant struct {
	Route Route       `json:"route"`
	Set   RouteFields `json:"set,omitempty"`
}

// RuleWant is a desired rule. With AnyPriority (the recipe gave no
// priority) a rule equal in every selector and the action at any priority
// already satisfies it, and a new one gets the priority the kernel
// chooses; Rule.Priority is ignored then.
type RuleWant struct {
	Rule        Rule `json:"rule"`
	AnyPriority bool `json:"any_priority,omitempty"`
}

// WGWant is a desired WireGuard device configuration on the existing
// wireguard link Name. Nil fields are not stated. A peer already
// configured as stated is left alone (no handshake reset). With
// ReplacePeers, peers not listed are removed.
type WGWant struct {
	Name         string       `json:"name"`
	PrivateKey   *Key         `json:"-"`
	ListenPort   *int         `json:"listen_port,omitempty"`
	FirewallMark *uint32      `json:"fwmark,omitempty"`
	Peers        []WGPeerWant `json:"peers,omitempty"`
	ReplacePeers bool         `json:"replace_peers,omitempty"`
	// Restore, set only in inverses, makes the device's configuration
	// equal to exactly this one (private key, port, fwmark, peers).
	Restore *WGDevice `json:"-"`
}

// WGPeerWant is a desired peer. Nil fields (and a nil AllowedIPs) are not
// stated; a stated AllowedIPs is the peer's whole list.
type WGPeerWant struct {
	PublicKey           Key             `json:"-"`
	Remove              bool            `json:"remove,omitempty"`
	PresharedKey        *Key            `json:"-"`
	Endpoint            *netip.AddrPort `json:"endpoint,omitempty"`
	AllowedIPs          []netip.Prefix  `json:"allowed_ips,omitempty"`
	PersistentKeepalive *time.Duration  `json:"persistent_keepalive,omitempty"`
}

// LinkState is a link's complete prior state with everything the kernel
// removes together with it, so that an inverse restores it exactly.
// Ensuring it creates the link when absent (deleting and re-creating it
// when its kind or creation parameters differ), sets every attribute, and
// makes the link's addresses, routes (every table, Dev == the link) and
// permanent neighbours equal to the recorded ones: missing ones are added,
// ones not recorded (e.g. routes the kernel added again with an address)
// are deleted. Ports are put back into the bridge, Uppers (macvlans and
// vxlans on top of the link) and the veth Peer are restored the same way.
type LinkState struct {
	Link   Link    `json:"link"`
	Addrs  []Addr  `json:"addrs,omitempty"`
	Routes []Route `json:"routes,omitempty"`
	Neighs []Neigh `json:"neighs,omitempty"`
	// Ports are the links (same namespace) that were ports of this bridge.
	Ports []string `json:"ports,omitempty"`
	// WireGuard is a wireguard link's configuration.
	WireGuard *WGDevice `json:"-"`
	// Uppers are links stacked on this one that the kernel deletes with
	// it (macvlans and vxlans whose Dev is this link), same namespace.
	Uppers []LinkState `json:"uppers,omitempty"`
	// Peer is the other end of a veth pair; PeerNS its namespace.
	Peer   *LinkState `json:"peer,omitempty"`
	PeerNS string     `json:"peer_ns,omitempty"`
}

// NetnsState is a deleted namespace's state, restored best-effort:
// the namespace itself; lo's attributes, addresses and routes; every link
// of a kind nets can create (veth, bridge, vxlan, macvlan, tun, tap,
// wireguard) as a LinkState (with attributes, addresses, routes,
// permanent neighbours, bridge ports, WireGuard configuration); veth ends
// whose peers lived in other namespaces are restored together with the
// peer and its dependents there; routes through no link (blackhole,
// unreachable, prohibit) in every table; every rule. Not restored:
// processes and sockets that lived in the namespace, sysctls, firewall
// state, and devices of kinds nets cannot create (the kernel returns
// physical devices to the initial namespace; they stay there).
type NetnsState struct {
	Name string `json:"name"`
	// Links in creation order (bridges before their ports).
	Links []LinkState `json:"links,omitempty"`
	// Routes that go through no link (blackhole etc.), every table.
	Routes []Route `json:"routes,omitempty"`
	Rules  []Rule  `json:"rules,omitempty"`
}

// Change is one line of plan/run output, in recipe syntax:
//
//   - route 10.0.0.0/8 via 10.1.0.1 table 100
//     ~ link eth1 mtu 1500 -> 9000
//   - addr 10.0.0.1/24 dev eth0
//
// Secrets never appear in Text (keys print as "(key)").
type Change struct {
	Mark byte   // '+' add, '-' remove, '~' change in place
	NS   string // namespace the change happens in (Host = "")
	Text string // the object in recipe syntax, without the mark
	// Note says something the operator should know about how the change
	// is made, printed after the line as a comment (see Comment), e.g.
	// NoteUserspaceWireGuard; "" when there is nothing to say.
	Note string
}

// NoteUserspaceWireGuard is the Note of a change that creates a
// WireGuard link served by nets' userspace helper because the kernel has
// no WireGuard.
const NoteUserspaceWireGuard = "userspace (no wireguard kernel module)"

// String returns the line as printed: the mark, a space, the text, and
// the note as a trailing comment when there is one.
func (c Change) String() string { return string(c.Mark) + " " + c.Text + c.Comment() }

// Comment returns the note as a trailing comment (" # NOTE"), "" when
// there is none. Renderers that wrap Text (`in netns X < TEXT >`) append
// it after the wrapping.
func (c Change) Comment() string {
	if c.Note == "" {
		return ""
	}
	return " # " + c.Note
}

// MarshalJSON encodes the change as {"mark":"+","ns":"x","text":"..."},
// with "note" when there is one.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mark string `json:"mark"`
		NS   string `json:"ns,omitempty"`
		Text string `json:"text"`
		Note string `json:"note,omitempty"`
	}{string(c.Mark), c.NS, c.Text, c.Note})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (c *Change) UnmarshalJSON(b []byte) error {
	var v struct {
		Mark string `json:"mark"`
		NS   string `json:"ns"`
		Text string `json:"text"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.NS, c.Text, c.Note, c.Mark = v.NS, v.Text, v.Note, 0
	if v.Mark != "" {
		c.Mark = v.Mark[0]
	}
	return nil
}

// Step is a prepared ensure: the changes it will make, and the Wants that
// undo them (to be applied in slice order). A Step with no Changes is a
// no-op and has no Inverse. Apply a Step with Ensurer.Apply before
// preparing the next one: a Step is computed against the state the
// Ensurer knows at Prepare time.
type Step struct {
	Want    Want
	Changes []Change
	Inverse []Want

	ops []op // the kernel calls, in order
}

// Changed reports whether the step changes anything.
func (s *Step) Changed() bool { return len(s.Changes) > 0 }

// secretKey is a Key in the journal's JSON form: base64, revealed. Only
// the journal codecs below use it.
type secretKey string

func revealKey(k *Key) *secretKey {
	if k == nil {
		return nil
	}
	s := secretKey(k.Base64())
	return &s
}

func (s *secretKey) key() (*Key, error) {
	if s == nil {
		return nil, nil
	}
	k, err := ParseKey(string(*s))
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// wgPeerJSON is WGPeer with revealed keys.
type wgPeerJSON struct {
	PublicKey           secretKey      `json:"public_key"`
	PresharedKey        *secretKey     `json:"preshared_key,omitempty"`
	Endpoint            netip.AddrPort `json:"endpoint,omitzero"`
	AllowedIPs          []netip.Prefix `json:"allowed_ips,omitempty"`
	PersistentKeepalive time.Duration  `json:"persistent_keepalive,omitempty"`
}

// wgDeviceJSON is WGDevice with revealed keys, for the journal.
type wgDeviceJSON struct {
	Name         string       `json:"ifname"`
	PrivateKey   *secretKey   `json:"private_key,omitempty"`
	ListenPort   int          `json:"listen_port,omitempty"`
	FirewallMark uint32       `json:"fwmark,omitempty"`
	Peers        []wgPeerJSON `json:"peers,omitempty"`
	Userspace    bool         `json:"userspace,omitempty"`
}

func deviceToJSON(d *WGDevice) *wgDeviceJSON {
	if d == nil {
		return nil
	}
	j := &wgDeviceJSON{Name: d.Name, ListenPort: d.ListenPort, FirewallMark: d.FirewallMark, Userspace: d.Userspace}
	if !d.PrivateKey.IsZero() {
		j.PrivateKey = revealKey(&d.PrivateKey)
	}
	for _, p := range d.Peers {
		pj := wgPeerJSON{PublicKey: secretKey(p.PublicKey.Base64()), Endpoint: p.Endpoint,
			AllowedIPs: p.AllowedIPs, PersistentKeepalive: p.PersistentKeepalive}
		if !p.PresharedKey.IsZero() {
			pj.PresharedKey = revealKey(&p.PresharedKey)
		}
		j.Peers = append(j.Peers, pj)
	}
	return j
}

func (j *wgDeviceJSON) device() (*WGDevice, error) {
	if j == nil {
		return nil, nil
	}
	d := &WGDevice{Name: j.Name, ListenPort: j.ListenPort, FirewallMark: j.FirewallMark, Userspace: j.Userspace}
	if k, err := j.PrivateKey.key(); err != nil {
		return nil, err
	} else if k != nil {
		d.PrivateKey = *k
		d.PublicKey = publicKey(*k)
	}
	for _, pj := range j.Peers {
		pub, err := ParseKey(string(pj.PublicKey))
		if err != nil {
			return nil, err
		}
		p := WGPeer{PublicKey: pub, Endpoint: pj.Endpoint, AllowedIPs: pj.AllowedIPs, PersistentKeepalive: pj.PersistentKeepalive}
		if k, err := pj.PresharedKey.key(); err != nil {
			return nil, err
		} else if k != nil {
			p.PresharedKey = *k
		}
		d.Peers = append(d.Peers, p)
	}
	return d, nil
}

// MarshalJSON encodes the want for the journal, keys in base64.
func (w WGWant) MarshalJSON() ([]byte, error) {
	type plain WGWant
	type peer struct {
		PublicKey    secretKey  `json:"public_key"`
		PresharedKey *secretKey `json:"preshared_key,omitempty"`
		WGPeerWant
	}
	v := struct {
		plain
		PrivateKey *secretKey    `json:"private_key,omitempty"`
		Peers      []peer        `json:"peers,omitempty"`
		Restore    *wgDeviceJSON `json:"restore,omitempty"`
	}{plain: plain(w), PrivateKey: revealKey(w.PrivateKey), Restore: deviceToJSON(w.Restore)}
	for _, p := range w.Peers {
		v.Peers = append(v.Peers, peer{secretKey(p.PublicKey.Base64()), revealKey(p.PresharedKey), p})
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (w *WGWant) UnmarshalJSON(b []byte) error {
	type plain WGWant
	type peer struct {
		PublicKey    secretKey  `json:"public_key"`
		PresharedKey *secretKey `json:"preshared_key,omitempty"`
		WGPeerWant
	}
	var v struct {
		plain
		PrivateKey *secretKey    `json:"private_key,omitempty"`
		Peers      []peer        `json:"peers,omitempty"`
		Restore    *wgDeviceJSON `json:"restore,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*w = WGWant(v.plain)
	var err error
	if w.PrivateKey, err = v.PrivateKey.key(); err != nil {
		return err
	}
	if w.Restore, err = v.Restore.device(); err != nil {
		return err
	}
	w.Peers = nil
	for _, p := range v.Peers {
		pw := p.WGPeerWant
		pub, err := ParseKey(string(p.PublicKey))
		if err != nil {
			return err
		}
		pw.PublicKey = pub
		if pw.PresharedKey, err = p.PresharedKey.key(); err != nil {
			return err
		}
		w.Peers = append(w.Peers, pw)
	}
	return nil
}

// MarshalJSON encodes the state for the journal, WireGuard keys in base64.
func (s LinkState) MarshalJSON() ([]byte, error) {
	type plain LinkState
	return json.Marshal(struct {
		plain
		WireGuard *wgDeviceJSON `json:"wireguard,omitempty"`
	}{plain(s), deviceToJSON(s.WireGuard)})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (s *LinkState) UnmarshalJSON(b []byte) error {
	type plain LinkState
	var v struct {
		plain
		WireGuard *wgDeviceJSON `json:"wireguard,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = LinkState(v.plain)
	var err error
	s.WireGuard, err = v.WireGuard.device()
	return err
}
