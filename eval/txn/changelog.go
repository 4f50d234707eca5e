package txn

import "github.com/nets-lang/nets/kernel"

// changeLog is the list of a Tx's changes. A run of a 100k-route recipe
// appends its changes a chunk at a time; kept in one slice, they were
// copied every time its array filled (twice their final size in all,
// written to fresh memory: perf counted a tenth of the evaluation's CPU
// in those copies and their page faults). A changeLog keeps them in
// arrays of changeChunk that are never copied while the Tx appends, and
// makes one slice of them only when asked for the whole list (Tx.Changes:
// the evaluation asks when a run starts and when it ends; the REPL after
// every statement). That slice has room for half as many changes more,
// which later adds fill before starting a new array, so that asking again
// after a few adds copies nothing, and asking after every add copies
// each change a bounded number of times.
type changeLog struct {
	chunks [][]kernel.Change // full arrays, then the one being filled
	n      int
}

// changeChunk is how many changes an array of a changeLog holds (56
// bytes each: 229 KB).
const changeChunk = 4096

// add appends cs.
func (l *changeLog) add(cs ...kernel.Change) {
	for len(cs) > 0 {
		last := len(l.chunks) - 1
		if last < 0 || len(l.chunks[last]) == cap(l.chunks[last]) {
			l.chunks = append(l.chunks, make([]kernel.Change, 0, changeChunk))
			last++
		}
		c := l.chunks[last]
		k := min(len(cs), cap(c)-len(c))
		l.chunks[last] = append(c, cs[:k]...)
		cs = cs[k:]
		l.n += k
	}
}

// len returns how many changes l holds.
func (l *changeLog) len() int { return l.n }

// all returns every change in one slice, capped: l keeps its array as
// its first (so that asking again copies nothing), and the changes added
// afterwards go after the returned slice's end (the array has room) or
// into new arrays, never into the slice.
func (l *changeLog) all() []kernel.Change {
	switch len(l.chunks) {
	case 0:
		return nil
	case 1:
		c := l.chunks[0]
		return c[:len(c):len(c)]
	}
	flat := make([]kernel.Change, 0, l.n+l.n/2)
	for _, c := range l.chunks {
		flat = append(flat, c...)
	}
	l.chunks = append(l.chunks[:0], flat)
	clear(l.chunks[1:cap(l.chunks)])
	return flat[:l.n:l.n]
}
