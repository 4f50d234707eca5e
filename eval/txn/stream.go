package txn

import (
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/nets-lang/nets/kernel"
)

// A Stream ensures route and neighbour wants handed to it call after
// call, as EnsureBatch would ensure them all at once, without waiting
// for the kernel at the end of each call.
//
// EnsureBatch returns only once every want it was given was applied. A
// caller that feeds it batch after batch (an evaluator loading 100k
// routes) therefore leaves the kernel idle at every batch boundary —
// the last chunk's round trip, then preparing and journaling the next
// batch's first chunk: 9 ms per batch of 8192, twelve times over 100k
// routes — unless it runs the batches on a goroutine of its own, which
// then competes for the cores with the evaluation and the kernel. A
// Stream keeps one kernel.Flight open across calls instead: Ensure
// prepares, journals and sends its wants and returns as soon as they are
// sent, reporting the wants the kernel has finished meanwhile; Wait
// waits for the rest. The caller evaluates the next wants while the
// kernel applies the previous ones, on one goroutine.
//
// The rules are EnsureBatch's (which sends groups of more than a chunk
// through a Stream too, see ensureGroupStreamed): every want is
// prepared against the cache as the wants before it left it — a want
// naming the same object as a want still in flight waits until that
// one's outcome is known; the inverses of a chunk are durable before any
// of its changes is sent; the BeforeApply hook of a step runs after that
// and before the step is sent; after a failure nothing more is sent, and
// the failure reported is the first in order. Every want handed to the
// Stream has a position, counted from 0 over the Stream's life; a
// failure is a *BatchError whose Index is the failed want's position.
//
// While a Stream is open the Tx accepts no other change: Ensure,
// EnsureBatch, Exec, Commit and Hold return an error until Wait ends it.
// Rollback waits for it first.
type Stream struct {
	t *Tx
	f *kernel.Flight // nil between a settle and the next change

	next int // the position of the next want handed to Ensure

	// q holds the steps prepared and not yet reported, in order; a
	// step in flight is reported once the kernel has applied it, and
	// the steps behind it wait for it.
	q  []streamStep
	qh int // q[:qh] were reported (q is compacted as it is used up)
	// sent counts the steps handed to f (each changed step in q has its
	// index among them in fi).
	sent int

	// The position of the last want prepared for each object, by the
	// object's hash (see objHash), to find a want naming an object whose
	// change is still in flight: cur holds up to streamGen objects, old
	// the ones before (see rotate).
	cur, old map[uint64]int
	seed     maphash.Seed
	oldMax   int // the highest position in old
	curMax   int // the highest position in cur

	err error // the failure that ended the Stream (sticky)

	out []*kernel.Step // reported, not yet returned (see take)
}

// streamStep is a prepared step and its want's position; fi is its index
// among the steps sent to the current Flight, -1 when it changes nothing,
// applied once a Flight since ended applied it.
type streamStep struct {
	s   *kernel.Step
	pos int
	fi  int
}

// applied is the fi of a step that a Flight since ended applied.
const applied = -2

// streamGen is how many objects cur holds before it becomes old: more
// than a Flight ever has in flight (kernel.Flight takes up to 16 chunks
// of flightChunk, plus the chunk being prepared), so old is all applied
// by the time it is dropped; were it not, rotate waits.
const streamGen = 1 << 15

// ErrStreamOpen is returned by the Tx's methods that change something
// while a Stream is open.
var ErrStreamOpen = errors.New("txn: a Stream is open (Wait for it first)")

// Stream opens a Stream on t, or returns nil when the kernel cannot
// pipeline route changes (a kernel.Model, on which EnsureBatch is as
// fast) or t is done or already has one open.
func (t *Tx) Stream() *Stream {
	if t.done || t.stream != nil {
		return nil
	}
	if _, ok := t.e.Kernel().(kernel.RouteBatcher); !ok {
		return nil
	}
	s := &Stream{t: t, cur: make(map[uint64]int, 1024), old: make(map[uint64]int, 1024), oldMax: -1, seed: maphash.MakeSeed()}
	t.stream = s
	return s
}

// Ensure prepares ws, journals their inverses and sends their changes to
// the kernel, a chunk at a time, and returns once they are all sent (or
// one failed). ws must be route and neighbour wants. It returns the
// steps the kernel finished since the last call — of these wants and
// earlier ones, in order, no-ops included: their Changes are what the
// run prints — and the Stream's failure, if it has one: a *BatchError
// naming the failed want's position. After a failure the Stream only
// reports it again; Wait ends it.
func (s *Stream) Ensure(ws []kernel.Want) ([]*kernel.Step, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.t.done || s.t.stream != s {
		return nil, ErrDone
	}
	base := s.next
	s.next += len(ws)
	defer func() {
		if r := recover(); r != nil {
			s.broken(r, base)
			panic(r)
		}
	}()
	var stopErr error
	stopAt := 0
	for i := 0; i < len(ws) && stopErr == nil && s.err == nil; {
		if len(s.cur) >= streamGen {
			s.rotate()
			if s.err != nil {
				break
			}
		}
		first := len(s.q)
		conflict := false
		for lo := i; i < len(ws) && i-lo < flightChunk; i++ {
			w := ws[i]
			obj, ok := batchKey(w)
			if restoreOnly(w) {
				stopErr, stopAt = errors.New("txn: restore-only wants have no inverse and cannot be part of a transaction"), base+i
				break
			}
			if !ok {
				stopErr, stopAt = errors.New("txn: a Stream takes route and neighbour wants only"), base+i
				break
			}
			k := maphash.Comparable(s.seed, obj)
			if s.inFlight(k) {
				conflict = true
				break
			}
			st, err := s.t.e.Prepare(w)
			if err != nil {
				// What was prepared before it is still applied, as
				// ensuring one at a time would have.
				stopErr, stopAt = err, base+i
				break
			}
			s.cur[k], s.curMax = base+i, base+i
			s.q = append(s.q, streamStep{s: st, pos: base + i, fi: -1})
		}
		if err, at := s.send(first); err != nil {
			stopErr, stopAt = err, at
			break
		}
		if s.f != nil {
			s.f.Collect()
			if s.f.Failed() {
				s.end()
				break
			}
		}
		if conflict {
			// ws[i] names an object that a want not yet applied
			// changes: it is prepared once that one is in the cache.
			s.end()
		}
		s.report()
	}
	if stopErr != nil {
		s.end() // a failure in the kernel before it comes first
		if s.err == nil {
			s.err = &BatchError{Index: stopAt, Err: stopErr}
		}
	}
	s.report()
	return s.take(), s.err
}

// broken ends the Stream after a panic inside Ensure (in Prepare, a
// BeforeApply hook, ...), before the panic goes on: the chunks in flight
// land (and reach the cache, so that a rollback undoes them), the steps
// prepared but not sent are dropped (they are never reported), and the
// Stream fails from then on at the first want of the call (base).
func (s *Stream) broken(r any, base int) {
	s.end()
	for x := s.qh; x < len(s.q); x++ {
		if e := s.q[x]; e.fi == -1 && e.s.Changed() {
			clear(s.q[x:])
			s.q = s.q[:x]
			break
		}
	}
	if s.err == nil {
		s.err = &BatchError{Index: base, Err: fmt.Errorf("internal error: %v", r)}
	}
}

// send journals the changed steps of q[first:] with one write, runs their
// BeforeApply hooks and hands them to the Flight. On a failure it drops
// the steps not sent from q and returns the error and the position to
// report it at.
func (s *Stream) send(first int) (error, int) {
	t := s.t
	seq := len(t.recs)
	recs := t.newRecs[:0]
	for _, e := range s.q[first:] {
		if e.s.Changed() {
			recs = append(recs, record{seq: seq + len(recs), inverse: e.s.Inverse})
		}
	}
	if len(recs) == 0 {
		return nil, 0
	}
	err := t.journal(recs)
	clear(recs)
	t.newRecs = recs[:0]
	if err != nil {
		at := s.q[first].pos
		clear(s.q[first:])
		s.q = s.q[:first]
		return err, at
	}
	// (A new array each time: the Flight holds on to it until the
	// chunk is applied.)
	chunk := make([]*kernel.Step, 0, len(recs))
	at := make([]int, 0, len(recs)) // chunk[j] is s.q[at[j]]
	var hookErr error
	hookAt := 0
	for x := first; x < len(s.q); x++ {
		e := &s.q[x]
		if !e.s.Changed() {
			continue
		}
		if t.o.BeforeApply != nil {
			if err := t.o.BeforeApply(seq+len(chunk), e.s); err != nil {
				hookErr, hookAt = err, e.pos
				clear(s.q[x:])
				s.q = s.q[:x]
				break
			}
		}
		chunk, at = append(chunk, e.s), append(at, x)
	}
	// Numbered only now that they go to the Flight (a hook that panics
	// leaves none of them numbered: see broken).
	for j, x := range at {
		s.q[x].fi = s.sent + j
	}
	if len(chunk) > 0 {
		if s.f == nil {
			s.f = t.e.Fly()
		}
		s.sent += len(chunk)
		s.f.Apply(chunk)
	}
	return hookErr, hookAt
}

// inFlight reports whether a want prepared before and not yet reported
// (in flight, or behind a step in flight) names the object of hash k.
//
// The maps are keyed by the objKey's hash rather than by the objKey: a
// uint64 key makes each lookup and insert cheaper (they were a tenth of
// the evaluation's CPU on 100k routes) and the maps small enough to stay
// in a core's cache. Two objects with the same hash — once in 2^64 —
// only make the second want wait for the first, which is never wrong.
func (s *Stream) inFlight(k uint64) bool {
	if s.qh == len(s.q) {
		return false
	}
	low := s.q[s.qh].pos
	if p, ok := s.cur[k]; ok {
		return p >= low
	}
	if s.oldMax < low {
		return false // old holds no position still in flight
	}
	p, ok := s.old[k]
	return ok && p >= low
}

// rotate makes the full cur old and drops the old old. Every want in it
// was reported long ago (streamGen is far more than a Flight holds); were
// one not, the Stream first waits for everything in flight.
func (s *Stream) rotate() {
	if s.qh < len(s.q) && s.q[s.qh].pos <= s.oldMax {
		s.end()
		s.report()
	}
	s.oldMax = s.curMax
	s.old, s.cur = s.cur, s.old
	clear(s.cur)
}

// end waits for every step sent and ends the Flight (the next change
// starts another): the steps it applied are done, and after a failure
// the failed step and everything behind it are dropped and the failure
// becomes the Stream's.
func (s *Stream) end() {
	if s.f == nil {
		return
	}
	n, err := s.f.Wait()
	s.f = nil
	for x := s.qh; x < len(s.q); x++ {
		e := &s.q[x]
		if e.fi >= n {
			// Refused (err names it); nothing after it was applied.
			if s.err == nil && err != nil {
				s.err = &BatchError{Index: e.pos, Err: err}
			}
			clear(s.q[x:])
			s.q = s.q[:x]
			break
		}
		if e.fi >= 0 {
			e.fi = applied
		}
	}
	s.sent = 0
}

// report moves the steps at the head of q that are done — a no-op, a
// step applied by an ended Flight, or one the current Flight has applied
// — to s.out, for the caller. The changes of those that changed
// something join the Tx's. Popping them as soon as they are done also
// tells inFlight that their objects are in the cache.
func (s *Stream) report() {
	done := 0
	if s.f != nil {
		done = s.f.Applied()
	}
	for ; s.qh < len(s.q); s.qh++ {
		e := s.q[s.qh]
		if e.fi >= done {
			break // in flight
		}
		s.out = append(s.out, e.s)
		if e.fi != -1 {
			s.t.changes.add(e.s.Changes...)
		}
		s.q[s.qh] = streamStep{}
	}
	if s.qh == len(s.q) {
		s.q, s.qh = s.q[:0], 0
	} else if s.qh >= 1024 && 2*s.qh >= len(s.q) {
		n := copy(s.q, s.q[s.qh:])
		clear(s.q[n:])
		s.q, s.qh = s.q[:n], 0
	}
}

// take returns the steps reported since the last take.
func (s *Stream) take() []*kernel.Step {
	out := s.out
	s.out = nil
	return out
}

// Wait waits until every change sent is applied and ends the Stream: it
// returns the steps not reported before (as Ensure does) and the
// Stream's failure, if it has one. The Tx then accepts changes again.
func (s *Stream) Wait() ([]*kernel.Step, error) {
	if s.t.stream == s {
		s.t.stream = nil
	}
	s.end()
	s.report()
	return s.take(), s.err
}
