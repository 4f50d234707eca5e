// Package sandbox runs the current program again inside fresh, throwaway
// namespaces: a new network namespace (so nothing it does reaches the
// host's network), a new mount namespace with private tmpfs mounts on
// /run/netns, /run/nets and /run/wireguard (so its named namespaces,
// journals and WireGuard sockets vanish with it), and a new PID namespace
// (so every process it leaves behind, detached helpers included, ends when
// it does). When the caller is not root it adds a user namespace mapping
// the caller to root inside, as `unshare -Urn` does.
//
// `nets try` uses it; so does anything that wants the same guarantee.
//
//	if !sandbox.Inside() {
//		os.Exit(sandbox.Reexec(os.Args[1:], os.Stdout, os.Stderr))
//	}
//	if err := sandbox.Setup(); err != nil { ... }
//	// now in the throwaway namespaces
//
// It uses unshare(1) from util-linux rather than clone flags on
// exec.Cmd: a user namespace plus mount propagation changes plus a PID
// namespace with a fresh /proc is exactly what unshare(1) is for, and Go's
// SysProcAttr cannot remount /proc inside the new PID namespace.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvMarker is set in the environment of the re-executed program.
const EnvMarker = "NETS_SANDBOX"

// Dirs are the directories that get private tmpfs mounts inside.
var Dirs = []string{"/run/netns", "/run/nets", "/run/wireguard"}

// ErrNoUserNS reports that unprivileged user namespaces are not available,
// so a non-root user cannot get a sandbox.
var ErrNoUserNS = errors.New("unprivileged user namespaces are not allowed on this machine " +
	"(see sysctl kernel.unprivileged_userns_clone and user.max_user_namespaces); run as root instead")

// Inside reports whether this process runs inside a sandbox made by
// Reexec.
func Inside() bool { return os.Getenv(EnvMarker) == "1" }

// Command returns the command that runs the current executable with args
// inside fresh namespaces. The caller sets Stdin/Stdout/Stderr and runs it.
func Command(args []string) (*exec.Cmd, error) {
	exe, err := self()
	if err != nil {
		return nil, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("the sandbox needs unshare(1) from util-linux: %w", err)
	}
	var flags []string
	if os.Geteuid() != 0 {
		if !userNSAllowed() {
			return nil, ErrNoUserNS
		}
		flags = append(flags, "--user", "--map-root-user")
	}
	env := append(os.Environ(), EnvMarker+"=1")
	if os.Geteuid() != 0 {
		env = append(env, EnvMarker+"_USER=1")
	}
	flags = append(flags, "--net", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private", "--", exe)
	cmd := exec.Command(unshare, append(flags, args...)...)
	cmd.Env = env
	return cmd, nil
}

// self returns the path to run this program again by. It prefers the name
// the program was started by (os.Args[0], looked up in PATH) over
// os.Executable, because a multi-call binary (a test binary standing in
// for `nets`) dispatches on that name; both name the same file.
func self() (string, error) {
	if arg0 := os.Args[0]; arg0 != "" {
		if p, err := exec.LookPath(arg0); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return abs, nil
			}
		}
	}
	return os.Executable()
}

// Reexec runs the current executable with args inside a sandbox, wired to
// the given output, and returns its exit status (2 when it could not
// start, after writing why to stderr).
func Reexec(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, err := Command(args)
	if err != nil {
		fmt.Fprintf(stderr, "nets: cannot make a sandbox: %v\n", err)
		return 2
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	default:
		fmt.Fprintf(stderr, "nets: running in a sandbox failed: %v\n", err)
		return 2
	}
}

// userNSAllowed reports whether an unprivileged user namespace can be made
// here, by trying it: the sysctls differ between distributions, a real
// attempt does not.
func userNSAllowed() bool {
	path, err := exec.LookPath("unshare")
	if err != nil {
		return false
	}
	return exec.Command(path, "--user", "--map-root-user", "--net", "true").Run() == nil
}

// Setup prepares the inside of a sandbox: private tmpfs mounts on Dirs
// (creating them, or mounting a tmpfs over /run first when they cannot be
// created, as for an unprivileged user) and the loopback link up. Call it
// first thing inside; it refuses to run outside a sandbox, so it can never
// hide the host's /run/netns.
func Setup() error {
	if !Inside() {
		return errors.New("sandbox.Setup called outside a sandbox")
	}
	for _, d := range Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			// /run belongs to the real root; an unprivileged user
			// mapped to root cannot create in it. A tmpfs over /run
			// (inside our private mount namespace) can.
			if err := unix.Mount("nets-sandbox", "/run", "tmpfs", 0, "mode=0755"); err != nil {
				return fmt.Errorf("sandbox: mount tmpfs on /run: %w", err)
			}
			break
		}
	}
	for _, d := range Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if err := unix.Mount("nets-sandbox", d, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("sandbox: mount tmpfs on %s: %w", d, err)
		}
	}
	return loUp()
}

// loUp brings the loopback link up with an ioctl: the sandbox must not
// depend on ip(8) being installed, and one flag on one link does not
// need a netlink socket.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("sandbox: read lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("sandbox: bring lo up: %w", err)
	}
	return nil
}

// Describe returns a short human description of the sandbox for messages.
func Describe() string {
	parts := []string{"network", "mount", "PID"}
	if os.Getenv(EnvMarker+"_USER") == "1" || (os.Geteuid() != 0 && !Inside()) {
		parts = append([]string{"user"}, parts...)
	}
	return "fresh " + strings.Join(parts, ", ") + " namespaces"
}
