package txn

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/nets-lang/nets/kernel"
)

// A hand-written encoder of the journal's hot lines: step records whose
// inverses are route and neighbour wants (what a bulk run journals, one
// per statement), and undone marks.
//
// Why not encoding/json: a 100k-route run journals 100k such lines, and
// json.Encoder spent about 0.15 s of CPU on them, nearly all of it
// reflection (walking line, Want, RouteWant and Route field by field,
// boxing netip values to call MarshalText), plus an allocation or more
// per line. The shapes are few and fixed, so appending them directly
// into one reused buffer costs a fraction of that.
//
// The bytes must stay EXACTLY those json.Encoder (SetEscapeHTML(false),
// as appendRecords has always used) writes for the same line: journals
// written before and after this encoder existed are read by the same
// readJournal, and a journal written by one nets version is recovered
// by another. journal_enc_test.go compares the two on every field of
// kernel.Route and kernel.Neigh set and unset, IPv4 and IPv6, every
// type, names with characters JSON escapes, and random wants. Any want
// with another shape (links, addresses, rules, namespaces, WireGuard,
// restore-only states) goes through encoding/json as before: see
// fastWant.

// fastWant reports whether appendWant encodes w: only its NS, Absent,
// Exact, Route and Neigh may be set.
func fastWant(w *kernel.Want) bool {
	return w.Netns == nil && w.Link == nil && w.Addr == nil && w.Rule == nil &&
		w.WireGuard == nil && w.LinkState == nil && w.NetnsState == nil
}

// fastRecord reports whether appendStepLine encodes r (every inverse is a
// fastWant).
func fastRecord(r *record) bool {
	for i := range r.inverse {
		if !fastWant(&r.inverse[i]) {
			return false
		}
	}
	return true
}

// appendStepLine appends the journal line of step record r, newline
// included, as json.Encoder writes line{Seq: &r.seq, Inverse:
// r.inverse}. r must satisfy fastRecord.
func appendStepLine(b []byte, r *record) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, int64(r.seq), 10)
	if len(r.inverse) > 0 { // omitempty
		b = append(b, `,"inverse":[`...)
		for i := range r.inverse {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendWant(b, &r.inverse[i])
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

// appendUndoneLine appends the journal line marking step seq undone,
// newline included, as json.Encoder writes line{Undone: &seq}.
func appendUndoneLine(b []byte, seq int) []byte {
	b = append(b, `{"undone":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	return append(b, '}', '\n')
}

// appendWant appends w (a fastWant) as encoding/json encodes a
// kernel.Want: fields in declaration order, omitempty ones left out when
// zero.
func appendWant(b []byte, w *kernel.Want) []byte {
	sep := byte('{') // before the next field
	if w.NS != "" {
		b = append(b, sep)
		b = append(b, `"ns":`...)
		b = appendJSONString(b, w.NS)
		sep = ','
	}
	if w.Absent {
		b = append(b, sep)
		b = append(b, `"absent":true`...)
		sep = ','
	}
	if w.Exact {
		b = append(b, sep)
		b = append(b, `"exact":true`...)
		sep = ','
	}
	if w.Route != nil {
		b = append(b, sep)
		b = append(b, `"route":`...)
		b = appendRouteWant(b, w.Route)
		sep = ','
	}
	if w.Neigh != nil {
		b = append(b, sep)
		b = append(b, `"neigh":`...)
		b = appendNeigh(b, w.Neigh)
		sep = ','
	}
	if sep == '{' {
		b = append(b, '{')
	}
	return append(b, '}')
}

// appendRouteWant appends rw as encoding/json encodes a kernel.RouteWant.
func appendRouteWant(b []byte, rw *kernel.RouteWant) []byte {
	b = append(b, `{"route":`...)
	b = appendRoute(b, &rw.Route)
	if rw.Set != 0 {
		b = append(b, `,"set":`...)
		b = strconv.AppendUint(b, uint64(rw.Set), 10)
	}
	return append(b, '}')
}

// appendRoute appends r as encoding/json encodes a kernel.Route (see its
// struct tags: table, dst, type, protocol and scope always; the others
// when not zero).
func appendRoute(b []byte, r *kernel.Route) []byte {
	b = append(b, `{"table":`...)
	b = strconv.AppendUint(b, uint64(r.Table), 10)
	b = append(b, `,"dst":`...)
	b = appendPrefix(b, r.Dst)
	if r.TOS != 0 {
		b = append(b, `,"tos":`...)
		b = strconv.AppendUint(b, uint64(r.TOS), 10)
	}
	if r.Priority != 0 {
		b = append(b, `,"metric":`...)
		b = strconv.AppendUint(b, uint64(r.Priority), 10)
	}
	b = append(b, `,"type":`...)
	b = strconv.AppendUint(b, uint64(r.Type), 10)
	if r.Gateway != (netip.Addr{}) { // omitzero: the zero value
		b = append(b, `,"gateway":`...)
		b = appendAddr(b, r.Gateway)
	}
	if r.Dev != "" {
		b = append(b, `,"dev":`...)
		b = appendJSONString(b, r.Dev)
	}
	if r.Src != (netip.Addr{}) {
		b = append(b, `,"prefsrc":`...)
		b = appendAddr(b, r.Src)
	}
	b = append(b, `,"protocol":`...)
	b = strconv.AppendUint(b, uint64(r.Protocol), 10)
	b = append(b, `,"scope":`...)
	b = strconv.AppendUint(b, uint64(r.Scope), 10)
	if r.MTU != 0 {
		b = append(b, `,"mtu":`...)
		b = strconv.AppendUint(b, uint64(r.MTU), 10)
	}
	if r.OnLink {
		b = append(b, `,"onlink":true`...)
	}
	return append(b, '}')
}

// appendNeigh appends n as encoding/json encodes a kernel.Neigh (LLAddr,
// a net.HardwareAddr, is a []byte to it: base64).
func appendNeigh(b []byte, n *kernel.Neigh) []byte {
	b = append(b, `{"dev":`...)
	b = appendJSONString(b, n.Link)
	b = append(b, `,"dst":`...)
	b = appendAddr(b, n.IP)
	if len(n.LLAddr) > 0 {
		b = append(b, `,"lladdr":"`...)
		b = base64.StdEncoding.AppendEncode(b, n.LLAddr)
		b = append(b, '"')
	}
	b = append(b, `,"state":`...)
	b = strconv.AppendUint(b, uint64(n.State), 10)
	return append(b, '}')
}

// appendAddr appends a's MarshalText form as a JSON string.
func appendAddr(b []byte, a netip.Addr) []byte {
	start := len(b)
	b = append(b, '"')
	b, _ = a.AppendText(b) // never fails
	return closeText(b, start)
}

// appendPrefix appends p's MarshalText form as a JSON string.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	start := len(b)
	b = append(b, '"')
	b, _ = p.AppendText(b)
	return closeText(b, start)
}

// closeText ends the JSON string b[start:] whose text was appended
// unescaped after the opening quote. Addresses are digits, hex digits,
// dots and colons, which need no escaping; only an IPv6 zone (any
// string) might, and then the text is escaped as encoding/json does.
func closeText(b []byte, start int) []byte {
	for _, c := range b[start+1:] {
		if c < utf8.RuneSelf && jsonSafe(c) {
			continue
		}
		text := string(b[start+1:])
		return appendJSONString(b[:start], text)
	}
	return append(b, '"')
}

// jsonSafe reports whether ASCII byte c stands for itself in a JSON
// string as encoding/json writes it without HTML escaping.
func jsonSafe(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' }

const lowerHex = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does with HTML escaping off: '"' and '\\' escaped with a backslash;
// \b, \f, \n, \r and \t by name; other control characters as \u00XX;
// invalid UTF-8 bytes replaced by \ufffd; U+2028 and U+2029 as \u2028
// and \u2029; everything else as is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe(c) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
