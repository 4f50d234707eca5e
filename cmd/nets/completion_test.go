package main

import (
	"strings"
	"testing"
)

// TestCompletionCoversCommands checks that every shell's script names
// every visible command and every flag of it, so that a command or flag
// added to the table cannot be left out of completion.
func TestCompletionCoversCommands(t *testing.T) {
	writers := map[string]func(w *strings.Builder){
		"bash": func(w *strings.Builder) { writeBashCompletion(w) },
		"zsh":  func(w *strings.Builder) { writeZshCompletion(w) },
		"fish": func(w *strings.Builder) { writeFishCompletion(w) },
	}
	if len(writers) != len(shells) {
		t.Fatalf("test knows %d shells, completion %d", len(writers), len(shells))
	}
	model := completionModel()
	if len(model) != len(helpOrder()) {
		t.Fatalf("completion knows %d commands, help %d", len(model), len(helpOrder()))
	}
	for _, sh := range shells {
		var b strings.Builder
		writers[sh](&b)
		script := b.String()
		for _, c := range commands {
			if c.hidden {
				if strings.Contains(script, c.name) {
					t.Errorf("%s: the hidden command %s is completed", sh, c.name)
				}
				continue
			}
			if !strings.Contains(script, c.name) {
				t.Errorf("%s: command %s missing", sh, c.name)
			}
		}
		for _, c := range model {
			for _, f := range c.flags {
				// bash and zsh write -n/--json; fish writes -s n/-l json.
				want := flagName(f.name)
				if sh == "fish" {
					want = "-l " + f.name
					if len(f.name) == 1 {
						want = "-s " + f.name
					}
					want = "'__nets_cmd " + c.name + "' " + want
				}
				if !strings.Contains(script, want) {
					t.Errorf("%s: flag %s of %s missing", sh, flagName(f.name), c.name)
				}
			}
		}
	}
}
