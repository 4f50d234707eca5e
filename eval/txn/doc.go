// Package txn makes one nets run one transaction: every change goes
// through a Tx, which writes the change's inverse to a write-ahead journal
// (and syncs it) before the change reaches the kernel, and undoes the
// changes newest-first when the run fails. It also provides what the CLI
// needs around that: the one-writer lock, `nets recover` (Recover,
// Pending) and `nets run --confirm` (Tx.Hold, Confirm, AwaitConfirm).
//
// # The idea
//
// Every change is a kernel.Want prepared by a kernel.Ensurer into a
// kernel.Step whose Inverse is again a list of Wants ("route X is absent",
// "route X holds gateway A"). Ensures are idempotent, so replaying an
// inverse that was already applied, or whose forward change never reached
// the kernel, is harmless. Hence:
//
//   - Rollback applies the recorded inverses newest step first (each step's
//     Inverse in slice order), through the Tx's Ensurer.
//   - Before a step is applied its inverse is appended to the journal and
//     fsync'ed; a step whose inverse is not durable is never applied. A
//     process killed at any moment therefore leaves a journal whose
//     inverses, replayed newest-first by Recover, restore the state before
//     the run, whether or not the last journaled change reached the kernel.
//   - A step whose Apply fails (or is failed by a hook) may have changed
//     part of what it meant to; its inverse is journaled, so it is undone
//     with the others.
//
// # Usage
//
//	tx, err := txn.Begin(k, txn.Options{Recipe: path})
//	if err != nil { ... }            // locked, or an interrupted run needs `nets recover`
//	for _, w := range wants {
//		step, err := tx.Ensure(w)     // step.Changes are the lines to print
//		if err != nil {
//			if rerr := tx.Rollback(); rerr != nil { ... } // *UndoError: the journal is kept
//			return err
//		}
//	}
//	return tx.Commit()
//
// Plans use Options.NoJournal (no lock, no files) on a kernel.Model; the
// Tx works the same, keeping its inverses in memory only.
//
// A Tx is not safe for concurrent use: one goroutine drives a run. The
// CLI cancels its context on SIGINT/SIGTERM/SIGHUP; whatever was running
// returns, and Rollback is then safe to call (it does not take a context:
// once started, an undo runs to the end).
//
// # API at a glance
//
//	Begin(k, Options) (*Tx, error)             lock + refuse over a journal
//	(*Tx).Ensure(kernel.Want) (*kernel.Step, error)
//	(*Tx).EnsureBatch([]kernel.Want) ([]*kernel.Step, error)  one fsync per group; *BatchError{Index}
//	(*Tx).Stream() *Stream                      nil on a model; EnsureBatch across calls, not waiting
//	(*Stream).Ensure(ws) ([]*kernel.Step, error) sends ws; returns the steps finished so far
//	(*Stream).Wait() ([]*kernel.Step, error)     the rest; *BatchError{Index: position in the stream}
//	(*Tx).Exec(ctx, ns, kernel.Cmd) error       then the Ensurer re-reads
//	(*Tx).Ensurer() *kernel.Ensurer             read-only queries, same cache
//	(*Tx).Changes() []kernel.Change, Changed() bool, Steps() int, ID(), JournalPath()
//	(*Tx).Commit() error                        remove journal, unlock
//	(*Tx).Rollback() error                      undo newest-first; *UndoError keeps the journal
//	(*Tx).Hold(deadline) (*JournalInfo, error)  keep the journal, awaiting confirmation
//	Recover(k, Options) (undone int, err error) replay a journal; (0, nil) when none
//	OpenRecovery(Options) (*Recovery, error)    `nets recover`: lock first, then read the journal
//	(*Recovery).Journal() *JournalInfo          nil: nothing to recover
//	(*Recovery).Steps(names) []UndoStep         what Undo would apply, newest first
//	(*Recovery).Undo(k) (RecoverResult, error)  replay; ErrNoJournal when none; Moot listed
//	(*Recovery).Discard() error                 `nets recover --discard`: drop without undoing
//	Pending(Options) (*JournalInfo, error)      describe a journal left on disk
//	Confirm(Options) error                      `nets confirm`
//	AwaitConfirm(ctx, k, Options, id) (reverted bool, undone int, err error)  the detached waiter
//
// Errors: ErrLocked (*LockedError, with the holder's pid), ErrUnrecovered /
// ErrAwaitingConfirm (*JournalError), ErrNothingHeld, ErrNoJournal,
// ErrCorrupt, ErrDone; *UndoError lists every inverse that could not be
// applied (its text lists the failures only: the caller says, once, that
// the journal is kept); *BatchError names the failing want of a batch.
// Options.OnWait hears when a lock wait begins, Options.OnMoot about each
// moot inverse (MootUndo).
//
// # Files (in Options.JournalDir, default /run/nets, created 0700)
//
// The directory must belong to the effective uid (else every function
// that locks refuses); one of ours that others may write to (a fresh
// tmpfs is 1777) is narrowed to 0700. The lock and the journal are never
// opened through a symlink (O_NOFOLLOW; the journal is created O_EXCL):
// a symlinked journal reads as ErrCorrupt, which Recovery.Discard
// removes (the link, not its target).
//
//	lock     flock(2)ed exclusively by Begin, Recover, Confirm and
//	         AwaitConfirm while they work; it holds the holder's pid in
//	         decimal, for the "locked by pid N" message. It is never
//	         removed. A process that dies releases its flock.
//	journal  0600, JSON lines, created by the first step that changes
//	         something (a run that changes nothing leaves no journal):
//	           {"nets_journal":1,"id":"…","pid":N,"recipe":"…","started":"RFC 3339","version":"…"}
//	           {"seq":0,"inverse":[kernel.Want, …]}      one per changing step, in order
//	           {"seq":1,"inverse":[…]}
//	           {"hold":{"deadline":"RFC 3339","pid":N}}   only after Tx.Hold
//	           {"undone":1}                               written by Rollback/Recover
//	                                                      after step 1's inverses succeeded
//	         The Wants are kernel.Want's JSON, which carries WireGuard keys
//	         in base64 so that an inverse can restore a private key: the
//	         journal is root-only and never printed. (Route and neighbour
//	         inverses and undone marks, a bulk run's lines, are written by
//	         a hand-written encoder, journal_enc.go, byte for byte what
//	         encoding/json writes; a running Tx keeps route inverses
//	         packed in memory, journal_pack.go.) A crash in the middle
//	         of an append leaves a torn last line; readers ignore it (its
//	         step was never applied, since apply follows the sync), and
//	         Recover cuts it off before it appends "undone" marks.
//	         The marks make an interrupted or partly failed undo resumable:
//	         a later Recover skips the marked steps newer than the newest
//	         unmarked one, so it does not replay a newer step's inverse
//	         after an older one's removed its context (a namespace, a
//	         link); older marked steps are replayed again, after it, since
//	         inverses of steps that touch the same object do not commute.
//	         A replayed inverse that fails only because a namespace or
//	         link that an older step of the journal created is gone is
//	         moot (nothing in it existed before the run) and not reported.
//	         An inverse that only restores attributes of a link (mtu,
//	         alias, master, ...) or a WireGuard device's configuration,
//	         when that link or its namespace was deleted behind nets'
//	         back, is moot as well: it counts as done and is reported
//	         (MootUndo, Options.OnMoot), so that such a journal does not
//	         wedge every later run; so is a deletion (undoing an addition)
//	         in a named namespace deleted since. An inverse that recreates something
//	         (a link restored whole, an address, route, rule, neighbour or
//	         namespace) is never moot: it fails, the journal is kept, and
//	         Recovery.Discard (`nets recover --discard`) is the way out.
//
// # States
//
//	no journal            idle: Begin proceeds.
//	journal, lock held    a run is in progress: Begin (and OpenRecovery,
//	                      Recover, Confirm) waits Options.Wait for the lock,
//	                      then fails with ErrLocked naming the pid. A
//	                      recover that gets the lock reads the journal only
//	                      then: the run has committed (no journal: nothing
//	                      to recover) or left an interrupted run's journal.
//	journal, no hold,     an interrupted run (crash, SIGKILL, failed undo):
//	lock free             Begin fails with ErrUnrecovered ("run `nets
//	                      recover` first"); Recover replays it and removes it.
//	journal with hold,    a run awaiting confirmation (`nets run --confirm`):
//	lock free             Begin fails with ErrAwaitingConfirm; Confirm
//	                      removes the journal (keep the changes); Recover
//	                      reverts it (that is `nets revert`/the timer).
//
// # The confirm protocol (`nets run --confirm DURATION`)
//
//  1. The run applies its changes through a Tx as usual, then calls
//     tx.Hold(time.Now().Add(DURATION)) instead of Commit. Hold appends the
//     hold record (synced), releases the lock and returns the journal's
//     JournalInfo; its ID names this held run.
//  2. The CLI starts a detached waiter (Setsid, its own process, surviving
//     the terminal) that calls AwaitConfirm(ctx, k, opts, info.ID). It
//     sleeps until the deadline, polling the journal; if the journal is
//     gone or belongs to another run it returns (reverted=false). At the
//     deadline it takes the lock and, if the same run is still held,
//     Recovers it (reverted=true).
//  3. `nets confirm` calls Confirm(opts): under the lock it removes a held
//     journal (the changes stay); it fails with ErrNothingHeld when no run
//     is awaiting confirmation (already reverted, or never held) and with
//     ErrUnrecovered when the journal belongs to an interrupted run.
//  4. `nets recover` during the wait reverts at once (Recover works on any
//     journal); the waiter then finds no journal and exits.
//
// The lock serializes Confirm against the waiter's revert: whichever takes
// the lock first decides, and the other finds no held journal.
//
// # Fault injection
//
// Options.BeforeApply and Options.BeforeUndo let tests fail (or kill the
// process at) any step: BeforeApply runs after a step's inverse is durable
// and before the step is applied; BeforeUndo runs before each inverse Want
// is applied by Rollback or Recover.
package txn
