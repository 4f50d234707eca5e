package lang

import (
	"math"
	"runtime"
	"sync/atomic"
)

// A big recipe's network statements are decoded on two goroutines.
// Decoding a statement against its schema (DecodeInto) is most of what
// checking a generated recipe of 100k routes costs, and it is a pure
// function of the statement; everything else the checker does (the
// arguments' variables and calls, table names declared and used, lets,
// includes, blocks) depends on what came before and stays in order on
// the caller's goroutine.
//
// Check walks the top-level statements from the first on as before; a
// second goroutine (a preDecoder) meanwhile decodes them from the last
// backwards, a chunk of preChunkLen statements at a time, and publishes
// each chunk when it is done. Where the walk reaches a statement of a
// published chunk it takes the decode's diagnostics (and the table
// argument left to check by name) from there instead of decoding the
// statement itself; the two meet wherever their speeds make them meet,
// so the walk never waits, and when the other core is busy it simply
// decodes more itself. The decoder stops at the first chunk the walk has
// already passed. The diagnostics are appended exactly where and in the
// order the walk would have appended them, so the result is the same
// Diagnostics; TestCheckParallel compares the two ways on every recipe
// in the repository and on generated ones.
//
// A `table` declaration (which names tables) is decoded by the walk
// itself, as are statements inside blocks and included files. A
// statement whose decode panics is left to the walk, which panics in
// the same place and reports it as before.

// checkSplitMin is the fewest top-level statements for which Check
// decodes on a second goroutine (a variable for tests). A statement
// takes about 0.3 µs to check, so 4096 of them take about 1.2 ms on one
// core; the second goroutine saves up to about half of that, against a
// few µs to start it and wake the idle core and at worst a chunk
// decoded twice (under 40 µs). Below a few thousand statements the
// saving is too small to notice beside starting the program, and the
// recipes people write by hand (tens to hundreds of statements) keep the
// plain walk.
var checkSplitMin = 4096

// checkSplitHold, for tests, when ≥ 0, makes the walk start only once
// the statements from index checkSplitHold on are decoded (or the
// decoder has stopped), so that they are certainly taken from it.
var checkSplitHold = -1

// checkSplitObserve, for tests, when not nil, is called as Check stops
// the decoder with the number of statements the walk took from it.
var checkSplitObserve func(taken int)

// preChunkLen is how many statements the decoder publishes at a time.
const preChunkLen = 128

// preWalk marks a statement the walk decodes itself.
const preWalk = -2

// preDecoder decodes the network statements of a list of top-level
// statements from the last backwards (see above).
type preDecoder struct {
	stmts  []Stmt
	chunks []*preChunk // chunks[k]: statements k*preChunkLen on; set before done says so
	exited chan struct{}

	_    [64]byte     // done and pos are written by different goroutines: apart
	done atomic.Int64 // the statements from done on are decoded (their chunks published)
	_    [64]byte
	pos  atomic.Int64 // where the walk is: the start of its chunk (MaxInt64: finished)
	_    [64]byte

	// The walk's own: the statement whose decode it takes from a chunk
	// next, and what it takes.
	cur      *NetStmt
	curDiags Diagnostics
	curRef   int32
	taken    int // statements taken
}

// preChunk holds the decodes of preChunkLen statements.
type preChunk struct {
	res   [preChunkLen]preResult
	diags Diagnostics // of all of them, in order
}

// preResult is the decode of one statement: its diagnostics, and the
// argument naming a table that tableRef must check against the tables
// named so far.
type preResult struct {
	ref      int32 // index in Args of that argument; -1: none; preWalk: not decoded here
	from, to int32 // the statement's diagnostics: diags[from:to]
}

// startPre starts decoding stmts on a second goroutine when they are
// many enough and there is a second core; nil otherwise.
func startPre(stmts []Stmt) *preDecoder {
	if len(stmts) < checkSplitMin || len(stmts) == 0 || runtime.GOMAXPROCS(0) < 2 {
		return nil
	}
	p := &preDecoder{
		stmts:  stmts,
		chunks: make([]*preChunk, (len(stmts)+preChunkLen-1)/preChunkLen),
		exited: make(chan struct{}),
	}
	p.done.Store(int64(len(stmts)))
	go p.run()
	if checkSplitHold >= 0 {
	hold:
		for p.done.Load() > int64(checkSplitHold) {
			select {
			case <-p.exited:
				break hold
			default:
				runtime.Gosched()
			}
		}
	}
	return p
}

// run decodes chunks from the last backwards until the walk has passed
// the one it is decoding.
func (p *preDecoder) run() {
	defer close(p.exited)
	defer func() {
		// The chunk is not published: the walk decodes the statement
		// again and reports the panic as it always has.
		_ = recover()
	}()
	var d Decoded
	n := len(p.stmts)
	for k := len(p.chunks) - 1; k >= 0; k-- {
		lo, hi := k*preChunkLen, min((k+1)*preChunkLen, n)
		ch := &preChunk{}
		for i := lo; i < hi; i++ {
			if p.pos.Load() >= int64(hi) {
				return
			}
			ch.res[i-lo] = ch.decode(&d, p.stmts[i])
		}
		p.chunks[k] = ch
		p.done.Store(int64(lo))
	}
}

// decode decodes s as checker.netStmt would, appending its diagnostics
// to ch.diags.
func (ch *preChunk) decode(d *Decoded, s Stmt) preResult {
	n, ok := s.(*NetStmt)
	if !ok || n.Verb == "table" && n.Parent == "" {
		return preResult{ref: preWalk}
	}
	from := len(ch.diags)
	ch.diags = append(ch.diags, DecodeInto(d, n)...)
	r := preResult{ref: -1, from: int32(from), to: int32(len(ch.diags))}
	if d.Schema == nil {
		return r
	}
	var f *Field
	switch n.Verb {
	case "route":
		f = d.Get("table")
	case "rule":
		f = d.Get("lookup")
	}
	// Only a literal table name needs the walk's tables (tableRef
	// returns at once for anything else).
	if f != nil && tableRefName(f.Value) != "" {
		for i, a := range n.Args {
			if a == f.Value {
				r.ref = int32(i)
				break
			}
		}
	}
	return r
}

// next tells the decoder the walk is at statement i and, when i is
// decoded, makes it the statement netStmt takes from a chunk.
func (p *preDecoder) next(i int, s Stmt) {
	if i%preChunkLen == 0 {
		p.pos.Store(int64(i))
	}
	p.cur = nil
	if int64(i) < p.done.Load() {
		return
	}
	ch := p.chunks[i/preChunkLen]
	r := &ch.res[i%preChunkLen]
	if r.ref == preWalk {
		return
	}
	p.cur, p.curDiags, p.curRef = s.(*NetStmt), ch.diags[r.from:r.to], r.ref
}

// take returns the decoded diagnostics of s and the index of its table
// argument left to check (-1: none) when s is the statement next made
// current; ok is false when the walk must decode s itself.
func (p *preDecoder) take(s *NetStmt) (ds Diagnostics, ref int32, ok bool) {
	if p == nil || p.cur != s {
		return nil, 0, false
	}
	p.cur = nil
	p.taken++
	return p.curDiags, p.curRef, true
}

// stop stops the decoder and waits for it: nothing of it is left once
// Check returns.
func (p *preDecoder) stop() {
	if p == nil {
		return
	}
	p.pos.Store(math.MaxInt64)
	<-p.exited
	if checkSplitObserve != nil {
		checkSplitObserve(p.taken)
	}
}
