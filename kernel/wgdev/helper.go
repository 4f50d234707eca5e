package wgdev

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// The helper is started with these environment variables (and with
// argv[0] helperArg0, so `ps` shows what it is), and with the write end of
// a pipe as fd 3, on which it reports readyOK or "error: ..." once.
const (
	envHelper  = "NETS_WG_HELPER"  // "1" in helper mode
	envName    = "NETS_WG_NAME"    // device name
	envSockDir = "NETS_WG_SOCKDIR" // socket directory
	helperArg0 = "nets-wg-helper"
	readyOK    = "ok"
)

// helperReady records that this program called MaybeRunHelper, so that a
// copy of it started in helper mode really becomes a helper (and does not,
// say, run a test suite again inside the device's namespace).
var helperReady atomic.Bool

func helperEnv(name, sockDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NETS_WG_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, envHelper+"=1", envName+"="+name, envSockDir+"="+sockDir)
}

// MaybeRunHelper runs the userspace WireGuard helper and exits if this
// process was started as one by Start; otherwise it returns at once.
// Call it first thing in main and in every TestMain of a package whose
// tests may start devices.
func MaybeRunHelper() {
	helperReady.Store(true)
	if os.Getenv(envHelper) != "1" {
		return
	}
	name, sockDir := os.Getenv(envName), os.Getenv(envSockDir)
	for _, k := range []string{envHelper, envName, envSockDir} {
		os.Unsetenv(k)
	}
	// fd 3 is Start's report pipe; anything else (the variable set by
	// hand) must not be written to.
	var st unix.Stat_t
	report := os.NewFile(3, "ready")
	if unix.Fstat(3, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		report, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	os.Exit(runHelper(name, sockDir, report))
}

// keyLike matches anything that could be a key in hex (UAPI) or base64
// (wg) form, so that no key reaches the log even from a malformed request.
var keyLike = regexp.MustCompile(`[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=`)

func redactf(l *log.Logger) func(string, ...any) {
	return func(format string, args ...any) {
		l.Print(keyLike.ReplaceAllString(fmt.Sprintf(format, args...), "(key)"))
	}
}

// runHelper serves the device name until SIGTERM/SIGINT, until its TUN
// link is deleted, or until its socket is removed, and returns the exit
// status. It reports start-up success or failure on report.
func runHelper(name, sockDir string, report *os.File) int {
	// Catch SIGTERM from the start: Stop may send it as soon as the pid
	// file exists, and it must still end in a clean shutdown.
	term := make(chan os.Signal, 1)
	signal.Notify(term, unix.SIGTERM, unix.SIGINT)
	signal.Ignore(unix.SIGHUP, unix.SIGPIPE)
	logger := log.New(os.Stderr, fmt.Sprintf("nets-wg-helper(%s) pid %d: ", name, os.Getpid()), log.LstdFlags)
	fail := func(err error) int {
		logger.Printf("start failed: %v", err)
		fmt.Fprintf(report, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		report.Close()
		return 1
	}
	if err := ValidName(name); err != nil {
		return fail(err)
	}
	if sockDir == "" {
		return fail(errors.New("no socket directory"))
	}
	opts := Options{SocketDir: sockDir}
	sockPath, pidPath := opts.SocketPath(name), opts.PIDPath(name)

	tdev, err := tun.CreateTUN(name, device.DefaultMTU)
	if err != nil {
		return fail(fmt.Errorf("create TUN %s: %w", name, err))
	}
	ln, err := listenUAPI(sockPath)
	if err != nil {
		tdev.Close()
		return fail(err)
	}
	if err := writePIDFile(pidPath); err != nil {
		ln.Close()
		tdev.Close()
		return fail(fmt.Errorf("write pid file: %w", err))
	}

	dev := device.NewDevice(tdev, conn.NewDefaultBind(), &device.Logger{
		Verbosef: device.DiscardLogf,
		Errorf:   redactf(logger),
	})

	acceptErr := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			go dev.IpcHandle(c)
		}
	}()

	// wireguard-go exits when its socket is deleted (an inotify watch
	// inside ipc.UAPIListen, which is tied to /var/run/wireguard); do the
	// same for any socket directory by polling the socket's identity.
	sockGone := make(chan struct{})
	orig, err := os.Lstat(sockPath)
	if err != nil {
		orig = nil
		close(sockGone)
	}
	go func() {
		if orig == nil {
			return
		}
		for {
			time.Sleep(500 * time.Millisecond)
			st, err := os.Lstat(sockPath)
			if err != nil || !os.SameFile(orig, st) {
				close(sockGone)
				return
			}
		}
	}()

	logger.Printf("serving %s", sockPath)
	fmt.Fprintln(report, readyOK)
	report.Close()

	select {
	case s := <-term:
		logger.Printf("%v: shutting down", s)
	case err := <-acceptErr:
		logger.Printf("UAPI listener failed: %v", err)
	case <-dev.Wait():
		logger.Printf("device closed (TUN link gone?)")
	case <-sockGone:
		logger.Printf("%s was removed", sockPath)
	}
	// Closing the listener unlinks the socket; not if it was replaced.
	if st, err := os.Lstat(sockPath); err != nil || orig == nil || !os.SameFile(orig, st) {
		ln.SetUnlinkOnClose(false)
	}
	ln.Close()
	dev.Close()
	if pid, ok := readPIDFile(pidPath); !ok || pid == os.Getpid() {
		_ = os.Remove(pidPath)
	}
	return 0
}

// listenUAPI listens on the unix socket path with mode 0600, as
// ipc.UAPIOpen does. ipc.UAPIOpen/UAPIListen are not used because they
// hard-code /var/run/wireguard (socket and inotify watch alike), and nets
// must be able to put sockets elsewhere; the protocol itself is served by
// the library (device.IpcHandle).
func listenUAPI(path string) (*net.UnixListener, error) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, unix.EADDRINUSE) || errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("UAPI socket %s is taken: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("listen on UAPI socket: %w", err)
	}
	return ln, nil
}
