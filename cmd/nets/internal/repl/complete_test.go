package repl

import (
	"strings"
	"testing"
)

// completionSession is a session on an in-memory kernel holding
// links br0 (bridge), brx (bridge), wg0 (wireguard), veth pair v0/v1, a
// namespace gaming with link g0, routes in table 100, a declared table
// name, and variables $uplink and $key.
func completionSession(t *testing.T) *session {
	t.Helper()
	s := newSession(t)
	s.run(`
link br0 type bridge
link brx type bridge
link wg0 type wireguard
link v0 type veth peer v1
netns gaming
netns lab
in netns gaming < link g0 type bridge >
table 100 name gaming
route blackhole 10.9.0.0/16 table 100
let uplink = "eth1"
let key = genkey()
def pair($a, $b) < link $a type veth peer $b >
`, false)
	if strings.Contains(s.out.String(), "repl:") {
		t.Fatalf("setting up failed:\n%s", s.out.String())
	}
	return s
}

func TestComplete(t *testing.T) {
	s := completionSession(t)
	for _, c := range []struct {
		line string
		want []string // the candidates, sorted ("" entries: none)
		head string   // "" means the line without the word being completed
	}{
		// live links after link, dev, master, iif, oif
		{"link b", []string{"br0", "brx"}, ""},
		{"link br0 master b", []string{"br0", "brx"}, ""},
		{"link w", []string{"wg0 "}, ""},
		{"addr 10.0.0.1/24 dev v", []string{"v0", "v1"}, ""},
		{"rule iif v", []string{"v0", "v1"}, ""},
		{"rule from 10.0.0.0/8 oif w", []string{"wg0 "}, ""},
		{"route default via 10.0.0.1 dev wg", []string{"wg0 "}, ""},
		// kinds after type, kind options after type KIND
		{"link x type ", []string{"bridge", "macvlan", "tap", "tun", "veth", "vxlan", "wireguard"}, ""},
		{"link x type v", []string{"veth", "vxlan"}, ""},
		{"link x type veth pe", []string{"peer "}, ""},
		{"link x type vxlan id 5 rem", []string{"remote "}, ""},
		{"link x type macvlan dev br0 mode p", []string{"passthru", "private"}, ""},
		// namespaces
		{"in netns ", []string{"gaming", "host", "lab"}, ""},
		{"in ", []string{"netns "}, ""},
		{"netns g", []string{"gaming "}, ""},
		{"link v0 netns l", []string{"lab "}, ""},
		// live names in the namespace an enclosing block names
		{"in netns gaming < link g", []string{"g0 "}, ""},
		// tables after table and lookup
		{"rule fwmark 1 lookup ga", []string{"gaming "}, ""},
		{"route 10.0.0.0/8 dev br0 table m", []string{"main "}, ""},
		{"table ", []string{"default", "gaming", "local", "main"}, ""},
		{"show routes table a", []string{"all "}, ""},
		// rule selectors and actions from the schema
		{"rule fwmark 0x1 lo", []string{"lookup "}, ""},
		{"rule from 10.0.0.0/8 ", nil, ""}, // checked below: many
		// show
		{"show ", []string{"addrs", "links", "neigh", "netns", "routes", "rules", "wireguard"}, ""},
		{"show r", []string{"routes", "rules"}, ""},
		{"show wireguard ", []string{"wg0 "}, ""},
		// variables
		{"print $u", []string{"$uplink "}, ""},
		{"link $", []string{"$key", "$uplink"}, ""},
		{`print "${u`, []string{"${uplink}"}, ""},
		{`link veth-${`, []string{"${key}", "${uplink}"}, ""},
		{"pa", []string{"pair("}, ""},
		// statement start
		{"li", []string{"link "}, ""},
		{"be", []string{"begin "}, ""},
		{"ho", []string{"host("}, ""},
		{"del r", []string{"route", "rule"}, ""},
		{"plan li", []string{"link "}, ""},
		{"help wire", []string{"wireguard "}, ""},
		{"wireguard wg0 < priv", []string{"private-key "}, ""},
		{"wireguard wg0 < peer $key < end", []string{"endpoint "}, ""},
		{"link br0 up; link v", []string{"v0", "v1"}, ""},
	} {
		head, got, tail := s.r.Complete(c.line, len([]rune(c.line)))
		if c.line == "rule from 10.0.0.0/8 " {
			for _, w := range []string{"to", "iif", "oif", "fwmark", "lookup", "goto", "blackhole", "priority"} {
				if !contains(got, w) {
					t.Errorf("Complete(%q) lacks %q: %q", c.line, w, got)
				}
			}
			if contains(got, "from") {
				t.Errorf("Complete(%q) offers from again: %q", c.line, got)
			}
			continue
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Complete(%q) = %q, want %q", c.line, got, c.want)
		}
		if tail != "" {
			t.Errorf("Complete(%q): tail %q", c.line, tail)
		}
		if c.want != nil && !strings.HasSuffix(c.line, strings.TrimSuffix(c.want[0], " ")) {
			if i := strings.LastIndexAny(c.line, " <;$\""); i >= 0 && !strings.HasPrefix(c.line[i+1:], "$") {
				if want := c.line[:i+1]; head != want && !strings.HasPrefix(c.want[0], "$") {
					t.Errorf("Complete(%q): head %q, want %q", c.line, head, want)
				}
			}
		}
	}
}

// The cursor in the middle of a line: the tail is kept.
func TestCompleteMidLine(t *testing.T) {
	s := completionSession(t)
	line := "link b mtu 1400"
	head, got, tail := s.r.Complete(line, len("link b"))
	if head != "link " || tail != " mtu 1400" || strings.Join(got, "|") != "br0|brx" {
		t.Errorf("Complete mid-line = %q %q %q", head, got, tail)
	}
}

// Completion inside a block typed over several lines reads the earlier
// lines: a wireguard block offers its own statements.
func TestCompleteInPendingBlock(t *testing.T) {
	s := completionSession(t)
	s.r.pending = []string{"wireguard wg0 <"}
	if _, got, _ := s.r.Complete("li", 2); strings.Join(got, "|") != "listen-port " {
		t.Errorf("in a wireguard block: %q", got)
	}
	s.r.pending = []string{"in netns gaming <"}
	if _, got, _ := s.r.Complete("link ", 5); strings.Join(got, "|") != "g0|lo" {
		t.Errorf("in an in-netns block: %q", got)
	}
}

// Completion follows the session's namespace.
func TestCompleteFollowsNamespace(t *testing.T) {
	s := completionSession(t)
	s.run("in netns gaming\n", false)
	if s.r.NS() != "gaming" {
		t.Fatalf("namespace %q", s.r.NS())
	}
	if _, got, _ := s.r.Complete("link ", 5); strings.Join(got, "|") != "g0|lo" {
		t.Errorf("links in gaming: %q", got)
	}
}
