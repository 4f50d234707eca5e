package txn_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// The crash and concurrency tests run child processes: this test binary
// again, inside the same sandbox, running only TestChild with its orders
// in the environment.
const (
	envChild = "NETS_TXN_CHILD" // mode: crash | commit | fail
	envNS    = "NETS_TXN_NS"    // the named namespace to work in (its Host)
	envDir   = "NETS_TXN_DIR"   // journal directory
	envN     = "NETS_TXN_N"     // how many routes
	envTable = "NETS_TXN_TABLE" // table of the new routes
	envBatch = "NETS_TXN_BATCH" // "1": EnsureBatch in chunks of 1000
)

// childWants: n routes; the first tenth replace the gateway of routes
// that exist before the run (table 100, '~'), the rest are new routes
// in table `table`.
func childWants(n int, table uint32) []kernel.Want {
	ws := make([]kernel.Want, 0, n)
	for i := range n {
		if i < n/10 {
			ws = append(ws, via("", fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256), "10.9.0.3", 100))
			continue
		}
		ws = append(ws, via("", fmt.Sprintf("10.%d.%d.0/24", 150+i/256, i%256), "10.9.0.2", table))
	}
	return ws
}

// crashPre is the state the crash children start from: a veth with an
// address and n/10 routes in table 100 via 10.9.0.2.
func crashPre(n int) []kernel.Want {
	ws := []kernel.Want{veth("", "p0", "p1", ""), up("", "p0"), up("", "p1"), addr("", "p0", "10.9.0.1/24")}
	for i := range n / 10 {
		ws = append(ws, via("", fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256), "10.9.0.2", 100))
	}
	return ws
}

// TestChild is the child process's body; it does nothing in a normal
// test run. It reports on stdout: "ready" once the transaction began,
// "progress N" after every 1000 routes, "done" when every route was
// ensured; then, per mode, it waits to be
// killed (crash), commits, or fails and rolls back. A Begin that is
// refused prints "refused: ERROR".
func TestChild(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("only runs as a child of the crash and concurrency tests")
	}
	f, err := os.Open(filepath.Join("/run/netns", os.Getenv(envNS)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.NewNetlink(kernel.NetlinkOptions{Host: f})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(os.Getenv(envN))
	table, _ := strconv.ParseUint(os.Getenv(envTable), 10, 32)
	tx, err := txn.Begin(k, txn.Options{JournalDir: os.Getenv(envDir), Recipe: "child.nets", Wait: 30 * time.Second})
	if err != nil {
		fmt.Printf("refused: %v\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Println("ready")
	ws := childWants(n, uint32(table))
	if os.Getenv(envBatch) == "1" {
		for i := 0; i < len(ws); i += 1000 {
			if _, err := tx.EnsureBatch(ws[i:min(i+1000, len(ws))]); err != nil {
				t.Fatal(err)
			}
			fmt.Println("progress", i+1000)
		}
	} else {
		for i, w := range ws {
			if _, err := tx.Ensure(w); err != nil {
				t.Fatal(err)
			}
			if (i+1)%1000 == 0 {
				fmt.Println("progress", i+1)
			}
		}
	}
	fmt.Println("done")
	switch mode {
	case "crash":
		time.Sleep(time.Hour) // until SIGKILL
	case "commit":
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Println("committed")
	case "fail":
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		fmt.Println("rolledback")
	}
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
	out   strings.Builder
}

func startChild(t *testing.T, mode, ns, dir string, n int, table uint32, batch bool) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChild$", "-test.count=1")
	b := "0"
	if batch {
		b = "1"
	}
	cmd.Env = append(os.Environ(), envChild+"="+mode, envNS+"="+ns, envDir+"="+dir,
		envN+"="+strconv.Itoa(n), envTable+"="+strconv.FormatUint(uint64(table), 10), envBatch+"="+b)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return c
}

// await waits for a line starting with prefix; it returns the line, or
// fails the test when the child ends or the timeout passes.
func (c *child) await(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child ended before %q; output:\n%s", prefix, c.out.String())
			}
			c.out.WriteString(l + "\n")
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("child did not print %q within %v; output:\n%s", prefix, timeout, c.out.String())
		}
	}
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// TestLiveCrashRecover: a child applying tens of thousands of routes
// through a Tx is SIGKILLed at a random moment, many times; after each
// kill a new Begin must be refused, and Recover must restore the exact
// pre-state (full dumps compared).
func TestLiveCrashRecover(t *testing.T) {
	trials, n := 20, 20000
	if testing.Short() {
		trials, n = 4, 5000
	}
	k, ns := ktest.New(t)
	ensureAll(t, k, crashPre(n))
	before := dumpAll(t, k)
	dir := tempDir(t)
	o := txn.Options{JournalDir: dir, Wait: 10 * time.Second}

	// Calibrate: how long does a child take from ready to done, one
	// Ensure at a time and in batches?
	var runTime [2]time.Duration
	for b, batch := range []bool{false, true} {
		c := startChild(t, "crash", ns, dir, n, 1000000, batch)
		c.await(t, "ready", 30*time.Second)
		start := time.Now()
		c.await(t, "done", 120*time.Second)
		runTime[b] = time.Since(start)
		c.kill()
		if n, err := txn.Recover(k, o); err != nil || n == 0 {
			t.Fatalf("Recover after the calibration run = %d, %v", n, err)
		}
		if d := diffLines(before, dumpAll(t, k)); d != "" {
			t.Fatalf("state after recovering a complete run differs:\n%s", d)
		}
	}
	t.Logf("calibration: %d routes journaled and applied in %v one at a time, %v in batches of 1000",
		n, runTime[0].Round(time.Millisecond), runTime[1].Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var stats []string
	torn, nothing, total := 0, 0, time.Now()
	var recoverTime, dumpTime time.Duration
	// Bound the time: on a loaded machine fewer trials run (at least 5).
	const budget = 60 * time.Second
	ran := 0
	for trial := range trials {
		if trial >= 5 && time.Since(total) > budget {
			t.Logf("time budget of %v spent after %d trials", budget, trial)
			break
		}
		ran++
		batch := trial%2 == 1
		c := startChild(t, "crash", ns, dir, n, 1000000, batch)
		c.await(t, "ready", 30*time.Second)
		// Kill at a uniformly random point of the run: after a random
		// number of thousands, plus a random part of the time the next
		// thousand takes.
		b := 0
		if batch {
			b = 1
		}
		thousands := rng.IntN(n / 1000)
		if thousands > 0 {
			c.await(t, fmt.Sprintf("progress %d", thousands*1000), 60*time.Second)
		}
		delay := time.Duration(rng.Int64N(int64(runTime[b]) / int64(n/1000)))
		time.Sleep(delay)
		c.kill()
		delay += time.Duration(thousands) * runTime[b] / time.Duration(n/1000)

		info, err := txn.Pending(o)
		if err != nil {
			t.Fatalf("trial %d: Pending: %v", trial, err)
		}
		if info == nil {
			nothing++ // killed before its first change: nothing to undo
			if d := diffLines(before, dumpAll(t, k)); d != "" {
				t.Fatalf("trial %d: no journal but the state changed:\n%s", trial, d)
			}
			continue
		}
		if info.Torn {
			torn++
		}
		if _, err := txn.Begin(k, o); !errors.Is(err, txn.ErrUnrecovered) || !strings.Contains(err.Error(), "nets recover") {
			t.Fatalf("trial %d: Begin after the crash: %v", trial, err)
		}
		rstart := time.Now()
		undone, err := txn.Recover(k, o)
		recoverTime += time.Since(rstart)
		if err != nil {
			t.Fatalf("trial %d: Recover: %v", trial, err)
		}
		dstart := time.Now()
		after := dumpAll(t, k)
		dumpTime += time.Since(dstart)
		if d := diffLines(before, after); d != "" {
			t.Fatalf("trial %d (killed after %v, %d steps journaled): state after recover differs:\n%s", trial, delay, info.Steps, d)
		}
		if n2, err := txn.Recover(k, o); n2 != 0 || err != nil {
			t.Fatalf("trial %d: second Recover = %d, %v", trial, n2, err)
		}
		stats = append(stats, fmt.Sprintf("%d%s", undone, map[bool]string{true: "b", false: ""}[batch]))
	}
	t.Logf("crash trials: %d x %d routes (odd trials batched), killed after [steps undone]: %s; torn last lines: %d; killed before any change: %d; total %v (recover %v, dumps %v)",
		ran, n, strings.Join(stats, " "), torn, nothing, time.Since(total).Round(time.Millisecond),
		recoverTime.Round(time.Millisecond), dumpTime.Round(time.Millisecond))
}

// TestLiveConcurrentRuns: two runs from two processes at once, one of
// which fails (and rolls back) or is killed: the lock serializes them
// and no partial state of either remains.
func TestLiveConcurrentRuns(t *testing.T) {
	const n = 3000
	k, ns := ktest.New(t)
	ensureAll(t, k, crashPre(n))
	before := dumpAll(t, k)
	dir := tempDir(t)
	o := txn.Options{JournalDir: dir, Wait: 10 * time.Second}

	countTable := func(table string) int {
		out := ktest.IP(t, ns, "route", "show", "table", table)
		return strings.Count(out, "\n")
	}
	// Apart from the committed run's table (and the first tenth's
	// gateway change it made), the state is as before.
	check := func(committed string) {
		t.Helper()
		after := dumpAll(t, k)
		if committed == "" {
			if d := diffLines(before, after); d != "" {
				t.Fatalf("state differs:\n%s", d)
			}
			return
		}
		if got := countTable(committed); got != n-n/10 {
			t.Fatalf("table %s holds %d routes, want %d", committed, got, n-n/10)
		}
		var keep []string
		for _, l := range strings.Split(after, "\n") {
			if !strings.Contains(l, "table "+committed) && !strings.Contains(l, "via 10.9.0.3") {
				keep = append(keep, l)
			}
		}
		var keepBefore []string
		for _, l := range strings.Split(before, "\n") {
			if !strings.Contains(l, "table 100") || !strings.Contains(l, "via 10.9.0.2") {
				keepBefore = append(keepBefore, l)
			}
		}
		if d := diffLines(strings.Join(keepBefore, "\n"), strings.Join(keep, "\n")); d != "" {
			t.Fatalf("partial state left:\n%s", d)
		}
		// Roll the committed run back by hand for the next round.
		var ws []kernel.Want
		for _, w := range childWants(n, 0) {
			if w.Route.Route.Table == 100 {
				w.Route.Route.Gateway = ip("10.9.0.2")
			} else {
				w = absent(w)
				tid, _ := strconv.ParseUint(committed, 10, 32)
				w.Route.Route.Table = uint32(tid)
			}
			ws = append(ws, w)
		}
		ensureAll(t, k, ws)
		if d := diffLines(before, dumpAll(t, k)); d != "" {
			t.Fatalf("could not reset:\n%s", d)
		}
	}

	// Round 1: a failing run and a committing run started together.
	a := startChild(t, "fail", ns, dir, n, 200, false)
	b := startChild(t, "commit", ns, dir, n, 300, true)
	a.await(t, "rolledback", 60*time.Second)
	b.await(t, "committed", 60*time.Second)
	a.cmd.Wait()
	b.cmd.Wait()
	if countTable("200") != 0 {
		t.Fatal("the failed run left routes in table 200")
	}
	check("300")

	// Round 2: the committing run starts first; the failing one waits.
	b = startChild(t, "commit", ns, dir, n, 300, false)
	b.await(t, "ready", 30*time.Second)
	a = startChild(t, "fail", ns, dir, n, 200, true)
	b.await(t, "committed", 60*time.Second)
	a.await(t, "rolledback", 60*time.Second)
	a.cmd.Wait()
	b.cmd.Wait()
	check("300")

	// Round 3: the first run is killed while the second waits for the
	// lock: the second is refused (an interrupted run's journal), and
	// recover removes every trace of the first.
	a = startChild(t, "crash", ns, dir, n, 200, false)
	a.await(t, "ready", 30*time.Second)
	b = startChild(t, "commit", ns, dir, n, 300, false)
	time.Sleep(50 * time.Millisecond)
	a.kill()
	refused := b.await(t, "refused", 30*time.Second)
	if !strings.Contains(refused, "an interrupted run left a journal") || !strings.Contains(refused, "nets recover") {
		t.Fatalf("second run: %s", refused)
	}
	b.cmd.Wait()
	if _, err := txn.Recover(k, o); err != nil {
		t.Fatal(err)
	}
	check("")

	// Round 4: a second run that cannot get the lock in time fails
	// naming the holder's pid, and changes nothing.
	a = startChild(t, "crash", ns, dir, n, 200, false)
	a.await(t, "done", 60*time.Second)
	o2 := o
	o2.Wait = 200 * time.Millisecond
	_, err := txn.Begin(k, o2)
	if !errors.Is(err, txn.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", a.cmd.Process.Pid)) {
		t.Fatalf("Begin while a child holds the lock: %v (child pid %d)", err, a.cmd.Process.Pid)
	}
	a.kill()
	if _, err := txn.Recover(k, o); err != nil {
		t.Fatal(err)
	}
	check("")
}
