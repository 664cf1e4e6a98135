package launch

import (
	"errors"
	"fmt"
)

// Exit codes of the launcher (CNB platform spec, "Exit codes"). After a
// successful exec the exit code is the process's own.
const (
	// CodeFailed is a generic failure, such as an unreadable metadata.toml
	// (the reference lifecycle uses it there too).
	CodeFailed = 1
	// CodePlatformAPI means CNB_PLATFORM_API is missing or unsupported.
	CodePlatformAPI = 11
	// CodeBuildpackAPI means a buildpack in metadata.toml has an unsupported API.
	CodeBuildpackAPI = 12
	// CodeLaunch is any error between reading the metadata and the exec.
	CodeLaunch = 82
)

var (
	// ErrNoPlatformAPI is returned when CNB_PLATFORM_API is not set.
	ErrNoPlatformAPI = errors.New("CNB_PLATFORM_API is not set")
	// ErrUnsupportedAPI is returned for a Platform or Buildpack API version the
	// launcher does not implement.
	ErrUnsupportedAPI = errors.New("unsupported API version")
	// ErrNoCommand is returned when the launcher is started without a process
	// type (through argv[0]) and without a command.
	ErrNoCommand = errors.New("when there is no default process a command is required")
	// ErrNoBash is returned for a shell launch on an image without /bin/bash.
	ErrNoBash = errors.New("a shell launch needs /bin/bash, which this image does not have; " +
		"use a direct process (launcher -- CMD ARGS…) instead")
	// ErrExecD is returned when an exec.d executable fails or prints
	// something that is not NAME = "value" TOML.
	ErrExecD = errors.New("exec.d")
)

// Error is a launcher error with the exit code the launcher ends with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the code the launcher exits with.
func (e *Error) ExitCode() int { return e.Code }

// withCode wraps err with an exit code; format and args prefix the message.
func withCode(code int, err error, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format+": %w", append(args, err)...)}
}
