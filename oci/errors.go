package oci

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Sentinels for conditions callers branch on. Other files of this package may
// declare their own next to the code that returns them.
var (
	// ErrInvalidReference is returned for a reference that parses as none of
	// the three kinds.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrPathReference is returned (with ErrInvalidReference) for a string
	// written as a file system path where a registry reference was expected.
	ErrPathReference = errors.New("a file system path, not a registry reference")
	// ErrNotFound is returned when a layout, archive or registry holds no image
	// for the reference.
	ErrNotFound = errors.New("image not found")
	// ErrNotInStore is returned when the pull policy is PullNever and the store
	// does not hold the reference.
	ErrNotInStore = errors.New("image not in the store and the pull policy is never")
	// ErrDigestMismatch is returned when a blob's content does not hash to the
	// digest it was read or written under.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrNoPlatform is returned when an index has no image for the requested
	// platform.
	ErrNoPlatform = errors.New("no image for the platform")
	// ErrAmbiguous is returned when an archive holds several images and the
	// reference names none of them.
	ErrAmbiguous = errors.New("several images and none named")
	// ErrStoreNotPrivate is returned (as *StoreModeError) by OpenStore for
	// a directory other users can enter that kiln will not make private.
	ErrStoreNotPrivate = errors.New("the store directory is open to other users")
	// ErrDestination is returned (as *DestinationError) by Write for a
	// destination that exists and is neither absent nor what the reference
	// writes: a regular file for docker-archive:, a directory for oci:.
	ErrDestination = errors.New("destination of the wrong type")
)

// DigestError reports a blob whose content does not match its digest. It
// unwraps to ErrDigestMismatch.
type DigestError struct {
	Want   v1.Hash // the digest the blob was addressed by
	Got    v1.Hash // the digest of the bytes actually read
	Source string  // where the bytes came from: a file path or a URL
}

// Error names the blob, its source and what its content hashes to.
func (e *DigestError) Error() string {
	return fmt.Sprintf("blob %s from %s: content hashes to %s: %v", e.Want, e.Source, e.Got, ErrDigestMismatch)
}

// Unwrap returns ErrDigestMismatch.
func (e *DigestError) Unwrap() error { return ErrDigestMismatch }
