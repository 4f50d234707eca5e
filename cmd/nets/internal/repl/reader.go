package repl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterh/liner"
)

// Reader is a LineReader over any io.Reader: piped input and tests. It
// is not interactive.
type Reader struct {
	r *bufio.Reader
	// Echo, when set, receives each prompt and the line read after it,
	// so that the output reads like a terminal session (a transcript).
	Echo io.Writer
}

// NewReader returns a Reader reading lines from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// ReadLine returns the next line; io.EOF at the end of the input.
func (r *Reader) ReadLine(prompt string) (string, error) {
	line, err := r.r.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if r.Echo != nil {
		fmt.Fprintf(r.Echo, "%s%s\n", prompt, line)
	}
	return line, nil
}

// Interactive returns false.
func (r *Reader) Interactive() bool { return false }

// Terminal is the LineReader of a person at a terminal: line editing,
// Tab completion and a history kept in a file, by github.com/peterh/liner.
type Terminal struct {
	st      *liner.State
	path    string // the history file; "" keeps none
	loadErr error
}

// NewTerminal puts the terminal into raw mode (Close restores it),
// completes with r.Complete and loads the history from historyPath (""
// for none; a missing file is an empty history).
func NewTerminal(r *REPL, historyPath string) *Terminal {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	st.SetWordCompleter(r.Complete)
	t := &Terminal{st: st, path: historyPath}
	if historyPath != "" {
		if f, err := os.Open(historyPath); err == nil {
			_, t.loadErr = st.ReadHistory(f)
			f.Close()
		} else if !errors.Is(err, os.ErrNotExist) {
			t.loadErr = err
		}
	}
	return t
}

// LoadErr is the error reading the history file met, if any.
func (t *Terminal) LoadErr() error { return t.loadErr }

// ReadLine prompts and reads one edited line.
func (t *Terminal) ReadLine(prompt string) (string, error) {
	line, err := t.st.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", ErrInterrupted
	}
	return line, err
}

// Interactive returns true.
func (t *Terminal) Interactive() bool { return true }

// AppendHistory adds an entry to the history (the REPL has filtered out
// secrets already).
func (t *Terminal) AppendHistory(entry string) { t.st.AppendHistory(entry) }

// Close writes the history file (mode 0600, its directory 0700) and
// restores the terminal.
func (t *Terminal) Close() error {
	var err error
	if t.path != "" {
		var b bytes.Buffer
		if _, err = t.st.WriteHistory(&b); err == nil {
			err = writeFilePrivate(t.path, b.Bytes())
		}
		if err != nil {
			err = fmt.Errorf("saving the history to %s: %w", t.path, err)
		}
	}
	return errors.Join(err, t.st.Close())
}
