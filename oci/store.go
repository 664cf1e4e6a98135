package oci

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Store is kiln's local, content-addressed image store. It is itself an OCI
// image layout: blobs/sha256 holds every blob pulled once for all builds, each
// verified against its digest, and index.json names the manifest of each
// pulled reference with an org.opencontainers.image.ref.name annotation.
// Other parts of the package keep their caches under the same directory
// (unpacked root filesystems under rootfs/, the diffID memo).
//
// The store is private to its owner: its directory is mode 0700, so that
// what it holds (pulled images, build trees, unpacked root filesystems) is
// reached by nobody else.
type Store struct {
	dir    string
	layout *layoutDir
	lease  *lease // nil: a store this process cannot write
}

// OpenStore opens the store at dir, creating it (mode 0700) when absent.
// An existing directory that other users can enter is made private when it
// belongs to the caller and is empty or already a store; anything else
// (someone else's directory, /tmp, a home directory) fails with
// ErrStoreNotPrivate rather than be changed. It takes a lease on the store
// (see NewWorkDir, Close and Prune): until Close, or until the process
// ends, nothing this Store uses is pruned by other kiln processes.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	if err := makePrivate(dir); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	l, err := openLayout(dir, true)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	s := &Store{dir: dir, layout: l}
	if err := s.openLease(); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	return s, nil
}

// makePrivate makes dir mode 0700 when it lets others in and may be
// changed (see OpenStore).
func makePrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("not a directory")
	}
	mode := fi.Mode() & (fs.ModePerm | fs.ModeSticky)
	if mode&0o077 == 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	mine := ok && int(st.Uid) == os.Geteuid()
	if !mine || mode&fs.ModeSticky != 0 {
		return &StoreModeError{Dir: dir, Mode: mode}
	}
	if _, err := os.Stat(filepath.Join(dir, layoutFile)); err != nil {
		empty, err := isEmptyDir(dir)
		if err != nil {
			return err
		}
		if !empty {
			return &StoreModeError{Dir: dir, Mode: mode}
		}
	}
	return os.Chmod(dir, 0o700)
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// StoreModeError reports a store directory that other users can enter and
// that kiln will not change: it unwraps to ErrStoreNotPrivate.
type StoreModeError struct {
	Dir  string
	Mode fs.FileMode
}

func (e *StoreModeError) Error() string {
	return fmt.Sprintf("%s has mode %v: %v; use a directory of your own that only you can enter (mode 0700), or a new path kiln creates", e.Dir, e.Mode, ErrStoreNotPrivate)
}

func (e *StoreModeError) Unwrap() error { return ErrStoreNotPrivate }

// Dir returns the directory the store lives in.
func (s *Store) Dir() string { return s.dir }
