package project

import "errors"

var (
	// ErrInvalidConfig reports a project.toml whose values contradict each
	// other or the schema, or an app copy asked to do the impossible.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrUnsupportedSchema reports a project.toml schema-version this package
	// does not read.
	ErrUnsupportedSchema = errors.New("unsupported project descriptor schema")
	// ErrBadPattern reports a malformed include/exclude pattern.
	ErrBadPattern = errors.New("bad pattern")
	// ErrUnsafeArchive reports an app archive entry whose name leaves the
	// directory it is extracted into.
	ErrUnsafeArchive = errors.New("unsafe app archive entry")
)
