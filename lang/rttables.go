package lang

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ParseRTTables reads routing table names in the format of iproute2's
// rt_tables ("ID NAME" per line, '#' comments). Malformed lines and id 0
// are skipped.
func ParseRTTables(r io.Reader) map[string]uint32 {
	m := map[string]uint32{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		id, err := parseUint(fields[0])
		if err != nil || id == 0 || id > 1<<32-1 || !validTableName(fields[1]) {
			continue
		}
		m[fields[1]] = uint32(id)
	}
	return m
}

// ReadRTTables reads the table names iproute2 knows: DIR/rt_tables and
// DIR/rt_tables.d/*.conf for each dir, later ones overriding earlier ones.
// With no dirs it reads /usr/share/iproute2 and then /etc/iproute2.
// Missing files are not an error; the result may be empty.
func ReadRTTables(dirs ...string) map[string]uint32 {
	if len(dirs) == 0 {
		dirs = []string{"/usr/share/iproute2", "/etc/iproute2"}
	}
	m := map[string]uint32{}
	for _, dir := range dirs {
		files := []string{filepath.Join(dir, "rt_tables")}
		conf, _ := filepath.Glob(filepath.Join(dir, "rt_tables.d", "*.conf"))
		sort.Strings(conf)
		for _, path := range append(files, conf...) {
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			for k, v := range ParseRTTables(f) {
				m[k] = v
			}
			f.Close()
		}
	}
	return m
}
