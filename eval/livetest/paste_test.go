package livetest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// TestShowPastesBack: what `show` prints for a rich state (every show
// form, kernel-made routes of every table, a link of a kind nets cannot
// create, a route type a recipe cannot write, WireGuard with secrets)
// parses, checks, and run as a recipe changes nothing.
func TestShowPastesBack(t *testing.T) {
	k, o, out := setup(t)
	ctx := context.Background()
	build := `
table 100 name isp
link br0 type bridge up mtu 9000
link p0 type veth peer p1
link p0 up master br0
link p1 up alias "far end"
addr 10.1.0.1/24 dev br0
addr 2001:db8:1::1/64 dev br0
addr 10.9.0.1 peer 10.9.0.2 dev p1
route 10.2.0.0/16 via 10.1.0.254 table isp
route blackhole 10.3.0.0/16
route throw 10.4.0.0/16 table isp
route 2001:db8:2::/48 via 2001:db8:1::fe
rule fwmark 0x1 lookup isp priority 100
rule from 2001:db8::/32 lookup isp priority 200
neigh 10.1.0.9 lladdr 02:00:00:00:00:09 dev br0 permanent
link wgs type wireguard
wireguard wgs <
  private-key genkey()
  listen-port 51999
  peer pubkey(genkey()) <
    preshared-key genpsk()
    allowed-ips 10.70.0.0/24
  >
>
netns other
`
	f, err := eval.Load("build.nets", []byte(build), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eval.Run(ctx, f, o); err != nil {
		t.Fatalf("build: %v", err)
	}
	// What a recipe cannot make: an ifb link with an address and a
	// route, and a route of type local in table main.
	for _, args := range [][]string{
		{"link", "add", "i0", "type", "ifb"},
		{"link", "set", "i0", "up"},
		{"addr", "add", "10.88.0.1/24", "dev", "i0"},
		{"route", "add", "local", "10.77.0.0/24", "dev", "lo", "table", "100"},
	} {
		var buf bytes.Buffer
		if err := k.Exec(ctx, kernel.Host, kernel.Cmd{Args: append([]string{"ip"}, args...), Stdout: &buf, Stderr: &buf}); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, buf.String())
		}
	}

	out.Reset()
	show := "show links\nshow addrs\nshow routes table all\nshow routes\nshow rules\nshow neigh\nshow wireguard\nshow netns\n"
	f, err = eval.Load("show.nets", []byte(show), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eval.Run(ctx, f, o); err != nil {
		t.Fatalf("show: %v", err)
	}
	shown := out.String()
	for _, want := range []string{
		"# i0: kind ifb is not created by nets; it must exist\nlink i0 up\n",
		"# route local 127.0.0.1 dev lo table local src 127.0.0.1 proto kernel (made by the kernel)\n",
		"# route local 10.77.0.0/24 dev lo table 100 (a recipe cannot state this route type)\n",
		"link br0 type bridge up mtu 9000 ",
		"# private-key (key): not shown",
		"# preshared-key (key): not shown",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("show output lacks %q:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "type ifb") {
		t.Errorf("show writes a kind nets cannot create:\n%s", shown)
	}
	for _, l := range strings.Split(shown, "\n") {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
			if _, err := lang.Parse("line", []byte(l+"\n")); err != nil && !strings.HasSuffix(s, "<") && s != ">" {
				t.Errorf("show line does not parse: %q: %v", l, err)
			}
		}
	}
	pf, err := lang.Parse("pasted.nets", []byte(shown))
	if err != nil {
		t.Fatalf("show output does not parse: %v\n%s", err, shown)
	}
	if ds := eval.Check(pf, o); len(ds) > 0 {
		t.Fatalf("show output does not check: %v\n%s", ds, shown)
	}
	f, err = eval.Load("pasted.nets", []byte(shown), o)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	res, err := eval.Run(ctx, f, o)
	if err != nil {
		t.Fatalf("pasting show's output back: %v\n%s", err, shown)
	}
	if res.Changed {
		t.Errorf("pasting show's output back changed:\n%s\nshown:\n%s", lines(res.Changes, true), shown)
	}
}
