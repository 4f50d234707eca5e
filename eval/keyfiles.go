package eval

import (
	"fmt"
	"path/filepath"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/kernel/sandbox"
	"github.com/nets-lang/nets/lang"
)

// KeyFileMode says whether a run writes the key files that writekey and
// loadkey ask for (Options.KeyFiles).
type KeyFileMode int

const (
	// KeyFilesAuto writes key files when a Run on a real kernel commits,
	// and never in a Plan, in a Run on a *kernel.Model (`nets run
	// --model`: nothing on the machine changes), or inside a sandbox made
	// by kernel/sandbox (`nets try`: the sandbox is thrown away, but the
	// file system it sees is the machine's).
	KeyFilesAuto KeyFileMode = iota
	// KeyFilesWrite writes key files when the run commits, whatever the
	// kernel (tests and embedders that run on a model but want the
	// files). A Plan still writes nothing.
	KeyFilesWrite
	// KeyFilesNever never writes key files: writekey and loadkey
	// compute their key, later readkeys of the path see it, and a note
	// goes to Stdout.
	KeyFilesNever
)

// keyFiles is a run's pending key files (writekey, loadkey): they are
// written when the run's transaction commits, so that a failed run
// leaves them as they were, and a run that does not write them (plan,
// model, sandbox) still lets readkey see what it would have written.
type keyFiles struct {
	q    *builtins.KeyWrites
	own  bool                 // q is the run's own (not Options.KeyWrites)
	at   map[string]lang.Node // path → the call that asked for it (for errors)
	skip string               // why files are not written ("" when they are)
}

// init sets up the run's queue: Options.KeyWrites when the caller owns
// the writes (and the run writes files), else a queue of the run's own.
func (kf *keyFiles) init(o Options, skip string) {
	kf.skip = skip
	if o.KeyWrites != nil && skip == "" {
		kf.q = o.KeyWrites
		return
	}
	kf.q, kf.own = &builtins.KeyWrites{}, true
}

// discard forgets the run's own pending writes (the run failed).
func (kf *keyFiles) discard() {
	if kf.own {
		kf.q.Reset()
	}
}

// keyFilesSkip returns why this run must not write key files, or "".
func keyFilesSkip(o Options, plan bool, k kernel.Kernel) string {
	switch {
	case plan:
		return "not run in plan"
	case o.KeyFiles == KeyFilesNever:
		return "not written"
	case o.KeyFiles == KeyFilesWrite:
		return ""
	}
	if _, ok := k.(*kernel.Model); ok {
		return "not written: the kernel is an in-memory model"
	}
	if sandbox.Inside() {
		return "not written: the sandbox is thrown away"
	}
	return ""
}

// ReadKey implements builtins.Env: the key this run left pending for
// path, else the file's.
func (v *env) ReadKey(path string) (kernel.Key, error) {
	if k, ok := v.e.keys.q.Get(path); ok {
		return k, nil
	}
	return builtins.ReadKeyFile(path)
}

// WriteKey implements builtins.Env: the write is checked now (so that a
// symbolic link or another user's file fails the statement that asks)
// and queued until the run commits; a run that writes no key files
// prints a note instead ("# writekey PATH (not run in plan)").
func (v *env) WriteKey(path string, k kernel.Key) error {
	kf := &v.e.keys
	// Ownership is not checked when nothing is written: a plan run by
	// another user than the run would refuse for nothing.
	if err := builtins.CheckKeyTarget(path, kf.skip == ""); err != nil {
		return err
	}
	kf.q.Add(path, k)
	if kf.at == nil {
		kf.at = map[string]lang.Node{}
	}
	if _, ok := kf.at[filepath.Clean(path)]; !ok && v.call != nil {
		kf.at[filepath.Clean(path)] = v.call
	}
	if kf.skip != "" {
		text := "writekey " + quoteArgv([]string{path})
		// The note is output: the statements before this one come
		// first, and when one of them fails the run stops there, as
		// one statement at a time would, without the note.
		if err := v.e.flush(); err != nil {
			return err
		}
		v.e.res.Skipped = append(v.e.res.Skipped, text)
		if _, err := fmt.Fprintf(v.e.stdout, "# %s (%s)\n", text, kf.skip); err != nil {
			return err
		}
	}
	return nil
}

// flushKeys writes the pending key files (when this run writes them).
// On failure the files written before the failing one are back as they
// were, and the error is a diagnostic at the call that asked for the
// file.
func (e *evaluator) flushKeys(f *lang.File) error {
	kf := &e.keys
	if !kf.own {
		return nil // the caller writes them when it commits
	}
	if kf.skip != "" || kf.q.Len() == 0 {
		kf.q.Reset()
		return nil
	}
	paths := kf.q.Paths()
	err := kf.q.Flush()
	if err == nil {
		// Not a kernel change, so not a change line; but the operator
		// should know a key file was (re)written.
		for _, p := range paths {
			if _, err := fmt.Fprintf(e.stdout, "# writekey %s (written)\n", quoteArgv([]string{p})); err != nil {
				return errAt(f, err)
			}
		}
		return nil
	}
	var n lang.Node = f
	if kwe, ok := err.(*builtins.KeyWriteError); ok {
		if at, ok := kf.at[kwe.Path]; ok {
			n = at
		}
	}
	return errAt(n, fmt.Errorf("writing the key file: %w", err))
}
