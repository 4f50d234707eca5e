package txn_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/ktest"
)

// A link whose attributes a run changed, deleted behind nets' back
// before the undo: restoring its attributes is moot (nothing to restore
// them on). Rollback succeeds, reports the moot step, and the rest of
// the state is restored exactly.
func TestMootAttributeRestore(t *testing.T) {
	for _, viaRecover := range []bool{false, true} {
		m := simpleModel(t)
		ensureAll(t, m, []kernel.Want{link("", kernel.LinkWant{Name: "pre0", Kind: kernel.KindBridge})})
		o := journalOpts(t)
		var notes []txn.MootUndo
		o.OnMoot = func(n txn.MootUndo) { notes = append(notes, n) }
		before := m.Dump("")
		tx := begin(t, m, o)
		mustEnsure(t, tx, link("", kernel.LinkWant{Name: "pre0", MTU: u32(1400), Alias: sptr("x")}))
		mustEnsure(t, tx, link("", kernel.LinkWant{Name: "nx", Kind: kernel.KindBridge}))
		mustEnsure(t, tx, via("", "10.77.0.0/16", "10.0.0.2", 0))
		// Behind nets' back: pre0 goes.
		if err := m.DelLink("", "pre0"); err != nil {
			t.Fatal(err)
		}
		var res txn.RecoverResult
		if viaRecover {
			tx.Abandon()
			r, err := txn.OpenRecovery(o)
			if err != nil {
				t.Fatal(err)
			}
			if info := r.Journal(); info == nil || info.Steps != 3 {
				t.Fatalf("Journal() = %+v", info)
			}
			res, err = r.Undo(m)
			r.Close()
			if err != nil {
				t.Fatalf("Undo: %v", err)
			}
			if res.Undone != 3 || len(res.Moot) != 1 {
				t.Fatalf("Undo = %+v, want 3 undone, 1 moot", res)
			}
		} else if err := tx.Rollback(); err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if len(notes) != 1 || notes[0].Step != 0 || !strings.Contains(notes[0].Want, "pre0") ||
			notes[0].Reason != "link pre0 no longer exists (nothing to restore)" {
			t.Fatalf("moot notes = %+v", notes)
		}
		if s := notes[0].String(); !strings.Contains(s, "nothing to restore") {
			t.Errorf("MootUndo.String() = %q", s)
		}
		if _, err := os.Stat(filepath.Join(o.JournalDir, "journal")); !os.IsNotExist(err) {
			t.Fatalf("journal not removed: %v", err)
		}
		// The state is as before the run, except for pre0, which is gone.
		for _, l := range strings.Split(diffLines(before, m.Dump("")), "\n") {
			if l != "" && !(strings.HasPrefix(l, "- ") && strings.Contains(l, "pre0")) {
				t.Errorf("state after undo differs: %s", l)
			}
		}
		begin(t, m, o).Commit()
	}
}

// Only attribute restores of a missing object are moot: an inverse that
// recreates something (here an address deleted by the run, on a link
// deleted since) still fails, the journal is kept, and only
// Recovery.Discard gets rid of it.
func TestRecreateIsNeverMoot(t *testing.T) {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{link("", kernel.LinkWant{Name: "pre0", Kind: kernel.KindBridge}),
		addr("", "pre0", "10.66.0.1/24")})
	o := journalOpts(t)
	var notes []txn.MootUndo
	o.OnMoot = func(n txn.MootUndo) { notes = append(notes, n) }
	tx := begin(t, m, o)
	mustEnsure(t, tx, absent(addr("", "pre0", "10.66.0.1/24")))
	mustEnsure(t, tx, link("", kernel.LinkWant{Name: "pre0", MTU: u32(1400)}))
	mustEnsure(t, tx, via("", "10.77.0.0/16", "10.0.0.2", 0))
	if err := m.DelLink("", "pre0"); err != nil {
		t.Fatal(err)
	}
	err := tx.Rollback()
	var ue *txn.UndoError
	if !errors.As(err, &ue) || len(ue.Failures) != 1 || ue.Failures[0].Step != 0 || ue.Undone != 2 {
		t.Fatalf("Rollback = %v (%+v), want step 0 (the address) failed, 2 undone", err, ue)
	}
	if len(notes) != 1 || notes[0].Step != 1 {
		t.Fatalf("moot notes = %+v, want step 1 (the mtu)", notes)
	}
	if strings.Count(err.Error(), "journal") != 0 {
		t.Errorf("UndoError.Error() mentions the journal: %v", err)
	}

	// Recover fails the same way, every time; run refuses.
	for range 2 {
		if _, err := txn.Recover(m, o); !errors.As(err, &ue) {
			t.Fatalf("Recover = %v, want *UndoError", err)
		}
	}
	if _, err := txn.Begin(m, o); !errors.Is(err, txn.ErrUnrecovered) {
		t.Fatalf("Begin = %v, want ErrUnrecovered", err)
	}

	// Discard: list what would be undone, then drop the journal.
	r, err := txn.OpenRecovery(o)
	if err != nil {
		t.Fatal(err)
	}
	steps := r.Steps(nil)
	if len(steps) != 1 || steps[0].Step != 0 || len(steps[0].Inverse) != 1 ||
		!strings.Contains(steps[0].Inverse[0], "addr 10.66.0.1/24 dev pre0") {
		t.Fatalf("Steps = %+v, want only step 0 (steps 1 and 2 are marked undone)", steps)
	}
	if err := r.Discard(); err != nil {
		t.Fatal(err)
	}
	if err := r.Discard(); !errors.Is(err, txn.ErrDone) {
		t.Errorf("second Discard = %v", err)
	}
	r.Close()
	begin(t, m, o).Commit()
	if _, err := txn.Pending(o); err != nil {
		t.Fatal(err)
	}
}

// A link attribute restore that fails while the link exists (here its
// master is gone) is not moot.
func TestMissingMasterIsNotMoot(t *testing.T) {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{link("", kernel.LinkWant{Name: "br0", Kind: kernel.KindBridge}),
		link("", kernel.LinkWant{Name: "a0", Master: sptr("br0")})})
	o := journalOpts(t)
	o.OnMoot = func(n txn.MootUndo) { t.Errorf("moot: %v", n) }
	tx := begin(t, m, o)
	mustEnsure(t, tx, link("", kernel.LinkWant{Name: "a0", Master: sptr("")}))
	if err := m.DelLink("", "br0"); err != nil {
		t.Fatal(err)
	}
	var ue *txn.UndoError
	if err := tx.Rollback(); !errors.As(err, &ue) {
		t.Fatalf("Rollback = %v, want the master restore to fail", err)
	}
}

// A namespace deleted behind nets' back makes attribute restores of its
// links moot.
func TestMootInGoneNamespace(t *testing.T) {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{{Netns: &kernel.NetnsWant{Name: "ext"}},
		link("ext", kernel.LinkWant{Name: "e0", Kind: kernel.KindBridge})})
	o := journalOpts(t)
	var notes []txn.MootUndo
	o.OnMoot = func(n txn.MootUndo) { notes = append(notes, n) }
	tx := begin(t, m, o)
	mustEnsure(t, tx, link("ext", kernel.LinkWant{Name: "e0", MTU: u32(1300)}))
	if err := m.DelNamespace("ext"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0].Reason, "namespace ext") {
		t.Fatalf("notes = %+v", notes)
	}
}

// OpenRecovery takes the lock before it reads the journal: while a run
// holds it, it waits (telling OnWait the holder's pid) and fails with a
// *LockedError naming the pid; once the run committed, there is no
// journal (ErrNoJournal), which is not "undid 0 steps".
func TestRecoveryWaitsForTheRun(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("", "10.1.0.0/16", "10.0.0.2", 100))

	o2 := o
	o2.Wait = 100 * time.Millisecond
	waitedFor := -1
	o2.OnWait = func(pid int) { waitedFor = pid }
	_, err := txn.OpenRecovery(o2)
	var le *txn.LockedError
	if !errors.As(err, &le) || !errors.Is(err, txn.ErrLocked) || le.PID != os.Getpid() {
		t.Fatalf("OpenRecovery during a run = %v, want *LockedError naming pid %d", err, os.Getpid())
	}
	if waitedFor != os.Getpid() {
		t.Errorf("OnWait got %d, want %d", waitedFor, os.Getpid())
	}

	done := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		tx.Commit()
		close(done)
	}()
	o2.Wait = 10 * time.Second
	r, err := txn.OpenRecovery(o2)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if r.Journal() != nil {
		t.Fatalf("Journal() after the run committed = %+v", r.Journal())
	}
	if _, err := r.Undo(m); !errors.Is(err, txn.ErrNoJournal) {
		t.Fatalf("Undo with no journal = %v, want ErrNoJournal", err)
	}
	r.Close()
	if !strings.Contains(m.Dump(""), "10.1.0.0/16") {
		t.Fatal("the committed run's route was undone")
	}
	r, err = txn.OpenRecovery(o2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Discard(); !errors.Is(err, txn.ErrNoJournal) {
		t.Fatalf("Discard with no journal = %v", err)
	}
	r.Close()
	// Recover keeps its old contract: (0, nil) with no journal.
	if n, err := txn.Recover(m, o); n != 0 || err != nil {
		t.Fatalf("Recover with no journal = %d, %v", n, err)
	}
}

// A corrupt journal cannot be undone, but it can be discarded.
func TestDiscardCorrupt(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	crashWith(t, m, o, via("", "10.1.0.0/16", "10.0.0.2", 100))
	jpath := filepath.Join(o.JournalDir, "journal")
	f, err := os.OpenFile(jpath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{not json}\n")
	f.Close()
	r, err := txn.OpenRecovery(o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Journal() == nil {
		t.Fatal("a corrupt journal reads as none")
	}
	if _, err := r.Undo(m); !errors.Is(err, txn.ErrCorrupt) || !strings.Contains(err.Error(), "--discard") {
		t.Fatalf("Undo of a corrupt journal = %v", err)
	}
	r.Close()
	r, _ = txn.OpenRecovery(o)
	if err := r.Discard(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := os.Stat(jpath); !os.IsNotExist(err) {
		t.Fatalf("journal still there: %v", err)
	}
}

// The journal is never written or read through a symlink, and the
// journal directory must be nets' own (QA F-M).
func TestJournalHardening(t *testing.T) {
	m := simpleModel(t)
	o := journalOpts(t)
	victim := filepath.Join(tempDir(t), "victim")
	jpath := filepath.Join(o.JournalDir, "journal")
	if err := os.Symlink(victim, jpath); err != nil {
		t.Fatal(err)
	}
	// A symlink in the journal's place: Begin refuses (corrupt), and
	// nothing is written at its target.
	if _, err := txn.Begin(m, o); !errors.Is(err, txn.ErrCorrupt) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Begin over a symlinked journal = %v", err)
	}
	if _, err := os.Lstat(victim); !os.IsNotExist(err) {
		t.Fatalf("the symlink's target was created: %v", err)
	}
	// --discard removes the link, not its target.
	os.WriteFile(victim, []byte("keep me\n"), 0o600)
	r, err := txn.OpenRecovery(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Discard(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me\n" {
		t.Fatalf("target after discard: %q, %v", b, err)
	}
	if _, err := os.Lstat(jpath); !os.IsNotExist(err) {
		t.Fatalf("symlink still there: %v", err)
	}

	// A symlink planted while the run holds the lock (between Begin and
	// the first change) makes the first change fail, not write through it.
	tx := begin(t, m, o)
	os.Symlink(victim, jpath)
	if _, err := tx.Ensure(via("", "10.1.0.0/16", "10.0.0.2", 100)); err == nil {
		t.Fatal("a change was journaled through a symlink")
	}
	tx.Rollback()
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Fatalf("target written: %q", b)
	}
	os.Remove(jpath)

	// A directory open to others is narrowed to 0700.
	if err := os.Chmod(o.JournalDir, 0o1777); err != nil {
		t.Fatal(err)
	}
	begin(t, m, o).Commit()
	if mode := fileMode(t, o.JournalDir); mode != 0o700 {
		t.Errorf("journal directory mode %o, want 700", mode)
	}
	// One owned by another user is refused (a user namespace, as when a
	// normal user runs the suite, maps no other uid to chown to).
	if os.Geteuid() == 0 && !ktest.UserNS() {
		if err := os.Chown(o.JournalDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := txn.Begin(m, o); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("Begin in another user's directory = %v", err)
		}
		os.Chown(o.JournalDir, 0, 0)
	}
}

// Undoing an addition in a namespace deleted since (behind nets' back) is
// moot: what it would delete went with the namespace. Deleting a
// namespace the run created is not affected.
func TestMootDeleteInGoneNamespace(t *testing.T) {
	m := simpleModel(t)
	ensureAll(t, m, []kernel.Want{{Netns: &kernel.NetnsWant{Name: "ext"}},
		link("ext", kernel.LinkWant{Name: "e0", Kind: kernel.KindBridge, Up: bptr(true)}),
		addr("ext", "e0", "10.5.0.1/24")})
	before := m.Dump("")
	o := journalOpts(t)
	var notes []txn.MootUndo
	o.OnMoot = func(n txn.MootUndo) { notes = append(notes, n) }
	tx := begin(t, m, o)
	mustEnsure(t, tx, via("ext", "10.6.0.0/16", "10.5.0.2", 0))
	mustEnsure(t, tx, kernel.Want{Netns: &kernel.NetnsWant{Name: "mine"}})
	mustEnsure(t, tx, link("", kernel.LinkWant{Name: "br9", Kind: kernel.KindBridge}))
	if err := m.DelNamespace("ext"); err != nil {
		t.Fatal(err)
	}
	tx.Abandon()
	n, err := txn.Recover(m, o)
	if err != nil || n != 3 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	if len(notes) != 1 || notes[0].Step != 0 || notes[0].Reason != "namespace ext no longer exists (nothing to delete)" {
		t.Fatalf("notes = %+v", notes)
	}
	if d := diffLines(before, m.Dump("")); d != "" {
		t.Fatalf("host state differs:\n%s", d)
	}
	if nss, _ := m.Namespaces(); len(nss) != 0 {
		t.Fatalf("namespaces left: %v", nss)
	}
}
