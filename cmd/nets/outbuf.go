package main

import (
	"bufio"
	"context"
	"io"
	"sync"

	"github.com/nets-lang/nets/kernel"
)

// outBuffer buffers what run and plan write to stdout when stdout is not
// a terminal: a 100k-route run prints 100k change lines, and one write(2)
// each costs more than the rest of printing them. Order is kept with
// everything else the process writes: each write to stderr (notes,
// diagnostics, an exec'd program's errors) flushes stdout first, an
// exec'd program gets the unbuffered streams after a flush (see
// execHook), and the command flushes before it returns. On a terminal
// nets does not buffer: each line shows as it happens.
//
// bufio does this; the mutex is ours because the signal handler's
// goroutine may write to stderr while the run writes to stdout.
type outBuffer struct {
	mu     sync.Mutex
	buf    *bufio.Writer
	stdout io.Writer // the unbuffered streams
	stderr io.Writer
}

// outBufferSize is large enough that a 100k-line run makes a few
// hundred writes instead of 100k.
const outBufferSize = 64 << 10

// buffered returns a copy of c whose stdout is buffered and whose stderr
// flushes it first, and the buffer. Flush it before the command returns.
func (c *cli) buffered() (*cli, *outBuffer) {
	b := &outBuffer{buf: bufio.NewWriterSize(c.stdout, outBufferSize), stdout: c.stdout, stderr: c.stderr}
	bc := *c
	bc.stdout = bufferedOut{b}
	bc.stderr = flushingErr{b}
	return &bc, b
}

// Flush writes out what is buffered.
func (b *outBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Flush()
}

// bufferedOut is the buffered stdout.
type bufferedOut struct{ b *outBuffer }

func (w bufferedOut) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.buf.Write(p)
}

// flushingErr is stderr, flushing stdout before each write so that both
// streams read in order when they go to the same place (2>&1).
type flushingErr struct{ b *outBuffer }

func (w flushingErr) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	// A stdout that cannot be written (a closed pipe) must not silence
	// stderr, where the error is said: its flush error is not ours.
	w.b.buf.Flush()
	return w.b.stderr.Write(p)
}

// execHook runs an exec statement's program on k as the evaluator would
// (eval.Options.Exec: k.Exec, after which the evaluator re-reads the
// state), after flushing stdout, with the unbuffered streams in place of
// the buffered ones: a program then writes straight to nets' own stdout
// and stderr (a file stays a file to it, not a pipe that nets copies,
// which a program leaving a child behind would hold open).
func (b *outBuffer) execHook(k kernel.Kernel) func(ctx context.Context, ns string, cmd kernel.Cmd) error {
	return func(ctx context.Context, ns string, cmd kernel.Cmd) error {
		if err := b.Flush(); err != nil {
			return err
		}
		if _, ok := cmd.Stdout.(bufferedOut); ok {
			cmd.Stdout = b.stdout
		}
		if _, ok := cmd.Stdout.(flushingErr); ok {
			cmd.Stdout = b.stderr
		}
		if _, ok := cmd.Stderr.(flushingErr); ok {
			cmd.Stderr = b.stderr
		}
		if _, ok := cmd.Stderr.(bufferedOut); ok {
			cmd.Stderr = b.stdout
		}
		return k.Exec(ctx, ns, cmd)
	}
}
