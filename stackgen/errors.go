package stackgen

import "errors"

// Sentinels for conditions callers branch on. The Debian package errors
// (unknown package, unresolvable dependency) are debian.ErrUnknownPackage and
// debian.ErrUnresolvable.
var (
	// ErrNoPasswd is returned when an image that needs a user has a base
	// without /etc/passwd or /etc/group.
	ErrNoPasswd = errors.New("base has no /etc/passwd")
	// ErrUserClash is returned when the base already has the UID, GID or a
	// name asked for, bound to something else.
	ErrUserClash = errors.New("user or group clash")
	// ErrRootUser is returned when the CNB user would be root.
	ErrRootUser = errors.New("the CNB user may not be root")
	// ErrStaleLock is returned when the lock does not match the requested
	// packages and resolving again is not allowed (pull policy never).
	ErrStaleLock = errors.New("the lock does not match the requested packages")
	// ErrConfig is returned for an invalid stack.toml or spec.
	ErrConfig = errors.New("invalid stack configuration")
	// ErrNoStore is returned when Generate has no store to work in.
	ErrNoStore = errors.New("no store given")
)
