package lang

import (
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// WordType is what an argument position needs a word to be. The evaluator
// converts runtime values with [Param.Parse] / [ParseWord] so that a word
// written in the source and a value computed at run time are read by the
// same code with the same messages.
type WordType int

// Word types. The Go type each yields from Parse is given in brackets.
const (
	TAny       WordType = iota // any value; not parsed [string]
	TString                    // free text, e.g. an alias or label [string]
	TIfName                    // interface name, 1-15 bytes, no '/', ':' or space [string]
	TNetnsName                 // namespace name, no '/'; "host" is the start namespace [string]
	TAddr                      // IP address [netip.Addr]
	TPrefix                    // address with prefix length; a bare address is the host prefix [netip.Prefix]
	TNet                       // network prefix (no host bits); a bare address is the host prefix [netip.Prefix]
	TMAC                       // MAC address [net.HardwareAddr]
	TUint                      // unsigned integer, decimal or 0x hex, in Param.Min..Max [uint64]
	TMark                      // firewall mark M or M/MASK [Mark]
	TPortRange                 // port N or range N-M [PortRange]
	TUIDRange                  // uid range A-B (or A) [UIDRange]
	TDuration                  // Go duration: 25s, 1m30s [time.Duration]
	TSeconds                   // whole seconds: 25 or 25s [time.Duration]
	TEndpoint                  // HOST:PORT or [IPv6]:PORT [Endpoint]
	TKey                       // WireGuard key, 32 bytes base64 [[32]byte]
	TTable                     // routing table id (1..2^32-1) or name [TableRef]
	TEnum                      // one of Param.Enum [string]
	TProto                     // route protocol number or name [uint8]
	TIPProto                   // IP protocol number or name (tcp, udp, icmp...) [uint8]
	TScope                     // scope number or name (global, site, link, host, nowhere) [uint8]
	TInt                       // signed integer (expression shape) [int64]
	TBool                      // true or false (expression shape) [bool]
)

var typeNouns = map[WordType]string{
	TAny: "value", TString: "string", TIfName: "interface name", TNetnsName: "namespace name",
	TAddr: "IP address", TPrefix: "IP prefix", TNet: "network prefix", TMAC: "MAC address",
	TUint: "number", TMark: "mark", TPortRange: "port range", TUIDRange: "uid range",
	TDuration: "duration", TSeconds: "number of seconds", TEndpoint: "endpoint", TKey: "WireGuard key",
	TTable: "table", TEnum: "keyword", TProto: "route protocol", TIPProto: "IP protocol",
	TScope: "scope", TInt: "int", TBool: "bool",
}

// String names the type for messages ("IP address").
func (t WordType) String() string {
	if n, ok := typeNouns[t]; ok {
		return n
	}
	return fmt.Sprintf("WordType(%d)", int(t))
}

// Mark is a firewall mark with its mask (0xffffffff when none is given).
type Mark struct {
	Value, Mask uint32
}

// PortRange is an inclusive port range; a single port N is N-N.
type PortRange struct {
	Start, End uint16
}

// UIDRange is an inclusive uid range.
type UIDRange struct {
	Start, End uint32
}

// Endpoint is a WireGuard endpoint HOST:PORT. Addr is valid when Host is
// an IP address literal.
type Endpoint struct {
	Host string
	Addr netip.Addr
	Port uint16
}

// String prints the endpoint as it is written in a recipe.
func (e Endpoint) String() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
}

// TableRef is a routing table as written: an id, or a name still to be
// resolved (ID 0). The built-in names main, local and default resolve to
// their ids directly.
type TableRef struct {
	ID   uint32
	Name string
}

// Built-in routing table names.
var BuiltinTables = map[string]uint32{"default": 253, "main": 254, "local": 255}

var routeProtos = map[string]uint8{
	"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9,
	"mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16,
	"keepalived": 18, "babel": 42, "openr": 99, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
}

var ipProtos = map[string]uint8{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
	"ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136,
}

var scopes = map[string]uint8{
	"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255,
}

// ParseWord reads text as a value of type t with the default limits of t
// (TUint: 0..2^32-1). Errors read `"10.0.0.300" is not an IP address`.
func ParseWord(t WordType, text string) (any, error) {
	return (&Param{Type: t}).Parse(text)
}

func notA(text string, what string) error {
	return fmt.Errorf("%q is not %s", text, what)
}

// Parse reads text as a value for the parameter p: p.Words are accepted
// verbatim (returned as string), otherwise text must be of p.Type (within
// p.Min..p.Max for numbers, one of p.Enum for enums).
func (p *Param) Parse(text string) (any, error) {
	for _, w := range p.Words {
		if text == w {
			return w, nil
		}
	}
	switch p.Type {
	case TAny, TString:
		return text, nil
	case TIfName:
		if err := ifNameErr(text); err != nil {
			return nil, err
		}
		return text, nil
	case TNetnsName:
		if err := netnsNameErr(text); err != nil {
			return nil, err
		}
		return text, nil
	case TAddr:
		a, err := netip.ParseAddr(text)
		if err != nil {
			return nil, notA(text, "an IP address")
		}
		return a, nil
	case TPrefix, TNet:
		return parsePrefix(text, p.Type == TNet)
	case TMAC:
		m, err := net.ParseMAC(text)
		if err != nil {
			return nil, notA(text, "a MAC address")
		}
		return m, nil
	case TUint:
		n, err := p.uintValue(text)
		if err != nil {
			return nil, err
		}
		return n, nil
	case TMark:
		v, m, hasMask := strings.Cut(text, "/")
		mark, err1 := parseUint(v)
		mask := uint64(math.MaxUint32)
		var err2 error
		if hasMask {
			mask, err2 = parseUint(m)
		}
		if err1 != nil || err2 != nil || mark > math.MaxUint32 || mask > math.MaxUint32 {
			return nil, notA(text, "a mark (N or N/MASK, 32-bit, decimal or 0x hex)")
		}
		return Mark{Value: uint32(mark), Mask: uint32(mask)}, nil
	case TPortRange:
		a, b, isRange := strings.Cut(text, "-")
		start, err1 := strconv.ParseUint(a, 10, 16)
		end, err2 := start, error(nil)
		if isRange {
			end, err2 = strconv.ParseUint(b, 10, 16)
		}
		if err1 != nil || err2 != nil || end < start {
			return nil, notA(text, "a port or port range (N or N-M, 0 to 65535)")
		}
		return PortRange{Start: uint16(start), End: uint16(end)}, nil
	case TUIDRange:
		a, b, isRange := strings.Cut(text, "-")
		start, err1 := strconv.ParseUint(a, 10, 32)
		end, err2 := start, error(nil)
		if isRange {
			end, err2 = strconv.ParseUint(b, 10, 32)
		}
		if err1 != nil || err2 != nil || end < start {
			return nil, notA(text, "a uid range (A-B)")
		}
		return UIDRange{Start: uint32(start), End: uint32(end)}, nil
	case TDuration:
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 {
			return nil, notA(text, "a duration (like 25s or 1m30s)")
		}
		return d, nil
	case TSeconds:
		if n, err := strconv.ParseUint(text, 10, 16); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 || d%time.Second != 0 || d > 65535*time.Second {
			return nil, notA(text, "a number of seconds (0 to 65535, or a duration like 25s)")
		}
		return d, nil
	case TEndpoint:
		return parseEndpoint(text)
	case TKey:
		k, err := base64.StdEncoding.DecodeString(text)
		if err != nil || len(k) != 32 {
			if len(text) > 8 {
				// Never repeat what may be most of a secret.
				return nil, fmt.Errorf("the string (%d characters) is not a WireGuard key (want 44 characters of base64, as wg genkey writes)", len(text))
			}
			return nil, notA(text, "a WireGuard key (want 44 characters of base64, as wg genkey writes)")
		}
		var key [32]byte
		copy(key[:], k)
		return key, nil
	case TTable:
		return parseTable(text)
	case TEnum:
		for _, e := range p.Enum {
			if text == e {
				return text, nil
			}
		}
		noun := p.Noun
		if noun == "" {
			noun = p.Name
		}
		msg := fmt.Sprintf("%q is not %s (one of %s)", text, withArticle(noun), strings.Join(p.Enum, ", "))
		return nil, hinted{msg: msg, hint: didYouMean(text, p.Enum)}
	case TProto:
		return parseNamedByte(text, routeProtos, "a route protocol (a number 0-255 or a name like static, kernel, boot)")
	case TIPProto:
		return parseNamedByte(text, ipProtos, "an IP protocol (a number 0-255 or tcp, udp, icmp, ...)")
	case TScope:
		return parseNamedByte(text, scopes, "a scope (global, site, link, host, nowhere or 0-255)")
	case TInt:
		n, err := parseInt(text)
		if err != nil {
			return nil, notA(text, "an int")
		}
		return n, nil
	case TBool:
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, notA(text, "a bool (true or false)")
	}
	return nil, fmt.Errorf("unknown word type %v", p.Type)
}

func ifNameErr(text string) error {
	if text == "" || len(text) > 15 || text == "." || text == ".." ||
		strings.ContainsAny(text, "/: \t\n\x00") {
		return notA(text, "a valid interface name (1 to 15 characters, no '/', ':' or spaces)")
	}
	return nil
}

func netnsNameErr(text string) error {
	if text == "" || len(text) > 255 || text == "." || text == ".." || strings.ContainsAny(text, "/\x00\n") {
		return notA(text, "a valid namespace name")
	}
	return nil
}

// uintValue reads a TUint within p.Min..p.Max.
func (p *Param) uintValue(text string) (uint64, error) {
	max := p.Max
	if max == 0 {
		max = math.MaxUint32
	}
	n, err := parseUint(text)
	if err != nil {
		return 0, notA(text, "a number")
	}
	if n < p.Min || n > max {
		return 0, fmt.Errorf("%s is out of range (%d to %d)", text, p.Min, max)
	}
	return n, nil
}

// validate returns the error p.Parse(text) returns, without making (and
// boxing) the value for the types whose values do not fit an interface
// without an allocation: the checker validates every literal argument.
func (p *Param) validate(text string) error {
	if contains(p.Words, text) {
		return nil
	}
	var err error
	switch p.Type {
	case TAny, TString:
	case TAddr:
		if _, e := netip.ParseAddr(text); e != nil {
			err = notA(text, "an IP address")
		}
	case TPrefix, TNet:
		_, err = parsePrefixValue(text, p.Type == TNet)
	case TTable:
		_, err = parseTableRef(text)
	case TIfName:
		err = ifNameErr(text)
	case TNetnsName:
		err = netnsNameErr(text)
	case TUint:
		_, err = p.uintValue(text)
	case TEnum:
		if !contains(p.Enum, text) {
			_, err = p.Parse(text)
		}
	default:
		_, err = p.Parse(text)
	}
	return err
}

// hinted is an error carrying a did-you-mean hint.
type hinted struct{ msg, hint string }

func (h hinted) Error() string { return h.msg }

// HintOf returns the did-you-mean hint carried by an error from Parse, if
// any.
func HintOf(err error) string {
	if h, ok := err.(hinted); ok {
		return h.hint
	}
	return ""
}

// redactKey never echoes a string that might be a real key.
func parseNamedByte(text string, names map[string]uint8, what string) (any, error) {
	if v, ok := names[text]; ok {
		return v, nil
	}
	n, err := parseUint(text)
	if err != nil || n > 255 {
		return nil, notA(text, what)
	}
	return uint8(n), nil
}

func parseUint(s string) (uint64, error) {
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		if rest == "" || strings.HasPrefix(rest, "+") || strings.HasPrefix(rest, "-") {
			return 0, strconv.ErrSyntax
		}
		return strconv.ParseUint(rest, 16, 64)
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 64)
}

func parseInt(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	u, err := parseUint(strings.TrimPrefix(s, "-"))
	if err != nil {
		return 0, err
	}
	if neg {
		if u > 1<<63 {
			return 0, strconv.ErrRange
		}
		return -int64(u), nil
	}
	if u > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(u), nil
}

func parsePrefix(text string, masked bool) (any, error) {
	pfx, err := parsePrefixValue(text, masked)
	if err != nil {
		return nil, err
	}
	return pfx, nil
}

// parsePrefixValue is parsePrefix without boxing the result.
func parsePrefixValue(text string, masked bool) (netip.Prefix, error) {
	if !strings.Contains(text, "/") {
		a, err := netip.ParseAddr(text)
		if err != nil {
			return netip.Prefix{}, notA(text, "an IP prefix or address")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, notA(text, "an IP prefix (zones are not allowed)")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(text)
	if err != nil {
		a, _, _ := strings.Cut(text, "/")
		if _, aerr := netip.ParseAddr(a); aerr != nil {
			return netip.Prefix{}, notA(a, "an IP address")
		}
		return netip.Prefix{}, notA(text, "an IP prefix")
	}
	if masked && pfx != pfx.Masked() {
		return netip.Prefix{}, hinted{msg: fmt.Sprintf("%q is not a network prefix: it has host bits set", text),
			hint: fmt.Sprintf("did you mean `%s`?", pfx.Masked())}
	}
	return pfx, nil
}

func parseEndpoint(text string) (any, error) {
	host, port, err := net.SplitHostPort(text)
	bad := notA(text, "an endpoint (HOST:PORT or [IPv6]:PORT)")
	if err != nil || host == "" {
		return nil, bad
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return nil, bad
	}
	e := Endpoint{Host: host, Port: uint16(n)}
	if a, err := netip.ParseAddr(host); err == nil {
		e.Addr = a
	} else if strings.HasPrefix(text, "[") || strings.ContainsAny(host, ":/ ") {
		return nil, bad
	}
	return e, nil
}

func parseTable(text string) (any, error) {
	ref, err := parseTableRef(text)
	if err != nil {
		return nil, err
	}
	return ref, nil
}

// parseTableRef is parseTable without boxing the result.
func parseTableRef(text string) (TableRef, error) {
	if id, ok := BuiltinTables[text]; ok {
		return TableRef{ID: id, Name: text}, nil
	}
	if text != "" && text[0] >= '0' && text[0] <= '9' {
		n, err := parseUint(text)
		if err != nil {
			return TableRef{}, notA(text, "a table (an id 1 to 4294967295 or a name)")
		}
		if n == 0 || n > math.MaxUint32 {
			return TableRef{}, fmt.Errorf("%s is not a table (ids are 1 to 4294967295)", text)
		}
		return TableRef{ID: uint32(n)}, nil
	}
	if !validTableName(text) {
		return TableRef{}, notA(text, "a table (an id 1 to 4294967295 or a name)")
	}
	return TableRef{Name: text}, nil
}

// validTableName reports whether s can name a routing table.
func validTableName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Shape types a word in an expression by its shape, as the contract says:
// a prefix (10.50.0.0/16), an address (10.0.0.1), an int (42, 0x1, -3), a
// duration (30s), a bool (true, false), anything else a string.
func Shape(text string) WordType {
	_, t := ParseLiteral(text)
	return t
}

// ParseLiteral returns the value of a word in an expression with its
// shape type: netip.Prefix, netip.Addr, int64, time.Duration, bool or
// string.
func ParseLiteral(text string) (any, WordType) {
	if text == "" {
		return text, TString
	}
	switch text {
	case "true":
		return true, TBool
	case "false":
		return false, TBool
	}
	if strings.Contains(text, "/") {
		if p, err := netip.ParsePrefix(text); err == nil {
			return p, TPrefix
		}
		return text, TString
	}
	if a, err := netip.ParseAddr(text); err == nil {
		return a, TAddr
	}
	if n, err := parseInt(text); err == nil {
		return n, TInt
	}
	if c := text[0]; c >= '0' && c <= '9' {
		if d, err := time.ParseDuration(text); err == nil {
			return d, TDuration
		}
	}
	return text, TString
}
