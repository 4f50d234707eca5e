package main

import (
	"bytes"
	"encoding/json"
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

// TestJSONStreamed: the --json document, its changes streamed one at a
// time, is byte for byte what encoding the whole document wrote.
func TestJSONStreamed(t *testing.T) {
	whole := func(doc jsonResult, chs []kernel.Change) string { // emit before streaming
		doc.Changes = []jsonChange{}
		for _, ch := range chs {
			doc.Changes = append(doc.Changes, toJSONChange(ch))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	chs := []kernel.Change{
		{Mark: '+', Text: "route blackhole 10.0.0.0/24 table 100"},
		{Mark: '~', NS: "lab", Text: "link a mtu 1500 -> 9000 <&> \"q\" \\ \u2028 \x01"},
		{Mark: '-', NS: "host", Text: "addr 10.0.0.1/24 dev eth0", Note: kernel.NoteUserspaceWireGuard},
		{Mark: '+', NS: `"changes": []`, Text: `"changes": []`},
	}
	docs := []jsonResult{
		{Command: "run", Changed: true},
		{Command: "plan", Model: true},
		{Command: "run", ConfirmDeadline: "2026-11-27T08:00:00Z", Changed: true},
		{Command: "run", Error: &jsonError{Kind: "failed", Message: `"changes": [] <x>`, RolledBack: true,
			Diagnostics: []jsonDiag{{File: "a.nets", Line: 3, Col: 1, Message: "m", Hint: "h", Detail: "d\nd"}}}},
	}
	for i, doc := range docs {
		for n := 0; n <= len(chs); n++ {
			var out bytes.Buffer
			o := &output{c: &cli{stdout: &out}, cmd: doc.Command, model: doc.Model, json: true}
			o.emitChanges(doc, chs[:n])
			if want := whole(doc, chs[:n]); out.String() != want {
				t.Errorf("document %d with %d changes:\n%s\nwant\n%s", i, n, out.String(), want)
			}
		}
	}
}
