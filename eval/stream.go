package eval

import (
	"errors"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Streaming: on a kernel that pipelines route changes (the real one,
// kernel.Netlink), the queued route and neighbour wants go to a
// txn.Stream every streamChunk of them, which prepares, journals and
// sends them and returns at once; the evaluation goes on building the
// next chunk while the kernel applies the previous ones, and the change
// lines of the statements the kernel has finished are printed as the
// stream reports them, in order. Everything happens on the evaluating
// goroutine but the kernel's own work (the Stream's kernel.Flight): the
// evaluation and the kernel each keep a core busy, and the kernel is not
// left waiting at batch boundaries (see txn.Stream for what that cost).
// Nothing else changes:
//
//   - Order: every statement that is not a queued route or neighbour
//     flushes first (batch.go lists them), which waits for the stream,
//     as does everything that reads the kernel (kern): the evaluation
//     never sees or interleaves with changes in flight.
//   - Failure: the stream reports the first failure in recipe order; the
//     evaluation stops at its next hand-off or flush with the failed
//     statement's diagnostic, exactly as when running one statement at
//     a time, and nothing behind the failed statement is applied. An
//     evaluation error after a statement whose change then fails
//     reports the earlier, kernel failure (endBatch).
//   - Interruption: a chunk not yet handed to the stream when the
//     context is cancelled is not sent: the run fails at its first
//     statement (it must not commit without it); what is in flight
//     completes and is rolled back with the rest.
//
// On a kernel.Model (plans, tests, --model) there is no stream: a full
// batch (batchMax) is applied with txn.Tx.EnsureBatch where it is
// queued.

// streamChunk is how many queued wants are handed to the stream at once
// (at most batchMax): the kernel layer's sendmsg size, so that each
// hand-off is one chunk in flight.
const streamChunk = 1000

// streamState is the open stream and the statements of the wants handed
// to it that it has not reported yet: nodes[head:] are those of positions
// base+head on (a position is a want's index in the stream).
type streamState struct {
	s     *txn.Stream // nil once waited for (kern); opened again by the next hand-off
	nodes []lang.Node
	head  int
	base  int
	fail  *batchFailure // the stream's failure, reported by the next flush
}

// handOff gives the queued wants to the stream (opening it when needed).
// It returns the diagnostic of an earlier failure of the stream, if one
// failed.
func (e *evaluator) handOff() error {
	st := e.openStream()
	if st == nil {
		return e.flush() // a model: applied here (EnsureBatch)
	}
	if st.fail == nil {
		e.send(st)
	}
	if st.fail != nil {
		return e.flush() // waits, reports the failure, drops the queue
	}
	return nil
}

// openStream returns the evaluation's stream state with an open Stream,
// or nil when the kernel cannot stream.
func (e *evaluator) openStream() *streamState {
	st := e.batch.stream
	if st == nil {
		if e.batch.noStream {
			return nil
		}
		s := e.tx.Stream()
		if s == nil {
			e.batch.noStream = true
			return nil
		}
		st = &streamState{s: s}
		e.batch.stream = st
	}
	if st.s == nil && st.fail == nil {
		if st.s = e.tx.Stream(); st.s == nil {
			// Cannot happen (the Tx had a stream before and has no
			// other one open): fail rather than apply out of order.
			st.fail = &batchFailure{e.batch.nodes[0], errors.New("internal error: cannot reopen the transaction's stream")}
		}
		st.nodes, st.head, st.base = st.nodes[:0], 0, 0
	}
	return st
}

// send hands the queued wants to st's Stream and empties the queue. An
// interrupted run sends nothing more: it fails at the first queued
// statement, unless the stream has already failed earlier in the recipe.
func (e *evaluator) send(st *streamState) {
	ws, nodes := e.batch.ws, e.batch.nodes
	if len(ws) == 0 {
		return
	}
	// Emptied however Ensure returns: after a panic in it (recovered by
	// top), the run's end must not hand the same wants over again. The
	// arrays are reused: the Stream keeps no reference to the wants
	// (steps hold what they need), and st.nodes has the statements.
	defer func() {
		clear(ws)
		clear(nodes)
		e.batch.ws, e.batch.nodes = ws[:0], nodes[:0]
	}()
	if err := e.ctx.Err(); err != nil {
		// The changes in flight land first: a failure among them comes
		// earlier in the recipe than the interruption.
		e.settle()
		if st.fail == nil {
			n := nodes[0]
			st.fail = &batchFailure{n, lang.Diagnostic{Pos: posOf(n), End: endOf(n), Msg: "interrupted before this statement: " + err.Error(), Err: err}}
		}
		return
	}
	st.nodes = append(st.nodes, nodes...)
	steps, err := st.s.Ensure(ws)
	e.reported(st, steps)
	if err != nil {
		st.fail = st.failure(err, nodes[0])
	}
}

// reported passes the changes of steps, which the stream reports done
// in order, to Options.OnChange, and lets go of their statements.
func (e *evaluator) reported(st *streamState, steps []*kernel.Step) {
	for _, s := range steps {
		if e.o.OnChange != nil { // Result.Changes are the Tx's (see run)
			for _, c := range s.Changes {
				e.o.OnChange(c)
			}
		}
		st.nodes[st.head] = nil // (Options.Consume: the tree can go)
		st.head++
	}
	if st.head == len(st.nodes) {
		st.base += st.head
		st.nodes, st.head = st.nodes[:0], 0
	} else if st.head >= 4096 && 2*st.head >= len(st.nodes) {
		n := copy(st.nodes, st.nodes[st.head:])
		clear(st.nodes[n:])
		st.nodes, st.base, st.head = st.nodes[:n], st.base+st.head, 0
	}
}

// failure is the stream's failure err as the statement that caused it
// and its error (at, when err names no statement of the stream).
func (st *streamState) failure(err error, at lang.Node) *batchFailure {
	var be *txn.BatchError
	if errors.As(err, &be) {
		if i := be.Index - st.base; i >= st.head && i < len(st.nodes) {
			return &batchFailure{st.nodes[i], be.Err}
		}
	}
	if st.head < len(st.nodes) {
		at = st.nodes[st.head]
	}
	return &batchFailure{at, err}
}

// settle waits for what the stream has in flight (the evaluation reads
// the kernel next, or stops). A failure is kept for the next flush.
func (e *evaluator) settle() {
	st := e.batch.stream
	if st == nil || st.s == nil {
		return
	}
	at := lang.Node(nil)
	if st.head < len(st.nodes) {
		at = st.nodes[st.head]
	}
	steps, err := st.s.Wait()
	st.s = nil
	e.reported(st, steps)
	if err != nil && st.fail == nil {
		st.fail = st.failure(err, at)
	}
}

// flushStream is flush on a streaming kernel: it sends what is queued,
// waits for everything in flight and returns the stream's failure as
// the failed statement's diagnostic. The next hand-off opens a new
// Stream.
func (e *evaluator) flushStream(st *streamState) error {
	if st.fail == nil && len(e.batch.ws) > 0 {
		if st = e.openStream(); st.fail == nil {
			e.send(st)
		}
	}
	e.dropQueue()
	e.settle()
	e.batch.stream = nil
	if st.fail != nil {
		return e.batchErr(st.fail)
	}
	return nil
}

// kern returns the kernel the transaction applies to, once nothing is in
// flight: everything the evaluation reads from the kernel goes through
// it. A failure of the stream is not reported here (the evaluation
// reports it at its next flush); reading the kernel after it is harmless.
func (e *evaluator) kern() kernel.Kernel {
	e.settle()
	return e.tx.Ensurer().Kernel()
}
