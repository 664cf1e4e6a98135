package sandbox

import "errors"

var (
	// ErrUserNamespaces is returned when the kernel does not let an
	// unprivileged user create user namespaces; the error's text names the
	// setting and how to change it.
	ErrUserNamespaces = errors.New("user namespaces are not available to unprivileged users")
	// ErrUnavailable is returned (as an *UnavailableError) when the
	// sandbox level asked for cannot run on this machine.
	ErrUnavailable = errors.New("the sandbox cannot run here")
	// ErrUnsupported is returned when a Config asks for something its
	// level cannot do (a mount or a private network at LevelNone).
	ErrUnsupported = errors.New("not supported at this sandbox level")
	// ErrNotFound is returned (with exit code 127) when a process's
	// executable does not exist in the container.
	ErrNotFound = errors.New("executable file not found")
	// ErrNotExecutable is returned (with exit code 126) when a process's
	// executable exists but cannot be executed.
	ErrNotExecutable = errors.New("executable file cannot be run")
	// ErrClosed is returned by Container.Run after Close, or when the
	// container ended underneath it.
	ErrClosed = errors.New("container is closed")
)

// UnavailableError says why a sandbox level cannot run here and what
// would let it. It matches ErrUnavailable, and ErrUserNamespaces when
// that is the cause.
type UnavailableError struct {
	Level Level  // the level that cannot run
	Cause string // what stops it, e.g. "a seccomp filter refuses unshare …"
	Fix   string // the way out
	Err   error  // the underlying error
}

func (e *UnavailableError) Error() string {
	s := "the " + e.Level.String() + " sandbox cannot run here: " + e.Cause
	if e.Fix != "" {
		s += ". Fix: " + e.Fix
	}
	return s
}

func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
