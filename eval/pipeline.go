package eval

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// The pipeline: a full batch of route and neighbour wants (batchMax, see
// batch.go) is applied on a goroutine of its own while the evaluation
// goes on building the next one. Preparing, journaling and sending a
// batch (txn.Tx.EnsureBatch) and evaluating the statements of the next
// one each take a core's worth of time on a 100k-route recipe; done one
// after the other they add up, side by side the slower one sets the
// pace. Nothing else changes:
//
//   - Order: batches are applied one at a time, in the order they were
//     queued, and every statement that is not a queued route or
//     neighbour waits until the pipeline is empty (flush, at the
//     barriers batch.go lists, and before a writekey note), as does
//     everything that reads the kernel (kern), so the evaluation never
//     sees or interleaves with a batch in flight.
//   - One writer: while a batch is in flight only the pipeline's
//     goroutine touches the transaction and Options.OnChange; the evaluating goroutine touches them only after
//     sync returned, which orders the two (sync.WaitGroup).
//     Options.OnChange is therefore called from either goroutine, never
//     from both at once.
//   - Failure: after a batch fails, the pipeline drops the batches queued
//     behind it unapplied, and the evaluation stops at its next hand-off
//     or flush with the failed statement's diagnostic — the first
//     failure in recipe order, as when running one statement at a time.
//     An evaluation error after a statement whose batch then fails
//     reports the earlier, kernel failure (endBatch).
//   - Interruption: a batch not yet started when the context is cancelled
//     is dropped, as a failure at its first statement (the run must not
//     commit without it); the one in flight completes (as a synchronous
//     flush would have).
//
// The goroutine is started by the first full batch, so recipes with
// fewer than batchMax queued statements between barriers never use it.

// pipeline is the goroutine applying handed-off batches.
type pipeline struct {
	jobs   chan batchJob
	free   chan batchJob // emptied arrays, back for reuse
	busy   sync.WaitGroup
	failed atomic.Bool
	fail   *batchFailure // written before busy.Done, read after busy.Wait
}

// pipelineDepth is how many full batches may wait for the pipeline while
// it applies one: one is enough to keep it busy, more only hold memory.
const pipelineDepth = 1

// handOff gives the queued batch to the pipeline (starting it when
// needed) and starts a new one. It returns the failure of an earlier
// batch, when the pipeline has seen one.
func (e *evaluator) handOff() error {
	p := e.batch.pipe
	if p == nil {
		p = &pipeline{jobs: make(chan batchJob, pipelineDepth), free: make(chan batchJob, pipelineDepth+1)}
		e.batch.pipe = p
		go e.runPipeline(p)
	}
	if p.failed.Load() {
		return e.flush() // waits, reports the failure, drops the queue
	}
	p.busy.Add(1)
	p.jobs <- batchJob{ws: e.batch.ws, nodes: e.batch.nodes}
	select {
	case b := <-p.free:
		e.batch.ws, e.batch.nodes = b.ws, b.nodes
	default:
		e.batch.ws, e.batch.nodes = make([]kernel.Want, 0, batchMax), make([]lang.Node, 0, batchMax)
	}
	return nil
}

// runPipeline applies p's jobs until the channel is closed.
func (e *evaluator) runPipeline(p *pipeline) {
	for b := range p.jobs {
		switch {
		case p.fail != nil:
			// Behind a failure: not applied.
		case e.ctx.Err() != nil:
			// Interrupted: not applied, and the run must not succeed.
			n := b.nodes[0]
			p.fail = &batchFailure{n, lang.Diagnostic{Pos: posOf(n), End: endOf(n), Msg: "interrupted before this statement: " + e.ctx.Err().Error(), Err: e.ctx.Err()}}
			p.failed.Store(true)
		default:
			if f := e.applyBatchSafe(b); f != nil {
				p.fail = f
				p.failed.Store(true)
			}
		}
		clear(b.ws) // the wants hold their routes (slabs of 64)
		clear(b.nodes)
		select {
		case p.free <- batchJob{ws: b.ws[:0], nodes: b.nodes[:0]}:
		default:
		}
		p.busy.Done()
	}
}

// applyBatchSafe is applyBatch turning a panic into an internal-error
// diagnostic at the batch's first statement, as the evaluation's own
// recover does (evaluator.top): a panic on this goroutine would
// otherwise end the process without rolling back.
func (e *evaluator) applyBatchSafe(b batchJob) (f *batchFailure) {
	defer func() {
		if r := recover(); r != nil {
			f = &batchFailure{b.nodes[0], errorf(b.nodes[0], "internal error (please report it): %v\n%s", r, debug.Stack())}
		}
	}()
	return e.applyBatch(b)
}

// sync waits until the pipeline has applied every handed-off batch, and
// returns the diagnostic of the statement whose want failed, if one did.
func (e *evaluator) sync() error {
	p := e.batch.pipe
	if p == nil {
		return nil
	}
	p.busy.Wait()
	if p.fail != nil {
		return e.batchErr(p.fail)
	}
	return nil
}

// stopPipeline ends the pipeline's goroutine once it is idle.
func (e *evaluator) stopPipeline() {
	if p := e.batch.pipe; p != nil {
		p.busy.Wait()
		close(p.jobs)
		e.batch.pipe = nil
	}
}

// kern returns the kernel the transaction applies to, once no batch is in
// flight: everything the evaluation reads from the kernel goes through
// it. A failure of the pipeline is not reported here (the evaluation
// reports it at its next flush); reading the kernel after it is harmless.
func (e *evaluator) kern() kernel.Kernel {
	if p := e.batch.pipe; p != nil {
		p.busy.Wait()
	}
	return e.tx.Ensurer().Kernel()
}
