package builtins

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nets-lang/nets/eval/value"
	"github.com/nets-lang/nets/kernel"
)

// RFC 7748 section 6.1: Alice's private and public keys.
const (
	rfcPriv = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
	rfcPub  = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
)

func hexKey(h string) kernel.Key {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		panic("bad hex key")
	}
	var k kernel.Key
	copy(k[:], b)
	return k
}

func testPriv() kernel.Key { return hexKey(rfcPriv) }

func keyOf(t *testing.T, v value.Value) kernel.Key {
	t.Helper()
	k, ok := v.(value.Key)
	if !ok {
		t.Fatalf("got %s, want key", v.Type())
	}
	return k.Key
}

func TestGenkey(t *testing.T) {
	env := &StaticEnv{}
	seen := map[kernel.Key]bool{}
	for n := 0; n < 20; n++ {
		v, err := Call(env, "genkey", nil)
		if err != nil {
			t.Fatal(err)
		}
		k := keyOf(t, v)
		if k[0]&7 != 0 || k[31]&128 != 0 || k[31]&64 == 0 {
			t.Fatalf("genkey not clamped: first byte %#x, last %#x", k[0], k[31])
		}
		if seen[k] {
			t.Fatal("genkey repeated a key")
		}
		seen[k] = true
		if v.String() != "(key)" {
			t.Fatalf("genkey prints %q", v.String())
		}
	}
	psk1, err1 := Call(env, "genpsk", nil)
	psk2, err2 := Call(env, "genpsk", nil)
	if err1 != nil || err2 != nil || value.Equal(psk1, psk2) || keyOf(t, psk1).IsZero() {
		t.Fatalf("genpsk: %v %v", err1, err2)
	}
}

func TestPubkey(t *testing.T) {
	priv := testPriv()
	pub := hexKey(rfcPub)
	runCalls(t, &StaticEnv{}, []callTest{
		{name: "pubkey", args: []value.Value{value.Key{Key: priv}}, want: value.Key{Key: pub}},
		{name: "pubkey", args: []value.Value{s(priv.Base64())}, want: value.Key{Key: pub}},
		{name: "pubkey", args: []value.Value{s(priv.Base64() + "\n")}, want: value.Key{Key: pub}},
		{name: "pubkey", args: []value.Value{i(1)}, err: "pubkey: argument 1 must be key, not int"},
		{name: "pubkey", args: []value.Value{s("not-a-key")}, err: "pubkey: argument 1 must be key, not a string that holds none (want 44 characters of base64, as wg genkey writes)"},
	})
}

// wg(8) interop in both directions.
func TestWGInterop(t *testing.T) {
	wg, err := exec.LookPath("wg")
	if err != nil {
		t.Skip("wg (wireguard-tools) is not installed; install it to test key interop with wg(8) (apt-get install wireguard-tools)")
	}
	env := &StaticEnv{Dir: t.TempDir()}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(wg, args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "WG_HIDE_KEYS=never")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("wg %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	for n := 0; n < 5; n++ {
		// Ours → wg pubkey.
		v, err := Call(env, "genkey", nil)
		if err != nil {
			t.Fatal(err)
		}
		priv := keyOf(t, v)
		ourPub, err := Call(env, "pubkey", []value.Value{v})
		if err != nil {
			t.Fatal(err)
		}
		if got := run(priv.Base64()+"\n", "pubkey"); got != keyOf(t, ourPub).Base64() {
			t.Fatalf("wg pubkey of our genkey differs from our pubkey")
		}

		// wg genkey file → readkey → pubkey.
		wgPriv := run("", "genkey")
		path := filepath.Join(env.Dir, "wg.key")
		os.Remove(path)
		if err := os.WriteFile(path, []byte(wgPriv+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		rk, err := Call(env, "readkey", []value.Value{s("wg.key")})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := Call(env, "pubkey", []value.Value{rk})
		if err != nil {
			t.Fatal(err)
		}
		if want := run(wgPriv+"\n", "pubkey"); keyOf(t, pub).Base64() != want {
			t.Fatalf("our pubkey of a wg genkey file differs from wg pubkey")
		}

		// writekey output is what wg reads: wg pubkey < file.
		out := filepath.Join(env.Dir, "ours.key")
		if _, err := Call(env, "writekey", []value.Value{s(out), v}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(string(data), "pubkey"); got != keyOf(t, ourPub).Base64() {
			t.Fatalf("wg pubkey of our writekey file differs")
		}
		// A genpsk is a valid wg key too.
		psk := run("", "genpsk")
		if _, err := value.AsKey(value.String(psk)); err != nil {
			t.Fatalf("wg genpsk output not accepted: %v", err)
		}
	}
}

func TestReadkey(t *testing.T) {
	dir := t.TempDir()
	priv := testPriv()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good.key", priv.Base64()+"\n")
	write("nonl.key", priv.Base64())
	write("crlf.key", "  "+priv.Base64()+"\r\n")
	secret := "c2VjcmV0LWJ1dC1ub3QtYS1rZXk="
	write("bad.key", secret+"\n")
	write("empty.key", "")
	write("huge.key", strings.Repeat("A", 5000))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("sub/nested.key", priv.Base64()+"\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &StaticEnv{Dir: dir}
	want := value.Key{Key: priv}
	runCalls(t, env, []callTest{
		{name: "readkey", args: []value.Value{s("good.key")}, want: want},
		{name: "readkey", args: []value.Value{s("nonl.key")}, want: want},
		{name: "readkey", args: []value.Value{s("crlf.key")}, want: want},
		{name: "readkey", args: []value.Value{s("sub/nested.key")}, want: want},
		{name: "readkey", args: []value.Value{s(filepath.Join(dir, "good.key"))}, want: want},
		{name: "readkey", args: []value.Value{s("bad.key")}, err: "readkey: " + dir + "/bad.key does not hold a WireGuard key (want 44 characters of base64, as wg genkey writes)"},
		{name: "readkey", args: []value.Value{s("empty.key")}, err: "readkey: " + dir + "/empty.key does not hold a WireGuard key (want 44 characters of base64, as wg genkey writes)"},
		{name: "readkey", args: []value.Value{s("huge.key")}, err: "readkey: " + dir + "/huge.key does not hold a WireGuard key (it is far larger than a key file)"},
		{name: "readkey", args: []value.Value{s("missing.key")}, err: "readkey: open " + dir + "/missing.key: no such file or directory"},
		{name: "readkey", args: []value.Value{s("sub")}, err: "readkey: " + dir + "/sub is not a regular file"},
		{name: "readkey", args: []value.Value{s("fifo.key")}, err: "readkey: " + dir + "/fifo.key is not a regular file"},
		{name: "readkey", args: []value.Value{s("")}, err: "readkey: the path is empty"},
		{name: "readkey", args: []value.Value{value.Key{Key: priv}}, err: "readkey: argument 1 must be string, not key"},
	})
	// The content of a bad key file is never echoed.
	_, err := Call(env, "readkey", []value.Value{s("bad.key")})
	if err == nil || strings.Contains(err.Error(), secret[:12]) {
		t.Errorf("readkey error shows the content: %v", err)
	}
}

func TestWritekey(t *testing.T) {
	dir := t.TempDir()
	env := &StaticEnv{Dir: dir}
	priv := testPriv()
	kv := value.Key{Key: priv}

	check := func(path string) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", path, fi.Mode())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != priv.Base64()+"\n" {
			t.Errorf("%s: wrong content", path)
		}
		got, err := Call(env, "readkey", []value.Value{s(path)})
		if err != nil || !value.Equal(got, kv) {
			t.Errorf("readkey after writekey: %v", err)
		}
	}

	// Creates 0600 even under a permissive umask, and returns the key.
	old := syscall.Umask(0)
	got, err := Call(env, "writekey", []value.Value{s("new.key"), kv})
	syscall.Umask(old)
	if err != nil || !value.Equal(got, kv) {
		t.Fatalf("writekey = %v, %v; want the key back", got, err)
	}
	check(filepath.Join(dir, "new.key"))

	// A base64 string is accepted as the key.
	if _, err := Call(env, "writekey", []value.Value{s("str.key"), s(priv.Base64())}); err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(dir, "str.key"))

	// Overwriting one's own file, even one with wider permissions, leaves
	// it 0600 with the new key.
	own := filepath.Join(dir, "own.key")
	if err := os.WriteFile(own, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(own, 0o644)
	if _, err := Call(env, "writekey", []value.Value{s(own), kv}); err != nil {
		t.Fatal(err)
	}
	check(own)

	// A symbolic link is refused, and its target is untouched.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err = Call(env, "writekey", []value.Value{s("link.key"), kv})
	if want := "writekey: " + link + " is a symbolic link; refusing to write a key through it (name the file itself, or remove the link)"; err == nil || err.Error() != want {
		t.Errorf("symlink: error %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(target); string(data) != "precious\n" {
		t.Errorf("symlink target changed")
	}
	if fi, _ := os.Lstat(link); fi == nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced")
	}
	// A dangling link is refused too (O_CREAT through it would create the target).
	dangling := filepath.Join(dir, "dangling.key")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := Call(env, "writekey", []value.Value{s(dangling), kv}); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("dangling symlink: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Errorf("dangling symlink target was created")
	}

	// Not a regular file.
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Call(env, "writekey", []value.Value{s("adir"), kv}); err == nil || err.Error() != "writekey: "+dir+"/adir exists and is not a regular file" {
		t.Errorf("directory: %v", err)
	}
	// Missing directory.
	if _, err := Call(env, "writekey", []value.Value{s("nodir/x.key"), kv}); err == nil || err.Error() != "writekey: stat "+dir+"/nodir: no such file or directory" {
		t.Errorf("missing dir: %v", err)
	}
	// Argument errors.
	runCalls(t, env, []callTest{
		{name: "writekey", args: []value.Value{s("x.key"), i(1)}, err: "writekey: argument 2 must be key, not int"},
		{name: "writekey", args: []value.Value{s("x.key"), s("c2VjcmV0")}, err: "writekey: argument 2 must be key, not a string that holds none (want 44 characters of base64, as wg genkey writes)"},
		{name: "writekey", args: []value.Value{s(""), kv}, err: "writekey: the path is empty"},
	})

	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// writekey refuses to replace a file that another user owns.
func TestWritekeyOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a file to another user")
	}
	dir := t.TempDir()
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte("theirs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	env := &StaticEnv{Dir: dir}
	_, err := Call(env, "writekey", []value.Value{s("other.key"), value.Key{Key: testPriv()}})
	want := "writekey: " + other + " belongs to uid 65534, not to uid 0 that nets runs as; refusing to overwrite another user's file"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(other); string(data) != "theirs\n" {
		t.Errorf("another user's file changed")
	}
}

// loadkey generates a key once and reads it afterwards.
func TestLoadkey(t *testing.T) {
	dir := t.TempDir()
	env := &StaticEnv{Dir: dir}
	first, err := Call(env, "loadkey", []value.Value{s("wg0.key")})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "wg0.key"))
	if err != nil || fi.Mode() != 0o600 {
		t.Fatalf("loadkey did not write the key 0600: %v %v", fi, err)
	}
	again, err := Call(env, "loadkey", []value.Value{s("wg0.key")})
	if err != nil || !value.Equal(first, again) {
		t.Errorf("second loadkey returned another key (%v)", err)
	}
	read, err := Call(env, "readkey", []value.Value{s("wg0.key")})
	if err != nil || !value.Equal(first, read) {
		t.Errorf("readkey differs from loadkey (%v)", err)
	}
	// An existing file that holds no key is an error, and is kept.
	if err := os.WriteFile(filepath.Join(dir, "bad.key"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCalls(t, env, []callTest{
		{name: "loadkey", args: []value.Value{s("bad.key")}, err: "loadkey: " + dir + "/bad.key does not hold a WireGuard key (want 44 characters of base64, as wg genkey writes)"},
		{name: "loadkey", args: []value.Value{s("nodir/x.key")}, err: "loadkey: stat " + dir + "/nodir: no such file or directory"},
		{name: "loadkey", args: []value.Value{s("")}, err: "loadkey: the path is empty"},
		{name: "loadkey", args: []value.Value{i(1)}, err: "loadkey: argument 1 must be string, not int"},
	})
	if data, _ := os.ReadFile(filepath.Join(dir, "bad.key")); string(data) != "not a key\n" {
		t.Errorf("loadkey replaced a file that holds no key")
	}
}

// KeyWrites writes at Flush, and a failing write puts back the files
// written before it.
func TestKeyWrites(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key"), filepath.Join(dir, "sub", "c.key")
	if err := os.WriteFile(a, []byte("old a\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(a, 0o640)
	priv := testPriv()
	var q KeyWrites
	q.Add(a, priv)
	q.Add(b, priv)
	q.Add(dir+"/./b.key", priv) // the same file
	if q.Len() != 2 || strings.Join(q.Paths(), " ") != a+" "+b {
		t.Fatalf("paths %v", q.Paths())
	}
	if k, ok := q.Get(b); !ok || k != priv {
		t.Errorf("Get(b) = %v", ok)
	}
	if _, err := os.Stat(b); err == nil {
		t.Fatalf("Add wrote the file")
	}
	// c's directory does not exist: the flush fails there and restores
	// a (old content and mode) and removes b.
	q.Add(c, priv)
	err := q.Flush()
	var kwe *KeyWriteError
	if !errors.As(err, &kwe) || kwe.Path != c || len(kwe.Restore) != 0 {
		t.Fatalf("Flush error %v, want a *KeyWriteError for %s", err, c)
	}
	if data, _ := os.ReadFile(a); string(data) != "old a\n" {
		t.Errorf("a not restored: %q", data)
	}
	if fi, _ := os.Stat(a); fi == nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("a's mode not restored: %v", fi)
	}
	if _, err := os.Stat(b); err == nil {
		t.Errorf("b not removed")
	}
	if q.Len() != 0 {
		t.Errorf("queue not emptied after Flush")
	}
	// A successful flush writes every file.
	q.Add(a, priv)
	q.Add(b, priv)
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if k, err := ReadKeyFile(p); err != nil || k != priv {
			t.Errorf("%s: %v", p, err)
		}
		if fi, _ := os.Stat(p); fi == nil || fi.Mode() != 0o600 {
			t.Errorf("%s: mode %v", p, fi)
		}
	}
}

// Inside a user namespace the ownership message says so.
func TestDescribeUID(t *testing.T) {
	if _, ok := userNSMap(); ok {
		t.Skip("running inside a user namespace")
	}
	if got := describeUID(65534); got != "uid 65534" {
		t.Errorf("describeUID = %q", got)
	}
}

// In a user namespace that maps only the caller (as nets try without
// root makes), uids are described with their outside meaning.
func TestDescribeUIDUserNS(t *testing.T) {
	if os.Getenv("NETS_TEST_USERNS") == "1" {
		fmt.Println(describeUID(0))
		fmt.Println(describeUID(65534))
		os.Exit(0)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1)")
	}
	cmd := exec.Command(unshare, "--user", "--map-user=0", "--map-group=0", os.Args[0], "-test.run=^TestDescribeUIDUserNS$")
	cmd.Env = append(os.Environ(), "NETS_TEST_USERNS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot make a user namespace here: %v", err)
	}
	want := fmt.Sprintf("uid 0 in this user namespace (uid %d outside it)\na user this user namespace does not map (shown here as uid 65534)\n", os.Geteuid())
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
