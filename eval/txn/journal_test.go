package txn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

func begin(t *testing.T, k kernel.Kernel, o txn.Options) *txn.Tx {
	t.Helper()
	tx, err := txn.Begin(k, o)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return tx
}

func mustEnsure(t *testing.T, tx *txn.Tx, w kernel.Want) *kernel.Step {
	t.Helper()
	s, err := tx.Ensure(w)
	if err != nil {
		t.Fatalf("ensure %s: %v", kernel.FormatWant(w, nil), err)
	}
	return s
}

func simpleModel(t *testing.T) *kernel.Model {
	m := kernel.NewModel()
	ensureAll(t, m, []kernel.Want{up("", "lo"), veth("", "a0", "a1", ""), up("", "a0"), up("", "a1"),
		addr("", "a0", "10.0.0.1/24")})
	return m
}

func TestLockContention(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	tx1 := begin(t, m, o)

	o2 := o
	o2.Wait = 300 * time.Millisecond
	start := time.Now()
	_, err := txn.Begin(m, o2)
	waited := time.Since(start)
	if !errors.Is(err, txn.ErrLocked) {
		t.Fatalf("second Begin: %v, want ErrLocked", err)
	}
	if waited < 300*time.Millisecond || waited > 3*time.Second {
		t.Errorf("second Begin gave up after %v, want about 300ms", waited)
	}
	if want := fmt.Sprintf("held by pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder (%s)", err, want)
	}
	// Recover and Confirm take the same lock.
	if _, err := txn.Recover(m, o2); !errors.Is(err, txn.ErrLocked) {
		t.Errorf("Recover while locked: %v", err)
	}
	if err := txn.Confirm(o2); !errors.Is(err, txn.ErrLocked) {
		t.Errorf("Confirm while locked: %v", err)
	}

	// A waiter gets the lock as soon as the holder finishes.
	mustEnsure(t, tx1, via("", "10.1.0.0/16", "10.0.0.2", 100))
	done := make(chan error)
	go func() {
		o3 := o
		o3.Wait = 10 * time.Second
		tx, err := txn.Begin(m, o3)
		if err == nil {
			err = tx.Commit()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting Begin: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiting Begin did not get the lock after Commit")
	}
	// Default wait applies for Wait == 0; a free lock is taken at once.
	o.Wait = 0
	begin(t, m, o).Commit()
}

func TestCommitAndNoChange(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	jpath := filepath.Join(o.JournalDir, "journal")

	tx := begin(t, m, o)
	if s := mustEnsure(t, tx, addr("", "a0", "10.0.0.1/24")); s.Changed() {
		t.Fatalf("no-op step changed: %v", s.Changes)
	}
	if _, err := os.Stat(jpath); !os.IsNotExist(err) {
		t.Fatalf("a run that changed nothing has a journal: %v", err)
	}
	s := mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	if len(s.Changes) != 1 || s.Changes[0].Mark != '+' {
		t.Fatalf("changes %v", s.Changes)
	}
	if fileMode(t, jpath) != 0o600 || fileMode(t, o.JournalDir) != 0o700 && !strings.HasPrefix(o.JournalDir, os.TempDir()) {
		t.Errorf("journal mode %v, dir mode %v", fileMode(t, jpath), fileMode(t, o.JournalDir))
	}
	if got := tx.Changes(); len(got) != 1 || got[0].String() != "+ route 10.1.0.0/16 via 10.0.0.2 table 100" || !tx.Changed() || tx.Steps() != 1 {
		t.Fatalf("Changes %v", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(jpath); !os.IsNotExist(err) {
		t.Fatalf("journal left after Commit: %v", err)
	}
	if _, err := tx.Ensure(via("", "10.2.0.0/16", "10.0.0.2", 100)); !errors.Is(err, txn.ErrDone) {
		t.Errorf("Ensure after Commit: %v", err)
	}
	if err := tx.Rollback(); !errors.Is(err, txn.ErrDone) {
		t.Errorf("Rollback after Commit: %v", err)
	}
	if !strings.Contains(m.Dump(""), "route 10.1.0.0/16 via 10.0.0.2") {
		t.Errorf("committed route missing")
	}
	// Lock file holds no pid once released.
	if b, _ := os.ReadFile(filepath.Join(o.JournalDir, "lock")); len(b) != 0 {
		t.Errorf("lock file after release: %q", b)
	}
}

func TestDefaultJournalDirMode(t *testing.T) {
	dir := filepath.Join(tempDir(t), "nets")
	o := txn.Options{JournalDir: dir, Wait: -1}
	m := simpleModel(t)
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	if got := fileMode(t, dir); got != 0o700 {
		t.Errorf("journal directory mode %v, want 0700", got)
	}
	if got := fileMode(t, filepath.Join(dir, "journal")); got != 0o600 {
		t.Errorf("journal mode %v, want 0600", got)
	}
	tx.Rollback()
}

func TestNoJournal(t *testing.T) {
	m := simpleModel(t)
	before := m.Dump("")
	dir := tempDir(t)
	o := txn.Options{NoJournal: true, JournalDir: dir}
	tx1 := begin(t, m, o)
	tx2 := begin(t, m, o) // no lock in NoJournal mode
	mustEnsure(t, tx1, via("", "10.1.0.0/16", "10.0.0.2", 100))
	mustEnsure(t, tx1, absent(addr("", "a0", "10.0.0.1/24")))
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("NoJournal wrote files: %v", ents)
	}
	if err := tx1.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("in-memory rollback differs:\n%s", d)
	}
	tx2.Commit()
	if tx1.JournalPath() != "" || tx1.ID() != "" {
		t.Errorf("NoJournal Tx has a journal path %q / id %q", tx1.JournalPath(), tx1.ID())
	}
	if _, err := tx2.Hold(time.Now()); !errors.Is(err, txn.ErrDone) {
		t.Errorf("Hold after Commit: %v", err)
	}
}

// crashWith leaves a journal as a process killed after n steps would.
func crashWith(t *testing.T, m *kernel.Model, o txn.Options, ws ...kernel.Want) *txn.Tx {
	t.Helper()
	tx := begin(t, m, o)
	for _, w := range ws {
		mustEnsure(t, tx, w)
	}
	tx.Abandon()
	return tx
}

func TestTornAndCorruptJournal(t *testing.T) {
	m := simpleModel(t)
	before := m.Dump("")
	o := journalOpts(t)
	jpath := filepath.Join(o.JournalDir, "journal")
	crashWith(t, m, o, via("", "10.1.0.0/16", "10.0.0.2", 100), via("", "10.2.0.0/16", "10.0.0.2", 1000000))

	good, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	// A torn last line, cut anywhere in a record, is ignored.
	rec := `{"seq":2,"inverse":[{"route":{"route":{"table":100,"dst":"10.3.0.0/16"}},"absent":true}]}`
	for cut := 1; cut < len(rec); cut += 7 {
		os.WriteFile(jpath, append(append([]byte{}, good...), rec[:cut]...), 0o600)
		info, err := txn.Pending(o)
		if err != nil || info == nil || info.Steps != 2 || !info.Torn {
			t.Fatalf("cut %d: Pending = %+v, %v", cut, info, err)
		}
	}
	n, err := txn.Recover(m, o)
	if err != nil || n != 2 {
		t.Fatalf("Recover over a torn line = %d, %v", n, err)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("state after recover differs:\n%s", d)
	}

	// A torn header: the writer died before its first step was durable.
	os.WriteFile(jpath, good[:10], 0o600)
	if info, err := txn.Pending(o); err != nil || info.Steps != 0 || !info.Torn {
		t.Fatalf("torn header: Pending = %+v, %v", info, err)
	}
	if _, err := txn.Begin(m, o); !errors.Is(err, txn.ErrUnrecovered) {
		t.Fatalf("Begin over a torn header: %v", err)
	}
	if n, err := txn.Recover(m, o); n != 0 || err != nil {
		t.Fatalf("Recover of a torn header = %d, %v", n, err)
	}
	begin(t, m, o).Commit()

	// An empty journal (created, never written; or emptied by a Commit
	// that could not remove it) is no journal.
	os.WriteFile(jpath, nil, 0o644)
	if info, err := txn.Pending(o); info != nil || err != nil {
		t.Fatalf("empty journal: Pending = %+v, %v", info, err)
	}
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.3.0.0/16", "10.0.0.2", 100))
	if got := fileMode(t, jpath); got != 0o600 {
		t.Errorf("journal reused with mode %v", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("state after rollback differs:\n%s", d)
	}

	// A complete line that does not parse is corruption: refuse, keep.
	lines := strings.SplitAfter(string(good), "\n")
	bad := lines[0] + "{not json}\n" + strings.Join(lines[1:], "")
	os.WriteFile(jpath, []byte(bad), 0o600)
	if _, err := txn.Begin(m, o); !errors.Is(err, txn.ErrCorrupt) || !strings.Contains(err.Error(), jpath) {
		t.Fatalf("Begin over a corrupt journal: %v", err)
	}
	if _, err := txn.Recover(m, o); !errors.Is(err, txn.ErrCorrupt) {
		t.Fatalf("Recover of a corrupt journal: %v", err)
	}
	if _, err := os.Stat(jpath); err != nil {
		t.Fatalf("corrupt journal removed: %v", err)
	}
	os.WriteFile(jpath, []byte(`{"seq":0,"inverse":[]}`+"\n"), 0o600)
	if _, err := txn.Pending(o); !errors.Is(err, txn.ErrCorrupt) {
		t.Fatalf("journal without header: %v", err)
	}
	os.Remove(jpath)
}

// TestCrashDuringRollback kills the rollback before each undo step; the
// undo marks let Recover finish the job exactly.
func TestCrashDuringRollback(t *testing.T) {
	points, grouped := 0, 0
	for _, s := range sequences(t) {
		steps, _ := s.count(t)
		for j := range steps {
			t.Run(fmt.Sprintf("%s/undo%d", s.name, j), func(t *testing.T) {
				m := s.model(t)
				before := dumpAll(t, m, s.nss...)
				o := journalOpts(t)
				var tx *txn.Tx
				o.BeforeUndo = func(i int, _ kernel.Want) error {
					if i == j {
						tx.Abandon()
						panic(errInjected) // the process dies here
					}
					return nil
				}
				tx = begin(t, m, o)
				if err := runAll(tx, s.run); err != nil {
					t.Fatal(err)
				}
				func() {
					defer func() {
						if r := recover(); r != errInjected {
							panic(r)
						}
					}()
					tx.Rollback()
				}()
				// Steps newer than j that were undone are marked and
				// not replayed (undo may work on a group of independent
				// route inverses at once: those of j's group may not be
				// undone yet).
				info, err := txn.Pending(o)
				if err != nil || info == nil || info.Steps < j+1 || info.Steps > steps {
					t.Fatalf("Pending = %+v, %v; want %d..%d steps left", info, err, j+1, steps)
				}
				if info.Steps > j+1 {
					grouped++
				}
				o.BeforeUndo = nil
				if n, err := txn.Recover(m, o); err != nil || n != info.Steps {
					t.Fatalf("Recover = %d, %v; want %d", n, err, info.Steps)
				}
				if d := diffLines(before, dumpAll(t, m, s.nss...)); d != "" {
					t.Fatalf("state after recover differs:\n%s", d)
				}
			})
			points++
		}
	}
	t.Logf("rollback crash points covered: %d (%d inside a group of route undos)", points, grouped)
}

// TestJournalSecrets: the journal is 0600 and holds a WireGuard key
// only where an inverse must restore it; change lines and undo errors
// never show keys.
func TestJournalSecrets(t *testing.T) {
	m := simpleModel(t)
	k1, k2, peer, psk1, psk2 := newKey(t), newKey(t), newKey(t), newKey(t), newKey(t)
	port := 51820
	ensureAll(t, m, []kernel.Want{
		link("", kernel.LinkWant{Name: "wg0", Kind: kernel.KindWireGuard}),
		{WireGuard: &kernel.WGWant{Name: "wg0", PrivateKey: &k1, ListenPort: &port,
			Peers: []kernel.WGPeerWant{{PublicKey: peer, PresharedKey: &psk1, AllowedIPs: []netip.Prefix{pfx("10.70.0.0/16")}}}}},
	})
	o := journalOpts(t)
	o.BeforeUndo = func(i int, w kernel.Want) error {
		if w.WireGuard != nil {
			return errInjected
		}
		return nil
	}
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	mustEnsure(t, tx, kernel.Want{WireGuard: &kernel.WGWant{Name: "wg0", PrivateKey: &k2,
		Peers: []kernel.WGPeerWant{{PublicKey: peer, PresharedKey: &psk2}}}})
	mustEnsure(t, tx, addr("", "a0", "10.0.0.5/24"))

	jpath := tx.JournalPath()
	if got := fileMode(t, jpath); got != 0o600 {
		t.Fatalf("journal mode %v", got)
	}
	b, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	j := string(b)
	for name, k := range map[string]kernel.Key{"new private key": k2, "new preshared key": psk2} {
		if strings.Contains(j, k.Base64()) {
			t.Errorf("the journal holds the %s, which no inverse needs", name)
		}
	}
	// The old keys are needed to undo the change, and only on its line.
	for _, l := range strings.Split(strings.TrimSpace(j), "\n") {
		has := strings.Contains(l, k1.Base64()) || strings.Contains(l, psk1.Base64())
		var v struct {
			Inverse []kernel.Want `json:"inverse"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		wg := len(v.Inverse) > 0 && v.Inverse[0].WireGuard != nil
		if has != wg {
			t.Errorf("journal line (wireguard inverse %v) holds old keys %v:\n%s", wg, has, l)
		}
	}
	if !strings.Contains(j, k1.Base64()) || !strings.Contains(j, psk1.Base64()) {
		t.Errorf("the journal cannot restore the old keys")
	}
	all := []kernel.Key{k1, k2, psk1, psk2}
	noKeys := func(what, s string) {
		for _, k := range all {
			if strings.Contains(s, k.Base64()) {
				t.Errorf("%s shows a secret key: %s", what, s)
			}
		}
	}
	for _, c := range tx.Changes() {
		noKeys("change line", c.String())
	}
	err = tx.Rollback()
	var ue *txn.UndoError
	if !errors.As(err, &ue) || len(ue.Failures) != 1 {
		t.Fatalf("rollback: %v", err)
	}
	noKeys("undo error", err.Error())
	noKeys("undo error (%+v)", fmt.Sprintf("%+v %#v", ue.Failures, ue.Failures[0].Want))
	o.BeforeUndo = nil
	if _, err := txn.Recover(m, o); err != nil {
		t.Fatal(err)
	}
	d, _ := m.WireGuard("", "wg0")
	if d.PrivateKey != k1 || len(d.Peers) != 1 || d.Peers[0].PresharedKey != psk1 {
		t.Errorf("keys not restored")
	}
}

func TestEnsureBatch(t *testing.T) {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{via("", "10.200.0.0/16", "10.0.0.2", 100)})
	before := m.Dump("")
	o := journalOpts(t)
	var ws []kernel.Want
	for i := range 3000 {
		ws = append(ws, via("", fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256), "10.0.0.2", 1000000))
	}
	// A replace, a link-attached want (a group of its own), a repeat of
	// an object already in the group (new group), a neighbour, a rule.
	ws = append(ws, via("", "10.200.0.0/16", "10.0.0.3", 100),
		addr("", "a0", "10.0.0.7/24"),
		via("", "10.100.0.0/24", "10.0.0.3", 1000000),
		neigh("", "a0", "10.0.0.9", "02:00:00:00:00:09"),
		rule("", kernel.Rule{Family: 4, Mark: 3, Action: kernel.ActionLookup, Table: 100}, true),
		via("", "10.201.0.0/16", "10.0.0.2", 100))
	bad := len(ws)
	ws = append(ws, via("", "10.202.0.0/16", "192.0.2.1", 100)) // unreachable gateway
	for i := range 1000 {
		ws = append(ws, via("", fmt.Sprintf("10.%d.%d.0/24", 150+i/256, i%256), "10.0.0.2", 1000000))
	}

	// The sequential result, for comparison.
	ref := simpleModel(t)
	ensureAll(t, ref, []kernel.Want{via("", "10.200.0.0/16", "10.0.0.2", 100)})
	rtx := begin(t, ref, txn.Options{NoJournal: true})
	var refChanges []string
	for _, w := range ws[:bad] {
		s := mustEnsure(t, rtx, w)
		for _, c := range s.Changes {
			refChanges = append(refChanges, c.String())
		}
	}

	var journaled int
	o.BeforeApply = func(i int, s *kernel.Step) error {
		if i == 0 { // the first group's inverses are all durable before its first apply
			b, _ := os.ReadFile(filepath.Join(o.JournalDir, "journal"))
			journaled = strings.Count(string(b), `"seq"`)
		}
		return nil
	}
	tx := begin(t, m, o)
	steps, err := tx.EnsureBatch(ws)
	var be *txn.BatchError
	if !errors.As(err, &be) || be.Index != bad || !errors.Is(err, kernel.ErrNotFound) && !strings.Contains(err.Error(), "gateway") {
		t.Fatalf("EnsureBatch error %v, want a *BatchError at %d", err, bad)
	}
	if journaled != 3001 {
		t.Errorf("before the first apply %d inverses were journaled, want the whole first group (3001)", journaled)
	}
	if len(steps) != bad {
		t.Errorf("%d steps returned, want %d", len(steps), bad)
	}
	var got []string
	for _, c := range tx.Changes() {
		got = append(got, c.String())
	}
	if strings.Join(got, "\n") != strings.Join(refChanges, "\n") {
		t.Errorf("batch changes differ from one-at-a-time changes")
	}
	if d := diffLines(ref.Dump(""), m.Dump("")); d != "" {
		t.Errorf("batch state differs from one-at-a-time state:\n%s", d)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("state after batch rollback differs:\n%s", d)
	}
}

func TestConfirm(t *testing.T) {
	m := simpleModel(t)
	before := m.Dump("")
	o := journalOpts(t)
	o.Wait = time.Second
	apply := func() *txn.JournalInfo {
		tx := begin(t, m, o)
		mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
		info, err := tx.Hold(time.Now().Add(time.Hour))
		if err != nil || info == nil || !info.Held || info.ID != tx.ID() || info.Steps != 1 {
			t.Fatalf("Hold = %+v, %v", info, err)
		}
		return info
	}

	// Confirmed: the changes stay.
	info := apply()
	_, err := txn.Begin(m, o)
	if !errors.Is(err, txn.ErrAwaitingConfirm) || errors.Is(err, txn.ErrUnrecovered) ||
		!strings.Contains(err.Error(), "nets confirm") || !strings.Contains(err.Error(), "nets recover") {
		t.Fatalf("Begin while awaiting confirmation: %v", err)
	}
	if p, err := txn.Pending(o); err != nil || !p.Held || p.ID != info.ID || p.Running {
		t.Fatalf("Pending = %+v, %v", p, err)
	}
	if err := txn.Confirm(o); err != nil {
		t.Fatal(err)
	}
	if err := txn.Confirm(o); !errors.Is(err, txn.ErrNothingHeld) {
		t.Fatalf("second Confirm: %v", err)
	}
	after := m.Dump("")
	if !strings.Contains(after, "10.1.0.0/16") {
		t.Fatal("confirmed change missing")
	}
	// The waiter of a confirmed run returns without reverting.
	if rev, n, err := txn.AwaitConfirm(context.Background(), m, o, info.ID); rev || n != 0 || err != nil {
		t.Fatalf("AwaitConfirm after Confirm = %v, %d, %v", rev, n, err)
	}
	ensureAll(t, m, []kernel.Want{absent(via("", "10.1.0.0/16", "10.0.0.2", 100))})

	// Unconfirmed: the waiter reverts at the deadline.
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	mustEnsure(t, tx, absent(addr("", "a0", "10.0.0.1/24")))
	info, err = tx.Hold(time.Now().Add(1500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Another run's id is not this waiter's business.
	if rev, _, err := txn.AwaitConfirm(context.Background(), m, o, "other"); rev || err != nil {
		t.Fatalf("AwaitConfirm(other id) = %v, %v", rev, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if rev, _, err := txn.AwaitConfirm(ctx, m, o, info.ID); rev || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled AwaitConfirm = %v, %v", rev, err)
	}
	cancel()
	start := time.Now()
	rev, n, err := txn.AwaitConfirm(context.Background(), m, o, info.ID)
	if !rev || n != 2 || err != nil {
		t.Fatalf("AwaitConfirm = %v, %d, %v", rev, n, err)
	}
	if el := time.Since(start); el < time.Second || el > 4*time.Second {
		t.Errorf("reverted after %v, want about 1.4s", el)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("state after the revert differs:\n%s", d)
	}
	if err := txn.Confirm(o); !errors.Is(err, txn.ErrNothingHeld) {
		t.Fatalf("Confirm after the revert: %v", err)
	}

	// `nets recover` reverts a held run at once.
	apply()
	if n, err := txn.Recover(m, o); n != 1 || err != nil {
		t.Fatalf("Recover of a held run = %d, %v", n, err)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("state after recover differs:\n%s", d)
	}

	// Confirm refuses an interrupted (not held) run's journal.
	crashWith(t, m, o, via("", "10.1.0.0/16", "10.0.0.2", 100))
	if err := txn.Confirm(o); !errors.Is(err, txn.ErrUnrecovered) {
		t.Fatalf("Confirm of an interrupted run: %v", err)
	}
	txn.Recover(m, o)

	// Holding a run that changed nothing is a commit.
	tx = begin(t, m, o)
	if info, err := tx.Hold(time.Now().Add(time.Hour)); info != nil || err != nil {
		t.Fatalf("Hold without changes = %+v, %v", info, err)
	}
	begin(t, m, o).Commit()
}

func TestPendingRunning(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	if info, err := txn.Pending(o); info != nil || err != nil {
		t.Fatalf("Pending with no journal = %+v, %v", info, err)
	}
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	info, err := txn.Pending(o)
	if err != nil || info == nil || !info.Running || info.Steps != 1 || info.PID != os.Getpid() {
		t.Fatalf("Pending during a run = %+v, %v", info, err)
	}
	if !strings.Contains(info.String(), strconv.Itoa(os.Getpid())) {
		t.Errorf("String() = %q", info.String())
	}
	tx.Rollback()
}

func TestExecInvalidates(t *testing.T) {
	m := simpleModel(t)
	tx := begin(t, m, txn.Options{NoJournal: true})
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))
	if err := tx.Exec(context.Background(), "", kernel.Cmd{Args: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if ex := m.Execs(); len(ex) != 1 || ex[0].Args[0] != "true" {
		t.Fatalf("Execs %+v", ex)
	}
	tx.Commit()
	if err := tx.Exec(context.Background(), "", kernel.Cmd{Args: []string{"true"}}); !errors.Is(err, txn.ErrDone) {
		t.Fatalf("Exec after Commit: %v", err)
	}
}

func TestRestoreOnlyRefused(t *testing.T) {
	m := simpleModel(t)
	tx := begin(t, m, txn.Options{NoJournal: true})
	defer tx.Rollback()
	if _, err := tx.Ensure(kernel.Want{LinkState: &kernel.LinkState{Link: kernel.Link{Name: "x"}}}); err == nil {
		t.Fatal("a restore-only want was accepted")
	}
	if _, err := tx.Ensure(kernel.Want{}); err == nil {
		t.Fatal("an empty want was accepted")
	}
}

// TestEnsureBatchV6Default: `default via` an IPv6 gateway is the route
// ::/0, so a want for ::/0 after it in a batch names the same object and
// is prepared once the first is applied, as when the two are ensured one
// at a time (grouped as different objects, the second was prepared as an
// add and the kernel refused it: file exists).
func TestEnsureBatchV6Default(t *testing.T) {
	viaV6 := kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"),
		Gateway: netip.MustParseAddr("fe80::1"), Dev: "a0"}, Set: kernel.RouteSetGateway | kernel.RouteSetDev}}
	bh := kernel.Want{Route: &kernel.RouteWant{Route: kernel.Route{Type: kernel.RouteBlackhole, Dst: netip.MustParsePrefix("::/0")}}}
	ref := simpleModel(t)
	rtx := begin(t, ref, txn.Options{NoJournal: true})
	for _, w := range []kernel.Want{viaV6, bh} {
		mustEnsure(t, rtx, w)
	}
	m := simpleModel(t)
	tx := begin(t, m, txn.Options{NoJournal: true})
	if _, err := tx.EnsureBatch([]kernel.Want{viaV6, bh}); err != nil {
		t.Fatalf("EnsureBatch: %v", err)
	}
	if got, want := m.Dump(""), ref.Dump(""); got != want {
		t.Errorf("EnsureBatch left\n%s\none at a time\n%s", got, want)
	}
}
