package sandbox

import "errors"

var (
	// ErrUserNamespaces is returned when the kernel does not let an
	// unprivileged user create user namespaces; the error's text names the
	// setting and how to change it.
	ErrUserNamespaces = errors.New("user namespaces are not available to unprivileged users")
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
