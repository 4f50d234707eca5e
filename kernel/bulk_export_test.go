package kernel

// SetBulkAckEach makes batches ask for an ack on every request (tests
// and benchmarks) and returns a function restoring the previous setting.
func SetBulkAckEach(on bool) (restore func()) {
	old := bulkAckEach
	bulkAckEach = on
	return func() { bulkAckEach = old }
}

// BulkChunk returns how many requests a batch in ns writes before
// waiting for replies.
func (n *Netlink) BulkChunk(ns string) (int, error) {
	c, chunk, err := n.bulkConn(ns)
	if err != nil {
		return 0, err
	}
	c.close()
	return chunk, nil
}

// SetBulkNoForce makes batch sockets ask for a receive buffer of size
// with SO_RCVBUF only (as where SO_RCVBUFFORCE is not permitted) and
// returns a function restoring the
// previous setting.
func SetBulkNoForce(size int) (restore func()) {
	old, oldSize := bulkForceRcvBuf, bulkRcvBuf
	bulkForceRcvBuf, bulkRcvBuf = false, size
	return func() { bulkForceRcvBuf, bulkRcvBuf = old, oldSize }
}
