package kernel

// SetBulkAckEach makes batches ask for an ack on every request (tests
// and benchmarks) and returns a function restoring the previous setting.
func SetBulkAckEach(on bool) (restore func()) {
	old := bulkAckEach
	bulkAckEach = on
	return func() { bulkAckEach = old }
}
