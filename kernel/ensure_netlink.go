package kernel

import "golang.org/x/sys/unix"

// knownRuleDeleter is implemented by kernels that can delete a rule the
// caller has just seen exist, without looking it up again.
type knownRuleDeleter interface {
	delKnownRule(ns string, r Rule) error
}

// delKnownRule deletes rule r, which the Ensurer's cache of ns holds
// exactly (priority included), without the dump Netlink.DelRule makes
// to make sure that an exact rule exists: that lookup per rule made
// undoing n rules cost O(n²) (QA R24: 3000 rules took 12-18 s, `ip
// -batch` 0.17 s). The request is DelRule's, so the kernel's choice is
// the same: exact unless two rules share a priority and one's selectors
// are a superset of the other's.
func (n *Netlink) delKnownRule(ns string, r Rule) error {
	op := ruleOp("del", r)
	body, err := encodeRule(r)
	if err != nil {
		return nlOpErr(op, ns, nil, "%v", err)
	}
	return n.request(op, ns, unix.RTM_DELRULE, 0, rawBody(body))
}

// delRule deletes r, known to exist in the Ensurer's cache, the cheapest
// way k allows.
func delRule(k Kernel, ns string, r Rule) error {
	if d, ok := k.(knownRuleDeleter); ok {
		return d.delKnownRule(ns, r)
	}
	return k.DelRule(ns, r)
}
