package txn

import (
	"errors"

	"github.com/nets-lang/nets/kernel"
)

// Applying and undoing groups of independent steps at once, so that a
// kernel that can pipeline route changes (kernel.RouteBatcher, i.e.
// kernel.Netlink) gets them as one batch instead of one request and one
// wait per change.

// applyGroup applies the prepared steps of one group whose inverses are
// all durable (the changed ones numbered from seq on). The BeforeApply
// hooks run first, in order, each after its step's inverse is durable
// and before its step is applied; the steps before the first failing
// hook (all of them when none fails) then go to Ensurer.ApplyAll, which
// sends runs of route changes pipelined. It returns len(steps), nil, or
// the index (into steps) of the step that failed and its error: every
// step before it was applied, the ones after it were not, or (within a
// pipelined run) may have been — their inverses are journaled with the
// rest and undo them idempotently.
//
// On a kernel that cannot pipeline (a kernel.Model) the steps are applied
// one at a time, each right after its hook, exactly as Ensure does.
func (t *Tx) applyGroup(seq int, steps []*kernel.Step) (int, error) {
	if _, ok := t.e.Kernel().(kernel.RouteBatcher); !ok {
		for i, s := range steps {
			if !s.Changed() {
				continue
			}
			if err := t.apply(seq, s); err != nil {
				return i, err
			}
			seq++
		}
		return len(steps), nil
	}
	changed := make([]*kernel.Step, 0, len(steps))
	at := make([]int, 0, len(steps)) // changed[x] is steps[at[x]]
	for i, s := range steps {
		if s.Changed() {
			changed = append(changed, s)
			at = append(at, i)
		}
	}
	stop, hookErr := len(changed), error(nil)
	if t.o.BeforeApply != nil {
		for x, s := range changed {
			if err := t.o.BeforeApply(seq+x, s); err != nil {
				stop, hookErr = x, err
				break
			}
		}
	}
	n, err := t.e.ApplyAll(changed[:stop])
	for _, s := range changed[:n] {
		t.changes.add(s.Changes...)
	}
	if err != nil {
		return at[n], err
	}
	if hookErr != nil {
		return at[stop], hookErr
	}
	return len(steps), nil
}

// flightChunk is how many wants of a group are prepared and journaled
// before they are handed to the kernel (Stream.Ensure): small enough
// that the first chunk reaches the kernel soon and the last one leaves
// little to wait for, big enough that a journal write and fsync per
// chunk cost nothing next to the chunk. It is the kernel layer's
// sendmsg size (kernel.Netlink sends up to 1000 requests per sendmsg and
// waits for the last one's ack): a chunk of 1024 went out as 1000 and
// then 24 requests, with a second wait.
var flightChunk = 1000 // a variable for tests (SetFlightChunk)

// ensureGroupStreamed is ensureGroup on a kernel that pipelines route
// changes: the group goes through a Stream (stream.go), which prepares,
// journals and sends it chunk by chunk, each chunk's route changes
// applied by the kernel while the next chunk is prepared and journaled.
// The rules are ensureGroup's, as the Stream keeps them: a chunk's
// inverses are durable before any of its changes is sent, and the
// BeforeApply hook of a step runs after that and before the step is
// sent; on a failure the steps before the failed one were applied, the
// rest of its chunk may have been (their inverses are journaled and undo
// them idempotently), and nothing after it is sent. It returns the steps
// applied (every step, when nothing failed) and the first failure. One
// difference from ensureGroup: a journal that cannot be written (a full
// /run) fails at the first want of the chunk being journaled, after the
// chunks before it were applied (and are then rolled back), where
// ensureGroup failed at the group's first want having applied nothing.
func (t *Tx) ensureGroupStreamed(s *Stream, ws []kernel.Want, base int) (steps []*kernel.Step, err error) {
	defer func() {
		if t.stream == s {
			// A panic in Ensure: the Stream has waited for what was
			// in flight (broken); close it, so the Tx can roll back.
			s.Wait()
		}
	}()
	steps, err = s.Ensure(ws)
	rest, werr := s.Wait()
	steps = append(steps, rest...)
	if err == nil {
		err = werr
	}
	var be *BatchError
	if errors.As(err, &be) {
		// Positions in the Stream are indexes into ws.
		err = &BatchError{Index: base + be.Index, Err: be.Err}
	}
	return steps, err
}

// undoGroupMax bounds a group of undone steps: all of a group's steps
// are prepared before any is applied, so a bigger group only holds more
// memory (the kernel layer pipelines in chunks of 1000 anyway).
const undoGroupMax = 1 << 13

// undoGroupStart returns the start lo of the longest run recs[lo..i]
// (at most undoGroupMax steps, walking from i towards older steps) of
// steps whose inverse is a single route or neighbour want, each naming a
// different object (the grouping EnsureBatch uses): their inverses do not depend on each other, so they
// can be prepared together and applied as one batch. It returns i when
// recs[i] starts no such run of two or more, or when the kernel cannot
// pipeline (a kernel.Model: undone one step at a time, each step's mark
// written right after it).
func undoGroupStart(e *kernel.Ensurer, recs []record, i int) int {
	if _, ok := e.Kernel().(kernel.RouteBatcher); !ok {
		return i
	}
	groupable := func(r record) bool {
		if len(r.inverse) != 1 {
			return false
		}
		_, ok := batchKey(r.inverse[0])
		return ok
	}
	if i == 0 || !groupable(recs[i]) || !groupable(recs[i-1]) {
		return i
	}
	seen := make(map[objKey]struct{}, min(i+1, undoGroupMax))
	lo := i + 1
	for lo > 0 && i+1-lo < undoGroupMax {
		r := recs[lo-1]
		if len(r.inverse) != 1 {
			break
		}
		k, ok := batchKey(r.inverse[0])
		if !ok {
			break
		}
		if _, dup := seen[k]; dup {
			break
		}
		seen[k] = struct{}{}
		lo--
	}
	return min(lo, i)
}

// undoGroup undoes recs[lo..hi] (a run undoGroupStart found), newest
// first, as undo does one step at a time: hooks, then every inverse
// prepared, then all applied through Ensurer.ApplyAll (pipelined on a
// RouteBatcher). When one fails the rest are prepared again against the
// kernel's state as it is then: a pipelined batch may have applied some
// changes after the failed one, and preparing again turns those into
// no-ops instead of errors. Steps undone completely are marked in j with
// one write. It returns how many steps were undone and the failures.
func undoGroup(e *kernel.Ensurer, recs []record, lo, hi int, hook func(int, kernel.Want) error, j *journal) (int, []UndoFailure) {
	var fails []UndoFailure
	ok := make([]bool, hi-lo+1) // by i-lo
	fail := func(i int, err error) {
		r := recs[i]
		w := r.inverse[0]
		if r.undone || moot(err, w, recs[:i]) {
			return
		}
		fails = append(fails, UndoFailure{Step: r.seq, Want: kernel.FormatWant(w, e.Names), Err: err})
		ok[i-lo] = false
	}
	var todo []int // records to prepare and apply, newest first
	for i := hi; i >= lo; i-- {
		ok[i-lo] = true
		if hook != nil {
			if err := hook(recs[i].seq, recs[i].inverse[0]); err != nil {
				fail(i, err)
				continue
			}
		}
		todo = append(todo, i)
	}
	for len(todo) > 0 {
		steps := make([]*kernel.Step, 0, len(todo))
		of := make([]int, 0, len(todo)) // steps[x] undoes recs[of[x]]
		for x, i := range todo {
			s, err := e.Prepare(recs[i].inverse[0])
			if err != nil {
				fail(i, err)
				continue
			}
			if s.Changed() {
				steps = append(steps, s)
				of = append(of, todo[x])
			}
		}
		n, err := e.ApplyAll(steps)
		if err == nil {
			break
		}
		fail(of[n], err)
		todo = of[n+1:]
	}
	undone := 0
	var marks []int
	for i := hi; i >= lo; i-- {
		if ok[i-lo] {
			undone++
			if !recs[i].undone {
				marks = append(marks, recs[i].seq)
			}
		}
	}
	if j != nil {
		j.markUndoneAll(marks)
	}
	return undone, fails
}

// markUndoneAll records, with one write, that the steps seqs were undone
// (as markUndone does for one step, in the order given).
func (j *journal) markUndoneAll(seqs []int) {
	if j.broken != nil || j.f == nil || len(seqs) == 0 {
		return
	}
	b := j.buf[:0]
	for _, seq := range seqs {
		b = appendUndoneLine(b, seq) // journal_enc.go
	}
	j.buf = b
	if _, err := j.f.Write(b); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = err
		}
		return
	}
	j.size += int64(len(b))
}
