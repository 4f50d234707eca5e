package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal (a TCGETS ioctl succeeds,
// as isatty(3) does it).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// ANSI colours for change marks.
const (
	colorGreen  = "\x1b[32m"
	colorRed    = "\x1b[31m"
	colorYellow = "\x1b[33m"
	colorReset  = "\x1b[0m"
)

// useColor reports whether output to stdout may be coloured: only on a
// terminal, never when NO_COLOR is set to anything non-empty
// (https://no-color.org) or TERM is "dumb".
func (c *cli) useColor() bool {
	if !c.stdoutTTY {
		return false
	}
	if v, ok := c.getenv("NO_COLOR"); ok && v != "" {
		return false
	}
	if v, _ := c.getenv("TERM"); v == "dumb" {
		return false
	}
	return true
}

// markColor is the colour of a change mark: + green, - red, ~ yellow.
func markColor(mark byte) string {
	switch mark {
	case '+':
		return colorGreen
	case '-':
		return colorRed
	case '~':
		return colorYellow
	}
	return ""
}
