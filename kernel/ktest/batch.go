package ktest

import "github.com/nets-lang/nets/kernel"

// RouteOps applies ops to k one at a time (AddRoute or DelRoute), as a
// kernel.RouteBatcher applies a batch, stopping at the first op refuse
// reports true for (with a *kernel.Error) or k refuses. It returns how
// many were applied. Tests wrap a kernel.Model in a RouteBatcher with it,
// to drive the pipelined paths of eval and txn without a real kernel.
func RouteOps(k kernel.Kernel, ns string, ops []kernel.RouteOp, refuse func(kernel.RouteOp) bool) (int, error) {
	for i, o := range ops {
		if refuse != nil && refuse(o) {
			return i, &kernel.Error{Op: "add route", NS: ns, Err: errRefused}
		}
		var err error
		if o.Del {
			err = k.DelRoute(ns, o.Route)
		} else {
			err = k.AddRoute(ns, o.Route, o.Replace)
		}
		if err != nil {
			return i, err
		}
	}
	return len(ops), nil
}

type refusedError struct{}

func (refusedError) Error() string { return "refused by the test" }

var errRefused error = refusedError{}
