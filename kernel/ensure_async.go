package kernel

// A Flight sends runs of prepared route steps to a RouteBatcher on a
// goroutine of its own, so that the caller can prepare (and journal) the
// next steps while the kernel applies the previous ones. Preparing and
// journaling 100k routes and the kernel adding them each take a few
// tenths of a second; a Flight makes them overlap instead of adding up.
//
// Everything but the kernel calls stays on the caller's goroutine: the
// Ensurer's cache is updated by Collect and Wait, never by the sending
// goroutine, so Prepare may run while a run is in flight — as long as
// the steps prepared do not depend on those in flight (the caller sends
// steps naming distinct objects, as ApplyAll's callers group them).
//
// Runs are sent in order, one at a time. After a run fails, the runs
// sent behind it are not applied; Wait reports how many steps were
// applied in all (every step before the failed one, in the order given
// to Apply) and the failure, exactly as ApplyAll on the same steps
// would.
type Flight struct {
	e    *Ensurer
	rb   RouteBatcher
	work chan flightRun
	done chan flightRun

	// sess is the batch socket session of the Flight's goroutine when
	// the kernel has one (Netlink; see bulkSession), else nil.
	sess *bulkSession

	inFlight int         // runs sent and not yet collected
	spare    [][]RouteOp // ops arrays of collected runs, for the next runs
	applied  int         // steps applied completely, in send order
	err      error
	stopped  bool // a run failed: nothing more is sent
}

// flightRun is one run of single-route steps in namespace ns.
type flightRun struct {
	ns    string
	steps []*Step
	ops   []RouteOp
	n     int // steps applied (set by the sender)
	err   error
}

// flightDepth bounds the runs sent and not yet collected. Enough to keep
// the sender busy through the caller's pauses (a collection, a slow
// statement), and to let the caller go on preparing while the kernel
// takes a slow run: the kernel's route table grows by resizing its trie,
// and the runs that cross 2^15 or 2^16 routes take 50–150 ms instead of
// 3. With 2, a 100k-route run left the kernel idle 370–455 ms in all
// (on a loaded machine); with 16, 170–300 ms. The price is memory:
// 16 runs of 1000 prepared steps, about 8 MB.
const flightDepth = 16

// Fly starts a Flight, or returns nil when the kernel cannot pipeline
// route changes (a Model: apply steps with ApplyAll). Wait must be
// called to end it.
func (e *Ensurer) Fly() *Flight {
	rb, ok := e.k.(RouteBatcher)
	if !ok {
		return nil
	}
	f := &Flight{e: e, rb: rb, work: make(chan flightRun, flightDepth), done: make(chan flightRun, flightDepth+1)}
	if n, ok := rb.(*Netlink); ok {
		f.sess = n.bulkSession()
		f.rb = f.sess
	}
	go f.run()
	return f
}

// run is the Flight's goroutine: it applies runs until work is closed,
// skipping every run after a failed one.
func (f *Flight) run() {
	failed := false
	for r := range f.work {
		if !failed {
			r.n, r.err = f.rb.RouteBatch(r.ns, r.ops)
			failed = r.err != nil
		}
		f.done <- r
	}
	if f.sess != nil {
		f.sess.close() // before Wait returns
	}
	close(f.done)
}

// Apply applies steps, in order, as ApplyAll would: runs of route
// changes (see ApplyAll) go to the Flight's goroutine, any other step is
// applied here once every run sent before it is done. After a failure
// was collected it applies nothing (Wait reports the failure).
func (f *Flight) Apply(steps []*Step) {
	for i := 0; i < len(steps) && !f.stopped; {
		if j := runEnd(steps, i); j-i >= 2 {
			f.send(steps[i:j])
			i = j
			continue
		}
		f.drain()
		if f.stopped {
			return
		}
		if f.sess != nil && mayDeleteNS(steps[i]) {
			// Drained, the goroutine is waiting for the next run: the
			// session is ours until we send it one.
			f.sess.close()
		}
		if err := f.e.Apply(steps[i]); err != nil {
			f.stopped, f.err = true, err
			return
		}
		f.applied++
		i++
	}
}

// send hands a run of route steps to the goroutine.
func (f *Flight) send(steps []*Step) {
	var ops []RouteOp
	if n := len(f.spare); n > 0 && cap(f.spare[n-1]) >= len(steps) {
		ops, f.spare = f.spare[n-1][:len(steps)], f.spare[:n-1]
	} else {
		ops = make([]RouteOp, len(steps))
	}
	for i, s := range steps {
		ops[i] = s.ops[0].routeOp()
	}
	for f.inFlight >= flightDepth {
		f.collect(<-f.done)
	}
	f.inFlight++
	f.work <- flightRun{ns: steps[0].ops[0].ns, steps: steps, ops: ops}
}

// drain waits for every run sent.
func (f *Flight) drain() {
	for f.inFlight > 0 {
		f.collect(<-f.done)
	}
}

// Applied returns how many of the steps given to Apply so far were
// applied completely, counted in order (Collect first to count the runs
// that finished without waiting).
func (f *Flight) Applied() int { return f.applied }

// Failed reports whether a run collected so far failed (Collect first
// to learn about finished runs without waiting).
func (f *Flight) Failed() bool { return f.stopped }

// Collect records the runs the kernel has finished, without waiting.
func (f *Flight) Collect() {
	for f.inFlight > 0 {
		select {
		case r := <-f.done:
			f.collect(r)
		default:
			return
		}
	}
}

// Wait waits for every run sent, ends the Flight, and returns how many
// steps were applied completely (counted in send order) and the error of
// the first step that failed, if one did. The Flight cannot be used
// afterwards.
func (f *Flight) Wait() (int, error) {
	f.drain()
	close(f.work)
	for range f.done {
	}
	return f.applied, f.err
}

// collect records a finished run on the cache (as ApplyAll does).
func (f *Flight) collect(r flightRun) {
	f.inFlight--
	clear(r.ops)
	f.spare = append(f.spare, r.ops[:0]) // at most flightDepth+1
	if f.stopped {
		return // sent behind a failure: not applied
	}
	f.e.batchApplied(r.ns, r.steps, r.n, r.err)
	f.applied += r.n
	if r.err != nil {
		f.stopped, f.err = true, r.err
	}
}

// mayDeleteNS reports whether applying s may delete a namespace (which
// an open batch socket in it would keep alive): conservatively, whether
// it has a call that changes more than its own namespace (volatile: a
// namespace, a link, an address) or a compound restore (fn).
func mayDeleteNS(s *Step) bool {
	for _, o := range s.ops {
		if o.fn != nil || len(o.volatile) > 0 {
			return true
		}
	}
	return false
}

// runEnd returns the end of the run of steps starting at steps[i] that
// RouteBatch can take at once: each a single route change, all in the
// namespace of steps[i]. (A run shorter than two is applied with Apply.)
func runEnd(steps []*Step, i int) int {
	j := i
	for j < len(steps) && len(steps[j].ops) == 1 && steps[j].ops[0].route != nil && steps[j].ops[0].ns == steps[i].ops[0].ns {
		j++
	}
	return j
}

// batchApplied records that the kernel applied steps[:n] of a run sent to
// RouteBatch in ns (and failed with err at steps[n] when err is set): the
// applied calls are replayed on the cache, and after a failure the
// namespace is read again (the steps after the failed one may have been
// applied or not).
func (e *Ensurer) batchApplied(ns string, steps []*Step, n int, err error) {
	for x := 0; x < n && x < len(steps); x++ {
		if !e.direct && e.loaded[ns] {
			if !e.replayAdded(steps[x]) {
				e.Invalidate(ns)
			}
		}
		steps[x].ops = nil
	}
	if err != nil {
		e.Invalidate(ns)
	}
}

// replayAdded replays the single route change of s on the cache and
// reports whether the cache took it (when not, the namespace must be read
// again).
//
// A step that adds a route of which the cache held none under its key
// when the step was prepared — a route op that neither deletes nor
// replaces is one (see newRouteStep) — is replayed with Model.addPrepared, which skips most of what AddRoute
// does and the kernel already did: it checks only what tells the cache
// from the kernel, and does not look for a route under the key first
// (nothing can have come under that key since: a Stream holds back a want
// naming an object in flight, and EnsureBatch splits its groups at a
// repeated object; were one there after all, the namespace is read
// again). Replaying every route of a full table was a sixth of the
// evaluation's CPU, half of it in those checks and that lookup.
func (e *Ensurer) replayAdded(s *Step) bool {
	o := &s.ops[0]
	if o.route != nil && !o.routeDel && !o.routeReplace {
		if ok, done := e.cache.addPrepared(o.ns, *o.route); done {
			return ok
		}
	}
	return o.call(e.cache) == nil
}
