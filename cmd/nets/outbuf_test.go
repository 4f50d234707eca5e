package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// recordExec is a kernel whose Exec writes to the command's streams and
// records which writers it got.
type recordExec struct {
	kernel.Kernel
	gotOut, gotErr any
}

func (k *recordExec) Exec(_ context.Context, _ string, cmd kernel.Cmd) error {
	k.gotOut, k.gotErr = cmd.Stdout, cmd.Stderr
	fmt.Fprintln(cmd.Stdout, "exec out")
	fmt.Fprintln(cmd.Stderr, "exec err")
	return nil
}

// TestOutBufferOrder: with stdout buffered, what reaches the shared
// destination (2>&1) is in the order it was written, and an exec'd
// program gets the unbuffered streams.
func TestOutBufferOrder(t *testing.T) {
	var all bytes.Buffer
	c, b := (&cli{stdout: &all, stderr: &all}).buffered()
	fmt.Fprintln(c.stdout, "+ change 1")
	fmt.Fprintln(c.stdout, "print 1")
	if all.Len() != 0 {
		t.Fatalf("stdout was not buffered: %q", all.String())
	}
	k := &recordExec{}
	if err := b.execHook(k)(context.Background(), "", kernel.Cmd{Args: []string{"x"}, Stdout: c.stdout, Stderr: c.stderr}); err != nil {
		t.Fatal(err)
	}
	if k.gotOut != any(&all) || k.gotErr != any(&all) {
		t.Errorf("exec got %T, %T; want the unbuffered streams", k.gotOut, k.gotErr)
	}
	fmt.Fprintln(c.stdout, "+ change 2")
	fmt.Fprintln(c.stderr, "nets: note")
	fmt.Fprintln(c.stdout, "+ change 3")
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "+ change 1\nprint 1\nexec out\nexec err\n+ change 2\nnets: note\n+ change 3\n"
	if all.String() != want {
		t.Errorf("got\n%s\nwant\n%s", all.String(), want)
	}
}
