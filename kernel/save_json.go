package kernel

import (
	"bytes"
	"encoding/json"
	"time"
)

// JSON forms of saved and shown objects.
//
// The schema is stable: each object is a JSON object whose keys are the
// json tags of the kernel object types (which follow `ip -json` where it
// has a name for the field: ifname, mtu, address, master, ifalias, dev,
// local, broadcast, label, scope, dst, gateway, prefsrc, metric,
// protocol, table, lladdr, ...), with values in ip's words rather than
// numbers:
//
//   - hardware addresses as "aa:bb:cc:dd:ee:ff", prefixes as
//     "10.0.0.0/24", addresses as "10.0.0.1";
//   - scope, route type, protocol, table and rule action by name ("link",
//     "blackhole", "kernel", "main" or "100", "lookup"), neighbour state
//     as "permanent", "noarp", "reachable", "stale" or a number;
//   - WireGuard public keys in base64; private and preshared keys as
//     "(key)" unless secrets are revealed (save --secrets); persistent
//     keepalive in seconds.
//
// Zero-valued optional fields are omitted. New fields may be added; the
// ones described here keep their names and meaning.

// SaveJSON returns what Save returns as one JSON object, the fields of
// Config: {"ns" ("" is the namespace nets runs in), "tables": [{"id","name"}], "netns": [names], "links":
// [link + "create"], "wireguard": [device], "addrs", "routes", "rules",
// "neighs"}, each a list of objects as described above, in Save's order,
// and "skipped": [{"ifname", "reason"}] when links were left out.
func SaveJSON(k Kernel, ns string, opts SaveOptions) ([]byte, error) {
	c, err := ReadStableConfig(k, ns, opts.Names)
	if err != nil {
		return nil, err
	}
	return c.JSON(opts.Secrets)
}

// JSON renders c as SaveJSON describes; reveal writes WireGuard secrets
// in base64.
func (c *Config) JSON(reveal bool) ([]byte, error) {
	out := map[string]any{"ns": c.NS}
	tables := []any{}
	for _, t := range c.Tables {
		tables = append(tables, t)
	}
	out["tables"] = tables
	netns := []string{}
	out["netns"] = append(netns, c.Netns...)
	links := []any{}
	for _, l := range c.Links {
		m := jsonLink(l)
		m["create"] = l.Create
		links = append(links, m)
	}
	out["links"] = links
	wg := []any{}
	for _, d := range c.WireGuard {
		wg = append(wg, jsonWG(d, reveal))
	}
	out["wireguard"] = wg
	addrs := []any{}
	for _, a := range c.Addrs {
		addrs = append(addrs, jsonAddr(a))
	}
	out["addrs"] = addrs
	routes := []any{}
	for _, r := range c.Routes {
		routes = append(routes, jsonRoute(r, c.names))
	}
	out["routes"] = routes
	rules := []any{}
	for _, r := range c.Rules {
		rules = append(rules, jsonRule(r, c.names))
	}
	out["rules"] = rules
	neighs := []any{}
	for _, n := range c.Neighs {
		neighs = append(neighs, jsonNeigh(n))
	}
	out["neighs"] = neighs
	if len(c.Skipped) > 0 {
		out["skipped"] = c.Skipped
	}
	return marshalJSON(out, "  ")
}

// ShowJSON returns the objects Show would print as a JSON list, in the
// same order (see SaveJSON for the fields). Secrets are never revealed.
func ShowJSON(k Kernel, ns, what, arg string, names *TableNames) ([]byte, error) {
	_, objs, err := showObjects(k, ns, what, arg, names)
	if err != nil {
		return nil, err
	}
	if objs == nil {
		objs = []any{}
	}
	return marshalJSON(objs, "  ")
}

// marshalJSON encodes v without HTML escaping (recipe text has < and >),
// indented by indent ("" for one line), without a trailing newline.
func marshalJSON(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// toMap marshals v with its json tags and reads it back as a map, so
// that fields can be rewritten in ip's words.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return m
}

func jsonLink(l SavedLink) map[string]any {
	m := toMap(l.Link)
	delete(m, "create")
	if len(l.Address) > 0 {
		m["address"] = l.Address.String()
	} else {
		delete(m, "address")
	}
	return m
}

func jsonAddr(a Addr) map[string]any {
	m := toMap(a)
	m["scope"] = ScopeName(a.Scope)
	return m
}

// JSONObject returns the JSON form (see SaveJSON) of a Link, Addr, Route,
// Rule, Neigh or WGDevice (secrets redacted), for other printers of
// objects (plans, monitor, show); other values are returned unchanged.
func JSONObject(v any, names *TableNames) any {
	switch v := v.(type) {
	case Link:
		return jsonLink(SavedLink{Link: v})
	case Addr:
		return jsonAddr(v)
	case Route:
		return jsonRoute(v, names)
	case Rule:
		return jsonRule(v, names)
	case Neigh:
		return jsonNeigh(v)
	case WGDevice:
		return jsonWG(v, false)
	}
	return v
}

func jsonRoute(r Route, names *TableNames) map[string]any {
	m := toMap(r)
	m["table"] = names.Name(r.Table)
	m["type"] = RouteTypeName(r.Type)
	m["protocol"] = ProtoName(r.Protocol)
	m["scope"] = ScopeName(r.Scope)
	return m
}

var ruleActionNames = map[RuleAction]string{ActionLookup: "lookup", ActionGoto: "goto", ActionNop: "nop",
	ActionBlackhole: "blackhole", ActionUnreachable: "unreachable", ActionProhibit: "prohibit"}

func jsonRule(r Rule, names *TableNames) map[string]any {
	m := toMap(r)
	if n, ok := ruleActionNames[r.Action]; ok {
		m["action"] = n
	}
	if r.Action == ActionLookup {
		m["table"] = names.Name(r.Table)
	}
	if r.IPProto != 0 {
		m["ipproto"] = IPProtoName(r.IPProto)
	}
	return m
}

func neighStateName(s NeighState) any {
	switch {
	case s&NeighPermanent != 0:
		return "permanent"
	case s&NeighNoARP != 0:
		return "noarp"
	case s&NeighReachable != 0:
		return "reachable"
	case s&NeighStale != 0:
		return "stale"
	}
	return int(s)
}

func jsonNeigh(n Neigh) map[string]any {
	m := toMap(n)
	if len(n.LLAddr) > 0 {
		m["lladdr"] = n.LLAddr.String()
	}
	m["state"] = neighStateName(n.State)
	return m
}

func jsonWG(d WGDevice, reveal bool) map[string]any {
	secret := func(k Key) any {
		if k.IsZero() {
			return nil
		}
		if reveal {
			return k.Base64()
		}
		return "(key)"
	}
	m := map[string]any{"ifname": d.Name, "listen_port": d.ListenPort}
	if v := secret(d.PrivateKey); v != nil {
		m["private_key"] = v
		m["public_key"] = d.PublicKey.Base64()
	}
	if d.FirewallMark != 0 {
		m["fwmark"] = d.FirewallMark
	}
	if d.Userspace {
		m["userspace"] = true
	}
	peers := []any{}
	for _, p := range d.Peers {
		pm := map[string]any{"public_key": p.PublicKey.Base64()}
		if v := secret(p.PresharedKey); v != nil {
			pm["preshared_key"] = v
		}
		if p.Endpoint.IsValid() {
			pm["endpoint"] = p.Endpoint.String()
		}
		ips := []string{}
		for _, a := range p.AllowedIPs {
			ips = append(ips, a.String())
		}
		pm["allowed_ips"] = ips
		if p.PersistentKeepalive != 0 {
			pm["persistent_keepalive"] = int(p.PersistentKeepalive / time.Second)
		}
		peers = append(peers, pm)
	}
	m["peers"] = peers
	return m
}
