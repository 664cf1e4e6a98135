package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/kilnbuild/kiln/oci"
)

// exitCoder is implemented by errors that carry a process exit code, such as
// the CNB phase errors (20 no group passed, 51 buildpack build failed, …) and
// the exit status of a process run by `kiln run`.
type exitCoder interface {
	ExitCode() int
}

// silentError is an exit code that has already been reported to the user.
type silentError int

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e silentError) ExitCode() int { return int(e) }

// exitCode prints err (unless it is silent) and maps it to an exit code.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var se silentError
	if errors.As(err, &se) {
		return int(se)
	}
	fmt.Fprintf(stderr, "ERROR: %v\n", err)
	for _, h := range hints(err) {
		fmt.Fprintf(stderr, "hint: %s\n", h)
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// errorHints are what to do about errors a library reports by sentinel,
// in terms of kiln's flags, which libraries do not know.
var errorHints = []struct {
	err  error
	hint string
}{
	{oci.ErrNoPlatform, "the image has no such platform: leave --platform out, or name one the image has (kiln inspect shows it)"},
	{oci.ErrNotInStore, "the pull policy is never (--pull never, KILN_PULL or kiln config): pull the image once with --pull if-missing"},
}

// hints returns the lines of advice for err.
func hints(err error) []string {
	var out []string
	for _, h := range errorHints {
		if errors.Is(err, h.err) {
			out = append(out, h.hint)
		}
	}
	return out
}
