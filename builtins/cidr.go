package builtins

import (
	"fmt"
	"math/big"
	"net/netip"

	"github.com/nets-lang/nets/eval/value"
)

// host(PREFIX, N) is Terraform's cidrhost.
var hostBuiltin = &Builtin{
	Name:   "host",
	Params: "PREFIX, N",
	Min:    2, Max: 2,
	Doc: `Returns address number N of PREFIX, like Terraform's cidrhost:
host(10.12.112.0/20, 16) is 10.12.112.16, host(10.12.112.0/20, 268) is
10.12.113.12. A negative N counts back from the end: host(10.0.0.0/24, -1)
is 10.0.0.255. Host bits written in PREFIX are ignored (10.0.0.5/24 means
10.0.0.0/24); a bare address is its own /32 or /128. IPv4 and IPv6.
Errors when N does not fit: "prefix of 24 does not accommodate a host
numbered 256".
Example: addr ${host($lan, 1)}/24 dev br0`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var p netip.Prefix
		var n int64
		if err := UnpackArgs("host", args, "PREFIX", &p, "N", &n); err != nil {
			return nil, err
		}
		a, err := cidrHost(p, n)
		if err != nil {
			return nil, fmt.Errorf("host: %v", err)
		}
		return value.Addr{Addr: a}, nil
	},
}

// subnet(PREFIX, NEWBITS, NUM) is Terraform's cidrsubnet.
var subnetBuiltin = &Builtin{
	Name:   "subnet",
	Params: "PREFIX, NEWBITS, NUM",
	Min:    3, Max: 3,
	Doc: `Returns subnet number NUM of PREFIX made NEWBITS longer, like
Terraform's cidrsubnet: subnet(172.16.0.0/12, 4, 2) is 172.18.0.0/16,
subnet(10.1.2.0/24, 4, 15) is 10.1.2.240/28,
subnet(fd00:fd12:3456:7890::/56, 16, 162) is fd00:fd12:3456:7800:a200::/72.
Host bits written in PREFIX are ignored. As in Terraform, NEWBITS is 0 to
32 and NUM is 0 to 2^NEWBITS-1; errors say what does not fit: "prefix
extension of 8 does not accommodate a subnet numbered 300".
Example: for $i in range(4) < addr ${host(subnet(10.50.0.0/16, 8, $i), 1)}/24 dev veth-${i} >`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var p netip.Prefix
		var newbits, num int64
		if err := UnpackArgs("subnet", args, "PREFIX", &p, "NEWBITS", &newbits, "NUM", &num); err != nil {
			return nil, err
		}
		s, err := cidrSubnet(p, newbits, num)
		if err != nil {
			return nil, fmt.Errorf("subnet: %v", err)
		}
		return value.Prefix{Prefix: s}, nil
	},
}

// Hand-written rather than github.com/apparentlymart/go-cidr (Terraform's
// own helper): netip and math/big make it a few lines, and go-cidr works on
// net.IP, which turns IPv4-mapped IPv6 results into IPv4 ones (Terraform's
// "::/80" quirk); here an IPv6 prefix always gives IPv6 results.

// cidrHost is Terraform's cidrhost.
func cidrHost(p netip.Prefix, n int64) (netip.Addr, error) {
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	size := new(big.Int).Lsh(big.NewInt(1), uint(hostBits)) // addresses in p
	num := big.NewInt(n)
	if n < 0 {
		num.Add(num, size)
	}
	if num.Sign() < 0 || num.Cmp(size) >= 0 {
		last := new(big.Int).Sub(size, big.NewInt(1))
		return netip.Addr{}, fmt.Errorf("prefix of %d does not accommodate a host numbered %d (%s has hosts 0 to %s, or -%s to -1 counting from the end)",
			p.Bits(), n, p, last, size)
	}
	return addOffset(p.Addr(), num), nil
}

// cidrSubnet is Terraform's cidrsubnet.
func cidrSubnet(p netip.Prefix, newbits, num int64) (netip.Prefix, error) {
	p = p.Masked()
	bits := p.Addr().BitLen()
	switch {
	case newbits < 0:
		return netip.Prefix{}, fmt.Errorf("NEWBITS must be 0 or more, not %d", newbits)
	case newbits > 32:
		// Terraform's limit, kept so recipes and Terraform agree.
		return netip.Prefix{}, fmt.Errorf("may not extend prefix by more than 32 bits")
	case int64(p.Bits())+newbits > int64(bits):
		return netip.Prefix{}, fmt.Errorf("insufficient address space to extend prefix of %d by %d", p.Bits(), newbits)
	case num < 0:
		return netip.Prefix{}, fmt.Errorf("NUM must be 0 or more, not %d", num)
	case num >= 1<<newbits:
		return netip.Prefix{}, fmt.Errorf("prefix extension of %d does not accommodate a subnet numbered %d (numbers 0 to %d fit)", newbits, num, int64(1)<<newbits-1)
	}
	newLen := p.Bits() + int(newbits)
	off := new(big.Int).Lsh(big.NewInt(num), uint(bits-newLen))
	return netip.PrefixFrom(addOffset(p.Addr(), off), newLen), nil
}

// addOffset adds off to a; the callers have checked that it stays within
// a prefix, so it never carries out of the address.
func addOffset(a netip.Addr, off *big.Int) netip.Addr {
	sum := new(big.Int).SetBytes(a.AsSlice())
	sum.Add(sum, off)
	buf := sum.FillBytes(make([]byte, len(a.AsSlice())))
	r, _ := netip.AddrFromSlice(buf)
	return r
}
