package txn

// Abandon simulates the process dying: the journal file and the lock are
// closed as the kernel would close them, nothing is removed or undone.
func (t *Tx) Abandon() {
	if t.j != nil && t.j.f != nil {
		t.j.f.Close()
	}
	if t.lock != nil && t.lock.f != nil {
		t.lock.f.Close() // closing the descriptor drops the flock
		t.lock.f = nil
	}
	t.done = true
}

// SetFlightChunk sets how many wants of a group are prepared before they
// are sent through a kernel.Flight (and so the smallest group that uses
// one), returning the function that restores it.
func SetFlightChunk(n int) (restore func()) {
	old := flightChunk
	flightChunk = n
	return func() { flightChunk = old }
}
