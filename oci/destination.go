package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// DestinationError reports a destination that exists and is not what the
// reference writes: a docker archive replaces a regular file, a layout
// fills a directory. Writing anyway would replace a device, a FIFO or a
// symlink (and not what it points to) with a regular file. It unwraps to
// ErrDestination.
type DestinationError struct {
	Path string
	Is   string // what is there, e.g. "a character device"
	Want string // "a regular file" or "a directory"
}

func (e *DestinationError) Error() string {
	return fmt.Sprintf("%s is %s, not %s (or absent): %v; name a new path or %s", e.Path, e.Is, e.Want, ErrDestination, e.Want)
}

func (e *DestinationError) Unwrap() error { return ErrDestination }

// CheckDestination returns a *DestinationError when ref is a docker
// archive or a layout whose path exists and is not what Write would write
// there. Write checks the same; callers check first to refuse before a long
// build rather than after it.
func CheckDestination(ref Reference) error {
	var err error
	switch ref.Kind {
	case KindArchive:
		err = checkArchiveDestination(ref.Path)
	case KindLayout:
		err = checkLayoutDestination(ref.Path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", ref, err)
	}
	return nil
}

// checkArchiveDestination accepts an absent path or a regular file, which
// the archive replaces. A symlink is refused even to a regular file: the
// rename would replace the link, not write where it points.
func checkArchiveDestination(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	return &DestinationError{Path: path, Is: describeMode(fi.Mode()), Want: "a regular file"}
}

// checkLayoutDestination accepts an absent path or a directory (a symlink
// to one included: the layout is written inside it).
func checkLayoutDestination(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if lfi, lerr := os.Lstat(path); lerr == nil {
			return &DestinationError{Path: path, Is: describeMode(lfi.Mode()) + " to nothing", Want: "a directory"}
		}
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil
	}
	return &DestinationError{Path: path, Is: describeMode(fi.Mode()), Want: "a directory"}
}

// describeMode names a file type for an error message.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}
