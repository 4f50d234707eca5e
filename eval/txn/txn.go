package txn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nets-lang/nets/kernel"
)

// DefaultJournalDir is where the journal and the lock live.
const DefaultJournalDir = "/run/nets"

// DefaultWait is how long Begin, Recover and Confirm wait for the lock.
const DefaultWait = 5 * time.Second

// Errors to test with errors.Is.
var (
	// ErrLocked: another process held the lock for longer than
	// Options.Wait. The message names the holder's pid.
	ErrLocked = errors.New("the nets lock is held")
	// ErrUnrecovered: an interrupted run left a journal; `nets recover`
	// must replay it first (see JournalError).
	ErrUnrecovered = errors.New("an interrupted run left a journal")
	// ErrAwaitingConfirm: a run applied with --confirm awaits `nets
	// confirm` or its revert (see JournalError).
	ErrAwaitingConfirm = errors.New("a run is awaiting confirmation")
	// ErrNothingHeld: Confirm found no run awaiting confirmation.
	ErrNothingHeld = errors.New("no run is awaiting confirmation")
	// ErrCorrupt: the journal has a complete line that does not parse.
	ErrCorrupt = errors.New("the journal is corrupt")
	// ErrDone: the Tx was already committed, rolled back or held.
	ErrDone = errors.New("the transaction is finished")
)

// Options configures a transaction and the journal functions.
type Options struct {
	// JournalDir holds the lock and the journal; "" means
	// DefaultJournalDir. It is created (0700) when missing.
	JournalDir string
	// NoJournal runs without lock and journal (plans, in-memory models):
	// inverses are kept in memory only, so Rollback still works.
	NoJournal bool
	// Wait is how long to wait for the lock: 0 means DefaultWait, a
	// negative value means not at all.
	Wait time.Duration
	// Recipe is the recipe's path, recorded in the journal header.
	Recipe string
	// Version is the nets version recorded in the journal header; ""
	// means the main module's version from the build info.
	Version string
	// Names renders table names in the Ensurer's changes and in undo
	// error messages; nil means the built-in names only.
	Names *kernel.TableNames

	// BeforeApply, for tests, runs after the inverse of step i (0, 1, …
	// counting the steps that change something) is durable and before
	// the step is applied. An error fails the step as if the kernel had
	// refused it (the step's inverse stays journaled and is undone).
	BeforeApply func(i int, s *kernel.Step) error
	// BeforeUndo, for tests, runs before each inverse Want of step i is
	// applied by Rollback, Recover or AwaitConfirm. An error counts as
	// that undo failing.
	BeforeUndo func(i int, w kernel.Want) error
}

func (o Options) dir() string {
	if o.JournalDir == "" {
		return DefaultJournalDir
	}
	return o.JournalDir
}

func (o Options) journalPath() string { return filepath.Join(o.dir(), "journal") }

func (o Options) version() string {
	if o.Version != "" {
		return o.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Tx is one run's transaction. Create it with Begin; end it with exactly
// one of Commit, Rollback or Hold. A Tx is not safe for concurrent use.
type Tx struct {
	o    Options
	e    *kernel.Ensurer
	lock *dirLock
	j    *journal // nil with NoJournal

	recs    []record // journaled steps, oldest first (mirrors the journal)
	changes []kernel.Change
	done    bool
}

// Begin starts a transaction on k. Unless o.NoJournal it takes the lock
// (waiting up to o.Wait; ErrLocked names the holder's pid) and refuses to
// start over a journal left by another run (a *JournalError:
// ErrUnrecovered, or ErrAwaitingConfirm for a held run). The journal file
// itself is created by the first step that changes something.
func Begin(k kernel.Kernel, o Options) (*Tx, error) {
	t := &Tx{o: o, e: kernel.NewEnsurer(k)}
	t.e.Names = o.Names
	if o.NoJournal {
		return t, nil
	}
	l, err := lockDir(o.dir(), o.Wait)
	if err != nil {
		return nil, err
	}
	info, _, err := readJournal(o.journalPath())
	if err != nil {
		l.release()
		return nil, fmt.Errorf("%w; inspect or remove %s", err, o.journalPath())
	}
	if info != nil {
		l.release()
		return nil, &JournalError{Info: *info}
	}
	t.lock = l
	t.j = &journal{dir: o.dir(), path: o.journalPath(), header: line{
		Journal: journalVersion, ID: newRunID(), PID: os.Getpid(), Recipe: o.Recipe,
		Started: time.Now().UTC().Truncate(time.Second), Version: o.version(),
	}}
	return t, nil
}

// Ensurer returns the Tx's Ensurer, for read-only queries through the
// same cache (Prepare, Kernel). Changing the kernel through it bypasses
// the journal: use Tx.Ensure for changes.
func (t *Tx) Ensurer() *kernel.Ensurer { return t.e }

// Changes returns every change applied so far, in order.
func (t *Tx) Changes() []kernel.Change { return t.changes }

// Changed reports whether the Tx changed anything.
func (t *Tx) Changed() bool { return len(t.changes) > 0 }

// Steps returns how many steps that change something were journaled
// (applied, or attempted: a failed step counts, it is undone too).
func (t *Tx) Steps() int { return len(t.recs) }

// JournalPath returns the journal's path ("" with NoJournal).
func (t *Tx) JournalPath() string {
	if t.j == nil {
		return ""
	}
	return t.j.path
}

// ID returns the run's id as written in the journal header ("" with
// NoJournal).
func (t *Tx) ID() string {
	if t.j == nil {
		return ""
	}
	return t.j.header.ID
}

func restoreOnly(w kernel.Want) bool { return w.LinkState != nil || w.NetnsState != nil }

// Ensure makes w true: it prepares the step through the Ensurer and, when
// the step changes something, journals its inverse (synced) before
// applying it. It returns the step; its Changes are what the run prints.
// On failure it returns nil and the error (a *kernel.Error from the
// kernel keeps errors.Is and the ext-ack text); a step that failed while
// being applied stays journaled and is undone by Rollback with the rest.
func (t *Tx) Ensure(w kernel.Want) (*kernel.Step, error) {
	if t.done {
		return nil, ErrDone
	}
	if restoreOnly(w) {
		return nil, errors.New("txn: restore-only wants have no inverse and cannot be part of a transaction")
	}
	s, err := t.e.Prepare(w)
	if err != nil {
		return nil, err
	}
	if !s.Changed() {
		return s, nil
	}
	r := record{seq: len(t.recs), inverse: s.Inverse}
	if err := t.journal([]record{r}); err != nil {
		return nil, err
	}
	if err := t.apply(r.seq, s); err != nil {
		return nil, err
	}
	return s, nil
}

// journal makes recs durable (a no-op with NoJournal) and then counts
// them as part of the transaction.
func (t *Tx) journal(recs []record) error {
	if t.j != nil {
		if err := t.j.appendRecords(recs); err != nil {
			return err
		}
	}
	t.recs = append(t.recs, recs...)
	return nil
}

func (t *Tx) apply(seq int, s *kernel.Step) error {
	if t.o.BeforeApply != nil {
		if err := t.o.BeforeApply(seq, s); err != nil {
			return err
		}
	}
	if err := t.e.Apply(s); err != nil {
		return err
	}
	t.changes = append(t.changes, s.Changes...)
	return nil
}

// BatchError is EnsureBatch's error: the want at Index (into the slice
// passed) failed with Err.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("want %d: %v", e.Index, e.Err) }

// Unwrap returns Err.
func (e *BatchError) Unwrap() error { return e.Err }

// EnsureBatch ensures ws in order, with the effect of calling Ensure on
// each, but journals in bulk: consecutive route and neighbour wants
// that name distinct objects are prepared together, all their inverses
// are appended with one write and one fsync, and then they are applied.
// Any other want (links, addresses, rules, namespaces, WireGuard), or one naming
// an object already in the current group, starts a new group, since its
// preparation depends on what came before.
//
// It returns the steps of the wants that succeeded, in order (no-ops
// included), and on failure a *BatchError naming the failed want's index.
// Wants after the failed one are not applied (a few may be journaled;
// their inverses are harmless no-ops and are undone with the rest).
func (t *Tx) EnsureBatch(ws []kernel.Want) ([]*kernel.Step, error) {
	if t.done {
		return nil, ErrDone
	}
	out := make([]*kernel.Step, 0, len(ws))
	for i := 0; i < len(ws); {
		j := groupEnd(ws, i)
		steps, err := t.ensureGroup(ws[i:j], i)
		out = append(out, steps...)
		if err != nil {
			return out, err
		}
		i = j
	}
	return out, nil
}

// groupEnd returns the end of the group starting at ws[i]: wants that can
// be prepared before any of them is applied.
func groupEnd(ws []kernel.Want, i int) int {
	if _, ok := batchKey(ws[i]); !ok {
		return i + 1
	}
	seen := make(map[objKey]struct{}, min(len(ws)-i, 1<<13))
	j := i
	for ; j < len(ws); j++ {
		k, ok := batchKey(ws[j])
		if !ok {
			break
		}
		if _, dup := seen[k]; dup {
			break
		}
		seen[k] = struct{}{}
	}
	return j
}

// objKey names the object a route or neighbour want is about (see
// batchKey). It is a small comparable struct rather than a formatted
// string: a 100k-route batch builds 100k of them.
type objKey struct {
	ns    string
	link  string     // neighbour: its link
	addr  netip.Addr // route: destination (masked); neighbour: address (unmapped)
	table uint32     // route
	bits  int16      // route: prefix length; -1 for a neighbour
	tos   uint8      // route
}

// batchKey names the object a route or neighbour want is about,
// coarsely enough that two wants that could touch the same kernel object
// share a key; ok is false for wants that cannot be grouped.
func batchKey(w kernel.Want) (k objKey, ok bool) {
	ns := w.NS
	if ns == kernel.HostName {
		ns = kernel.Host
	}
	switch {
	case w.Route != nil:
		r := w.Route.Route
		// Without the metric: an absent want with metric 0 matches any.
		dst := r.Dst.Masked()
		return objKey{ns: ns, addr: dst.Addr(), bits: int16(dst.Bits()), table: table(r.Table), tos: r.TOS}, true
	case w.Neigh != nil:
		return objKey{ns: ns, link: w.Neigh.Link, addr: w.Neigh.IP.Unmap(), bits: -1}, true
	}
	// Rules are not grouped: the kernel's choice of priority for one
	// may depend on another. They are few.
	return objKey{}, false
}

func table(t uint32) uint32 {
	if t == kernel.TableUnspec {
		return kernel.TableMain
	}
	return t
}

// ensureGroup prepares ws (independent wants), journals the inverses of
// those that change something in one append, then applies them. base is
// the index of ws[0] in the caller's slice.
func (t *Tx) ensureGroup(ws []kernel.Want, base int) ([]*kernel.Step, error) {
	steps := make([]*kernel.Step, 0, len(ws))
	var prepErr error
	for i, w := range ws {
		if restoreOnly(w) {
			prepErr = &BatchError{base + i, errors.New("txn: restore-only wants have no inverse and cannot be part of a transaction")}
			break
		}
		s, err := t.e.Prepare(w)
		if err != nil {
			prepErr = &BatchError{base + i, err}
			break
		}
		steps = append(steps, s)
	}
	// Journal and apply what was prepared, even when a later want failed
	// to prepare: the result is the same as ensuring one at a time.
	var recs []record
	seq := len(t.recs)
	for _, s := range steps {
		if s.Changed() {
			recs = append(recs, record{seq: seq + len(recs), inverse: s.Inverse})
		}
	}
	if len(recs) > 0 {
		if err := t.journal(recs); err != nil {
			return nil, &BatchError{base, err}
		}
	}
	if i, err := t.applyGroup(seq, steps); err != nil {
		return steps[:i], &BatchError{base + i, err}
	}
	return steps, prepErr
}

// Exec runs cmd inside ns through the kernel, then makes the Ensurer read
// every namespace again before its next use: a program may change
// anything. What the program changes is not journaled and not undone.
func (t *Tx) Exec(ctx context.Context, ns string, cmd kernel.Cmd) error {
	if t.done {
		return ErrDone
	}
	err := t.e.Kernel().Exec(ctx, ns, cmd)
	t.e.InvalidateAll()
	return err
}

// Commit ends the transaction keeping its changes: it removes the journal
// and releases the lock.
func (t *Tx) Commit() error {
	if t.done {
		return ErrDone
	}
	t.done = true
	defer t.lock.release()
	if t.j != nil && t.j.f != nil {
		return removeJournal(t.j.dir, t.j.path, t.j.f)
	}
	return nil
}

// UndoFailure is one inverse Want that could not be applied.
type UndoFailure struct {
	Step int    // the step's sequence number in the journal
	Want string // the want, rendered by kernel.FormatWant (no secrets)
	Err  error
}

// UndoError reports an incomplete rollback or recover: every inverse
// Want that failed (the others were applied). The journal is kept, so
// that `nets recover` can try again once the cause is fixed.
type UndoError struct {
	Failures []UndoFailure
	Undone   int    // steps undone completely
	Journal  string // the kept journal ("" with NoJournal)
}

func (e *UndoError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d undo step(s) failed, the rest were undone:", len(e.Failures))
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  step %d: %s: %v", f.Step, f.Want, f.Err)
	}
	if e.Journal != "" {
		fmt.Fprintf(&b, "\nthe journal %s is kept: fix the cause, then run `nets recover`", e.Journal)
	}
	return b.String()
}

// Unwrap returns each failure's error.
func (e *UndoError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// undo applies the inverses of recs newest step first, continuing past
// failures, and returns how many steps were undone completely and the
// failures. Each step undone completely that was not yet is marked so in
// j (when not nil).
//
// Replaying a journal after a partial undo (a failed undo step, or a
// crash during rollback) needs two rules besides idempotence, because
// the older inverses already applied may have removed what a newer
// inverse refers to:
//
//   - Steps already marked undone are replayed again when an older
//     one is not (the reader keeps them), so that inverses still apply
//     newest first: inverses of steps touching the same object (a
//     WireGuard device restored whole) do not commute. A failure
//     re-applying such a step is not reported; it was undone once.
//   - A failure because a namespace or link does not exist is moot when
//     an older step of the journal created it (its inverse deletes it):
//     nothing in or on it existed before the run, so there is nothing
//     to restore there.
func undo(e *kernel.Ensurer, recs []record, hook func(int, kernel.Want) error, j *journal) (int, []UndoFailure) {
	undone := 0
	var fails []UndoFailure
	for i := len(recs) - 1; i >= 0; i-- {
		if lo := undoGroupStart(e, recs, i); lo < i {
			// A run of independent route/neighbour inverses: undone
			// together, pipelined (see undoGroup).
			u, f := undoGroup(e, recs, lo, i, hook, j)
			undone += u
			fails = append(fails, f...)
			i = lo
			continue
		}
		r := recs[i]
		ok := true
		for _, w := range r.inverse {
			var err error
			if hook != nil {
				err = hook(r.seq, w)
			}
			if err == nil {
				_, err = e.Ensure(w)
			}
			if err == nil || r.undone || moot(err, w, recs[:i]) {
				continue
			}
			fails = append(fails, UndoFailure{Step: r.seq, Want: kernel.FormatWant(w, e.Names), Err: err})
			ok = false
		}
		if ok {
			undone++
			if j != nil && !r.undone {
				j.markUndone(r.seq)
			}
		}
	}
	return undone, fails
}

// moot reports whether err, from applying inverse w, only says that a
// namespace or link that an older step (in older) created is gone.
func moot(err error, w kernel.Want, older []record) bool {
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch {
	case errors.Is(err, kernel.ErrNoNetns):
		return createdIn(older, func(o kernel.Want) bool {
			return o.Absent && o.Netns != nil && o.Netns.Name == ke.NS
		})
	case errors.Is(err, kernel.ErrNotFound):
		ns, name := norm(w.NS), wantLink(w)
		if name == "" {
			return false
		}
		return createdIn(older, func(o kernel.Want) bool {
			return (o.Absent && o.Link != nil && o.Link.Name == name && norm(o.NS) == ns) ||
				(o.Absent && o.Netns != nil && o.Netns.Name == ns)
		})
	}
	return false
}

func createdIn(older []record, isCreation func(kernel.Want) bool) bool {
	for _, r := range older {
		for _, o := range r.inverse {
			if isCreation(o) {
				return true
			}
		}
	}
	return false
}

func norm(ns string) string {
	if ns == kernel.HostName {
		return kernel.Host
	}
	return ns
}

// wantLink names the link a want is about or attached to ("" if none).
func wantLink(w kernel.Want) string {
	switch {
	case w.Link != nil:
		return w.Link.Name
	case w.LinkState != nil:
		return w.LinkState.Link.Name
	case w.WireGuard != nil:
		return w.WireGuard.Name
	case w.Addr != nil:
		return w.Addr.Link
	case w.Neigh != nil:
		return w.Neigh.Link
	case w.Route != nil:
		return w.Route.Route.Dev
	}
	return ""
}

// Rollback undoes every journaled step, newest first (a failed step
// included), and ends the transaction. When every undo succeeded the
// journal is removed; otherwise it is kept and the error is an
// *UndoError listing each Want that could not be applied. The lock is
// released either way. Rollback is safe after the run's context was
// cancelled and after any error from Ensure, EnsureBatch or Exec.
func (t *Tx) Rollback() error {
	if t.done {
		return ErrDone
	}
	t.done = true
	defer t.lock.release()
	var j *journal
	if t.j != nil && t.j.f != nil {
		j = t.j
	}
	undone, fails := undo(t.e, t.recs, t.o.BeforeUndo, j)
	if len(fails) > 0 {
		ue := &UndoError{Failures: fails, Undone: undone}
		if j != nil {
			j.f.Sync()
			j.f.Close()
			ue.Journal = j.path
		}
		return ue
	}
	if t.j != nil && t.j.f != nil {
		return removeJournal(t.j.dir, t.j.path, t.j.f)
	}
	return nil
}

// Hold ends the transaction keeping its changes provisionally (`nets run
// --confirm`): it appends a hold record with the deadline to the journal,
// releases the lock and returns the journal's description (pass its ID
// to AwaitConfirm). Until Confirm or Recover, Begin refuses to start.
// When the run changed nothing there is nothing to confirm: Hold then
// behaves as Commit and returns nil.
func (t *Tx) Hold(deadline time.Time) (*JournalInfo, error) {
	if t.done {
		return nil, ErrDone
	}
	if t.j == nil {
		return nil, errors.New("txn: Hold needs a journal (NoJournal is set)")
	}
	if t.j.f == nil {
		return nil, t.Commit()
	}
	t.done = true
	defer t.lock.release()
	if err := t.j.appendHold(holdRecord{Deadline: deadline.UTC(), PID: os.Getpid()}); err != nil {
		// Without a durable hold record the journal reads as an
		// interrupted run, which `nets recover` reverts: still safe.
		t.j.f.Close()
		return nil, fmt.Errorf("marking the journal as awaiting confirmation: %w", err)
	}
	t.j.f.Close()
	h := t.j.header
	return &JournalInfo{Path: t.j.path, ID: h.ID, PID: h.PID, Recipe: h.Recipe, Version: h.Version,
		Started: h.Started, Steps: len(t.recs), Held: true, Deadline: deadline.UTC()}, nil
}

// Pending describes the journal in o.JournalDir, or returns nil when
// there is none. It takes no lock: Running tells whether a live process
// held the lock at the time.
func Pending(o Options) (*JournalInfo, error) {
	info, _, err := readJournal(o.journalPath())
	if info != nil {
		info.Running = !lockFree(o.dir())
	}
	return info, err
}

// Recover replays the journal left in o.JournalDir (an interrupted run,
// a failed rollback, or a run awaiting confirmation: that reverts it):
// under the lock it applies the recorded inverses newest step first on a
// fresh Ensurer over k, then removes the journal. It returns how many
// steps were undone: 0, with no error, when there is no journal, so
// running it twice is harmless. It is safe whether or not the last
// journaled change reached the kernel. If an undo fails it keeps going,
// keeps the journal and returns an *UndoError.
func Recover(k kernel.Kernel, o Options) (int, error) {
	l, err := lockDir(o.dir(), o.Wait)
	if err != nil {
		return 0, err
	}
	defer l.release()
	n, _, err := recoverLocked(k, o, "")
	return n, err
}

// recoverLocked does Recover's work with the lock held. With id != "" it
// reverts only a held journal of that run. found reports whether there
// was a journal to replay.
func recoverLocked(k kernel.Kernel, o Options, id string) (n int, found bool, err error) {
	path := o.journalPath()
	info, recs, end, err := readJournalEnd(path)
	if err != nil {
		return 0, false, fmt.Errorf("%w; inspect or remove %s", err, path)
	}
	if info == nil || (id != "" && (info.ID != id || !info.Held)) {
		return 0, false, nil
	}
	// Reopen the journal to mark steps undone, first cutting off a torn
	// last line so that the marks start on a line of their own.
	var j *journal
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		if f.Truncate(end) == nil {
			j = &journal{dir: o.dir(), path: path, f: f, size: end}
		}
		defer f.Close()
	}
	e := kernel.NewEnsurer(k)
	e.Names = o.Names
	undone, fails := undo(e, recs, o.BeforeUndo, j)
	if len(fails) > 0 {
		if j != nil {
			j.f.Sync()
		}
		return undone, true, &UndoError{Failures: fails, Undone: undone, Journal: path}
	}
	if j != nil {
		j.f.Close()
	}
	return undone, true, removeJournal(o.dir(), path, nil)
}

// Confirm keeps the changes of the run awaiting confirmation: under the
// lock it removes the held journal. It fails with ErrNothingHeld when
// there is none (already reverted, or never held), and with a
// *JournalError (ErrUnrecovered) when the journal is an interrupted
// run's, which only Recover may resolve.
func Confirm(o Options) error {
	l, err := lockDir(o.dir(), o.Wait)
	if err != nil {
		return err
	}
	defer l.release()
	path := o.journalPath()
	info, _, err := readJournal(path)
	if err != nil {
		return fmt.Errorf("%w; inspect or remove %s", err, path)
	}
	if info == nil {
		return fmt.Errorf("%w (%s does not exist: the run may have been reverted already)", ErrNothingHeld, path)
	}
	if !info.Held {
		return &JournalError{Info: *info}
	}
	return removeJournal(o.dir(), path, nil)
}

// AwaitConfirm is the body of the detached waiter of `nets run --confirm`:
// it waits until the held run id's deadline and then reverts it (as
// Recover does) unless it was confirmed, recovered or replaced first.
// It polls the journal every second; it returns early, reverted=false,
// as soon as the journal is gone or belongs to another run, and with
// ctx.Err() when ctx ends first (nothing reverted). The lock is taken
// only for the revert, waiting as long as it takes (a concurrent Confirm
// or Recover holds it briefly).
func AwaitConfirm(ctx context.Context, k kernel.Kernel, o Options, id string) (reverted bool, undone int, err error) {
	for {
		info, _, err := readJournal(o.journalPath())
		if err != nil {
			return false, 0, err
		}
		if info == nil || info.ID != id || !info.Held {
			return false, 0, nil
		}
		if wait := time.Until(info.Deadline); wait > 0 {
			select {
			case <-ctx.Done():
				return false, 0, ctx.Err()
			case <-time.After(min(wait, time.Second)):
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, 0, err
		}
		l, err := lockDir(o.dir(), o.Wait)
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			return false, 0, err
		}
		n, found, err := recoverLocked(k, o, id)
		l.release()
		return found, n, err
	}
}
