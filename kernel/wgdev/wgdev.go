// Package wgdev runs userspace WireGuard devices for kernels without the
// WireGuard module, the way wg-quick does with wireguard-go.
//
// Start launches a detached helper: a copy of the running program
// (/proc/self/exe) in helper mode, started from a thread switched into the
// target network namespace, so the helper's TUN link, its UDP sockets and
// its MTU lookups all belong to that namespace. The helper serves the
// device with golang.zx2c4.com/wireguard (device, tun, conn) and answers
// the cross-platform UAPI on a unix socket, SocketDir/NAME.sock, where
// wgctrl and wg(8) find it (they report it as type "userspace"). It
// outlives the program that started it; Stop ends it from any later
// process, using the pid file SocketDir/NAME.pid the helper writes.
//
// Every program that may start devices must call MaybeRunHelper first
// thing in main (and in TestMain): that is where the helper runs.
//
// Limits: the socket directory is shared by every namespace, so userspace
// device names must be unique host-wide, not just within a namespace;
// Start refuses a name that is taken and says in which namespace. wgctrl
// and wg(8) look only in DefaultSocketDir; other directories are for
// tests.
package wgdev

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nets-lang/nets/kernel/netns"
	"golang.org/x/sys/unix"
)

// DefaultSocketDir is where wireguard-go, wgctrl and wg(8) keep UAPI
// sockets.
const DefaultSocketDir = "/var/run/wireguard"

// DefaultLogDir holds the helpers' logs, wg-NAME.log. Keys are never
// logged.
const DefaultLogDir = "/run/nets"

// DefaultTimeout bounds how long Start waits for a helper to come up and
// Stop waits for one to go.
const DefaultTimeout = 5 * time.Second

// Options tunes where devices keep their files. The zero value uses the
// defaults.
type Options struct {
	// SocketDir holds NAME.sock and NAME.pid ("" = DefaultSocketDir).
	SocketDir string
	// LogDir holds the helper's log wg-NAME.log ("" = DefaultLogDir). If
	// it cannot be created the helper logs nowhere.
	LogDir string
	// Timeout bounds Start and Stop (0 = DefaultTimeout).
	Timeout time.Duration
}

func (o Options) sockDir() string {
	if o.SocketDir == "" {
		return DefaultSocketDir
	}
	return o.SocketDir
}

func (o Options) logDir() string {
	if o.LogDir == "" {
		return DefaultLogDir
	}
	return o.LogDir
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// SocketPath returns the UAPI socket path of the device name.
func (o Options) SocketPath(name string) string {
	return filepath.Join(o.sockDir(), name+".sock")
}

// PIDPath returns the path of the pid file of the device name's helper.
func (o Options) PIDPath(name string) string {
	return filepath.Join(o.sockDir(), name+".pid")
}

// LogPath returns the path of the device name's helper log.
func (o Options) LogPath(name string) string {
	return filepath.Join(o.logDir(), "wg-"+name+".log")
}

// ValidName reports whether name can name a userspace WireGuard device:
// a valid interface name (1 to 15 bytes, no '/', ':', whitespace or NUL,
// not "." or "..").
func ValidName(name string) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n\r\x00") {
		return fmt.Errorf("invalid WireGuard device name %q (1 to %d characters, no '/', ':' or spaces)",
			name, unix.IFNAMSIZ-1)
	}
	return nil
}

// Helper is a running helper process serving one userspace device.
type Helper struct {
	Name   string // device (and TUN link) name
	PID    int    // helper process id
	Socket string // UAPI socket path
}

// Netns returns the identity of the network namespace the helper (and so
// its device) lives in.
func (h Helper) Netns() (netns.ID, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", h.PID))
	if err != nil {
		return netns.ID{}, err
	}
	defer f.Close()
	return netns.IDOf(f)
}

// In reports whether the helper's device lives in the namespace of the
// namespace file nsPath ("" = the calling thread's namespace).
func (h Helper) In(nsPath string) (bool, error) {
	want, err := nsID(nsPath)
	if err != nil {
		return false, err
	}
	got, err := h.Netns()
	if err != nil {
		return false, err
	}
	return got == want, nil
}

func nsID(nsPath string) (netns.ID, error) {
	if nsPath == "" {
		f, err := netns.Current()
		if err != nil {
			return netns.ID{}, err
		}
		defer f.Close()
		return netns.IDOf(f)
	}
	f, err := os.Open(nsPath)
	if err != nil {
		return netns.ID{}, err
	}
	defer f.Close()
	return netns.IDOf(f)
}

// Lookup finds the running helper of the device name. It fails with an
// error wrapping fs.ErrNotExist when nets runs no helper for name.
func Lookup(name string, opts Options) (Helper, error) {
	if err := ValidName(name); err != nil {
		return Helper{}, err
	}
	pid, ok := readPIDFile(opts.PIDPath(name))
	if !ok {
		return Helper{}, fmt.Errorf("no userspace WireGuard device %s: %w", name, fs.ErrNotExist)
	}
	return Helper{Name: name, PID: pid, Socket: opts.SocketPath(name)}, nil
}

// List returns the running helpers of every userspace device in the
// socket directory, sorted by name.
func List(opts Options) ([]Helper, error) {
	ents, err := os.ReadDir(opts.sockDir())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var hs []Helper
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".pid")
		if !ok || ValidName(name) != nil {
			continue
		}
		if h, err := Lookup(name, opts); err == nil {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// answers reports whether something listens on the unix socket path.
func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// isSocket reports whether path exists and is a socket.
func isSocket(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode()&fs.ModeSocket != 0
}

// RemoveStale removes the UAPI sockets in the socket directory that
// nothing answers on any more (left by a helper or wireguard-go that was
// killed), with their pid files, and returns their device names. A single
// stale socket makes wgctrl's Devices (and `wg show`) fail for every
// device. A socket whose helper still runs is kept even if it does not
// answer yet.
func RemoveStale(opts Options) ([]string, error) {
	ents, err := os.ReadDir(opts.sockDir())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".sock")
		if !ok || e.Type()&fs.ModeSocket == 0 {
			continue
		}
		ok, err := removeIfStale(name, opts)
		if err != nil {
			return removed, err
		}
		if ok {
			removed = append(removed, name)
		}
	}
	return removed, nil
}

// removeIfStale removes name's socket and pid file when no helper runs
// for it and nothing answers on the socket.
func removeIfStale(name string, opts Options) (bool, error) {
	sock := opts.SocketPath(name)
	if _, ok := readPIDFile(opts.PIDPath(name)); ok {
		return false, nil
	}
	if answers(sock) {
		return false, nil
	}
	removed := false
	if err := os.Remove(sock); err == nil {
		removed = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Remove(opts.PIDPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, err
	}
	return removed, nil
}

// describeNetns names the namespace the helper h lives in, for errors:
// "namespace NAME" when a file under netns.DefaultDir refers to it, "this
// namespace" when it is the caller's, else its inode.
func describeNetns(h Helper) string {
	id, err := h.Netns()
	if err != nil {
		return "an unknown namespace"
	}
	if cur, err := nsID(""); err == nil && cur == id {
		return "this namespace"
	}
	if names, err := netns.List(""); err == nil {
		for _, n := range names {
			if nid, err := nsID(netns.Path("", n)); err == nil && nid == id {
				return "namespace " + n
			}
		}
	}
	return "namespace " + id.String()
}

// Start starts a userspace WireGuard device name in the network namespace
// of the namespace file nsPath ("" = the caller's namespace; else e.g.
// /run/netns/X or /proc/self/fd/N), served by a detached helper process.
// It returns once the device's TUN link exists and its UAPI socket
// answers, or with the helper's error.
//
// The program must have called MaybeRunHelper (the helper is a copy of
// it). It fails with an error wrapping fs.ErrExist when a device of that name
// already runs in any namespace (names are unique host-wide, see the
// package documentation), and removes a stale socket of that name first.
func Start(nsPath, name string, opts Options) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if !helperReady.Load() {
		return fmt.Errorf("start userspace WireGuard device %s: this program cannot serve as its helper: "+
			"it must call wgdev.MaybeRunHelper first thing in main (or TestMain)", name)
	}
	sock := opts.SocketPath(name)
	if h, err := Lookup(name, opts); err == nil {
		return fmt.Errorf("userspace WireGuard device %s already runs in %s (helper pid %d): "+
			"userspace device names must be unique host-wide because their UAPI sockets share %s: %w",
			name, describeNetns(h), h.PID, opts.sockDir(), fs.ErrExist)
	}
	if isSocket(sock) {
		if answers(sock) {
			return fmt.Errorf("userspace WireGuard device %s already exists (%s answers, not run by nets): "+
				"userspace device names must be unique host-wide because their UAPI sockets share %s: %w",
				name, sock, opts.sockDir(), fs.ErrExist)
		}
		if _, err := removeIfStale(name, opts); err != nil {
			return fmt.Errorf("remove stale WireGuard socket %s: %w", sock, err)
		}
	}
	if err := os.MkdirAll(opts.sockDir(), 0o755); err != nil {
		return fmt.Errorf("start userspace WireGuard device %s: %w", name, err)
	}

	var nsFile *os.File
	var err error
	if nsPath != "" {
		f, err := os.Open(nsPath)
		if err != nil {
			return fmt.Errorf("start userspace WireGuard device %s: open namespace: %w", name, err)
		}
		defer f.Close()
		nsFile = f
	}

	// A TUN of this name would be adopted if it is a persistent tun, and
	// anything else would make the helper fail less clearly: refuse any
	// existing link.
	linkExists := func() error {
		if _, err := net.InterfaceByName(name); err == nil {
			return fmt.Errorf("a link named %s already exists in the namespace: %w", name, fs.ErrExist)
		}
		return nil
	}
	if nsFile != nil {
		err = netns.Do(nsFile, linkExists)
	} else {
		err = linkExists()
	}
	if err != nil {
		return fmt.Errorf("start userspace WireGuard device %s: %w", name, err)
	}

	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start userspace WireGuard device %s: %w", name, err)
	}
	defer readyR.Close()
	logf := openLog(opts.LogPath(name), opts.logDir())
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		readyW.Close()
		return fmt.Errorf("start userspace WireGuard device %s: %w", name, err)
	}
	defer devnull.Close()

	cmd := &exec.Cmd{
		// /proc/self/exe, resolved in the child right after fork, is the
		// running binary even if its file was replaced or deleted since.
		Path:        "/proc/self/exe",
		Args:        []string{helperArg0, name},
		Dir:         "/", // pin no directory the caller may want to unmount
		Env:         helperEnv(name, opts.sockDir()),
		Stdin:       devnull,
		Stdout:      logf,
		Stderr:      logf,
		ExtraFiles:  []*os.File{readyW}, // fd 3 in the helper
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if nsFile != nil {
		// The child inherits the namespace of the (locked) forking thread.
		err = netns.Do(nsFile, cmd.Start)
	} else {
		err = cmd.Start()
	}
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start userspace WireGuard device %s: start helper: %w", name, err)
	}
	exited := make(chan error, 1)
	// Reap the helper whenever it exits, so it leaves no zombie behind in
	// a long-running caller (tests).
	go func() { exited <- cmd.Wait() }()

	fail := func(err error) error {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(opts.timeout()):
		}
		_, _ = removeIfStale(name, opts)
		return fmt.Errorf("start userspace WireGuard device %s: %w", name, err)
	}

	if err := waitReady(readyR, exited, opts.timeout()); err != nil {
		return fail(err)
	}
	if !answers(sock) {
		return fail(fmt.Errorf("helper is up but %s does not answer", sock))
	}
	checkLink := func() error {
		_, err := net.InterfaceByName(name)
		return err
	}
	if nsFile != nil {
		err = netns.Do(nsFile, checkLink)
	} else {
		err = checkLink()
	}
	if err != nil {
		return fail(fmt.Errorf("helper is up but its link is missing: %w", err))
	}
	return nil
}

// waitReady reads the helper's one-line report from r: "ok" or
// "error: ...". It gives up after timeout or when the helper exits.
func waitReady(r *os.File, exited <-chan error, timeout time.Duration) error {
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == readyOK:
		return nil
	case strings.HasPrefix(line, "error: "):
		return errors.New(strings.TrimPrefix(line, "error: "))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("helper did not come up within %v", timeout)
	case err == io.EOF || err == nil:
		select {
		case werr := <-exited:
			if werr != nil {
				return fmt.Errorf("helper exited: %v", werr)
			}
			return errors.New("helper exited without reporting")
		case <-time.After(time.Second):
			return errors.New("helper closed its report pipe without reporting")
		}
	default:
		return fmt.Errorf("read helper report: %w", err)
	}
}

func openLog(path, dir string) *os.File {
	if err := os.MkdirAll(dir, 0o755); err == nil {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
		if err == nil {
			return f
		}
	}
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		// Cannot happen on a working system; a closed pipe end still
		// gives the helper a valid descriptor.
		r, w, _ := os.Pipe()
		r.Close()
		return w
	}
	return f
}

// Stop stops the userspace WireGuard device name: it sends its helper
// SIGTERM (the helper closes the device, so its TUN link goes, and
// removes its socket and pid file), waits up to the timeout, then
// SIGKILLs it and removes what it left behind. It fails with an error
// wrapping fs.ErrNotExist when no such device runs; a stale socket of
// that name is removed all the same.
func Stop(name string, opts Options) error {
	if err := ValidName(name); err != nil {
		return err
	}
	sock := opts.SocketPath(name)
	h, err := Lookup(name, opts)
	if err != nil {
		if isSocket(sock) && answers(sock) {
			return fmt.Errorf("stop userspace WireGuard device %s: %s was not started by nets (no helper pid file)",
				name, sock)
		}
		_, _ = removeIfStale(name, opts)
		return fmt.Errorf("stop userspace WireGuard device %s: %w", name, err)
	}
	gone := func() bool { return !alive(h.PID) && !isSocket(sock) }
	if err := unix.Kill(h.PID, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("stop userspace WireGuard device %s: %w", name, err)
	}
	if !waitFor(gone, opts.timeout()) {
		if alive(h.PID) {
			if err := unix.Kill(h.PID, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("stop userspace WireGuard device %s: %w", name, err)
			}
			if !waitFor(func() bool { return !alive(h.PID) }, opts.timeout()) {
				return fmt.Errorf("stop userspace WireGuard device %s: helper pid %d survives SIGKILL", name, h.PID)
			}
		}
	}
	if _, err := removeIfStale(name, opts); err != nil {
		return fmt.Errorf("stop userspace WireGuard device %s: %w", name, err)
	}
	return nil
}

// StopNamespace stops every helper whose device lives in the namespace of
// the namespace file nsPath. Call it before deleting a namespace: a helper
// keeps its namespace alive and its device name taken.
func StopNamespace(nsPath string, opts Options) error {
	want, err := nsID(nsPath)
	if err != nil {
		return err
	}
	hs, err := List(opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		if id, err := h.Netns(); err == nil && id == want {
			errs = append(errs, Stop(h.Name, opts))
		}
	}
	return errors.Join(errs...)
}

func waitFor(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStart returns the start time (in clock ticks since boot, field 22
// of /proc/PID/stat) and state of process pid.
func procStart(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may contain spaces and parentheses;
	// the fields after it start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return start, f[0][0], nil
}

// alive reports whether process pid exists and has a thread that is not
// a zombie. The main thread of a killed multi-threaded process can be a
// zombie while other threads are still exiting and still hold its files
// (the UAPI socket), so every thread is checked.
func alive(pid int) bool {
	_, state, err := procStart(pid)
	if err != nil {
		return false
	}
	if state != 'Z' && state != 'X' {
		return true
	}
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		// Cannot tell while it is being torn down: gone only once its
		// stat file is.
		_, _, err := procStart(pid)
		return err == nil
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 0 && f[0] != "Z" && f[0] != "X" {
				return true
			}
		}
	}
	return false
}

// readPIDFile reads a pid file ("PID STARTTIME") and reports the pid if
// that very process (same start time, so not a reused pid) still runs.
func readPIDFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return 0, false
	}
	got, _, err := procStart(pid)
	if err != nil || got != start || !alive(pid) {
		return 0, false
	}
	return pid, true
}

// writePIDFile records the calling process in path, atomically.
func writePIDFile(path string) error {
	pid := os.Getpid()
	start, _, err := procStart(pid)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", pid, start)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// HelperPIDs returns the process ids of every running helper visible in
// /proc, whether or not its pid file still exists: for diagnostics, and
// for tests that must prove no helper was left behind.
func HelperPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		arg0, _, _ := strings.Cut(string(b), "\x00")
		if arg0 == helperArg0 && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
