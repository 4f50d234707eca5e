package builtins

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// genkey() returns a new WireGuard private key, as `wg genkey` makes
// one: 32 random bytes from the system's CSPRNG, clamped for Curve25519.
var genkeyBuiltin = &Builtin{
	Name: "genkey",
	Doc: `Returns a new random WireGuard private key (Curve25519, clamped as
wg genkey does). The key prints as (key); string(K) reveals its base64.
Example: let k = genkey()`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		k, err := wgtypes.GeneratePrivateKey()
		if err != nil {
			return nil, fmt.Errorf("genkey: %v", err)
		}
		return value.Key{Key: kernel.Key(k)}, nil
	},
}

// genpsk() returns a new random preshared key, as `wg genpsk` makes one.
var genpskBuiltin = &Builtin{
	Name: "genpsk",
	Doc: `Returns a new random WireGuard preshared key (32 random bytes, as
wg genpsk makes). It prints as (key).`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		k, err := wgtypes.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("genpsk: %v", err)
		}
		return value.Key{Key: kernel.Key(k)}, nil
	},
}

// pubkey(K) returns the public key of private key K, as `wg pubkey`
// computes it.
var pubkeyBuiltin = &Builtin{
	Name:   "pubkey",
	Params: "K",
	Min:    1, Max: 1,
	Doc: `Returns the public key of the private key K (a key, or a string of
base64 as wg genkey writes), exactly as wg pubkey computes it. The result
is a key and prints as (key); use string(pubkey(K)) to show it.
Example: peer pubkey($kb) < allowed-ips 10.200.0.2/32 >`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var k kernel.Key
		if err := UnpackArgs("pubkey", args, "K", &k); err != nil {
			return nil, err
		}
		return value.Key{Key: kernel.Key(wgtypes.Key(k).PublicKey())}, nil
	},
}

// maxKeyFile bounds what readkey reads: a key file is 45 bytes; anything
// much larger is not one, and reading it whole would be pointless.
const maxKeyFile = 4096

// readkey(PATH) reads a key file as `wg genkey` writes it.
var readkeyBuiltin = &Builtin{
	Name:   "readkey",
	Params: "PATH",
	Min:    1, Max: 1,
	Doc: `Reads a WireGuard key from the file PATH: base64 with optional
surrounding white space, as wg genkey > private.key writes it. A relative
PATH is relative to the directory of the recipe. The file's content is
never shown, not even in errors. A key that writekey or loadkey wrote
to PATH earlier in the same run is read back even though the file is
only written when the run commits.
Example: private-key readkey("private.key")`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var path string
		if err := UnpackArgs("readkey", args, "PATH", &path); err != nil {
			return nil, err
		}
		full, err := resolvePath(env, path)
		if err != nil {
			return nil, fmt.Errorf("readkey: %v", err)
		}
		k, err := env.ReadKey(full)
		if err != nil {
			return nil, fmt.Errorf("readkey: %v", err)
		}
		return value.Key{Key: k}, nil
	},
}

func resolvePath(env Env, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("the path is empty")
	}
	if filepath.IsAbs(path) {
		return path, nil
	}
	return filepath.Join(env.BaseDir(), path), nil
}

// ReadKeyFile reads and parses the key file at path, as readkey does on
// the OS file system (Env.ReadKey implementations call it). It opens
// with O_NONBLOCK so a FIFO in the key's place cannot hang the run, and
// refuses anything but a regular file. Errors never show the content.
func ReadKeyFile(path string) (kernel.Key, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return kernel.Key{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return kernel.Key{}, err
	}
	if !fi.Mode().IsRegular() {
		return kernel.Key{}, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	defer clear(data)
	if err != nil {
		return kernel.Key{}, fmt.Errorf("reading %s: %v", path, err)
	}
	if len(data) > maxKeyFile {
		return kernel.Key{}, fmt.Errorf("%s does not hold a WireGuard key (it is far larger than a key file)", path)
	}
	k, err := kernel.ParseKey(strings.TrimSpace(string(data)))
	if err != nil {
		return kernel.Key{}, fmt.Errorf("%s does not hold a WireGuard key (want 44 characters of base64, as wg genkey writes)", path)
	}
	return k, nil
}

// writekey(PATH, K) writes K to PATH as `wg genkey` would and returns K.
var writekeyBuiltin = &Builtin{
	Name:   "writekey",
	Params: "PATH, K",
	Min:    2, Max: 2,
	Doc: `Writes the key K to the file PATH in wg's format (base64 and a
newline) with mode 0600, and returns K: private-key writekey("wg0.key",
genkey()). It replaces the key every run; loadkey(PATH) keeps one.
A relative PATH is relative to the directory of the recipe. The file is
part of the run's transaction: it is written only when the run
succeeds (a failed, rolled-back run leaves it as it was), never by
nets plan, nets run --model or nets try (they print a note instead), and
readkey sees the new key at once. It is written to a temporary file
and renamed into place, so it is never seen half-written or with wider
permissions. writekey refuses to write through a symbolic link and to
replace a file that belongs to another user; it replaces the caller's
own file (still 0600).`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var path string
		var k kernel.Key
		if err := UnpackArgs("writekey", args, "PATH", &path, "K", &k); err != nil {
			return nil, err
		}
		full, err := resolvePath(env, path)
		if err != nil {
			return nil, fmt.Errorf("writekey: %v", err)
		}
		if err := env.WriteKey(full, k); err != nil {
			// %w: the evaluator's error for an earlier statement
			// (a lang.Diagnostic) must keep its own position.
			return nil, fmt.Errorf("writekey: %w", err)
		}
		return value.Key{Key: k}, nil
	},
}

// loadkey(PATH) reads PATH, or generates a key and writes it there: the
// "generate once" idiom that keeps a recipe idempotent.
var loadkeyBuiltin = &Builtin{
	Name:   "loadkey",
	Params: "PATH",
	Min:    1, Max: 1,
	Doc: `Returns the WireGuard private key in the file PATH, generating one
the first time: when PATH does not exist, it makes a new key (as genkey)
and writes it there exactly as writekey does (0600, only when the run
succeeds, not in plans). Every later run reads the same key, so a recipe
using it changes nothing the second time. PATH existing but not holding
a key is an error, as for readkey.
Example: private-key loadkey("wg0.key")`,
	Fn: func(env Env, args []value.Value) (value.Value, error) {
		var path string
		if err := UnpackArgs("loadkey", args, "PATH", &path); err != nil {
			return nil, err
		}
		full, err := resolvePath(env, path)
		if err != nil {
			return nil, fmt.Errorf("loadkey: %v", err)
		}
		k, err := env.ReadKey(full)
		if err == nil {
			return value.Key{Key: k}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("loadkey: %v", err)
		}
		g, err := wgtypes.GeneratePrivateKey()
		if err != nil {
			return nil, fmt.Errorf("loadkey: %v", err)
		}
		k = kernel.Key(g)
		if err := env.WriteKey(full, k); err != nil {
			// %w: the evaluator's error for an earlier statement
			// (a lang.Diagnostic) must keep its own position.
			return nil, fmt.Errorf("loadkey: %w", err)
		}
		return value.Key{Key: k}, nil
	},
}

// WriteKeyFile writes k to the file at path at once, as writekey's
// Env.WriteKey implementations do when the key is to be written (see
// KeyWrites for writing at commit).
func WriteKeyFile(path string, k kernel.Key) error {
	return writeFileAtomic(path, []byte(k.Base64()+"\n"), 0o600, true)
}

// writeFileAtomic writes data to path with mode perm.
//
// It writes a temporary file beside path (os.CreateTemp: O_CREAT|O_EXCL,
// mode 0600, so it never opens an existing file or follows a link) and
// renames it over path. rename(2) replaces a symbolic link rather than
// following it, but writekey refuses a link at path outright because the
// operator most likely meant its target; and (owner) it refuses to
// replace a file another user owns. Both checks run before writing and
// again just before the rename.
func writeFileAtomic(path string, data []byte, perm fs.FileMode, owner bool) (err error) {
	if err := CheckKeyTarget(path, owner); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp asks for 0600, but the umask could only narrow it; make
	// it exactly perm.
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := CheckKeyTarget(path, owner); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename durable; a failure here does not undo the write.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// CheckKeyTarget reports whether writekey may write path: nothing is
// there, or a regular file (with owner set: a regular file of the
// effective user). A symbolic link is refused. Env.WriteKey
// implementations that queue a write call it at once, so that the error
// comes from the statement that asked for the write.
func CheckKeyTarget(path string, owner bool) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory must exist for the write to succeed later.
		if _, derr := os.Stat(filepath.Dir(path)); derr != nil {
			return derr
		}
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link; refusing to write a key through it (name the file itself, or remove the link)", path)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && owner {
		if euid := os.Geteuid(); st.Uid != uint32(euid) {
			return fmt.Errorf("%s belongs to %s, not to %s that nets runs as; refusing to overwrite another user's file", path, describeUID(st.Uid), describeUID(uint32(euid)))
		}
	}
	return nil
}

// describeUID names a uid for an ownership message. Inside a user
// namespace (nets try without root maps the caller to uid 0) the uids
// a process sees are not the ones the operator knows: a file of a user
// the namespace does not map shows as the overflow uid (65534), and the
// caller appears as 0. The message then says what the uid is outside.
func describeUID(uid uint32) string {
	maps, ok := userNSMap()
	if !ok {
		return fmt.Sprintf("uid %d", uid)
	}
	for _, m := range maps {
		if uid >= m[0] && uid-m[0] < m[2] {
			return fmt.Sprintf("uid %d in this user namespace (uid %d outside it)", uid, m[1]+uid-m[0])
		}
	}
	return fmt.Sprintf("a user this user namespace does not map (shown here as uid %d)", uid)
}

// userNSMap returns the lines of /proc/self/uid_map (inside, outside,
// count) when the process runs in a user namespace other than the
// initial one, whose map is the identity over every uid.
func userNSMap() ([][3]uint32, bool) {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return nil, false
	}
	var maps [][3]uint32
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m [3]uint32
		if n, _ := fmt.Sscan(line, &m[0], &m[1], &m[2]); n == 3 {
			maps = append(maps, m)
		}
	}
	if len(maps) == 1 && maps[0] == [3]uint32{0, 0, 4294967295} {
		return nil, false
	}
	return maps, len(maps) > 0
}
