package repl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// HistoryPath returns where the history is kept: $XDG_STATE_HOME/nets/history
// when XDG_STATE_HOME is set to an absolute path, else ~/.nets_history
// ($HOME). It returns "" when neither is known (no history is kept then).
func HistoryPath(getenv func(string) (string, bool)) string {
	if d, ok := getenv("XDG_STATE_HOME"); ok && filepath.IsAbs(d) {
		return filepath.Join(d, "nets", "history")
	}
	if h, ok := getenv("HOME"); ok && h != "" {
		return filepath.Join(h, ".nets_history")
	}
	return ""
}

// Secret reports whether a statement must not be written to the
// history: it holds a key literal (a word or string that is 44
// characters of base64 ending in "=", or anything kernel.ParseKey
// accepts) or calls string(), the one way to reveal a key.
func Secret(src string) bool {
	if strings.Contains(src, "string(") {
		return true
	}
	for _, w := range strings.FieldsFunc(src, notKeyChar) {
		if len(w) == 44 && strings.HasSuffix(w, "=") {
			return true
		}
		if _, err := kernel.ParseKey(w); err == nil {
			return true
		}
	}
	return false
}

// notKeyChar splits text into candidate key words: base64 characters
// stay together, everything else (blanks, quotes, brackets, `<`, `;`,
// `,`, `:`) separates.
func notKeyChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	case r == '+' || r == '/' || r == '=':
		return false
	}
	return true
}

// historyEntry returns the history entry for a statement typed as src
// (possibly several lines: a block, or `\` continuations), and false
// when it must not be remembered (Secret). A history entry is one line,
// so the lines are joined: a `\` continuation by a space, lines of a
// block by "; " (or a space next to `<` and `>`). When the joined line
// would not mean the same (a comment swallowing the rest), nothing is
// remembered rather than something that means another thing.
func historyEntry(src string) (string, bool) {
	src = strings.TrimSpace(src)
	if src == "" || Secret(src) {
		return "", false
	}
	if !strings.Contains(src, "\n") {
		return src, true
	}
	lines := strings.Split(src, "\n")
	var b strings.Builder
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			prev := b.String()
			switch {
			case strings.HasSuffix(prev, "\\"):
				b.Reset()
				b.WriteString(strings.TrimRight(strings.TrimSuffix(prev, "\\"), " \t"))
				b.WriteString(" ")
			case strings.HasSuffix(prev, "<") || strings.HasPrefix(l, ">"):
				b.WriteString(" ")
			default:
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	entry := b.String()
	if !sameMeaning(src, entry) {
		return "", false
	}
	return entry, true
}

// sameMeaning reports whether two texts parse to the same statements.
// Text that is not a statement (a REPL command, a bare expression) is
// compared as is.
func sameMeaning(a, b string) bool {
	fa, erra := lang.Parse("a", []byte(a))
	fb, errb := lang.Parse("a", []byte(b))
	if erra != nil || errb != nil {
		return erra != nil && errb != nil && strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
	}
	// The printer lays a block out on one line or several depending on
	// how it was written; what matters is the words.
	return strings.Join(strings.Fields(string(lang.Format(fa))), " ") ==
		strings.Join(strings.Fields(string(lang.Format(fb))), " ")
}

// writeFilePrivate writes data to path with mode 0600 (also when the
// file existed with a wider mode), creating its directory (0700).
func writeFilePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".history-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// CreateTemp makes the file 0600; rename keeps that.
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
