package builtins

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// UnpackArgs unpacks a builtin's positional arguments into Go variables,
// in the manner of starlark-go's UnpackArgs. After args come pairs of a
// parameter name and a pointer to fill; a name ending in "?" marks that
// parameter and all after it optional (their variables keep their values
// when the argument is absent):
//
//	var name string
//	var def value.Value
//	err := UnpackArgs("env", args, "NAME", &name, "DEFAULT?", &def)
//
// The pointer's type says what the argument must be:
//
//	*value.Value      anything
//	*string           string
//	*int64, *int      int
//	*bool             bool
//	*netip.Addr       address, or a string holding one
//	*netip.Prefix     prefix, an address (its host prefix, /32 or /128),
//	                  or a string holding either
//	*net.HardwareAddr mac, or a string holding one
//	*time.Duration    duration, an int (seconds), or a string holding a
//	                  duration
//	*kernel.Key       key, or a string holding one in base64
//	*value.List       list
//	*value.Record     record
//
// A mismatch is an error naming the function, the argument's position and
// both types: "pubkey: argument 1 must be key, not int". A string that
// should have held a key is never repeated in the error.
func UnpackArgs(fn string, args []value.Value, pairs ...any) error {
	if len(pairs)%2 != 0 {
		return fmt.Errorf("%s: internal error: UnpackArgs needs name, pointer pairs", fn)
	}
	nparams := len(pairs) / 2
	if len(args) > nparams {
		return fmt.Errorf("%s: got %d arguments, want at most %d", fn, len(args), nparams)
	}
	optional := false
	for i := 0; i < nparams; i++ {
		name, ok := pairs[2*i].(string)
		if !ok {
			return fmt.Errorf("%s: internal error: UnpackArgs parameter %d has no name", fn, i+1)
		}
		if strings.HasSuffix(name, "?") {
			optional = true
			name = strings.TrimSuffix(name, "?")
		}
		if i >= len(args) {
			if optional {
				return nil
			}
			return fmt.Errorf("%s: missing argument %d (%s)", fn, i+1, name)
		}
		if err := unpackOne(args[i], pairs[2*i+1]); err != nil {
			return fmt.Errorf("%s: argument %d %s", fn, i+1, err)
		}
	}
	return nil
}

// unpackOne converts v into *ptr. Its errors read after "argument N".
func unpackOne(v value.Value, ptr any) error {
	if v == nil {
		return fmt.Errorf("has no value")
	}
	mismatch := func(want value.Type) error {
		if s, ok := v.(value.String); ok && want != value.TKey && want != value.TString {
			return fmt.Errorf("must be %s, not string %s", want, value.Repr(s))
		}
		return fmt.Errorf("must be %s, not %s", want, v.Type())
	}
	switch p := ptr.(type) {
	case *value.Value:
		*p = v
	case *string:
		s, ok := v.(value.String)
		if !ok {
			return mismatch(value.TString)
		}
		*p = string(s)
	case *int64:
		n, ok := v.(value.Int)
		if !ok {
			return mismatch(value.TInt)
		}
		*p = int64(n)
	case *int:
		n, ok := v.(value.Int)
		if !ok {
			return mismatch(value.TInt)
		}
		*p = int(n)
	case *bool:
		b, ok := v.(value.Bool)
		if !ok {
			return mismatch(value.TBool)
		}
		*p = bool(b)
	case *netip.Addr:
		switch a := v.(type) {
		case value.Addr:
			*p = a.Addr
		case value.String:
			addr, err := netip.ParseAddr(string(a))
			if err != nil {
				return mismatch(value.TAddress)
			}
			*p = addr
		default:
			return mismatch(value.TAddress)
		}
	case *netip.Prefix:
		switch a := v.(type) {
		case value.Prefix:
			*p = a.Prefix
		case value.Addr:
			pfx, err := hostPrefix(a.Addr)
			if err != nil {
				return err
			}
			*p = pfx
		case value.String:
			if pfx, err := netip.ParsePrefix(string(a)); err == nil {
				*p = pfx
			} else if addr, err := netip.ParseAddr(string(a)); err == nil && !strings.Contains(string(a), "/") {
				pfx, err := hostPrefix(addr)
				if err != nil {
					return err
				}
				*p = pfx
			} else {
				return mismatch(value.TPrefix)
			}
		default:
			return mismatch(value.TPrefix)
		}
	case *net.HardwareAddr:
		switch m := v.(type) {
		case value.MAC:
			*p = m.HardwareAddr
		case value.String:
			hw, err := net.ParseMAC(string(m))
			if err != nil {
				return mismatch(value.TMAC)
			}
			*p = hw
		default:
			return mismatch(value.TMAC)
		}
	case *time.Duration:
		if s, ok := v.(value.String); ok {
			d, err := time.ParseDuration(string(s))
			if err != nil {
				return mismatch(value.TDuration)
			}
			*p = d
			return nil
		}
		if _, ok := v.(value.Int); !ok {
			if _, ok := v.(value.Duration); !ok {
				return mismatch(value.TDuration)
			}
		}
		d, err := value.AsDuration(v)
		if err != nil {
			return fmt.Errorf("%v", err)
		}
		*p = d
	case *kernel.Key:
		switch v.(type) {
		case value.Key:
		case value.String:
			// AsKey's error never repeats the string, which may be a
			// secret.
			if _, err := value.AsKey(v); err != nil {
				return fmt.Errorf("must be key, not a string that holds none (want 44 characters of base64, as wg genkey writes)")
			}
		default:
			return mismatch(value.TKey)
		}
		k, _ := value.AsKey(v)
		*p = k
	case *value.List:
		l, ok := v.(value.List)
		if !ok {
			return mismatch(value.TList)
		}
		*p = l
	case *value.Record:
		r, ok := v.(value.Record)
		if !ok {
			return mismatch(value.TRecord)
		}
		*p = r
	default:
		return fmt.Errorf("cannot be unpacked: internal error: unsupported target %T", ptr)
	}
	return nil
}

// hostPrefix is the /32 or /128 of an address, as ip(8) reads a bare
// address where a prefix belongs.
func hostPrefix(a netip.Addr) (netip.Prefix, error) {
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("must be prefix, not address %s (an address with a zone is not a prefix)", a)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
