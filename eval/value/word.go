package value

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// FromWord types a bare word of an expression by its shape, as the
// language contract says:
//
//	42, -7, 0x1, 0xff     int (decimal, or hex with 0x)
//	30s, 1m30s, 100ms     duration (Go's units: ns us ms s m h)
//	10.50.0.0/16, ::/0    prefix (the address is kept as written)
//	10.0.0.1, fe80::1     address
//	aa:bb:cc:dd:ee:ff     mac (exactly six colon-separated hex octets)
//	true, false           bool
//	anything else         string
//
// An int-shaped word too large for 64 bits becomes a string here; use
// ParseWord to get an error for it instead.
func FromWord(text string) Value {
	v, err := ParseWord(text)
	if err != nil {
		return String(text)
	}
	return v
}

// ParseWord is FromWord, except that an int-shaped word outside the
// 64-bit range is an error ("99999999999999999999 is too large for an
// int") instead of a string.
func ParseWord(text string) (Value, error) {
	if isIntShape(text) {
		n, err := parseInt(text)
		if err != nil {
			return nil, err
		}
		return Int(n), nil
	}
	if len(text) > 0 && text[0] >= '0' && text[0] <= '9' {
		if d, err := time.ParseDuration(text); err == nil {
			return Duration(d), nil
		}
	}
	if strings.Contains(text, "/") {
		if p, err := netip.ParsePrefix(text); err == nil {
			return Prefix{p}, nil
		}
	}
	if a, err := netip.ParseAddr(text); err == nil {
		return Addr{a}, nil
	}
	if isMACShape(text) {
		if hw, err := net.ParseMAC(text); err == nil {
			return MAC{hw}, nil
		}
	}
	switch text {
	case "true":
		return Bool(true), nil
	case "false":
		return Bool(false), nil
	}
	return String(text), nil
}

// isIntShape reports whether s is [-]digits or [-]0x hexdigits.
func isIntShape(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		for _, c := range s[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseInt parses an int-shaped word. strconv.ParseInt with base 0 would
// also accept 0b, 0o and underscores, which the language does not have.
func parseInt(text string) (int64, error) {
	s, neg := strings.CutPrefix(text, "-")
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base = s[2:], 16
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil || (!neg && u > 1<<63-1) || (neg && u > 1<<63) {
		return 0, fmt.Errorf("%s is too large for an int (64 bits)", text)
	}
	if neg {
		return int64(-u), nil // -(1<<63) wraps to MinInt64, as intended
	}
	return int64(u), nil
}

func isMACShape(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 2; i < 17; i += 3 {
		if s[i] != ':' {
			return false
		}
	}
	return true
}

// ParseInt parses an int as the language writes it: decimal or 0x hex,
// with an optional leading minus. It is what the builtin int(X) uses on
// strings.
func ParseInt(text string) (int64, error) {
	t := strings.TrimSpace(text)
	if !isIntShape(t) {
		return 0, fmt.Errorf("%s is not an int (want decimal digits or 0x and hex digits)", quote(text))
	}
	return parseInt(t)
}
