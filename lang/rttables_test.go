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

// A declaration that contradicts rt_tables (or an earlier one) is a check
// error, as it is an error at run time.
func TestTableDeclarationClash(t *testing.T) {
	m := map[string]uint32{"isp_b": 200, "gaming": 100, "games": 100}
	for src, want := range map[string]string{
		"table 400 name isp_b":                   `1:16: table name isp_b already names table 200 (in iproute2's rt_tables)`,
		"table 200 name other":                   `1:16: table 200 is already named isp_b`,
		"table 150 name one\ntable 150 name two": `2:16: table 150 is already named one`,
		"table 200 name isp_b":                   ``,
		"table 100 name games":                   ``,
		"table 300 name fresh":                   ``,
	} {
		f, err := Parse("", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := diagText(Check(f, CheckOptions{Tables: m})); got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}
