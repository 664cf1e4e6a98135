package project

import "errors"

var (
	// ErrUnsupportedSchema reports a project.toml schema-version this package
	// does not read.
	ErrUnsupportedSchema = errors.New("unsupported project descriptor schema")
	// ErrBadPattern reports a malformed include/exclude pattern.
	ErrBadPattern = errors.New("bad pattern")
)
