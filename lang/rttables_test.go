package lang

import "testing"

func TestReadRTTables(t *testing.T) {
	m := ReadRTTables("testdata/rt", "testdata/does-not-exist")
	want := map[string]uint32{"local": 255, "main": 254, "default": 253, "gaming": 100, "vpn": 200, "games": 100}
	if len(m) != len(want) {
		t.Errorf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %d, want %d", k, m[k], v)
		}
	}
	f, err := Parse("", []byte("route default dev eth0 table vpn"))
	if err != nil {
		t.Fatal(err)
	}
	if ds := Check(f, CheckOptions{Tables: m}); len(ds) != 0 {
		t.Errorf("table from rt_tables not known: %v", ds)
	}
	if ds := Check(f, CheckOptions{}); len(ds) != 1 {
		t.Errorf("unknown table not reported: %v", ds)
	}
}
