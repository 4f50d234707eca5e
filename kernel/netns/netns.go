// Package netns manages network namespaces the way iproute2 does.
//
// A named namespace is a bind mount of a namespace file onto an empty file
// under a directory (DefaultDir, /run/netns), so `ip netns list` and
// `ip -n NAME` see the namespaces this package makes, and this package sees
// the ones `ip netns add` makes.
//
// Switching an OS thread into another namespace happens only on a goroutine
// locked to its thread (runtime.LockOSThread); the thread is handed back to
// the Go scheduler only after it was switched back successfully, and
// otherwise dies with its goroutine. Everything else should open netlink
// sockets inside a namespace instead (netlink.Config.NetNS).
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultDir is where iproute2 keeps named network namespaces.
const DefaultDir = "/run/netns"

// ErrNotExist reports a named namespace that does not exist. Errors
// wrapping it also match os.ErrNotExist / fs.ErrNotExist.
var ErrNotExist = errors.New("no such network namespace")

// ErrExist reports a named namespace that already exists.
var ErrExist = errors.New("network namespace already exists")

type nsError struct {
	op, name string
	kind     error // ErrExist / ErrNotExist / nil
	err      error
}

func (e *nsError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%s netns %q: %v", e.op, e.name, e.kind)
	}
	return fmt.Sprintf("%s netns %q: %v", e.op, e.name, e.err)
}

func (e *nsError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

func dirOr(dir string) string {
	if dir == "" {
		return DefaultDir
	}
	return dir
}

// ValidName reports whether name can name a namespace: non-empty, at most
// 255 bytes, no '/' and not "." or "..", as iproute2 requires.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') ||
		strings.ContainsRune(name, 0) || len(name) > 255 {
		return fmt.Errorf("invalid network namespace name %q", name)
	}
	return nil
}

// Path returns the file of the named namespace name in dir ("" means
// DefaultDir).
func Path(dir, name string) string { return filepath.Join(dirOr(dir), name) }

// makeShared makes dir a shared mount point, binding it onto itself first
// when it is not a mount point yet (mount --make-shared gives EINVAL), as
// iproute2's netns_add does. Shared propagation lets namespace mounts
// made here appear in other mount namespaces that share the directory.
func makeShared(dir string) error {
	for range 2 {
		err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("mount --make-shared %s: %w", dir, err)
		}
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mount --bind %s %s: %w", dir, dir, err)
		}
	}
	return fmt.Errorf("mount --make-shared %s: still not a mount point", dir)
}

// Add creates the named namespace name in dir ("" means DefaultDir)
// exactly as `ip netns add` does: an empty file dir/name with a fresh
// network namespace bind-mounted onto it. It fails with ErrExist when
// the file exists.
func Add(dir, name string) error {
	if err := ValidName(name); err != nil {
		return &nsError{op: "add", name: name, err: err}
	}
	dir = dirOr(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &nsError{op: "add", name: name, err: err}
	}
	if err := makeShared(dir); err != nil {
		return &nsError{op: "add", name: name, err: err}
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return &nsError{op: "add", name: name, kind: ErrExist, err: err}
		}
		return &nsError{op: "add", name: name, err: err}
	}
	f.Close()

	err = onSwitchedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		return nil
	}, func() error {
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /proc/thread-self/ns/net to %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		_ = os.Remove(path)
		return &nsError{op: "add", name: name, err: err}
	}
	return nil
}

// Delete removes the named namespace name from dir ("" means DefaultDir)
// as `ip netns del` does: it detaches the bind mount and removes the
// file. The namespace itself lives on while a process or an open file
// still refers to it.
func Delete(dir, name string) error {
	if err := ValidName(name); err != nil {
		return &nsError{op: "delete", name: name, err: err}
	}
	path := Path(dir, name)
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &nsError{op: "delete", name: name, kind: ErrNotExist, err: err}
		}
		return &nsError{op: "delete", name: name, err: err}
	}
	// EINVAL: not a mount point (a stale file); remove it all the same.
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return &nsError{op: "delete", name: name, err: fmt.Errorf("umount %s: %w", path, err)}
	}
	if err := os.Remove(path); err != nil {
		return &nsError{op: "delete", name: name, err: err}
	}
	return nil
}

// List returns the names of the named namespaces in dir ("" means
// DefaultDir), sorted. Files there that are not namespace mounts (left by
// an interrupted add) are skipped. A missing dir lists nothing.
func List(dir string) ([]string, error) {
	dir = dirOr(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Join(dir, e.Name()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Open opens the named namespace name in dir ("" means DefaultDir). The
// caller closes the file. It fails with ErrNotExist when there is no such
// namespace (or the file there is not a namespace).
func Open(dir, name string) (*os.File, error) {
	if err := ValidName(name); err != nil {
		return nil, &nsError{op: "open", name: name, err: err}
	}
	f, err := os.Open(Path(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &nsError{op: "open", name: name, kind: ErrNotExist, err: err}
		}
		return nil, &nsError{op: "open", name: name, err: err}
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, &nsError{op: "open", name: name, kind: ErrNotExist,
			err: fmt.Errorf("%s is not a namespace mount", Path(dir, name))}
	}
	return f, nil
}

// Current opens the network namespace of the calling thread
// (/proc/thread-self/ns/net, read on a locked thread).
func Current() (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return os.Open("/proc/thread-self/ns/net")
}

// ID identifies a namespace: the device and inode of its nsfs file.
type ID struct{ Dev, Ino uint64 }

// String formats the ID like `ls -i` of /proc/PID/ns/net: net:[INO].
func (id ID) String() string { return fmt.Sprintf("net:[%d]", id.Ino) }

// IDOf returns the identity of the namespace file f.
func IDOf(f *os.File) (ID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ID{}, err
	}
	runtime.KeepAlive(f)
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}

// IDOfFD returns the identity of the namespace fd refers to.
func IDOfFD(fd int) (ID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ID{}, err
	}
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}

// Do runs fn on an OS thread switched into the network namespace ns and
// waits for it. fn runs on a fresh goroutine locked to its thread, so
// anything fn starts from that thread (a child process, a socket, a
// /dev/net/tun device) belongs to ns. Afterwards the thread is switched
// back; if that fails the thread is never reused: its goroutine exits
// still locked and the runtime discards the thread.
func Do(ns *os.File, fn func() error) error {
	err := onSwitchedThread(func() error {
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("setns: %w", err)
		}
		return nil
	}, fn)
	runtime.KeepAlive(ns)
	return err
}

// onSwitchedThread runs fn on a fresh goroutine locked to its OS thread
// after enter has moved that thread to another network namespace, then
// switches the thread back to the namespace it came from. The thread is
// returned to the scheduler only once it is back; if enter fails it never
// left, and if switching back fails the goroutine exits still locked so
// the runtime discards the thread. A panic in fn is returned as an error.
func onSwitchedThread(enter, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := enter(); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		var ferr error
		func() {
			defer func() {
				if r := recover(); r != nil {
					ferr = fmt.Errorf("panic in namespace: %v", r)
				}
			}()
			ferr = fn()
		}()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("restore namespace: %w", err))
			return // still locked: the thread dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
