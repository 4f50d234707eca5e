package repl

import (
	"context"
	"errors"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// shadowKernel is the kernel the REPL's eval.Session sees. It exists
// because a transaction must outlive one eval.Session.Run: between
// `begin` and `commit` every statement takes effect as it is entered,
// yet all of them are one txn.Tx (one journal, the lock held throughout),
// which `rollback`, a failure or `nets recover` after a crash undoes as a
// whole. eval begins a transaction of its own in every Run, so the REPL
// runs eval's transaction without a journal ("the shadow") over this
// kernel and makes the real change through its own Tx ("the outer"):
//
//   - reads go to the real kernel, so eval's Ensurer prepares each step
//     against the true state;
//   - eval's txn.Options.BeforeApply hands each prepared step to
//     outer.Ensure, which prepares the same want against the same state,
//     journals its inverse and applies it;
//   - the shadow's own apply then reaches the write methods below, which
//     do nothing: the change is already made. The shadow's rollback (when
//     a statement fails) is likewise a no-op; the REPL rolls back the
//     outer transaction, which holds the real inverses.
//
// Writes outside a statement (no outer transaction) are refused, so a
// write can never bypass the journal.
type shadowKernel struct {
	kernel.Kernel // the real kernel (or the model): every read

	outer *txn.Tx // the transaction of the running statement; nil between statements
	// planning is set while a plan runs: its transaction works on a
	// model of its own, and its steps must not reach the outer one.
	planning bool
}

var errNoTx = errors.New("repl: kernel write outside a transaction (internal error)")

// beforeApply is the shadow transaction's BeforeApply hook: it makes the
// step's change for real, through the outer transaction.
func (k *shadowKernel) beforeApply(_ int, s *kernel.Step) error {
	if k.planning {
		return nil
	}
	if k.outer == nil {
		return errNoTx
	}
	_, err := k.outer.Ensure(s.Want)
	return err
}

func (k *shadowKernel) write() error {
	if k.outer == nil {
		return errNoTx
	}
	return nil
}

func (k *shadowKernel) AddNamespace(string) error                       { return k.write() }
func (k *shadowKernel) DelNamespace(string) error                       { return k.write() }
func (k *shadowKernel) AddLink(string, kernel.Link) error               { return k.write() }
func (k *shadowKernel) SetLink(string, string, kernel.LinkChange) error { return k.write() }
func (k *shadowKernel) DelLink(string, string) error                    { return k.write() }
func (k *shadowKernel) AddAddr(string, kernel.Addr, bool) error         { return k.write() }
func (k *shadowKernel) DelAddr(string, kernel.Addr) error               { return k.write() }
func (k *shadowKernel) AddRoute(string, kernel.Route, bool) error       { return k.write() }
func (k *shadowKernel) DelRoute(string, kernel.Route) error             { return k.write() }
func (k *shadowKernel) AddRule(string, kernel.Rule) error               { return k.write() }
func (k *shadowKernel) DelRule(string, kernel.Rule) error               { return k.write() }
func (k *shadowKernel) SetNeigh(string, kernel.Neigh) error             { return k.write() }
func (k *shadowKernel) DelNeigh(string, kernel.Neigh) error             { return k.write() }
func (k *shadowKernel) ConfigureWireGuard(string, string, kernel.WGConfig) error {
	return k.write()
}

// Exec runs the program through the outer transaction, which then reads
// every namespace again (the program may have changed anything).
func (k *shadowKernel) Exec(ctx context.Context, ns string, cmd kernel.Cmd) error {
	if k.outer == nil {
		return errNoTx
	}
	return k.outer.Exec(ctx, ns, cmd)
}

// Close does nothing: the REPL's caller owns the real kernel.
func (k *shadowKernel) Close() error { return nil }
