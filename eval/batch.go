package eval

import (
	"errors"
	"fmt"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// Batching: consecutive route and neighbour statements are not ensured
// one at a time but queued. On the real kernel every 1000 queued wants go
// to a txn.Stream (stream.go), which prepares them together, journals all
// their inverses with one write and one fsync, and only then sends them —
// pipelined (kernel.Netlink.RouteBatch) — while the evaluation goes on; on
// a model the queue is flushed through txn.Tx.EnsureBatch, which does the
// same and waits. A recipe of 100k routes thus costs a hundred fsyncs and
// a hundred netlink round trips instead of 100k of each.
//
// The queue is flushed before anything that could observe or depend on
// the queued changes, or whose effect must come after them: every other
// network statement (links, addresses, rules, namespaces, WireGuard, and
// table declarations, which change how changes are named), print,
// assert, fail, exec, show, a builtin called as a statement, the end of
// the recipe, and when it holds batchMax wants. Lets, sets, ifs, loops,
// recipe functions, includes and `in netns` only evaluate expressions,
// which read no queued state (has_link and has_netns read links and
// namespaces, which queued routes and neighbours do not change), so they
// do not flush.
//
// A failure while flushing is reported at the queued statement that
// caused it (EnsureBatch's BatchError names the want), with its
// file:line:col, exactly as if the statements had run one at a time;
// the run is then rolled back like any other failure, including wants
// of the batch that the kernel applied after the failed one.

// batchMax bounds the wants queued before a flush on a model (and before
// a hand-off to the stream, with streamChunk). Batches larger than a few
// thousand gain nothing but hold more memory.
var batchMax = 1 << 13 // a variable for tests (pipeline_test.go)

// pending holds the queued wants and, at the same index, the statement
// that asked for each; the decode memo (see decode), which lives here
// because it too only serves repeated network statements; and the
// stream taking the queued wants on a kernel that pipelines route
// changes (stream.go).
type pending struct {
	ws       []kernel.Want
	nodes    []lang.Node
	memo     map[*lang.NetStmt]decodedStmt
	stream   *streamState
	noStream bool // the kernel cannot stream (a model): flush full batches
	// scratch is the Decoded of top-level statements without a block
	// (see decode).
	scratch lang.Decoded
}

// decodedStmt is lang.Decode's result for one statement.
type decodedStmt struct {
	d  *lang.Decoded
	ds lang.Diagnostics
}

// memoMax bounds the decode memo: a loop body's statements stay in it,
// while a recipe of 100k distinct statements does not fill memory with
// their decodings.
const memoMax = 1024

// decode is lang.Decode(s), remembered when s is in a loop body or a
// recipe function (or an included file): such a statement may run many
// times, and its decoding (schema lookup, keyword matching, literal
// checks) depends only on the statement's text, not on the values it is
// evaluated with. The evaluator only reads the Decoded.
func (e *evaluator) decode(s *lang.NetStmt) (*lang.Decoded, lang.Diagnostics) {
	if e.loops == 0 && e.depth == 0 {
		// Runs once (a top-level statement of the recipe): remembering
		// it would only cost (100k such lines: 40 ms of map inserts).
		if s.Block == nil {
			// Nothing else is decoded before the statement is done
			// with its Decoded (no block of statements to run, and a
			// function called in its arguments runs at depth > 0),
			// so one Decoded serves them all (100k lines: 32 MB less
			// garbage).
			ds := lang.DecodeInto(&e.batch.scratch, s)
			return &e.batch.scratch, ds
		}
		return lang.Decode(s)
	}
	if r, ok := e.batch.memo[s]; ok {
		return r.d, r.ds
	}
	d, ds := lang.Decode(s)
	if e.batch.memo == nil || len(e.batch.memo) >= memoMax {
		e.batch.memo = make(map[*lang.NetStmt]decodedStmt, 64)
	}
	e.batch.memo[s] = decodedStmt{d, ds}
	return d, ds
}

// batchable reports whether w may wait in the queue: the wants EnsureBatch
// groups (routes and neighbours).
func batchable(w kernel.Want) bool {
	return w.Route != nil || w.Neigh != nil
}

// batchBarrier reports whether s must run after the queued wants were
// applied (see the comment above).
func batchBarrier(s lang.Stmt, sc *scope) bool {
	switch s := s.(type) {
	case *lang.Print, *lang.Assert, *lang.Fail, *lang.Exec, *lang.Show:
		return true
	case *lang.CallStmt:
		// A builtin's effect (writing a key file, ...) comes after the
		// queued changes; a recipe function's statements decide for
		// themselves.
		return sc.lookupFunc(s.Call.Name.Name) == nil
	case *lang.NetStmt:
		return s.Verb == "table"
	}
	return false
}

// queue adds w (for statement n) to the batch. Every streamChunk wants go
// to the stream (stream.go), which applies them while the evaluation
// goes on; on a model a full batch (batchMax) is applied here.
func (e *evaluator) queue(n lang.Node, w kernel.Want) error {
	if e.batch.ws == nil {
		e.batch.ws, e.batch.nodes = make([]kernel.Want, 0, 256), make([]lang.Node, 0, 256)
	}
	e.batch.ws = append(e.batch.ws, w)
	e.batch.nodes = append(e.batch.nodes, n)
	if len(e.batch.ws) >= batchMax || (!e.batch.noStream && len(e.batch.ws) >= streamChunk) {
		return e.handOff()
	}
	return nil
}

// flush applies everything queued and whatever the stream has in flight,
// and returns the first failure (the diagnostic of the statement whose
// want failed). When it returns, nothing is being applied behind the
// evaluation's back.
func (e *evaluator) flush() error {
	if st := e.batch.stream; st != nil {
		return e.flushStream(st)
	}
	if len(e.batch.ws) == 0 {
		return nil
	}
	b := batchJob{ws: e.batch.ws, nodes: e.batch.nodes}
	if f := e.applyBatch(b); f != nil {
		e.dropQueue()
		return e.batchErr(f)
	}
	// The arrays are reused by the next batch: EnsureBatch keeps no
	// reference to them (steps hold copies of the wants).
	clear(b.ws)
	clear(b.nodes)
	e.batch.ws, e.batch.nodes = b.ws[:0], b.nodes[:0]
	return nil
}

// dropQueue forgets the queued wants (after a failure: they are not
// applied).
func (e *evaluator) dropQueue() {
	clear(e.batch.ws)
	clear(e.batch.nodes)
	e.batch.ws, e.batch.nodes = e.batch.ws[:0], e.batch.nodes[:0]
}

// batchJob is a batch of wants and the statements that asked for them.
type batchJob struct {
	ws    []kernel.Want
	nodes []lang.Node
}

// batchFailure is a failed batch: the statement whose want failed and
// the error as the transaction returned it.
type batchFailure struct {
	node lang.Node
	err  error
}

// applyBatch ensures b's wants through the transaction and reports their
// changes to Options.OnChange (Result.Changes are the Tx's, see run): the
// flush of a kernel that cannot stream.
func (e *evaluator) applyBatch(b batchJob) *batchFailure {
	steps, err := e.tx.EnsureBatch(b.ws)
	if e.o.OnChange != nil { // Result.Changes are the Tx's (see run)
		for _, s := range steps {
			for _, c := range s.Changes {
				e.o.OnChange(c)
			}
		}
	}
	if err == nil {
		return nil
	}
	n := b.nodes[0]
	var be *txn.BatchError
	if errors.As(err, &be) && be.Index >= 0 && be.Index < len(b.nodes) {
		n, err = b.nodes[be.Index], be.Err
	}
	return &batchFailure{n, err}
}

// batchErr turns a failed batch into the statement's diagnostic, on the
// evaluating goroutine (netErr reads the kernel and the evaluation's
// state).
func (e *evaluator) batchErr(f *batchFailure) error {
	err := f.err
	if e.ctx.Err() != nil && !errors.Is(err, e.ctx.Err()) {
		err = fmt.Errorf("%w (interrupted: %v)", err, e.ctx.Err())
	}
	return e.netErr(f.node, err)
}

// endBatch applies what is queued when the evaluation ends and waits for
// the stream. After a failure (evalErr) the queue still holds statements
// that came before the failing one: they are applied too (and rolled back
// with the rest), so that a failure among them is the one reported, as a
// run one statement at a time would have; when the run was interrupted
// they are dropped instead (what the stream has in flight lands, and its
// failure, if it had one, is the one reported).
func (e *evaluator) endBatch(evalErr error) error {
	if evalErr != nil && e.ctx.Err() != nil {
		e.dropQueue()
		if st := e.batch.stream; st != nil {
			e.settle()
			e.batch.stream = nil
			if st.fail != nil {
				return e.batchErr(st.fail)
			}
		}
		return evalErr
	}
	if err := e.flush(); err != nil {
		return err
	}
	return evalErr
}
