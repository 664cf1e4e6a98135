package lifecycle

import (
	"context"
	"errors"
	"io"
	"os/exec"
)

// Cmd is one buildpack executable to run. Paths in Args, Env and Dir are
// paths as the buildpack sees them (inside the build container).
type Cmd struct {
	Args, Env      []string // Args[0] is the executable; Env is the complete environment
	Dir            string
	Stdout, Stderr io.Writer
}

// Runner runs a Cmd to completion and returns its exit status. err is for
// failures to run it at all; a non-zero exit is not an error.
// cmd/kiln adapts the sandbox to it.
type Runner interface {
	Run(ctx context.Context, c Cmd) (exitCode int, err error)
}

// ExecRunner runs commands directly on the host with os/exec: container
// paths must equal host paths. Tests and machines without user namespaces
// use it.
type ExecRunner struct{}

// Run executes c on the host.
func (ExecRunner) Run(ctx context.Context, c Cmd) (int, error) {
	if len(c.Args) == 0 {
		return -1, errors.New("running command: no arguments")
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append([]string{}, c.Env...) // never nil: nil would inherit kiln's env
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
