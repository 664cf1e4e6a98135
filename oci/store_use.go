package oci

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// use marks store files as used now (their modification time), which is
// what Prune orders by and what protects them: Prune removes nothing used
// since the oldest live lease began. The marks are made under a shared
// lock of the store's index lock, and Prune decides under the exclusive
// one, so a file is either marked before Prune looks or already gone when
// it is marked. use reports whether every file still exists.
func (s *Store) use(paths ...string) bool {
	if s.lease == nil {
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				return false
			}
		}
		return true
	}
	ok := true
	err := s.layout.withLockMode(unix.LOCK_SH, func() error {
		now := time.Now()
		for _, p := range paths {
			// A file of another user cannot be marked; it is still there.
			if err := os.Chtimes(p, now, now); errors.Is(err, fs.ErrNotExist) {
				ok = false
			}
		}
		return nil
	})
	return ok && err == nil
}

// isLayout tells whether dir is the store's own directory (an oci: layout
// reference to it).
func (s *Store) isLayout(dir string) bool {
	return filepath.Clean(dir) == filepath.Clean(s.dir) || sameDir(s.dir, dir)
}
