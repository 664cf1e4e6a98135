package debian

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for conditions callers branch on.
var (
	// ErrUnknownPackage is returned when a requested package is in none of
	// the indexes.
	ErrUnknownPackage = errors.New("package not found in the indexes")
	// ErrUnresolvable is returned when a dependency has no package that
	// satisfies it.
	ErrUnresolvable = errors.New("unresolvable dependency")
	// ErrChecksum is returned when a downloaded file does not match the hash
	// or size its index announced.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrSignature is returned when an InRelease file is not signed by a key
	// of the source's keyring.
	ErrSignature = errors.New("bad or missing repository signature")
	// ErrOffline is returned when a file is needed that is not in the pool and
	// the network may not be used.
	ErrOffline = errors.New("not in the store and downloads are disabled")
	// ErrNotDeb is returned for a file that is not a Debian binary package.
	ErrNotDeb = errors.New("not a Debian binary package")
)

// ResolveError reports a dependency that could not be satisfied, with the
// chain of packages that led to it. It unwraps to ErrUnknownPackage when a
// requested package is in no index at all, else to ErrUnresolvable.
type ResolveError struct {
	Chain   []string   // the requested package first, then each dependent
	Dep     Dependency // what could not be satisfied
	Reason  string     // e.g. "no such package"
	Unknown bool       // a requested name that no index knows
}

func (e *ResolveError) Error() string {
	path := strings.Join(append(append([]string{}, e.Chain...), e.Dep.String()), " → ")
	return fmt.Sprintf("%s: %s: %v", path, e.Reason, e.Unwrap())
}

// Unwrap returns the sentinel for the kind of failure.
func (e *ResolveError) Unwrap() error {
	if e.Unknown {
		return ErrUnknownPackage
	}
	return ErrUnresolvable
}
