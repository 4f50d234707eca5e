package txn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nets-lang/nets/kernel"
	"golang.org/x/sys/unix"
)

// journalVersion is the value of the header's "nets_journal" field.
const journalVersion = 1

// line is one JSON line of the journal: the header, a step record or the
// hold record (exactly one group of fields is set).
type line struct {
	// Header.
	Journal int       `json:"nets_journal,omitempty"`
	ID      string    `json:"id,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Recipe  string    `json:"recipe,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Version string    `json:"version,omitempty"`

	// Step record.
	Seq     *int          `json:"seq,omitempty"`
	Inverse []kernel.Want `json:"inverse,omitempty"`

	// Hold record.
	Hold *holdRecord `json:"hold,omitempty"`

	// Undone record: the step with this sequence number was undone by
	// a rollback or recover (a later recover skips it).
	Undone *int `json:"undone,omitempty"`
}

type holdRecord struct {
	Deadline time.Time `json:"deadline"`
	PID      int       `json:"pid"`
}

// record is a journaled step: its sequence number and the Wants that undo
// it, in the order they are to be applied; undone when a rollback or
// recover marked it undone.
type record struct {
	seq     int
	inverse []kernel.Want
	undone  bool
	// packed, in a running Tx's records, is 1 + the offset in Tx.packed
	// of the packed form of the inverse (which is nil unless Rollback
	// unpacked it, see journal_pack.go); 0 when the inverse is not
	// packed.
	packed int32
}

// JournalInfo describes a journal left on disk (see Pending).
type JournalInfo struct {
	Path    string    // the journal file
	ID      string    // random id of the run that wrote it
	PID     int       // pid of the process that wrote it
	Recipe  string    // the recipe it ran ("" when not recorded)
	Version string    // nets version that wrote it
	Started time.Time // when the run started
	// Steps is how many steps Recover will replay: every step up to the
	// newest one not marked undone (older steps are replayed again even
	// when marked, so that their inverses still come after the newer
	// ones, as the package documentation explains).
	Steps int
	// Torn is true when the last line was cut short: the writer died in
	// the middle of an append (that step was never applied).
	Torn bool
	// Held is true when the run finished and awaits confirmation
	// (Tx.Hold); Deadline is when it is to be reverted.
	Held     bool
	Deadline time.Time
	// Running is true when a live process holds the lock (a run, recover
	// or confirm in progress) at the time Pending looked.
	Running bool
}

func (j *JournalInfo) describe() string {
	recipe := j.Recipe
	if recipe == "" {
		recipe = "(none)"
	}
	started := "unknown"
	if !j.Started.IsZero() {
		started = j.Started.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s, recipe %s, pid %d, started %s", j.Path, recipe, j.PID, started)
}

// String describes the journal in one line, as error messages do.
func (j *JournalInfo) String() string {
	if j.Held {
		return fmt.Sprintf("held journal (%s), awaiting confirmation until %s",
			j.describe(), j.Deadline.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("journal (%s), %d steps", j.describe(), j.Steps)
}

// JournalError is returned when a journal left by another run stands in
// the way: errors.Is(err, ErrUnrecovered) for an interrupted run,
// errors.Is(err, ErrAwaitingConfirm) for a run awaiting confirmation.
type JournalError struct {
	Info JournalInfo
}

func (e *JournalError) Error() string {
	if e.Info.Held {
		return fmt.Sprintf("a run is awaiting confirmation until %s (%s); run `nets confirm` to keep its changes or `nets recover` to revert them first",
			e.Info.Deadline.UTC().Format(time.RFC3339), e.Info.describe())
	}
	return fmt.Sprintf("an interrupted run left a journal (%s); run `nets recover` first", e.Info.describe())
}

// Is makes errors.Is match ErrUnrecovered or ErrAwaitingConfirm.
func (e *JournalError) Is(target error) bool {
	return (target == ErrUnrecovered && !e.Info.Held) || (target == ErrAwaitingConfirm && e.Info.Held)
}

// readJournal reads the journal at path. It returns (nil, nil, nil) when
// there is none. A torn last line (no newline) is ignored; a complete
// line that does not parse is ErrCorrupt. A file without a complete
// header holds no steps; an empty file is no journal. The records returned are those Recover must
// replay (see JournalInfo.Steps), oldest first, with undone set on those
// a rollback or recover already undid.
func readJournal(path string) (*JournalInfo, []record, error) {
	info, recs, _, err := readJournalEnd(path)
	return info, recs, err
}

// readJournalEnd is readJournal also returning the length of the
// journal's complete lines (where an append must start after a crash
// left a torn line).
func readJournalEnd(path string) (*JournalInfo, []record, int64, error) {
	// O_NOFOLLOW: a journal that is a symlink is not ours to read (nor
	// to append to); it is reported as corrupt, which `nets recover
	// --discard` removes (the link, not its target).
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, 0, nil
	}
	if errors.Is(err, unix.ELOOP) {
		return &JournalInfo{Path: path}, nil, 0, fmt.Errorf("%w: %s is a symbolic link, not a journal nets wrote", ErrCorrupt, path)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reading the journal: %w", err)
	}
	data, err := io.ReadAll(f)
	st, serr := f.Stat()
	f.Close()
	if err == nil && serr == nil && !st.Mode().IsRegular() {
		return &JournalInfo{Path: path}, nil, 0, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reading the journal: %w", err)
	}
	if len(data) == 0 {
		// Created but never written (or emptied by a Commit that could
		// not remove it): nothing was applied, there is nothing to undo.
		return nil, nil, 0, nil
	}
	info := &JournalInfo{Path: path}
	var recs []record
	undone := map[int]bool{}
	lineNo := 0
	var end int64
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 { // torn: the writer died mid-append
			info.Torn = true
			break
		}
		b := data[:nl]
		data = data[nl+1:]
		end += int64(nl + 1)
		lineNo++
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			return info, nil, 0, fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, path, lineNo, err)
		}
		switch {
		case l.Journal != 0:
			if lineNo != 1 {
				return info, nil, 0, fmt.Errorf("%w: %s line %d: a second header", ErrCorrupt, path, lineNo)
			}
			if l.Journal != journalVersion {
				return info, nil, 0, fmt.Errorf("%w: %s: journal format %d, this nets reads %d", ErrCorrupt, path, l.Journal, journalVersion)
			}
			info.ID, info.PID, info.Recipe, info.Started, info.Version = l.ID, l.PID, l.Recipe, l.Started, l.Version
		case lineNo == 1:
			return info, nil, 0, fmt.Errorf("%w: %s: no header", ErrCorrupt, path)
		case l.Seq != nil:
			recs = append(recs, record{seq: *l.Seq, inverse: l.Inverse})
		case l.Hold != nil:
			info.Held, info.Deadline = true, l.Hold.Deadline
		case l.Undone != nil:
			undone[*l.Undone] = true
		default:
			return info, nil, 0, fmt.Errorf("%w: %s line %d: unknown record", ErrCorrupt, path, lineNo)
		}
	}
	// Replay up to the newest step not marked undone; mark the others.
	last := -1
	for i := range recs {
		recs[i].undone = undone[recs[i].seq]
		if !recs[i].undone {
			last = i
		}
	}
	recs = recs[:last+1]
	info.Steps = len(recs)
	return info, recs, end, nil
}

// journal is the open journal of a running Tx.
type journal struct {
	dir, path string
	header    line
	f         *os.File // nil until the first append
	size      int64    // bytes known to be durable
	broken    error    // set when an append failed and could not be undone
	buf       []byte   // the lines of the last append, reused by the next
}

func newRunID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b[:])
}

// appendRecords writes the records as JSON lines with one write and one
// fsync, creating the journal (header first) on first use. When it fails
// nothing it wrote counts: the file is cut back to its last durable size,
// and if even that fails the journal refuses further appends. Route and
// neighbour inverses are encoded by appendStepLine (journal_enc.go),
// other records by encoding/json, into one buffer reused by every append.
func (j *journal) appendRecords(recs []record) error {
	if j.broken != nil {
		return j.broken
	}
	b := j.buf[:0]
	create := j.f == nil
	if create {
		var err error
		if b, err = appendJSONLine(b, j.header); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	for i := range recs {
		r := &recs[i]
		if fastRecord(r) {
			b = appendStepLine(b, r)
			continue
		}
		seq := r.seq
		var err error
		if b, err = appendJSONLine(b, line{Seq: &seq, Inverse: r.inverse}); err != nil {
			return fmt.Errorf("journal: encoding the inverse of step %d: %w", r.seq, err)
		}
	}
	j.buf = b
	return j.write(b, create)
}

// appendJSONLine appends v as json.Encoder writes it (no HTML escaping,
// a newline at the end): the journal's form of every line that
// journal_enc.go does not encode by hand.
func appendJSONLine(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, buf.Bytes()...), nil
}

func (j *journal) appendHold(h holdRecord) error {
	if j.broken != nil {
		return j.broken
	}
	b, err := json.Marshal(line{Hold: &h})
	if err != nil {
		return err
	}
	return j.write(append(b, '\n'), false)
}

// markUndone records that step seq was undone. It is written (not
// synced: a process that dies keeps what it wrote on the journal's
// tmpfs) right after the step's inverses were applied, newest step
// first, so a later recover never replays the inverse of a step newer
// than one already undone (whose context, a namespace or link, may be
// gone), except the very step whose marker a crash prevented, which is
// harmless to replay. A failed write only costs that replay.
func (j *journal) markUndone(seq int) {
	if j.broken != nil || j.f == nil {
		return
	}
	b := appendUndoneLine(j.buf[:0], seq)
	j.buf = b
	if _, err := j.f.Write(b); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = err
		}
		return
	}
	j.size += int64(len(b))
}

func (j *journal) write(b []byte, create bool) error {
	if create {
		// Begin found no journal (or an empty one) under the lock we
		// hold, so removing an empty one cannot lose another run's
		// journal. O_EXCL|O_NOFOLLOW: never write through a symlink
		// (or into a file someone else prepared) the old private keys
		// an inverse may hold.
		if st, err := os.Lstat(j.path); err == nil && st.Mode().IsRegular() && st.Size() == 0 {
			os.Remove(j.path)
		}
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return fmt.Errorf("creating the journal: %w", err)
		}
		// The umask can only narrow 0600; make sure nothing widened it.
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			os.Remove(j.path)
			return fmt.Errorf("creating the journal: %w", err)
		}
		j.f = f
	}
	_, err := j.f.Write(b)
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil && create {
		err = syncDir(j.dir)
	}
	if err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = fmt.Errorf("the journal %s could not be written (%v) nor cut back (%v); no further change is made", j.path, err, terr)
			return j.broken
		}
		return fmt.Errorf("writing the journal: %w", err)
	}
	j.size += int64(len(b))
	return nil
}

// remove deletes the journal. If it cannot be deleted it is emptied
// (an empty journal holds nothing to undo), so that a finished run is
// never undone by a later recover.
func removeJournal(dir, path string, f *os.File) error {
	if f != nil {
		f.Close()
	}
	err := os.Remove(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		syncDir(dir)
		return nil
	}
	if terr := os.Truncate(path, 0); terr != nil {
		return fmt.Errorf("the journal %s could not be removed (%v) nor emptied (%v): remove it by hand; do NOT run `nets recover`, the run finished", path, err, terr)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

// ---- the lock ----

// dirLock is the exclusive flock on JournalDir/lock.
type dirLock struct {
	f *os.File
}

// LockedError is the error of a lock that stayed held for longer than
// the wait (errors.Is(err, ErrLocked)). PID is the holder's pid as it
// wrote it in the lock file, 0 when unknown.
type LockedError struct {
	Path   string        // the lock file
	PID    int           // the holder's pid; 0 when unknown
	Waited time.Duration // how long the caller waited
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%v: %s is held by %s (another nets run, recover or confirm); gave up after waiting %v",
		ErrLocked, e.Path, holder, e.Waited)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockDir creates dir (0700) if needed and takes the lock, waiting up to
// wait (0: DefaultWait; negative: not at all). onWait, when not nil, is
// called once, with the holder's pid (0: unknown), when the lock is held
// and the wait begins.
func lockDir(dir string, wait time.Duration, onWait func(pid int)) (*dirLock, error) {
	if wait == 0 {
		wait = DefaultWait
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	pause := 2 * time.Millisecond
	for first := true; ; first = false {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			pid := holderPID(path)
			f.Close()
			return nil, &LockedError{Path: path, PID: pid, Waited: max(wait, 0)}
		}
		if first && onWait != nil {
			onWait(holderPID(path))
		}
		time.Sleep(min(pause, time.Until(deadline)+time.Millisecond))
		pause = min(pause*2, 50*time.Millisecond)
	}
	// Record our pid for the message a waiting process prints.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// privateDir makes sure the journal directory is nets' own: owned by
// this process's effective uid and writable by nobody else, since the
// journal holds old private keys and a writable directory would let
// another user plant a symlink or a journal of their own. A directory
// of ours that others may write to (a fresh tmpfs is 1777) is narrowed
// to 0700; one owned by another user is refused.
func privateDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("journal directory: %w", &fs.PathError{Op: "stat", Path: dir, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("journal directory %s is not a directory", dir)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("journal directory %s belongs to uid %d, not to uid %d that nets runs as: refusing to keep the journal (it holds private keys) there", dir, st.Uid, uid)
	}
	if st.Mode&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("journal directory %s is open to others (mode %o) and cannot be narrowed to 0700: %w", dir, st.Mode&0o7777, err)
		}
	}
	return nil
}

// holderPID reads the pid the lock's holder wrote, retrying briefly in
// case it has just taken the lock and not written it yet. 0: unknown.
func holderPID(path string) int {
	for range 5 {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}

// lockFree reports whether nobody holds the lock of dir right now.
func lockFree(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return true
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return false
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}

func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
}
