package txn_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// The tests of txn.Stream: on a model-backed kernel that takes route
// batches (streamKernel), a Stream fed wants call after call must leave
// exactly what ensuring them one at a time (and EnsureBatch) leaves —
// state, steps reported, Tx changes, journal — and fail, report and roll
// back as they do.

// streamKernel is a kernel.Model that takes route batches (so a Tx on it
// opens Streams and its Ensurer flies), each route change — batched or
// applied alone — going through its AddRoute and DelRoute, which refuse
// the destination refuse (when set) and call check (when set) first;
// SetNeigh refuses the neighbour address refuse. With pipelined, a
// refused route does not stop its batch: the routes behind it are
// applied too, as pipelined netlink requests behind a failed one are.
// jitter makes each batch yield or sleep a little, so that the runs in
// flight and the caller interleave differently from run to run.
type streamKernel struct {
	*kernel.Model
	refuse    string               // a destination every add refuses
	check     func(r kernel.Route) // called before each route change (add or delete)
	jitter    bool
	pipelined bool
	slow      string        // a batch with a destination starting so takes 5 ms
	gate      chan struct{} // when set, each batch waits for a token (or its close)

	mu      sync.Mutex
	batches int
}

var errStreamRefused = errors.New("refused by streamKernel")

func (k *streamKernel) RouteBatch(ns string, ops []kernel.RouteOp) (int, error) {
	if k.gate != nil {
		<-k.gate
	}
	if k.jitter {
		switch rand.IntN(4) {
		case 0:
			runtime.Gosched()
		case 1:
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		}
	}
	if k.slow != "" {
		for _, o := range ops {
			if strings.HasPrefix(o.Route.Dst.String(), k.slow) {
				time.Sleep(5 * time.Millisecond)
				break
			}
		}
	}
	k.mu.Lock()
	k.batches++
	k.mu.Unlock()
	if !k.pipelined {
		return ktest.RouteOps(k, ns, ops, nil) // through k's AddRoute and DelRoute
	}
	failed, ferr := len(ops), error(nil)
	for i := range ops {
		if _, err := ktest.RouteOps(k, ns, ops[i:i+1], nil); err != nil && ferr == nil {
			failed, ferr = i, err
		}
	}
	return failed, ferr
}

func (k *streamKernel) SetNeigh(ns string, n kernel.Neigh) error {
	if k.refuse != "" && n.IP.String() == k.refuse {
		return &kernel.Error{Op: "set neighbour " + n.IP.String(), NS: ns, Err: errStreamRefused}
	}
	return k.Model.SetNeigh(ns, n)
}

func (k *streamKernel) AddRoute(ns string, r kernel.Route, replace bool) error {
	if k.check != nil {
		k.check(r)
	}
	if k.refuse != "" && r.Dst.String() == k.refuse {
		return &kernel.Error{Op: "add route " + r.Dst.String(), NS: ns, Err: errStreamRefused}
	}
	return k.Model.AddRoute(ns, r, replace)
}

func (k *streamKernel) DelRoute(ns string, r kernel.Route) error {
	if k.check != nil {
		k.check(r)
	}
	return k.Model.DelRoute(ns, r)
}

func (k *streamKernel) nbatches() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.batches
}

// streamModel is simpleModel with a second namespace, n2, for routes in
// two namespaces (runs of route changes are per namespace).
func streamModel(t *testing.T) *kernel.Model {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{{Netns: &kernel.NetnsWant{Name: "n2"}}})
	return m
}

// modelState renders the state of a streamModel (both namespaces).
func modelState(m *kernel.Model) string {
	return m.Dump(kernel.Host) + "== n2\n" + m.Dump("n2")
}

// randomWants returns n route and neighbour wants over few objects, so
// that the same object comes back often (close by, in the same chunk,
// far apart): blackhole adds and deletes, gateway routes whose gateway
// changes ('~') and deletes, neighbours whose address changes and
// deletes, and exact repeats of a recent want (no-ops).
func randomWants(r *rand.Rand, n int) []kernel.Want {
	ws := make([]kernel.Want, 0, n)
	for len(ws) < n {
		var w kernel.Want
		switch x := r.IntN(100); {
		case x < 30:
			w = route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.1.%d.0/24", r.IntN(24))), Type: kernel.RouteBlackhole, Table: 100}, 0)
		case x < 42:
			w = absent(route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.1.%d.0/24", r.IntN(24))), Type: kernel.RouteBlackhole, Table: 100}, 0))
		case x < 52:
			// Table main: another key space for the same prefixes.
			w = route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.1.%d.0/24", r.IntN(8))), Type: kernel.RouteBlackhole}, 0)
		case x < 70:
			w = via("", fmt.Sprintf("10.2.%d.0/24", r.IntN(12)), fmt.Sprintf("10.0.0.%d", 2+r.IntN(2)), 100)
		case x < 76:
			w = absent(via("", fmt.Sprintf("10.2.%d.0/24", r.IntN(12)), "10.0.0.2", 100))
		case x < 86:
			w = neigh("", "a0", fmt.Sprintf("10.0.0.%d", 50+r.IntN(6)), fmt.Sprintf("02:00:00:00:00:%02x", 10+r.IntN(2)))
		case x < 90:
			w = absent(neigh("", "a0", fmt.Sprintf("10.0.0.%d", 50+r.IntN(6)), "02:00:00:00:00:0a"))
		default:
			if len(ws) == 0 {
				continue
			}
			w = ws[len(ws)-1-r.IntN(min(len(ws), 4))] // a repeat of a recent want
		}
		ws = append(ws, w)
	}
	return ws
}

// splitCalls cuts ws into the random call sizes a caller hands a Stream
// (empty calls included).
func splitCalls(r *rand.Rand, ws []kernel.Want) [][]kernel.Want {
	var calls [][]kernel.Want
	for len(ws) > 0 {
		n := min(len(ws), r.IntN(12))
		if r.IntN(10) == 0 {
			n = min(len(ws), 20+r.IntN(60))
		}
		calls = append(calls, ws[:n])
		ws = ws[n:]
	}
	return calls
}

// streamRun is what a Stream run left: the steps reported (in order),
// the error, and whether every call after the failure returned it again.
type streamRun struct {
	steps []*kernel.Step
	err   error
}

// runStream opens a Stream on tx, hands it calls one after the other
// and waits for it. After a failure it keeps handing it the remaining
// calls, which must report nothing and return the same error, and so
// must Wait. A call that does not return within 10 s fails the test
// (a Stream that never returns).
func runStream(t *testing.T, tx *txn.Tx, calls [][]kernel.Want) streamRun {
	t.Helper()
	s := tx.Stream()
	if s == nil {
		t.Fatal("Stream() = nil on a RouteBatcher")
	}
	var run streamRun
	for c, ws := range calls {
		steps, err := withDeadline(t, fmt.Sprintf("Ensure (call %d, %d wants)", c, len(ws)), func() ([]*kernel.Step, error) { return s.Ensure(ws) })
		if run.err != nil {
			if err != run.err || len(steps) != 0 {
				t.Errorf("call %d after the failure: %d steps, %v; want none and the same error %v", c, len(steps), err, run.err)
			}
			continue
		}
		run.steps = append(run.steps, steps...)
		run.err = err
	}
	steps, err := withDeadline(t, "Wait", s.Wait)
	if run.err != nil && (err != run.err || len(steps) != 0) {
		t.Errorf("Wait after the failure: %d steps, %v; want none and the same error %v", len(steps), err, run.err)
	}
	run.steps = append(run.steps, steps...)
	if run.err == nil {
		run.err = err
	}
	return run
}

func withDeadline(t *testing.T, what string, f func() ([]*kernel.Step, error)) ([]*kernel.Step, error) {
	t.Helper()
	type result struct {
		steps []*kernel.Step
		err   error
	}
	done := make(chan result, 1)
	go func() {
		steps, err := f()
		done <- result{steps, err}
	}()
	select {
	case r := <-done:
		return r.steps, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s", what)
		return nil, nil
	}
}

// stepsText renders steps as their Changes (no-ops as "-"), one line each.
func stepsText(steps []*kernel.Step) string {
	var b strings.Builder
	for _, s := range steps {
		if !s.Changed() {
			b.WriteString("-")
		}
		for i, c := range s.Changes {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func changesText(cs []kernel.Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

// journalRecords returns the journal's lines after the header (the
// header has the run's id and time), or "" without a journal.
func journalRecords(t *testing.T, tx *txn.Tx) string {
	t.Helper()
	b, err := os.ReadFile(tx.JournalPath())
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	_, recs, _ := strings.Cut(string(b), "\n")
	return recs
}

// firstDiff shows where two renderings first differ, by line.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d (of %d and %d): %q vs %q", i, len(al), len(bl), x, y)
		}
	}
	return "no difference"
}

// reference is what ensuring ws one at a time (tx.Ensure) on a fresh
// simpleModel leaves, stopping at the first failure: its steps, Tx
// changes, journal records, final state, and the failing want's index
// (-1 when none failed).
type reference struct {
	steps   string
	changes string
	journal string
	state   string
	failAt  int
	err     error
}

func oneAtATime(t *testing.T, ws []kernel.Want, o txn.Options) reference {
	t.Helper()
	m := streamModel(t)
	tx := begin(t, m, o)
	var steps []*kernel.Step
	ref := reference{failAt: -1}
	for i, w := range ws {
		s, err := tx.Ensure(w)
		if err != nil {
			ref.failAt, ref.err = i, err
			break
		}
		steps = append(steps, s)
	}
	ref.steps, ref.changes, ref.state = stepsText(steps), changesText(tx.Changes()), modelState(m)
	if tx.JournalPath() != "" {
		ref.journal = journalRecords(t, tx)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// compare checks a Stream's (or EnsureBatch's) outcome against ref (the
// state too unless k is nil).
func (ref reference) compare(t *testing.T, who string, steps []*kernel.Step, tx *txn.Tx, k *kernel.Model) {
	t.Helper()
	if got := stepsText(steps); got != ref.steps {
		t.Errorf("%s: steps reported differ from one at a time: %s", who, firstDiff(got, ref.steps))
	}
	if got := changesText(tx.Changes()); got != ref.changes {
		t.Errorf("%s: Tx changes differ from one at a time: %s", who, firstDiff(got, ref.changes))
	}
	if k == nil {
		return
	}
	if got := modelState(k); got != ref.state {
		t.Errorf("%s: state differs from one at a time:\n%s", who, diffLines(ref.state, got))
	}
}

// TestStreamEquivalence: random sequences of route and neighbour wants
// (adds, deletes, gateway and address changes, repeats of the same
// object close by and far apart, no-ops) handed to a Stream in random
// call sizes, with chunks of 2, 3 and 7, leave exactly the state, steps
// reported (in order, with their changes), Tx changes and journal records
// that ensuring them one at a time leaves, and that EnsureBatch leaves;
// and the Stream's rollback restores the state it started from.
func TestStreamEquivalence(t *testing.T) {
	for _, chunk := range []int{2, 3, 7} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			defer txn.SetFlightChunk(chunk)()
			for seed := range uint64(12) {
				r := rand.New(rand.NewPCG(seed, uint64(chunk)))
				ws := randomWants(r, 120+r.IntN(120))
				ref := oneAtATime(t, ws, journalOpts(t))
				if ref.err != nil {
					t.Fatalf("seed %d: one at a time failed at want %d: %v", seed, ref.failAt, ref.err)
				}

				k := &streamKernel{Model: streamModel(t), jitter: true}
				before := modelState(k.Model)
				tx := begin(t, k, journalOpts(t))
				run := runStream(t, tx, splitCalls(r, ws))
				if run.err != nil {
					t.Fatalf("seed %d: Stream: %v", seed, run.err)
				}
				who := fmt.Sprintf("seed %d Stream", seed)
				ref.compare(t, who, run.steps, tx, k.Model)
				if got := journalRecords(t, tx); got != ref.journal {
					t.Errorf("%s: journal records differ from one at a time: %s", who, firstDiff(got, ref.journal))
				}
				if k.nbatches() == 0 {
					t.Errorf("%s: no route batch reached the kernel: the Stream did not fly", who)
				}
				rollbackRestores(t, tx, k.Model, before, who)

				// EnsureBatch on the same wants, the same outcome.
				bk := &streamKernel{Model: streamModel(t)}
				btx := begin(t, bk, journalOpts(t))
				steps, err := btx.EnsureBatch(ws)
				if err != nil {
					t.Fatalf("seed %d: EnsureBatch: %v", seed, err)
				}
				ref.compare(t, fmt.Sprintf("seed %d EnsureBatch", seed), steps, btx, bk.Model)
				if got := journalRecords(t, btx); got != ref.journal {
					t.Errorf("seed %d EnsureBatch: journal records differ from one at a time: %s", seed, firstDiff(got, ref.journal))
				}
				btx.Rollback()
				if t.Failed() {
					t.Logf("seed %d wants:\n%s", seed, formatWants(ws))
					return
				}
			}
		})
	}
}

// TestStreamSameObjectInOneCall: a want naming the object of a want
// before it in the same call — still in flight, or in the same chunk —
// waits for it and is prepared against what it left. (The smallest case
// of TestStreamEquivalence: a route added and then deleted.)
func TestStreamSameObjectInOneCall(t *testing.T) {
	defer txn.SetFlightChunk(2)()
	for _, gap := range []int{0, 1, 2, 5} {
		t.Run(fmt.Sprint("gap", gap), func(t *testing.T) {
			k := &streamKernel{Model: kernel.NewModel()}
			tx := begin(t, k, txn.Options{NoJournal: true})
			ws := blackholes(gap + 1)
			ws = append(ws, absent(ws[0]))
			run := runStream(t, tx, [][]kernel.Want{ws})
			if run.err != nil {
				t.Fatal(run.err)
			}
			if len(run.steps) != len(ws) || run.steps[len(ws)-1].Changed() != true {
				t.Fatalf("%d steps reported, the last changing %v; want %d, the last a delete:\n%s", len(run.steps), run.steps[len(run.steps)-1].Changed(), len(ws), stepsText(run.steps))
			}
			if got := strings.Count(k.Model.Dump(kernel.Host), "10.0.0.0/24"); got != 0 {
				t.Errorf("the route added and then deleted is still there:\n%s", k.Model.Dump(kernel.Host))
			}
			tx.Rollback()
		})
	}
}

func formatWants(ws []kernel.Want) string {
	var b strings.Builder
	for i, w := range ws {
		fmt.Fprintf(&b, "%d: %s\n", i, kernel.FormatWant(w, nil))
	}
	return b.String()
}

// TestStreamKernelFailure: the kernel refuses a route (or a neighbour)
// in the middle of a random run handed to a Stream: the failure is a
// *BatchError at the want's position in the stream, the steps reported
// and the Tx changes are exactly those of the wants before it, nothing
// after it is applied (but for the rest of its batch when the kernel
// pipelines), every later Ensure and Wait return the same error, and the
// rollback restores the state the run started from.
func TestStreamKernelFailure(t *testing.T) {
	for _, c := range []struct {
		name      string
		refuse    string
		bad       kernel.Want
		pipelined bool
	}{
		{"route", "10.9.9.0/24", route("", kernel.Route{Dst: pfx("10.9.9.0/24"), Type: kernel.RouteBlackhole, Table: 100}, 0), false},
		{"route-pipelined", "10.9.9.0/24", route("", kernel.Route{Dst: pfx("10.9.9.0/24"), Type: kernel.RouteBlackhole, Table: 100}, 0), true},
		{"neigh", "10.0.0.99", neigh("", "a0", "10.0.0.99", "02:00:00:00:00:99"), false},
	} {
		for _, chunk := range []int{2, 3, 7} {
			t.Run(fmt.Sprintf("%s-chunk%d", c.name, chunk), func(t *testing.T) {
				defer txn.SetFlightChunk(chunk)()
				for seed := range uint64(12) {
					r := rand.New(rand.NewPCG(seed, 100+uint64(chunk)))
					ws := randomWants(r, 150)
					at := r.IntN(len(ws))
					if seed == 0 {
						at = 0
					}
					ws = append(ws[:at:at], append([]kernel.Want{c.bad}, ws[at:]...)...)
					ref := oneAtATime(t, ws[:at], txn.Options{NoJournal: true})

					k := &streamKernel{Model: streamModel(t), jitter: true, refuse: c.refuse, pipelined: c.pipelined}
					before := modelState(k.Model)
					tx := begin(t, k, journalOpts(t))
					run := runStream(t, tx, splitCalls(r, ws))
					var be *txn.BatchError
					if !errors.As(run.err, &be) || be.Index != at || !errors.Is(run.err, errStreamRefused) {
						t.Fatalf("seed %d: Stream error %v, want the refusal as a *BatchError at %d", seed, run.err, at)
					}
					state := k.Model
					if c.pipelined {
						state = nil // the rest of the refused route's batch landed
					}
					ref.compare(t, fmt.Sprintf("seed %d", seed), run.steps, tx, state)
					rollbackRestores(t, tx, k.Model, before, fmt.Sprintf("seed %d", seed))
				}
			})
		}
	}
}

// TestStreamPrepareFailure: a want that cannot be prepared (a route in a
// namespace that does not exist; a want a Stream does not take, an
// address) in the middle of a call fails the Stream at its position; the
// wants before it, in the same chunk included, are applied and reported;
// nothing after it is. (So does a route through a link that does not
// exist, which the kernel refuses.)
func TestStreamPrepareFailure(t *testing.T) {
	bads := map[string]kernel.Want{
		"nons":  route("nosuch", kernel.Route{Dst: pfx("10.9.9.0/24"), Type: kernel.RouteBlackhole, Table: 100}, 0),
		"nodev": route("", kernel.Route{Dst: pfx("10.9.9.0/24"), Dev: "nosuch"}, kernel.RouteSetDev),
		"addr":  addr("", "a0", "10.0.0.7/24"),
	}
	for name, bad := range bads {
		for _, chunk := range []int{3, 7} {
			t.Run(fmt.Sprintf("%s-chunk%d", name, chunk), func(t *testing.T) {
				defer txn.SetFlightChunk(chunk)()
				for seed := range uint64(8) {
					r := rand.New(rand.NewPCG(seed, 200+uint64(chunk)))
					ws := randomWants(r, 80)
					at := 1 + r.IntN(len(ws)-1)
					ws = append(ws[:at:at], append([]kernel.Want{bad}, ws[at:]...)...)
					ref := oneAtATime(t, ws[:at], txn.Options{NoJournal: true})

					k := &streamKernel{Model: streamModel(t), jitter: true}
					before := modelState(k.Model)
					tx := begin(t, k, journalOpts(t))
					run := runStream(t, tx, splitCalls(r, ws))
					var be *txn.BatchError
					if !errors.As(run.err, &be) || be.Index != at {
						t.Fatalf("seed %d: Stream error %v, want a *BatchError at %d", seed, run.err, at)
					}
					ref.compare(t, fmt.Sprintf("seed %d", seed), run.steps, tx, k.Model)
					rollbackRestores(t, tx, k.Model, before, fmt.Sprintf("seed %d", seed))
				}
			})
		}
	}
}

// TestStreamHookFailure: a BeforeApply hook that fails in the middle of
// a chunk fails the Stream at its step's want, as ensuring one at a time
// with the same hook fails; the steps before it (of its chunk too) are
// applied and reported, the rest of its chunk is not sent. Each hook
// call comes after its step's inverse is in the journal and before the
// step reaches the kernel.
func TestStreamHookFailure(t *testing.T) {
	errHook := errors.New("hook refuses")
	for _, chunk := range []int{3, 7} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			defer txn.SetFlightChunk(chunk)()
			for seed := range uint64(10) {
				r := rand.New(rand.NewPCG(seed, 300+uint64(chunk)))
				ws := randomWants(r, 120)
				failSeq := r.IntN(40)
				hook := func(i int, s *kernel.Step) error {
					if i == failSeq {
						return errHook
					}
					return nil
				}
				ro := txn.Options{NoJournal: true, BeforeApply: hook}
				ref := oneAtATime(t, ws, ro)
				if !errors.Is(ref.err, errHook) {
					t.Fatalf("seed %d: one at a time: %v, want the hook's failure", seed, ref.err)
				}

				k := &streamKernel{Model: streamModel(t), jitter: true}
				before := modelState(k.Model)
				o := journalOpts(t)
				var tx *txn.Tx
				hooked := 0
				o.BeforeApply = func(i int, s *kernel.Step) error {
					if i != hooked {
						t.Errorf("seed %d: hook for step %d, want %d", seed, i, hooked)
					}
					hooked++
					if tx.Steps() <= i {
						t.Errorf("seed %d: hook for step %d with %d steps journaled", seed, i, tx.Steps())
					}
					return hook(i, s)
				}
				tx = begin(t, k, o)
				run := runStream(t, tx, splitCalls(r, ws))
				var be *txn.BatchError
				if !errors.As(run.err, &be) || be.Index != ref.failAt || !errors.Is(run.err, errHook) {
					t.Fatalf("seed %d: Stream error %v, want the hook's failure at %d", seed, run.err, ref.failAt)
				}
				if hooked != failSeq+1 {
					t.Errorf("seed %d: %d hooks ran, want %d (none after the failing one)", seed, hooked, failSeq+1)
				}
				ref.compare(t, fmt.Sprintf("seed %d", seed), run.steps, tx, k.Model)
				rollbackRestores(t, tx, k.Model, before, fmt.Sprintf("seed %d", seed))
			}
		})
	}
}

// TestStreamJournalBeforeSend: every route change of a Stream, batched
// or alone, has its inverse in the journal file before the kernel sees
// it, and each BeforeApply hook runs after its step's inverse is in the
// file and before the kernel sees the step.
func TestStreamJournalBeforeSend(t *testing.T) {
	for _, chunk := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			defer txn.SetFlightChunk(chunk)()
			const n = 600
			var ws []kernel.Want
			for i := range n {
				ws = append(ws, route("", kernel.Route{Dst: pfx(fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256)), Type: kernel.RouteBlackhole, Table: 100}, 0))
			}
			k := &streamKernel{Model: kernel.NewModel()}
			o := journalOpts(t)
			var tx *txn.Tx
			inJournal := func(dst string) bool {
				b, err := os.ReadFile(tx.JournalPath())
				return err == nil && strings.Contains(string(b), `"`+dst+`"`)
			}
			var mu sync.Mutex
			seen := map[string]bool{}
			checked, early := 0, 0
			running := true
			k.check = func(r kernel.Route) {
				mu.Lock()
				defer mu.Unlock()
				if !running {
					return
				}
				checked++
				seen[r.Dst.String()] = true
				if !inJournal(r.Dst.String()) {
					if early++; early < 5 {
						t.Errorf("route %v sent before its inverse was journaled", r.Dst)
					}
				}
			}
			o.BeforeApply = func(i int, s *kernel.Step) error {
				dst := ws[i].Route.Route.Dst.String() // every want changes something: step i is want i
				if !inJournal(dst) {
					t.Errorf("hook of step %d (%s) ran before its inverse was journaled", i, dst)
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[dst] {
					t.Errorf("hook of step %d (%s) ran after the kernel saw the step", i, dst)
				}
				return nil
			}
			tx = begin(t, k, o)
			r := rand.New(rand.NewPCG(uint64(chunk), 4))
			if run := runStream(t, tx, splitCalls(r, ws)); run.err != nil || len(run.steps) != n {
				t.Fatalf("Stream: %d steps, %v", len(run.steps), run.err)
			}
			mu.Lock()
			running = false
			mu.Unlock()
			if checked != n || early != 0 || (chunk > 1 && k.nbatches() == 0) {
				t.Fatalf("%d routes checked (want %d), %d sent before their inverse was journaled, %d batches", checked, n, early, k.nbatches())
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStreamOpenRefusesChanges: while a Stream is open the Tx takes no
// other change (Ensure, EnsureBatch, Exec, Commit, Hold fail with
// ErrStreamOpen, and no second Stream opens); after Wait it takes them
// again; Stream returns nil on a kernel that cannot pipeline and on a
// finished Tx.
func TestStreamOpenRefusesChanges(t *testing.T) {
	defer txn.SetFlightChunk(3)()
	k := &streamKernel{Model: simpleModel(t)}
	tx := begin(t, k, journalOpts(t))
	s := tx.Stream()
	if s == nil {
		t.Fatal("Stream() = nil")
	}
	early, err := s.Ensure(blackholes(5))
	if err != nil {
		t.Fatal(err)
	}
	w := via("", "10.2.0.0/24", "10.0.0.2", 100)
	if tx.Stream() != nil {
		t.Error("a second Stream opened beside the first")
	}
	if _, err := tx.Ensure(w); !errors.Is(err, txn.ErrStreamOpen) {
		t.Errorf("Ensure: %v, want ErrStreamOpen", err)
	}
	if _, err := tx.EnsureBatch([]kernel.Want{w}); !errors.Is(err, txn.ErrStreamOpen) {
		t.Errorf("EnsureBatch: %v, want ErrStreamOpen", err)
	}
	if err := tx.Exec(context.Background(), "", kernel.Cmd{Args: []string{"true"}}); !errors.Is(err, txn.ErrStreamOpen) {
		t.Errorf("Exec: %v, want ErrStreamOpen", err)
	}
	if err := tx.Commit(); !errors.Is(err, txn.ErrStreamOpen) {
		t.Errorf("Commit: %v, want ErrStreamOpen", err)
	}
	if _, err := tx.Hold(time.Now().Add(time.Minute)); !errors.Is(err, txn.ErrStreamOpen) {
		t.Errorf("Hold: %v, want ErrStreamOpen", err)
	}
	steps, err := s.Wait()
	if err != nil || len(early)+len(steps) != 5 {
		t.Fatalf("Ensure and Wait: %d and %d steps, %v; want the 5 routes", len(early), len(steps), err)
	}
	if _, err := s.Ensure(blackholes(1)); err == nil {
		t.Error("Ensure on a Stream after its Wait succeeded")
	}
	if got := k.Model.Dump(""); strings.Count(got, "blackhole") != 5 {
		t.Errorf("refused changes reached the kernel, or the stream's did not:\n%s", got)
	}
	if _, err := tx.Ensure(w); err != nil {
		t.Errorf("Ensure after Wait: %v", err)
	}
	if s2 := tx.Stream(); s2 == nil {
		t.Error("no Stream after the first was waited for")
	} else if _, err := s2.Wait(); err != nil {
		t.Error(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if tx.Stream() != nil {
		t.Error("Stream on a committed Tx")
	}
	mtx := begin(t, simpleModel(t), txn.Options{NoJournal: true})
	if mtx.Stream() != nil {
		t.Error("Stream on a kernel.Model (no RouteBatch)")
	}
}

// TestStreamRollbackWhileInFlight: Rollback with a Stream open and its
// route batches still held by the kernel waits for them to land, then
// undoes everything: no route arrives after the rollback, no goroutine
// is left.
func TestStreamRollbackWhileInFlight(t *testing.T) {
	defer txn.SetFlightChunk(3)()
	k := &streamKernel{Model: simpleModel(t), gate: make(chan struct{})}
	before := k.Model.Dump("")
	tx := begin(t, k, journalOpts(t))
	g0 := runtime.NumGoroutine()
	s := tx.Stream()
	steps, err := s.Ensure(blackholes(6)) // two runs of 3, both held by the gate
	if err != nil || len(steps) != 0 {
		t.Fatalf("Ensure: %d steps reported, %v; want none yet (held by the kernel)", len(steps), err)
	}
	go func() { time.Sleep(100 * time.Millisecond); close(k.gate) }()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, k.Model.Dump("")); d != "" {
		t.Fatalf("state after rollback differs:\n%s", d)
	}
	time.Sleep(200 * time.Millisecond)
	if d := diffLines(before, k.Model.Dump("")); d != "" {
		t.Fatalf("routes landed after the rollback:\n%s", d)
	}
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("goroutines %d -> %d: the Flight's goroutine was left running", g0, g)
	}
	if _, err := s.Ensure(blackholes(1)); err == nil {
		t.Error("Ensure on a Stream after Rollback succeeded")
	}
}

// streamGen mirrors txn's streamGen: how many objects a Stream's newer
// generation holds before it becomes the older one.
const streamGen = 1 << 15

// TestStreamGenerations: more than two generations of objects in one
// Stream, in calls of 1000 and in one call: an object named again far
// apart (across a generation, and across two), and objects named twice
// close together around each generation change (the first still in
// flight when the second is prepared) — each second want is prepared
// against what the first left (a delete of the route the first added, a
// gateway change of the route the first added), exactly as EnsureBatch
// does.
func TestStreamGenerations(t *testing.T) {
	defer txn.SetFlightChunk(7)()
	const n = 2*streamGen + 4000
	var ws []kernel.Want
	for i := range n {
		ws = append(ws, route("", kernel.Route{Dst: pfx(fmt.Sprintf("11.%d.%d.%d/32", i>>16, i>>8&255, i&255)), Type: kernel.RouteBlackhole, Table: 100}, 0))
	}
	// Far apart: want 5's route deleted in the second generation, want
	// 6's in the third.
	ws[streamGen+7000] = absent(ws[5])
	ws[2*streamGen+3000] = absent(ws[6])
	// Close together around each generation's end: a run of routes,
	// then the same routes again with another gateway. A generation
	// ends at the first chunk that starts with streamGen objects in it
	// (chunks of 7, counted from each call's start: want 32770 or 32774
	// here, the second near 65540); each window holds the chunk before
	// it whatever the call sizes, so the first routes of that chunk are
	// still held by the kernel (slow) when the first of the second
	// routes is prepared, in the next generation.
	for _, win := range [][2]int{{streamGen - 12, 20}, {2*streamGen - 16, 41}} {
		lo, cnt := win[0], win[1]
		for j := range cnt {
			dst := fmt.Sprintf("10.20.%d.%d/32", lo/256%256, j)
			ws[lo+j] = via("", dst, "10.0.0.2", 100)
			ws[lo+cnt+j] = via("", dst, "10.0.0.3", 100)
		}
	}

	bk := &streamKernel{Model: streamModel(t)}
	btx := begin(t, bk, txn.Options{NoJournal: true})
	bsteps, err := btx.EnsureBatch(ws)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{steps: stepsText(bsteps), changes: changesText(btx.Changes()), state: modelState(bk.Model)}
	for _, calls := range []int{1000, n} {
		t.Run(fmt.Sprint("calls", calls), func(t *testing.T) {
			k := &streamKernel{Model: streamModel(t), slow: "10.20."}
			tx := begin(t, k, txn.Options{NoJournal: true})
			var split [][]kernel.Want
			for lo := 0; lo < n; lo += calls {
				split = append(split, ws[lo:min(lo+calls, n)])
			}
			run := runStream(t, tx, split)
			if run.err != nil {
				t.Fatal(run.err)
			}
			ref.compare(t, "Stream", run.steps, tx, k.Model)
			tx.Rollback()
		})
	}
}

// rollbackRestores rolls tx back and fails the test unless m is then in
// the state before (what names the run).
func rollbackRestores(t *testing.T, tx *txn.Tx, m *kernel.Model, before, what string) {
	t.Helper()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, modelState(m)); d != "" {
		t.Fatalf("%s: state after rollback differs:\n%s", what, d)
	}
}
