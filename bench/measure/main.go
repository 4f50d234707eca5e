// Command measure runs a command and reports what it cost, for
// bench/run.sh: wall-clock seconds, user and system CPU seconds, and the
// peak resident set size of the command (getrusage of the waited-for
// child: ru_maxrss, the number /usr/bin/time -v reports as "Maximum
// resident set size"), and its exit status.
//
// Usage:
//
//	measure [-stdout FILE] [-stderr FILE] [-stdin FILE] [-pipe] -- COMMAND [ARG...]
//
// It prints one line: "WALL USER SYS MAXRSS_KB EXIT LAST_STDOUT". Output
// of the command goes to the files given (default /dev/null). With -pipe
// the command's standard output is read through a pipe and LAST_STDOUT
// is when (seconds after the start) the command last wrote to it: `nets
// run` prints each change as it is applied, so for a run that fails after
// adding routes, WALL - LAST_STDOUT is the time of its rollback (and of
// printing the error and exiting). Without -pipe (a pipe costs the
// command a little more per write than a file) LAST_STDOUT is 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	stdout := flag.String("stdout", os.DevNull, "write the command's standard output to `FILE`")
	stderr := flag.String("stderr", os.DevNull, "write the command's standard error to `FILE`")
	stdin := flag.String("stdin", os.DevNull, "read the command's standard input from `FILE`")
	usePipe := flag.Bool("pipe", false, "read standard output through a pipe and time its last write")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: measure [-stdout FILE] [-stderr FILE] [-stdin FILE] -- COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	var err error
	if cmd.Stdin, err = os.Open(*stdin); err != nil {
		fail(err)
	}
	out, err := os.Create(*stdout)
	if err != nil {
		fail(err)
	}
	var pipe io.Reader
	if *usePipe {
		if pipe, err = cmd.StdoutPipe(); err != nil {
			fail(err)
		}
	} else {
		cmd.Stdout = out
	}
	if cmd.Stderr, err = os.Create(*stderr); err != nil {
		fail(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	var last time.Duration
	buf := make([]byte, 256<<10)
	for pipe != nil {
		n, rerr := pipe.Read(buf)
		if n > 0 {
			last = time.Since(start)
			if _, err := out.Write(buf[:n]); err != nil {
				fail(err)
			}
		}
		if rerr != nil {
			break
		}
	}
	err = cmd.Wait()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fail(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fail(errors.New("no resource usage for the child"))
	}
	fmt.Printf("%.3f %.3f %.3f %d %d %.3f\n", wall.Seconds(), tv(ru.Utime), tv(ru.Stime), ru.Maxrss, cmd.ProcessState.ExitCode(), last.Seconds())
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "measure:", err)
	os.Exit(2)
}
