package txn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/nets-lang/nets/kernel"
	"golang.org/x/sys/unix"
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

	// OnWait, when set, is called once by Begin, Recover, OpenRecovery
	// and Confirm when another process holds the lock and the wait for
	// it begins, with the holder's pid (0 when unknown): the CLI says
	// what it is waiting for instead of being silent.
	OnWait func(holderPID int)
	// OnMoot, when set, is told about each inverse that Rollback,
	// Recover or AwaitConfirm skipped as moot because what it would
	// restore attributes of no longer exists (see MootUndo).
	OnMoot func(MootUndo)

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

	// recs are the journaled steps, oldest first (mirroring the
	// journal). A record whose packed is set has its inverse in packed
	// instead (journal_pack.go) until Rollback unpacks them all.
	recs    []record
	packed  []byte
	changes changeLog
	done    bool

	// Scratch of EnsureBatch, reused from batch to batch.
	seen    map[objKey]struct{} // groupEnd
	newRecs []record            // a chunk's records, copied into recs by journal

	stream *Stream // the open Stream (see Stream)
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
	l, err := lockDir(o.dir(), o.Wait, o.OnWait)
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
func (t *Tx) Changes() []kernel.Change { return t.changes.all() }

// Changed reports whether the Tx changed anything.
func (t *Tx) Changed() bool { return t.changes.len() > 0 }

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
	if t.stream != nil {
		return nil, ErrStreamOpen
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
// them as part of the transaction, their route inverses packed (only
// Rollback reads them again).
func (t *Tx) journal(recs []record) error {
	if t.j != nil {
		if err := t.j.appendRecords(recs); err != nil {
			return err
		}
	}
	from := len(t.recs)
	t.recs = appendDoubling(t.recs, recs...)
	t.pack(from)
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
	t.changes.add(s.Changes...)
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
	if t.stream != nil {
		return nil, ErrStreamOpen
	}
	out := make([]*kernel.Step, 0, len(ws))
	for i := 0; i < len(ws); {
		j := t.groupEnd(ws, i)
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
func (t *Tx) groupEnd(ws []kernel.Want, i int) int {
	if _, ok := batchKey(ws[i]); !ok {
		return i + 1
	}
	// One map serves every batch (cleared, it keeps its room): a
	// 100k-route run would otherwise make 13 maps of 8192 keys.
	if t.seen == nil {
		t.seen = make(map[objKey]struct{}, min(len(ws)-i, 1<<13))
	}
	seen := t.seen
	defer clear(seen)
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
		if dst.Bits() == 0 && dst.Addr().Is4() && r.Gateway.Is6() {
			// `default via` an IPv6 gateway is ::/0 (as the Ensurer
			// makes it, see kernel.fillRoute).
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
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
	if len(ws) > flightChunk {
		if s := t.Stream(); s != nil {
			return t.ensureGroupStreamed(s, ws, base)
		}
	}
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
	if t.stream != nil {
		return ErrStreamOpen
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
	if t.stream != nil {
		return ErrStreamOpen
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
// Want that failed (the others were applied). The journal is kept (its
// path is Journal), so that `nets recover` can try again once the cause
// is fixed, or `nets recover --discard` (Recovery.Discard) can drop it.
// Error() lists the failures only; saying that the journal is kept, and
// what to do about it, is the caller's (once, in its own words).
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
	return b.String()
}

// MootUndo is an inverse that was not applied, and yet counts as done,
// because it only restores attributes of an object that no longer
// exists: the settings of a link (mtu, up, master, alias, address, ...)
// or the configuration of a WireGuard device, when that link (or the
// namespace it was in) was deleted after the run changed it, by
// something other than nets. There is nothing left to restore them on.
// Likewise an inverse that deletes something (`del ...`, undoing what
// the run added) in a namespace that was deleted since: what it would
// delete went with the namespace. An inverse that would recreate
// something (a link, an address, a route, a rule, a neighbour, a
// namespace) is never moot.
type MootUndo struct {
	Step   int    // the step's sequence number in the journal
	Want   string // the inverse, rendered by kernel.FormatWant (no secrets)
	Reason string // e.g. "link pre0 no longer exists (nothing to restore)"
}

func (m MootUndo) String() string {
	return fmt.Sprintf("step %d: %s: skipped, %s", m.Step, m.Want, m.Reason)
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
// j (when not nil). unpack, when not nil, is called with the index of
// each step before undo reads it (see Tx.unpacking).
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
//     to restore there. It is not reported.
//   - An inverse that only restores attributes of a link (or a
//     WireGuard device's configuration) that no longer exists, deleted
//     behind nets' back, is moot too (see MootUndo): it counts as done
//     and is reported to onMoot (when not nil). Otherwise such a journal
//     could never be recovered.
func undo(e *kernel.Ensurer, recs []record, hook func(int, kernel.Want) error, j *journal, onMoot func(MootUndo), unpack func(i int)) (int, []UndoFailure) {
	undone := 0
	var fails []UndoFailure
	for i := len(recs) - 1; i >= 0; i-- {
		if unpack != nil {
			unpack(i) // a Tx's packed inverses (Tx.unpacking)
		}
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
			if reason, ok := objectGone(e.Kernel(), err, w); ok {
				if onMoot != nil {
					onMoot(MootUndo{Step: r.seq, Want: kernel.FormatWant(w, e.Names), Reason: reason})
				}
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

// objectGone reports whether err, from applying inverse w, is moot
// because w only restores attributes of a link or a WireGuard device's
// configuration (it creates nothing) and that link no longer exists: not
// in w.NS (nor, for a move back, in the namespace it was to move to), or
// w.NS itself is gone; or because w deletes something in a named
// namespace that is gone. It asks the kernel afresh rather than trusting
// the error, which may be about another object (a missing master). The
// reason says what is gone.
func objectGone(k kernel.Kernel, err error, w kernel.Want) (string, bool) {
	if !errors.Is(err, kernel.ErrNotFound) && !errors.Is(err, kernel.ErrNoNetns) {
		return "", false
	}
	if w.Absent {
		// A deletion in a namespace that is gone: nothing is left
		// to delete. (Never a deletion of a namespace itself: that one
		// succeeds when the namespace is gone.)
		ns := norm(w.NS)
		if w.Netns != nil || ns == kernel.Host || !errors.Is(err, kernel.ErrNoNetns) {
			return "", false
		}
		names, lerr := k.Namespaces()
		if lerr != nil || slices.Contains(names, ns) {
			return "", false
		}
		return fmt.Sprintf("namespace %s no longer exists (nothing to delete)", ns), true
	}
	var name string
	var other *string // a move back: the namespace the link was to go to
	switch {
	case w.Link != nil && w.Link.Kind == "":
		// Kind "" ensures attributes of an existing link only (it never
		// creates one; see kernel.LinkWant).
		name, other = w.Link.Name, w.Link.Netns
	case w.WireGuard != nil:
		name = w.WireGuard.Name
	default:
		return "", false
	}
	exists := func(ns string) (found, nsGone bool, ok bool) {
		ns = norm(ns)
		if ns != kernel.Host {
			names, err := k.Namespaces()
			if err != nil {
				return false, false, false
			}
			if !slices.Contains(names, ns) {
				return false, true, true
			}
		}
		links, err := k.Links(ns)
		if err != nil {
			return false, false, false
		}
		for _, l := range links {
			if l.Name == name {
				return true, false, true
			}
		}
		return false, false, true
	}
	found, nsGone, ok := exists(w.NS)
	if !ok || found {
		return "", false
	}
	if other != nil {
		if found2, _, ok2 := exists(*other); !ok2 || found2 {
			return "", false
		}
	}
	if nsGone {
		return fmt.Sprintf("namespace %s (with link %s) no longer exists (nothing to restore)", norm(w.NS), name), true
	}
	if ns := norm(w.NS); ns != kernel.Host {
		return fmt.Sprintf("link %s no longer exists in namespace %s (nothing to restore)", name, ns), true
	}
	return fmt.Sprintf("link %s no longer exists (nothing to restore)", name), true
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
// cancelled and after any error from Ensure, EnsureBatch, a Stream or
// Exec; with a Stream still open it first waits for the changes in
// flight (they are undone with the rest).
func (t *Tx) Rollback() error {
	if t.done {
		return ErrDone
	}
	if t.stream != nil {
		// What is in flight lands (and reaches the cache) first.
		t.stream.end()
		t.stream = nil
	}
	t.done = true
	defer t.lock.release()
	var j *journal
	if t.j != nil && t.j.f != nil {
		j = t.j
	}
	undone, fails := undo(t.e, t.recs, t.o.BeforeUndo, j, t.o.OnMoot, t.unpacking())
	t.packed = nil
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
	if t.stream != nil {
		return nil, ErrStreamOpen
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
//
// Recover cannot tell "no journal" from "a journal whose steps were all
// undone already"; a caller that reports what happened (`nets recover`)
// uses OpenRecovery, whose Journal is nil when there was none and whose
// Undo returns ErrNoJournal then.
func Recover(k kernel.Kernel, o Options) (int, error) {
	r, err := OpenRecovery(o)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	res, err := r.Undo(k)
	if errors.Is(err, ErrNoJournal) {
		return 0, nil
	}
	return res.Undone, err
}

// Recovery is the journal of o.JournalDir opened under the lock for
// `nets recover`: Journal says whether there is one and whose it is
// (read under the lock, so a run that was in progress has finished, and
// committed or left its journal), Steps what undoing it would apply, and
// then exactly one of Undo (replay the inverses, as Recover does) or
// Discard (drop the journal without undoing anything). Close releases
// the lock; call it in every case.
type Recovery struct {
	o       Options
	lock    *dirLock
	info    *JournalInfo
	recs    []record
	end     int64 // length of the journal's complete lines
	corrupt error // the journal could not be read
	done    bool
}

// RecoverResult is what Recovery.Undo did.
type RecoverResult struct {
	Undone int        // steps undone completely (moot inverses count as done)
	Moot   []MootUndo // inverses skipped because their object no longer exists
}

// UndoStep is one journaled step as Recovery.Steps lists it.
type UndoStep struct {
	Step    int      // sequence number in the journal
	Inverse []string // its inverse wants, rendered by kernel.FormatWant (no secrets), in the order they apply
	Undone  bool     // an earlier rollback or recover undid it already
}

// ErrNoJournal: Recovery.Undo or Discard found no journal: there is
// nothing to recover (the run committed, or was recovered already).
var ErrNoJournal = errors.New("no journal: nothing to recover")

// OpenRecovery takes the lock of o.JournalDir, waiting up to o.Wait (a
// *LockedError, errors.Is ErrLocked, names the holder's pid when the wait
// runs out; o.OnWait is told when the wait begins), and reads the
// journal. A journal that cannot be read (ErrCorrupt) does not fail
// OpenRecovery: Journal describes what could be read, Undo returns the
// error, and Discard still drops it.
func OpenRecovery(o Options) (*Recovery, error) {
	l, err := lockDir(o.dir(), o.Wait, o.OnWait)
	if err != nil {
		return nil, err
	}
	r := &Recovery{o: o, lock: l}
	r.read()
	return r, nil
}

func (r *Recovery) read() {
	path := r.o.journalPath()
	info, recs, end, err := readJournalEnd(path)
	if err != nil {
		r.corrupt = fmt.Errorf("%w; inspect it, or drop it with `nets recover --discard`", err)
		if info == nil {
			info = &JournalInfo{Path: path}
		}
	}
	r.info, r.recs, r.end = info, recs, end
}

// Journal describes the journal found under the lock, or returns nil
// when there is none (nothing to recover).
func (r *Recovery) Journal() *JournalInfo { return r.info }

// Steps lists the steps Undo would replay, newest first, with their
// inverses rendered without secrets using names for table names (nil:
// the built-in names).
func (r *Recovery) Steps(names *kernel.TableNames) []UndoStep {
	out := make([]UndoStep, 0, len(r.recs))
	for i := len(r.recs) - 1; i >= 0; i-- {
		rec := r.recs[i]
		st := UndoStep{Step: rec.seq, Undone: rec.undone}
		for _, w := range rec.inverse {
			st.Inverse = append(st.Inverse, kernel.FormatWant(w, names))
		}
		out = append(out, st)
	}
	return out
}

// Undo replays the journal's inverses newest step first on a fresh
// Ensurer over k and removes the journal. It returns ErrNoJournal when
// there is none. Inverses that are moot (MootUndo) count as done, are
// listed in the result and passed to Options.OnMoot. If an undo fails it
// keeps going, keeps the journal (marking the steps that were undone)
// and returns an *UndoError.
func (r *Recovery) Undo(k kernel.Kernel) (RecoverResult, error) {
	if r.done {
		return RecoverResult{}, ErrDone
	}
	r.done = true
	if r.info == nil {
		return RecoverResult{}, ErrNoJournal
	}
	if r.corrupt != nil {
		return RecoverResult{}, r.corrupt
	}
	o, path := r.o, r.o.journalPath()
	// Reopen the journal to mark steps undone, first cutting off a torn
	// last line so that the marks start on a line of their own.
	var j *journal
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|unix.O_NOFOLLOW, 0); err == nil {
		if f.Truncate(r.end) == nil {
			j = &journal{dir: o.dir(), path: path, f: f, size: r.end}
		}
		defer f.Close()
	}
	var res RecoverResult
	onMoot := func(m MootUndo) {
		res.Moot = append(res.Moot, m)
		if o.OnMoot != nil {
			o.OnMoot(m)
		}
	}
	e := kernel.NewEnsurer(k)
	e.Names = o.Names
	undone, fails := undo(e, r.recs, o.BeforeUndo, j, onMoot, nil)
	res.Undone = undone
	if len(fails) > 0 {
		if j != nil {
			j.f.Sync()
		}
		return res, &UndoError{Failures: fails, Undone: undone, Journal: path}
	}
	if j != nil {
		j.f.Close()
	}
	return res, removeJournal(o.dir(), path, nil)
}

// Discard removes the journal without undoing anything: the changes of
// the run it describes stay as they are (`nets recover --discard`, for a
// journal whose undo can never succeed). Print Steps first, so that the
// operator knows what is no longer going to be undone. It returns
// ErrNoJournal when there is none.
func (r *Recovery) Discard() error {
	if r.done {
		return ErrDone
	}
	r.done = true
	if r.info == nil {
		return ErrNoJournal
	}
	return removeJournal(r.o.dir(), r.o.journalPath(), nil)
}

// Close releases the lock (and ends the Recovery if neither Undo nor
// Discard was called: the journal stays as it is).
func (r *Recovery) Close() {
	r.done = true
	r.lock.release()
}

// Confirm keeps the changes of the run awaiting confirmation: under the
// lock it removes the held journal. It fails with ErrNothingHeld when
// there is none (already reverted, or never held), and with a
// *JournalError (ErrUnrecovered) when the journal is an interrupted
// run's, which only Recover may resolve.
func Confirm(o Options) error {
	l, err := lockDir(o.dir(), o.Wait, o.OnWait)
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
		l, err := lockDir(o.dir(), o.Wait, nil)
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			return false, 0, err
		}
		r := &Recovery{o: o, lock: l}
		r.read()
		if r.corrupt != nil {
			r.Close()
			return false, 0, r.corrupt
		}
		if r.info == nil || r.info.ID != id || !r.info.Held {
			// Confirmed, recovered or replaced while we took the lock.
			r.Close()
			return false, 0, nil
		}
		res, err := r.Undo(k)
		r.Close()
		return true, res.Undone, err
	}
}

// appendDoubling is append(s, add...), except that when s's array is
// full it is replaced by one twice as big, as append does only for
// small slices (beyond 256 elements append grows by a quarter): the
// records of a 100k-route run are appended a batch at a time, and
// growing them by a quarter allocated and copied about five times their
// final size (measured on the changes, which grew the same way before
// changeLog: 46 MB instead of 12 for 100k).
func appendDoubling[T any](s []T, add ...T) []T {
	if n := len(s) + len(add); n > cap(s) {
		g := make([]T, len(s), max(n, 2*cap(s)))
		copy(g, s)
		s = g
	}
	return append(s, add...)
}
