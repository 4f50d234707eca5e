package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release version, set at link time for releases:
//
//	go build -ldflags "-X main.version=v1.0.0" ./cmd/nets
//
// When empty, the module version and VCS revision recorded by the Go
// toolchain are shown instead.
var version = ""

// versionString returns e.g. "nets v1.0.0 (go1.26.8 linux/amd64)" or,
// for a development build, "nets (devel) rev 8f08008 (modified) (...)".
func versionString() string {
	v := version
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "nets " + v
	if rev != "" && (v == "(devel)" || len(v) > 0 && v[len(v)-1] == '+') {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " rev " + rev + modified
	}
	return fmt.Sprintf("%s (%s %s/%s)", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func (c *cli) cmdVersion(args []string) int {
	fs := newFlags("version")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return c.flagErr("version", err)
	}
	if len(pos) > 0 {
		return c.usage("version", fmt.Errorf("unexpected argument %q", pos[0]))
	}
	fmt.Fprintln(c.stdout, versionString())
	return exitOK
}
