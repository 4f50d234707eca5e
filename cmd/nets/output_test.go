package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/nets-lang/nets/eval"
	"github.com/nets-lang/nets/kernel"
)

// TestChangeLines: the change lines run prints, rendered into reused
// buffers, are what the string-building renderer printed before, with
// and without -n, colour and notes.
func TestChangeLines(t *testing.T) {
	old := func(o *output, ch kernel.Change) string { // display and change before appendDisplay
		line := ""
		if o.ns != "" && o.ns != kernel.HostName && (ch.NS == kernel.Host || ch.NS == kernel.HostName) {
			line = string(ch.Mark) + " in netns " + kernel.HostName + " < " + ch.Text + " >" + ch.Comment()
		} else {
			if o.ns != "" && o.ns != kernel.HostName && ch.NS == o.ns {
				ch.NS = kernel.Host
			}
			line = eval.FormatChange(ch)
		}
		if o.color {
			if col := markColor(ch.Mark); col != "" && len(line) > 0 {
				line = col + line[:1] + colorReset + line[1:]
			}
		}
		return fmt.Sprintln(line)
	}
	var changes []kernel.Change
	for _, mark := range []byte{'+', '-', '~', '?'} {
		for _, ns := range []string{kernel.Host, kernel.HostName, "lab", "other"} {
			for _, note := range []string{"", kernel.NoteUserspaceWireGuard} {
				changes = append(changes, kernel.Change{Mark: mark, NS: ns, Text: "route blackhole 10.0.0.0/24 table 100", Note: note},
					kernel.Change{Mark: mark, NS: ns, Text: "link a mtu 1500 -> 9000"})
			}
		}
	}
	for _, startNS := range []string{"", kernel.HostName, "lab"} {
		for _, color := range []bool{false, true} {
			var out, want bytes.Buffer
			o := &output{c: &cli{stdout: &out}, ns: startNS, color: color}
			for _, ch := range changes {
				o.change(ch)
				want.WriteString(old(o, ch))
			}
			if out.String() != want.String() {
				t.Errorf("-n %q, colour %v:\n%s\nwant\n%s", startNS, color, out.String(), want.String())
			}
		}
	}
}
