package kernel_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
	"github.com/nets-lang/nets/lang"
)

// Benchmarks of bulk route loading on the real kernel, each in a fresh
// namespace of ktest's sandbox. Run them with
//
//	go test ./kernel -run '^$' -bench Bulk -benchtime 3x
//
// (-cpuprofile works as usual). Every benchmark reports routes/s; bench/run.sh
// compares the CLI with `ip -batch`.

const benchN = 100000

// BenchmarkBulkRouteBatch adds and then deletes benchN blackhole routes
// with RouteBatch, with an ack only on the last request of each chunk
// (what nets does) and with an ack on every request.
func BenchmarkBulkRouteBatch(b *testing.B) {
	for _, mode := range []string{"ack-last", "ack-each"} {
		for _, op := range []string{"add", "del"} {
			b.Run(mode+"/"+op, func(b *testing.B) {
				defer kernel.SetBulkAckEach(mode == "ack-each")()
				k, _ := ktest.New(b)
				adds := bulkRoutes(benchN, 100)
				dels := make([]kernel.RouteOp, len(adds))
				for i, o := range adds {
					dels[i] = kernel.RouteOp{Del: true, Route: o.Route}
				}
				b.ResetTimer()
				for range b.N {
					if op == "del" {
						b.StopTimer()
					}
					if n, err := k.RouteBatch(kernel.Host, adds); err != nil {
						b.Fatal(n, err)
					}
					if op == "del" {
						b.StartTimer()
					} else {
						b.StopTimer()
					}
					if n, err := k.RouteBatch(kernel.Host, dels); err != nil {
						b.Fatal(n, err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "routes/s")
			})
		}
	}
}

// BenchmarkBulkRouteBatchScript adds and deletes the benchN routes that
// bench/run.sh loads (blackhole /24s from 10.0.0.0 on, in the script's
// order, table 100) with RouteBatch, a chunk of 1000 per call as a run's
// kernel.Flight sends them: the kernel's own time for the script's add,
// the floor of `nets run` on it. The kernel takes longer for these than
// for the /32s of BenchmarkBulkRouteBatch (its route trie differs).
func BenchmarkBulkRouteBatchScript(b *testing.B) {
	k, _ := ktest.New(b)
	adds := make([]kernel.RouteOp, benchN)
	for i := range adds {
		adds[i] = kernel.RouteOp{Route: kernel.Route{Table: 100, Type: kernel.RouteBlackhole, Protocol: 3,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + i/65536), byte(i / 256), byte(i), 0}), 24)}}
	}
	dels := make([]kernel.RouteOp, len(adds))
	for i, o := range adds {
		dels[i] = kernel.RouteOp{Del: true, Route: o.Route}
	}
	b.ResetTimer()
	for range b.N {
		for s := 0; s < len(adds); s += 1000 {
			if n, err := k.RouteBatch(kernel.Host, adds[s:min(s+1000, len(adds))]); err != nil {
				b.Fatal(n, err)
			}
		}
		b.StopTimer()
		if n, err := k.RouteBatch(kernel.Host, dels); err != nil {
			b.Fatal(n, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "routes/s")
}

// BenchmarkBulkAddRouteOneByOne is the unbatched baseline: one request
// and one ack per route (10k routes, scaled to benchN in routes/s).
func BenchmarkBulkAddRouteOneByOne(b *testing.B) {
	k, _ := ktest.New(b)
	ops := bulkRoutes(10000, 100)
	b.ResetTimer()
	for range b.N {
		for _, o := range ops {
			if err := k.AddRoute(kernel.Host, o.Route, false); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		for _, o := range ops {
			if err := k.DelRoute(kernel.Host, o.Route); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "routes/s")
}

// benchRecipe parses the benchN-route recipe bench/run.sh uses.
func benchRecipe(b *testing.B, tail string) *lang.File {
	b.Helper()
	f, err := lang.Parse("bulk.nets", []byte(bulkRecipe(benchN, -1, 0, tail)))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkBulkEval measures the library path of `nets run` and `nets
// plan` on a parsed benchN-route recipe: run (journaled, batched,
// pipelined), plan against the table holding the routes (no change),
// and a run that fails after adding them (add + rollback; the add is
// subtracted with the run's own time in bench/run.sh).
func BenchmarkBulkEval(b *testing.B) {
	k, _ := ktest.New(b)
	dir := b.TempDir()
	o := eval.Options{Kernel: k, Tx: txn.Options{JournalDir: dir}}
	del := func() {
		ops := bulkRoutes(benchN, 100)
		for i := range ops {
			ops[i].Del = true
			ops[i].Route = kernel.Route{Table: 100, Dst: ops[i].Route.Dst}
		}
		if n, err := k.RouteBatch(kernel.Host, ops); err != nil {
			b.Fatal(n, err)
		}
	}
	add := benchRecipe(b, "")
	b.Run("run", func(b *testing.B) {
		for range b.N {
			res, err := eval.Run(context.Background(), add, o)
			if err != nil || len(res.Changes) != benchN {
				b.Fatal(err)
			}
			b.StopTimer()
			del()
			b.StartTimer()
		}
		b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "routes/s")
	})
	b.Run("plan", func(b *testing.B) {
		if _, err := eval.Run(context.Background(), add, o); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			res, err := eval.Plan(context.Background(), add, o)
			if err != nil || res.Changed {
				b.Fatalf("plan: changed %v, %v", res.Changed, err)
			}
		}
		b.StopTimer()
		del()
	})
	fail := benchRecipe(b, "fail \"stop\"\n")
	b.Run("run-fail", func(b *testing.B) {
		for range b.N {
			res, err := eval.Run(context.Background(), fail, o)
			if err == nil || len(res.Changes) != benchN {
				b.Fatal("the run did not fail after adding the routes:", err)
			}
		}
		b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "routes/s")
	})
}

// BenchmarkBulkParse measures parsing and checking the benchN-route
// recipe.
func BenchmarkBulkParse(b *testing.B) {
	src := []byte(bulkRecipe(benchN, -1, 0, ""))
	b.SetBytes(int64(len(src)))
	for range b.N {
		f, err := lang.Parse("bulk.nets", src)
		if err != nil {
			b.Fatal(err)
		}
		if ds := lang.Check(f, lang.CheckOptions{}); len(ds) > 0 {
			b.Fatal(ds)
		}
	}
	b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "stmts/s")
}
