// Package value defines the runtime values of the nets language: their
// types, how a bare word becomes a value, the operators, and the
// conversions the evaluator needs when a value stands where a word of a
// statement belongs.
//
// Values are immutable: no operation changes a value in place, so a value
// may be shared freely between variables, scopes and goroutines.
//
// Errors returned here are plain errors whose messages are written for an
// operator reading a diagnostic; the evaluator adds file:line:col.
//
// Secrets: a Key prints as "(key)" through String, every fmt verb, JSON
// and Repr. AsText refuses to turn a key into a word; TextInString (for
// "${...}" inside quoted strings) shows it as "(key)". The only way to
// reveal a key's base64 is the builtin string(K), which calls Key.Base64.
package value

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nets-lang/nets/kernel"
)

// Type names a value's type. The names are part of the language contract
// and appear in error messages ("argument 1 must be key, not int").
type Type string

// The types of the language.
const (
	TString   Type = "string"
	TInt      Type = "int"
	TBool     Type = "bool"
	TAddress  Type = "address"
	TPrefix   Type = "prefix"
	TMAC      Type = "mac"
	TDuration Type = "duration"
	TKey      Type = "key"
	TList     Type = "list"
	TRecord   Type = "record"
)

// Value is a runtime value of the language.
//
// String returns the value's display form, the one print and the REPL
// show: a string's own text (unquoted), an int in decimal, an address or
// prefix in canonical form, a key as "(key)", a list as [a, "b"] and a
// record as {name: "x", port: 51820} (strings inside lists and records are
// quoted, see Repr).
type Value interface {
	Type() Type
	String() string
}

// String is a string value.
type String string

// Int is an integer value (64-bit, overflow is an error).
type Int int64

// Bool is a boolean value; only bools are conditions.
type Bool bool

// Addr is an IP address value (v4 or v6, optionally with a zone).
type Addr struct{ netip.Addr }

// Prefix is an IP prefix value. It keeps the address as written, so
// 10.0.0.1/24 (an interface address) is a Prefix whose Addr is 10.0.0.1;
// use Prefix.Masked() for the network.
type Prefix struct{ netip.Prefix }

// MAC is a link-layer address value.
type MAC struct{ net.HardwareAddr }

// Duration is a duration value such as 30s or 1m30s.
type Duration time.Duration

// Key is a WireGuard key value. It prints as "(key)" everywhere (String,
// every fmt verb, JSON); Base64 reveals it deliberately.
type Key struct{ kernel.Key }

// List is a list value. Do not modify a List after it is built: values
// are shared.
type List []Value

// RecordField is one field of a Record.
type RecordField struct {
	Name  string
	Value Value
}

// Record is a record value: named fields in the order they were written.
// Build one with NewRecord; do not modify it afterwards.
type Record struct {
	fields []RecordField
}

// Type implements Value.
func (String) Type() Type { return TString }

// Type implements Value.
func (Int) Type() Type { return TInt }

// Type implements Value.
func (Bool) Type() Type { return TBool }

// Type implements Value.
func (Addr) Type() Type { return TAddress }

// Type implements Value.
func (Prefix) Type() Type { return TPrefix }

// Type implements Value.
func (MAC) Type() Type { return TMAC }

// Type implements Value.
func (Duration) Type() Type { return TDuration }

// Type implements Value.
func (Key) Type() Type { return TKey }

// Type implements Value.
func (List) Type() Type { return TList }

// Type implements Value.
func (Record) Type() Type { return TRecord }

// String returns the string's text.
func (s String) String() string { return string(s) }

// String returns the int in decimal.
func (i Int) String() string { return strconv.FormatInt(int64(i), 10) }

// String returns "true" or "false".
func (b Bool) String() string { return strconv.FormatBool(bool(b)) }

// String returns the address in canonical form (RFC 5952 for IPv6).
func (a Addr) String() string { return a.Addr.String() }

// String returns the prefix in canonical form, address as written.
func (p Prefix) String() string { return p.Prefix.String() }

// String returns the MAC as six lower-case colon-separated octets.
func (m MAC) String() string { return m.HardwareAddr.String() }

// String returns the duration in the form the language reads back:
// 30s, 1m30s, 2h, 1h0m5s becomes 1h5s, 100ms stays 100ms.
func (d Duration) String() string { return formatDuration(time.Duration(d)) }

// String returns the list as [a, "b", 3], strings quoted.
func (l List) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Repr(v))
	}
	b.WriteByte(']')
	return b.String()
}

// String returns the record as {name: "x", port: 51820}, strings quoted.
func (r Record) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range r.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(Repr(f.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// NewRecord builds a record from fields in order. A field name given
// twice is an error.
func NewRecord(fields ...RecordField) (Record, error) {
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if seen[f.Name] {
			return Record{}, fmt.Errorf("field %q given twice in a record", f.Name)
		}
		if f.Value == nil {
			return Record{}, fmt.Errorf("field %q has no value", f.Name)
		}
		seen[f.Name] = true
	}
	return Record{fields: append([]RecordField(nil), fields...)}, nil
}

// Len is the number of fields.
func (r Record) Len() int { return len(r.fields) }

// Fields returns a copy of the record's fields in order.
func (r Record) Fields() []RecordField { return append([]RecordField(nil), r.fields...) }

// Names returns the field names in order.
func (r Record) Names() []string {
	names := make([]string, len(r.fields))
	for i, f := range r.fields {
		names[i] = f.Name
	}
	return names
}

// Get returns the named field's value.
func (r Record) Get(name string) (Value, bool) {
	for _, f := range r.fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Repr returns v as it would be written in a recipe expression: strings
// quoted with the language's escapes (\" \\ \n), everything else as
// String (keys stay "(key)").
func Repr(v Value) string {
	if s, ok := v.(String); ok {
		return quote(string(s))
	}
	if v == nil {
		return "(no value)"
	}
	return v.String()
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatDuration writes whole-second durations as h/m/s parts without
// zero parts (Go's time.Duration.String writes 2h as "2h0m0s"); anything
// finer uses Go's form (100ms, 1.5s). Both read back with FromWord.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d%time.Second != 0 || d < 0 {
		return d.String()
	}
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// article returns "a" or "an" for a type name in a sentence.
func article(t Type) string {
	switch t {
	case TInt, TAddress:
		return "an"
	}
	return "a"
}

// describe names v's type with an article for messages ("an int"),
// tolerating a nil value.
func describe(v Value) string {
	if v == nil {
		return "no value"
	}
	return article(v.Type()) + " " + string(v.Type())
}
