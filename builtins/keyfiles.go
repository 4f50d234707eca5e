package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nets-lang/nets/kernel"
)

// KeyWrites holds the key files a run has asked to write (writekey,
// loadkey) until the run's transaction commits, so that a run that fails
// and rolls back leaves every key file as it was, and a plan writes
// nothing. The evaluator's Env.WriteKey adds to it and its Env.ReadKey
// looks here first, so a readkey later in the same run sees the pending
// key. The zero value is empty and ready to use. Paths are compared after
// filepath.Clean.
type KeyWrites struct {
	order []string
	keys  map[string]kernel.Key
}

// Add records that path is to hold k; a later Add of the same path
// replaces the key (the file is written once, with the last key).
func (q *KeyWrites) Add(path string, k kernel.Key) {
	path = filepath.Clean(path)
	if q.keys == nil {
		q.keys = map[string]kernel.Key{}
	}
	if _, ok := q.keys[path]; !ok {
		q.order = append(q.order, path)
	}
	q.keys[path] = k
}

// Get returns the key pending for path.
func (q *KeyWrites) Get(path string) (kernel.Key, bool) {
	k, ok := q.keys[filepath.Clean(path)]
	return k, ok
}

// Paths returns the pending paths in the order they were first added.
func (q *KeyWrites) Paths() []string { return append([]string(nil), q.order...) }

// Len is the number of pending files.
func (q *KeyWrites) Len() int { return len(q.order) }

// Reset forgets every pending write (and the keys).
func (q *KeyWrites) Reset() {
	for p := range q.keys {
		q.keys[p] = kernel.Key{}
	}
	q.order, q.keys = nil, nil
}

// KeyWriteError is the error of Flush: writing Path failed, and the files
// written before it were put back as they were (Restore lists what could
// not be put back, normally nothing).
type KeyWriteError struct {
	Path    string
	Err     error
	Restore []error
}

func (e *KeyWriteError) Error() string {
	s := e.Err.Error()
	if len(e.Restore) > 0 {
		s += fmt.Sprintf("; restoring the key files written before it failed too: %v", errors.Join(e.Restore...))
	}
	return s
}

func (e *KeyWriteError) Unwrap() error { return e.Err }

// Flush writes every pending key file (mode 0600, atomically, with the
// checks of writekey) and empties the queue. When one write fails, the
// files already written are put back as they were (their old content
// and mode, or removed when they did not exist) before Flush returns a
// *KeyWriteError, so the key files end as they were before the run.
func (q *KeyWrites) Flush() error {
	var done []savedKeyFile
	defer func() {
		for _, s := range done {
			clear(s.data)
		}
		q.Reset()
	}()
	for _, p := range q.order {
		var s savedKeyFile
		s.path = p
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			s.absent = true
		case err == nil && fi.Mode().IsRegular():
			s.mode = fi.Mode().Perm()
			if s.data, err = os.ReadFile(p); err != nil {
				return q.undo(p, err, done)
			}
		}
		// Anything else (a link, a directory) is refused by the write.
		if err := WriteKeyFile(p, q.keys[p]); err != nil {
			return q.undo(p, err, done)
		}
		done = append(done, s)
	}
	return nil
}

// savedKeyFile is what a key file held before Flush replaced it.
type savedKeyFile struct {
	path   string
	data   []byte
	mode   fs.FileMode
	absent bool
}

// undo puts the files of done back, newest first.
func (q *KeyWrites) undo(path string, err error, done []savedKeyFile) error {
	e := &KeyWriteError{Path: path, Err: err}
	for i := len(done) - 1; i >= 0; i-- {
		s := done[i]
		var rerr error
		if s.absent {
			rerr = os.Remove(s.path)
		} else {
			rerr = writeFileAtomic(s.path, s.data, s.mode, false)
		}
		if rerr != nil {
			e.Restore = append(e.Restore, rerr)
		}
	}
	return e
}
