package main

import (
	"errors"
	"fmt"
	"io"
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
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
