package txn_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// A run that fails half-way is rolled back: the kernel (here the
// in-memory model) is exactly as before.
func Example() {
	k := kernel.NewModel()
	dir, _ := os.MkdirTemp("", "nets-example")
	defer os.RemoveAll(dir)

	tx, err := txn.Begin(k, txn.Options{JournalDir: dir, Recipe: "example.nets"})
	if err != nil {
		fmt.Println(err)
		return
	}
	up := true
	wants := []kernel.Want{
		{Link: &kernel.LinkWant{Name: "v0", Kind: kernel.KindVeth, Veth: &kernel.Veth{Peer: "v1"}, Up: &up}},
		{Addr: &kernel.Addr{Link: "v0", Prefix: netip.MustParsePrefix("10.0.0.1/24")}},
		{Route: &kernel.RouteWant{Route: kernel.Route{Dst: netip.MustParsePrefix("10.1.0.0/16"),
			Gateway: netip.MustParseAddr("192.0.2.1"), Table: 100}, Set: kernel.RouteSetGateway}},
	}
	for _, w := range wants {
		step, err := tx.Ensure(w)
		if err != nil {
			fmt.Println("error:", err)
			if err := tx.Rollback(); err != nil {
				fmt.Println("rollback:", err)
			}
			break
		}
		for _, c := range step.Changes {
			fmt.Println(c)
		}
	}
	links, _ := k.Links(kernel.Host)
	fmt.Println("links after rollback:", len(links))
	info, _ := txn.Pending(txn.Options{JournalDir: dir})
	fmt.Println("journal left:", info != nil)
	// Output:
	// + link v0 type veth peer v1 up
	// + addr 10.0.0.1/24 dev v0
	// error: add route 10.1.0.0/16 table 100: network is unreachable: Nexthop has invalid gateway
	// links after rollback: 1
	// journal left: false
}

// `nets recover`: take the lock, see whether an interrupted run left a
// journal, and undo it (or drop it with Discard, keeping its changes).
func ExampleOpenRecovery() {
	k := kernel.NewModel()
	dir, _ := os.MkdirTemp("", "nets-example")
	defer os.RemoveAll(dir)
	o := txn.Options{JournalDir: dir, Recipe: "example.nets"}

	// A run that leaves its journal behind: here one held for
	// confirmation (`nets run --confirm`), which recover reverts just
	// as it undoes a killed run's.
	tx, _ := txn.Begin(k, o)
	tx.Ensure(kernel.Want{Link: &kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge}})
	tx.Hold(time.Now().Add(time.Hour)) // keep the journal, release the lock

	r, err := txn.OpenRecovery(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	if r.Journal() == nil {
		fmt.Println("nothing to recover")
		return
	}
	for _, st := range r.Steps(nil) {
		fmt.Println("step", st.Step, st.Inverse)
	}
	res, err := r.Undo(k)
	fmt.Println("undone:", res.Undone, err)
	links, _ := k.Links(kernel.Host)
	fmt.Println("links:", len(links)) // lo
	// Output:
	// step 0 [del link br0]
	// undone: 1 <nil>
	// links: 1
}

// Loading many routes: on the real kernel a Stream sends each call's
// wants and returns while the kernel applies them, so the caller can
// build the next ones meanwhile; on a model (as here) there is no Stream,
// and EnsureBatch does the same work, waiting.
func ExampleTx_Stream() {
	k := kernel.NewModel()
	tx, err := txn.Begin(k, txn.Options{NoJournal: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	var steps []*kernel.Step
	s := tx.Stream()
	for i := range 3 { // three calls of two routes
		var ws []kernel.Want
		for j := range 2 {
			dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(2*i + j), 0}), 24)
			ws = append(ws, kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Dst: dst, Type: kernel.RouteBlackhole, Table: 100}}})
		}
		var done []*kernel.Step
		if s != nil {
			done, err = s.Ensure(ws) // the steps the kernel has finished so far
		} else {
			done, err = tx.EnsureBatch(ws)
		}
		steps = append(steps, done...)
		if err != nil {
			break
		}
	}
	if s != nil {
		done, werr := s.Wait() // the rest, and the first failure if any
		steps = append(steps, done...)
		err = errors.Join(err, werr)
	}
	if err != nil {
		fmt.Println("error:", err)
		tx.Rollback()
		return
	}
	for _, st := range steps {
		fmt.Println(st.Changes[0])
	}
	tx.Commit()
	// Output:
	// + route blackhole 10.0.0.0/24 table 100
	// + route blackhole 10.0.1.0/24 table 100
	// + route blackhole 10.0.2.0/24 table 100
	// + route blackhole 10.0.3.0/24 table 100
	// + route blackhole 10.0.4.0/24 table 100
	// + route blackhole 10.0.5.0/24 table 100
}
