package eval

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// acceptingKernel is a model that takes route batches and accepts every
// change in them without applying it: what is left to measure is the
// evaluation's side of a bulk run.
type acceptingKernel struct{ *kernel.Model }

func (acceptingKernel) RouteBatch(_ string, ops []kernel.RouteOp) (int, error) { return len(ops), nil }

// BenchmarkRunStream measures what a run of a 100k-route recipe costs
// besides the kernel: parsing excluded, evaluation, preparing each step
// against the cache, journaling (in a tmpfs when /dev/shm is one, as
// /run/nets is), replaying the applied routes on the cache and reporting
// their changes. Run it with -cpu 1 to measure the CPU time the kernel
// cannot overlap:
//
//	go test ./eval -run '^$' -bench RunStream -cpu 1 -count 5
func BenchmarkRunStream(b *testing.B) {
	const n = 100000
	var src strings.Builder
	for i := range n {
		fmt.Fprintf(&src, "route blackhole %d.%d.%d.0/24 table 100\n", 10+i/65536, i/256%256, i%256)
	}
	f, err := lang.Parse("bulk.nets", []byte(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	// The journal in a tmpfs, as /run/nets is on most systems (an fsync
	// on a disk would time the disk): /dev/shm when it can be written,
	// else the test's temporary directory. (A benchmark killed by
	// -timeout leaves its /dev/shm/nets-bench-* behind.)
	dir, err := os.MkdirTemp("/dev/shm", "nets-bench-")
	if err != nil {
		dir = b.TempDir()
	} else {
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	changes := 0
	for range b.N {
		b.StopTimer()
		k := acceptingKernel{kernel.NewModel()}
		o := Options{Kernel: k, Tx: txn.Options{JournalDir: dir, Wait: -1}, Tables: kernel.NewTableNames(),
			OnChange: func(kernel.Change) { changes++ }}
		b.StartTimer()
		res, err := Run(context.Background(), f, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Changes) != n {
			b.Fatalf("%d changes, want %d", len(res.Changes), n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "routes/s")
}
