// Package fsutil holds the file-system helpers that oci's unpacking and
// caching share: removal that survives read-only directories and
// nanosecond timestamps that do not follow symlinks.
package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// RemoveAll removes path and everything below it like os.RemoveAll, but
// first makes read-only directories writable, so that an unprivileged user
// can delete a tree unpacked from an image with 0555 directories. A missing
// path is not an error. A symlink at path is removed, never followed.
func RemoveAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// Only directories we own can be made writable; walking follows no
	// symlinks because WalkDir reports them as non-directories.
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}

// Lutimes sets the access and modification times of path to t without
// following a symlink at path.
func Lutimes(path string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: path, Err: err}
	}
	return nil
}
