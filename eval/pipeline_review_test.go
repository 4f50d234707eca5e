package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// TestPipelineInterruptNeverCommitsPart: the context is cancelled
// (SIGINT) after the evaluation has run every statement, while the
// pipeline still applies batch 1 and holds batch 2 queued. The run must
// fail and roll back everything — it used to drop batch 2 silently and
// commit the rest (found by review).
func TestPipelineInterruptNeverCommitsPart(t *testing.T) {
	withBatchMax(t, 4, func(t *testing.T) {
		k := &slowBatcher{Model: kernel.NewModel(), gate: make(chan struct{})}
		f := blackholeRecipe(t, 10, "let end = env(\"END\")\n")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ended := make(chan struct{})
		var out bytes.Buffer
		o := testOptions(t, k, &out)
		o.Getenv = func(string) (string, bool) { close(ended); return "1", true }
		done := make(chan error, 1)
		var res *Result
		go func() {
			var err error
			res, err = Run(ctx, f, o)
			done <- err
		}()
		<-ended  // every statement evaluated; the first chunk held in the kernel
		cancel() // SIGINT
		close(k.gate)
		err := <-done
		_ = res
		dump := k.Model.Dump(kernel.Host)
		n := strings.Count(dump, "blackhole")
		var ee *Error
		if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) || n != 0 {
			t.Errorf("interrupted run: %v, %d of 10 routes left; want the interruption rolled back", err, n)
		}
	})
}

// TestPipelineNoOutputAfterFailure: a batch fails on the pipeline while
// the evaluation goes on to a writekey in an expression; its "# writekey
// ... (not written)" note and Skipped entry must not appear, as a run one
// batch at a time never got there (found by review).
func TestPipelineNoOutputAfterFailure(t *testing.T) {
	key := filepath.Join(t.TempDir(), "never.key")
	src := "route blackhole 10.0.0.0/24 table 100\nroute 10.0.1.0/24 dev nosuch\nlet k = writekey(\"" + key + "\", genkey())\nroute blackhole 10.0.2.0/24 table 100\n"
	run := func() (string, *Result, error) {
		f, err := lang.Parse("p.nets", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		o := testOptions(t, kernel.NewModel(), &out)
		o.OnChange = func(c kernel.Change) { fmt.Fprintln(&out, FormatChange(c)) }
		res, err := Run(context.Background(), f, o)
		return out.String(), res, err
	}
	outSync, resSync, errSync := run()
	var outPipe string
	var resPipe *Result
	var errPipe error
	withBatchMax(t, 2, func(t *testing.T) { outPipe, resPipe, errPipe = run() })
	if outSync != outPipe || fmt.Sprint(errSync) != fmt.Sprint(errPipe) || len(resSync.Skipped) != len(resPipe.Skipped) {
		t.Errorf("one batch at a time:\n%s%v skipped=%v\nbatches of 2:\n%s%v skipped=%v", outSync, errSync, resSync.Skipped, outPipe, errPipe, resPipe.Skipped)
	}
}

// TestInterruptBeforeCommitRollsBack: a context cancelled after the last
// statement was applied but before the commit (here: by the last change's
// OnChange) rolls the run back instead of committing it, as the CLI's
// "stopping and rolling back" says.
func TestInterruptBeforeCommitRollsBack(t *testing.T) {
	src := "route blackhole 10.0.0.0/24 table 100\nroute blackhole 10.0.1.0/24 table 100\n"
	f, err := lang.Parse("c.nets", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	k := kernel.NewModel()
	before := k.Dump(kernel.Host)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	o := testOptions(t, k, &out)
	n := 0
	o.OnChange = func(kernel.Change) {
		if n++; n == 2 {
			cancel()
		}
	}
	_, err = Run(ctx, f, o)
	var ee *Error
	if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) || ee.Undone != 2 {
		t.Fatalf("Run = %v, want the interruption with 2 changes undone", err)
	}
	if after := k.Dump(kernel.Host); after != before {
		t.Errorf("state after the interrupted run:\n%s\nwant:\n%s", after, before)
	}
}
