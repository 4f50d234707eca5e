package ktest

import (
	"strings"
	"testing"
)

func TestNormalizeStripsVolatileAndSorts(t *testing.T) {
	lines, err := normalize([]byte(`[{"ifname":"b","addr_info":[{"local":"10.0.0.1","valid_life_time":5}]},{"ifname":"a","stats64":{"rx":1}}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"addr_info":[{"local":"10.0.0.1"}],"ifname":"b"}`, `{"ifname":"a"}`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", lines, want)
	}
	if lines, err := normalize([]byte("  \n")); err != nil || lines != nil {
		t.Errorf("empty output: %q %v", lines, err)
	}
}

func TestDiff(t *testing.T) {
	a := Snapshot{"link": {"lo", "eth0"}, "rule4": {"x", "x"}}
	if d := Diff(a, a); d != "" {
		t.Errorf("equal snapshots differ: %s", d)
	}
	b := Snapshot{"link": {"lo", "eth0", "veth0"}, "rule4": {"x"}, "route4": {"r"}}
	d := Diff(a, b)
	for _, w := range []string{"link: + veth0", "rule4: - x", "route4: + r"} {
		if !strings.Contains(d, w) {
			t.Errorf("diff lacks %q:\n%s", w, d)
		}
	}
	if strings.Contains(d, " eth0") || strings.Contains(d, " lo") {
		t.Errorf("diff shows an unchanged line:\n%s", d)
	}
}

func TestHostSnapshotReadsState(t *testing.T) {
	s, err := HostSnapshot()
	if err != nil {
		t.Skipf("no ip here: %v", err)
	}
	if len(s["link"]) == 0 || !strings.Contains(strings.Join(s["link"], ""), `"ifname":"lo"`) {
		t.Errorf("no lo in %v", s["link"])
	}
}
