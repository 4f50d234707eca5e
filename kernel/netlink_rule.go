package kernel

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Rules are encoded and decoded here with netlink's attribute codec
// rather than rtnetlink's RuleMessage: its decoder fails the whole dump
// on any attribute it does not know (FRA_DSCP and others of newer
// kernels), and its RuleUIDRange has uint16 fields where the kernel's
// struct fib_rule_uid_range has two u32 (add gives ERANGE).

// fibRuleHdrLen is sizeof(struct fib_rule_hdr): family, dst_len,
// src_len, tos, table, res1, res2, action (u8 each) and flags (u32).
const fibRuleHdrLen = 12

func ruleFamily(r Rule) (uint8, error) {
	switch r.Family {
	case 4:
		return unix.AF_INET, nil
	case 6:
		return unix.AF_INET6, nil
	}
	return 0, fmt.Errorf("rule family %d (want 4 or 6)", r.Family)
}

// encodeRule builds an RTM_NEWRULE/RTM_DELRULE body for r.
func encodeRule(r Rule) ([]byte, error) {
	fam, err := ruleFamily(r)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, fibRuleHdrLen)
	hdr[0] = fam
	hdr[7] = uint8(r.Action)
	if r.Invert {
		binary.NativeEndian.PutUint32(hdr[8:], unix.FIB_RULE_INVERT)
	}
	ae := netlink.NewAttributeEncoder()
	pfx := func(typ uint16, lenAt int, p netip.Prefix) error {
		if !p.IsValid() {
			return nil
		}
		if p.Addr().Is4() != (fam == unix.AF_INET) {
			return fmt.Errorf("prefix %v is not IPv%d", p, r.Family)
		}
		p = p.Masked()
		hdr[lenAt] = uint8(p.Bits())
		ae.Bytes(typ, p.Addr().AsSlice())
		return nil
	}
	if err := pfx(unix.FRA_SRC, 2, r.Src); err != nil {
		return nil, err
	}
	if err := pfx(unix.FRA_DST, 1, r.Dst); err != nil {
		return nil, err
	}
	switch r.Action {
	case ActionLookup:
		if r.Table == 0 {
			// The kernel would silently take table 1 (FR_ACT_TO_TBL
			// without a table).
			return nil, fmt.Errorf("lookup needs a table")
		}
		if r.Table < 256 {
			hdr[4] = uint8(r.Table)
		}
		ae.Uint32(unix.FRA_TABLE, r.Table)
	case ActionGoto:
		if r.Goto == 0 {
			return nil, fmt.Errorf("goto needs a target priority")
		}
		ae.Uint32(unix.FRA_GOTO, r.Goto)
	case ActionNop, ActionBlackhole, ActionUnreachable, ActionProhibit:
	default:
		return nil, fmt.Errorf("unknown rule action %d", r.Action)
	}
	if r.Priority != 0 {
		ae.Uint32(unix.FRA_PRIORITY, r.Priority)
	}
	if r.IIF != "" {
		ae.String(unix.FRA_IIFNAME, r.IIF)
	}
	if r.OIF != "" {
		ae.String(unix.FRA_OIFNAME, r.OIF)
	}
	if r.Mark != 0 || r.Mask != 0 {
		ae.Uint32(unix.FRA_FWMARK, r.Mark)
		mask := r.Mask
		if mask == 0 {
			mask = 0xffffffff
		}
		ae.Uint32(unix.FRA_FWMASK, mask)
	}
	if r.IPProto != 0 {
		ae.Uint8(unix.FRA_IP_PROTO, r.IPProto)
	}
	ports := func(typ uint16, p PortRange) {
		if p == (PortRange{}) {
			return
		}
		end := p.End
		if end == 0 {
			end = p.Start
		}
		b := make([]byte, 4)
		binary.NativeEndian.PutUint16(b[0:], p.Start)
		binary.NativeEndian.PutUint16(b[2:], end)
		ae.Bytes(typ, b)
	}
	ports(unix.FRA_SPORT_RANGE, r.SPort)
	ports(unix.FRA_DPORT_RANGE, r.DPort)
	if r.UID != nil {
		b := make([]byte, 8) // struct fib_rule_uid_range { __u32 start, end; }
		binary.NativeEndian.PutUint32(b[0:], r.UID.Start)
		binary.NativeEndian.PutUint32(b[4:], r.UID.End)
		ae.Bytes(unix.FRA_UID_RANGE, b)
	}
	if r.SuppressPrefixLen != nil {
		ae.Uint32(unix.FRA_SUPPRESS_PREFIXLEN, uint32(*r.SuppressPrefixLen))
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(hdr, attrs...), nil
}

// decodeRule decodes one RTM_NEWRULE body tolerantly: attributes it
// does not know are skipped, so one rule of a newer kernel cannot make a
// whole dump fail. ok is false for families other than v4/v6.
func decodeRule(b []byte) (r Rule, ok bool, err error) {
	if len(b) < fibRuleHdrLen {
		return r, false, fmt.Errorf("short rule message (%d bytes)", len(b))
	}
	switch b[0] {
	case unix.AF_INET:
		r.Family = 4
	case unix.AF_INET6:
		r.Family = 6
	default:
		return r, false, nil
	}
	dstLen, srcLen := int(b[1]), int(b[2])
	r.Table = uint32(b[4])
	r.Action = RuleAction(b[7])
	r.Invert = binary.NativeEndian.Uint32(b[8:12])&unix.FIB_RULE_INVERT != 0
	ad, err := netlink.NewAttributeDecoder(b[fibRuleHdrLen:])
	if err != nil {
		return r, false, err
	}
	pfx := func(bits int) netip.Prefix {
		a, ok := netip.AddrFromSlice(ad.Bytes())
		if !ok {
			return netip.Prefix{}
		}
		if r.Family == 4 {
			a = a.Unmap()
		}
		return netip.PrefixFrom(a, bits)
	}
	ports := func() PortRange {
		v := ad.Bytes()
		if len(v) < 4 {
			return PortRange{}
		}
		return PortRange{Start: binary.NativeEndian.Uint16(v[0:]), End: binary.NativeEndian.Uint16(v[2:])}
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.FRA_SRC:
			r.Src = pfx(srcLen)
		case unix.FRA_DST:
			r.Dst = pfx(dstLen)
		case unix.FRA_IIFNAME:
			r.IIF = ad.String()
		case unix.FRA_OIFNAME:
			r.OIF = ad.String()
		case unix.FRA_GOTO:
			r.Goto = ad.Uint32()
		case unix.FRA_PRIORITY:
			r.Priority = ad.Uint32()
		case unix.FRA_FWMARK:
			r.Mark = ad.Uint32()
		case unix.FRA_FWMASK:
			r.Mask = ad.Uint32()
		case unix.FRA_TABLE:
			r.Table = ad.Uint32()
		case unix.FRA_IP_PROTO:
			r.IPProto = ad.Uint8()
		case unix.FRA_SPORT_RANGE:
			r.SPort = ports()
		case unix.FRA_DPORT_RANGE:
			r.DPort = ports()
		case unix.FRA_UID_RANGE:
			if v := ad.Bytes(); len(v) >= 8 {
				r.UID = &UIDRange{Start: binary.NativeEndian.Uint32(v[0:]), End: binary.NativeEndian.Uint32(v[4:])}
			}
		case unix.FRA_SUPPRESS_PREFIXLEN:
			if v := ad.Uint32(); v != 0xffffffff {
				p := uint8(v)
				r.SuppressPrefixLen = &p
			}
		}
	}
	if err := ad.Err(); err != nil {
		return r, false, err
	}
	// Canonical forms: an exact fwmark match reads as Mask 0; a table
	// is meaningful only for lookup.
	if r.Mark != 0 && r.Mask == 0xffffffff {
		r.Mask = 0
	}
	if r.Action != ActionLookup {
		r.Table = 0
	}
	return r, true, nil
}

// Rules lists the IPv4 and IPv6 policy rules of ns in kernel order.
func (n *Netlink) Rules(ns string) ([]Rule, error) {
	var out []Rule
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, fibRuleHdrLen)
		req[0] = fam
		msgs, err := n.dump("list rules", ns, unix.RTM_GETRULE, rawBody(req))
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWRULE {
				continue
			}
			r, ok, err := decodeRule(m.Data)
			if err != nil {
				return nil, nlWrap("list rules: decode", ns, err)
			}
			if ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func ruleOp(verb string, r Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s rule", verb)
	if r.Family == 6 {
		b.WriteString(" -6")
	}
	if r.Priority != 0 {
		fmt.Fprintf(&b, " priority %d", r.Priority)
	}
	if r.Invert {
		b.WriteString(" not")
	}
	if r.Src.IsValid() {
		fmt.Fprintf(&b, " from %v", r.Src)
	}
	if r.Dst.IsValid() {
		fmt.Fprintf(&b, " to %v", r.Dst)
	}
	if r.Mark != 0 || r.Mask != 0 {
		fmt.Fprintf(&b, " fwmark %#x", r.Mark)
		if r.Mask != 0 {
			fmt.Fprintf(&b, "/%#x", r.Mask)
		}
	}
	switch r.Action {
	case ActionLookup:
		fmt.Fprintf(&b, " lookup %d", r.Table)
	case ActionGoto:
		fmt.Fprintf(&b, " goto %d", r.Goto)
	}
	return b.String()
}

// AddRule adds r (NLM_F_EXCL: an identical rule gives ErrExist). A zero
// Priority lets the kernel choose.
func (n *Netlink) AddRule(ns string, r Rule) error {
	op := ruleOp("add", r)
	body, err := encodeRule(r)
	if err != nil {
		return nlOpErr(op, ns, nil, "%v", err)
	}
	return n.request(op, ns, unix.RTM_NEWRULE, netlink.Create|netlink.Excl, rawBody(body))
}

// DelRule deletes the rule equal to r.
//
// The kernel deletes the first rule matching the attributes sent and
// treats absent ones as wildcards, so the rule is looked up first: if no
// rule equals r exactly the result is ErrNotFound (ENOENT), not the
// deletion of a wider rule. The request then carries r's priority as
// read back, which makes the kernel's choice exact unless two rules
// share a priority and one's selectors are a superset of the other's.
func (n *Netlink) DelRule(ns string, r Rule) error {
	op := ruleOp("del", r)
	rules, err := n.Rules(ns)
	if err != nil {
		return err
	}
	want := canonRule(r)
	found := false
	for _, have := range rules {
		if r.Priority == 0 {
			have.Priority = 0
		}
		if rulesEqual(canonRule(have), want) {
			found = true
			break
		}
	}
	if !found {
		return &Error{Op: op, NS: ns, Err: unix.ENOENT, Kind: ErrNotFound}
	}
	body, err := encodeRule(r)
	if err != nil {
		return nlOpErr(op, ns, nil, "%v", err)
	}
	return n.request(op, ns, unix.RTM_DELRULE, 0, rawBody(body))
}

// canonRule puts r in the form decodeRule produces.
func canonRule(r Rule) Rule {
	if r.Mark != 0 && r.Mask == 0xffffffff {
		r.Mask = 0
	}
	if r.Action != ActionLookup {
		r.Table = 0
	}
	if r.Action != ActionGoto {
		r.Goto = 0
	}
	if r.Src.IsValid() {
		r.Src = r.Src.Masked()
	}
	if r.Dst.IsValid() {
		r.Dst = r.Dst.Masked()
	}
	for _, p := range []*PortRange{&r.SPort, &r.DPort} {
		if *p != (PortRange{}) && p.End == 0 {
			p.End = p.Start
		}
	}
	return r
}

func rulesEqual(a, b Rule) bool {
	if (a.UID == nil) != (b.UID == nil) || (a.UID != nil && *a.UID != *b.UID) {
		return false
	}
	if (a.SuppressPrefixLen == nil) != (b.SuppressPrefixLen == nil) ||
		(a.SuppressPrefixLen != nil && *a.SuppressPrefixLen != *b.SuppressPrefixLen) {
		return false
	}
	a.UID, b.UID, a.SuppressPrefixLen, b.SuppressPrefixLen = nil, nil, nil, nil
	return a == b
}
