// Command tailab provisions and grades practical-exam labs for the French
// professional title "Technicien d'assistance en informatique" (TAI).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/yamlx"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // some checks failed
	ExitUsage   = 2
	ExitInfra   = 3 // infrastructure error (libvirt, a probe could not observe)
	ExitBadFile = 4 // a lab, suite or roster file is invalid
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startProfile(os.Getenv("TAILAB_CPUPROFILE"))
	err := newRootCommand().ExecuteContext(ctx)
	stopProfile()
	os.Exit(exitCode(err))
}

// startProfile writes a CPU profile of the run to path (TAILAB_CPUPROFILE, for
// `go tool pprof`; see docs/benchmarks.md) and returns what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tailab: TAILAB_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// codes maps each error class to its exit status: the one place that does.
var codes = map[errclass.Class]int{
	errclass.Infra:    ExitInfra,
	errclass.Failed:   ExitFailed,
	errclass.Usage:    ExitUsage,
	errclass.NotFound: ExitUsage,
	errclass.BadInput: ExitBadFile,
}

// statusOf is the exit status of err.
func statusOf(err error) int {
	var status errclass.ExitStatus
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &status): // a remote command's, passed on (tailab ssh)
		return int(status)
	}
	return codes[errclass.Of(exam.Classify(err))]
}

// exitCode prints err (unless silent) and returns its exit status.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var diags yamlx.Diagnostics
	switch {
	case errclass.IsSilent(err), errors.As(err, new(errclass.ExitStatus)): // printed already
	case errors.As(err, &diags) && diags.Error() == err.Error():
		fmt.Fprintln(os.Stderr, diags.Error())
	default:
		fmt.Fprintln(os.Stderr, "tailab:", err)
	}
	return statusOf(err)
}
