package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Leases and work directories.
//
// Every open Store holds a lease on its directory: work/<id>.lock, locked
// with an exclusive flock for as long as the Store is open, and released
// by the kernel when the process dies however it dies. Prune reads the
// leases to learn which processes use the store and since when, and
// removes nothing a live one may still need. A lease's work directories
// live under work/<id>/: Close retires them with one rename to
// work/.trash-<id>, and Reclaim removes retired directories and those of
// dead leases (a killed kiln), never one a live lease holds.
const (
	workDir     = "work"
	leaseSuffix = ".lock"
	newPrefix   = ".new-"   // a lease being created: not yet locked under its name
	trashPrefix = ".trash-" // retired, free for anyone to remove
	gonePrefix  = ".gone-"  // .gone-<lease>-…: being removed by that lease
	// legacyAge is how old a work directory of an older kiln (build-*,
	// dist-* at the store's top, which had no lease) must be to be
	// reclaimed: they may belong to an older kiln still running.
	legacyAge = 24 * time.Hour
)

// lease is this Store's hold on the store directory.
type lease struct {
	id   string
	lock *os.File

	mu     sync.Mutex
	closed bool
}

// openLease takes a new lease on the store. A store this process cannot
// write (a read-only mount) gets none: nothing can be pruned from it
// either.
func (s *Store) openLease() error {
	dir := filepath.Join(s.dir, workDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
			return nil
		}
		return err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	id := hex.EncodeToString(b[:])
	// Locked under a temp name first, so that no one ever sees the lease
	// unlocked under its own name and takes it for a dead one.
	tmp := filepath.Join(dir, newPrefix+id)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
			return nil
		}
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// Named under the layout's lock, shared: Prune, which holds it
	// exclusively while it lists the leases and removes what they may
	// need, sees every lease whose process can have written by then.
	// Without it a lease named just after Prune's listing was not seen,
	// and a blob that process wrote at once (its time from the kernel's
	// coarse clock, a tick behind Prune's cutoff) was removed under it.
	if err := s.layout.withLockMode(unix.LOCK_SH, func() error {
		return os.Rename(tmp, filepath.Join(dir, id+leaseSuffix))
	}); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	s.lease = &lease{id: id, lock: f}
	return nil
}

// Close ends this Store's lease: its work directories are retired (one
// rename; Reclaim or the next kiln removes them) and what it used may be
// pruned. The Store must not be used afterwards; closing twice does
// nothing.
func (s *Store) Close() error {
	l := s.lease
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	dir := filepath.Join(s.dir, workDir)
	err := os.Rename(filepath.Join(dir, l.id), filepath.Join(dir, trashPrefix+l.id))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if rerr := os.Remove(filepath.Join(dir, l.id+leaseSuffix)); err == nil && rerr != nil {
		err = rerr
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing store %s: %w", s.dir, err)
	}
	return nil
}

// NewWorkDir creates an empty scratch directory for this process in the
// store, on the store's file system (so that trees move in and out of the
// store's caches by rename). It lives until Close retires it; a process
// that dies leaves it to Reclaim.
func (s *Store) NewWorkDir(prefix string) (string, error) {
	l := s.lease
	if l == nil {
		return "", fmt.Errorf("creating a work directory in store %s: the store is not writable", s.dir)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", fmt.Errorf("creating a work directory in store %s: the store is closed", s.dir)
	}
	own := filepath.Join(s.dir, workDir, l.id)
	if err := os.MkdirAll(own, 0o700); err != nil {
		return "", fmt.Errorf("creating a work directory in store %s: %w", s.dir, err)
	}
	d, err := os.MkdirTemp(own, prefix)
	if err != nil {
		return "", fmt.Errorf("creating a work directory in store %s: %w", s.dir, err)
	}
	return d, nil
}

// Discard moves the tree at path, inside the store, into the store's
// trash with one rename; Reclaim (the next kiln build, or Prune) removes
// it. For trees a caller no longer needs, so that no tree is deleted on a
// build's critical path. A missing path is not an error.
func (s *Store) Discard(path string) error {
	rel, err := filepath.Rel(s.dir, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return fmt.Errorf("discarding %s: not inside store %s", path, s.dir)
	}
	if err := s.toTrash(path); err != nil {
		return fmt.Errorf("discarding %s: %w", path, err)
	}
	return nil
}

// liveLease is a lease some process holds.
type liveLease struct {
	id    string
	start time.Time // when it was taken (its lock file's mtime)
}

// leases lists the live leases and retires the work directories of dead
// ones (their lock is free: the process is gone).
func (s *Store) leases() ([]liveLease, error) {
	dir := filepath.Join(s.dir, workDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var live []liveLease
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, leaseSuffix) && !strings.HasPrefix(name, "."):
			id := strings.TrimSuffix(name, leaseSuffix)
			start, alive, err := s.probeLease(dir, id)
			if err != nil {
				return nil, err
			}
			if alive {
				live = append(live, liveLease{id: id, start: start})
			}
		case strings.HasPrefix(name, newPrefix):
			// A lease being created, or left by a process that died
			// while creating it: the latter is free and old.
			p := filepath.Join(dir, name)
			if fi, err := os.Lstat(p); err == nil && time.Since(fi.ModTime()) > time.Minute && lockFree(p) {
				os.Remove(p)
			}
		}
	}
	return live, nil
}

// probeLease tells whether lease id is held, and if not retires its work
// directory and removes its lock file.
func (s *Store) probeLease(dir, id string) (start time.Time, alive bool, err error) {
	p := filepath.Join(dir, id+leaseSuffix)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}, false, err
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return fi.ModTime(), true, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	// Dead: its process is gone. Under its lock, so that two reclaimers
	// do not both act.
	if err := os.Rename(filepath.Join(dir, id), filepath.Join(dir, trashPrefix+id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, err
	}
	return time.Time{}, false, nil
}

// lockFree tells whether no one holds a lock on the file at p.
func lockFree(p string) bool {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

// Reclaim removes the store's retired work directories, those of dead
// leases (kiln processes that were killed) and old ones of earlier kiln
// versions. A live lease's directories are never touched, and two
// reclaimers never remove the same tree. It stops between trees when ctx
// ends; what is left is removed next time.
func (s *Store) Reclaim(ctx context.Context) error {
	if err := s.retireLegacy(); err != nil {
		return fmt.Errorf("reclaiming work directories in store %s: %w", s.dir, err)
	}
	return s.emptyTrash(ctx)
}

// emptyTrash retires the work directories of dead leases and removes
// retired trees: each is first renamed to .gone-<lease>-…, claiming it for
// this process (a .gone- tree whose lease is dead is claimed again).
func (s *Store) emptyTrash(ctx context.Context) error {
	live, err := s.leases()
	if err != nil {
		return fmt.Errorf("reclaiming work directories in store %s: %w", s.dir, err)
	}
	dir := filepath.Join(s.dir, workDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reclaiming work directories in store %s: %w", s.dir, err)
	}
	alive := map[string]bool{}
	for _, l := range live {
		alive[l.id] = true
	}
	me := "none"
	if s.lease != nil {
		me = s.lease.id
	}
	var first error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		var claimable bool
		switch {
		case strings.HasPrefix(name, trashPrefix):
			claimable = true
		case strings.HasPrefix(name, gonePrefix):
			owner, _, _ := strings.Cut(strings.TrimPrefix(name, gonePrefix), "-")
			claimable = !alive[owner] && owner != me
		}
		if !claimable {
			continue
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		claimed := filepath.Join(dir, gonePrefix+me+"-"+hex.EncodeToString(b[:]))
		if err := os.Rename(filepath.Join(dir, name), claimed); err != nil {
			continue // another reclaimer took it
		}
		if err := removeTree(ctx, claimed); err != nil && first == nil && ctx.Err() == nil {
			first = fmt.Errorf("reclaiming %s: %w", claimed, err)
		}
	}
	return first
}

// retireLegacy moves the work directories of kiln versions before leases
// (build-*, dist-* at the store's top) into the trash once they are old
// enough not to belong to a build still running.
func (s *Store) retireLegacy() error {
	for _, pattern := range []string{"build-*", "dist-*"} {
		old, _ := filepath.Glob(filepath.Join(s.dir, pattern))
		for _, p := range old {
			fi, err := os.Lstat(p)
			if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < legacyAge {
				continue
			}
			dst := filepath.Join(s.dir, workDir, trashPrefix+"legacy-"+filepath.Base(p))
			if err := os.Rename(p, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// removeTree removes the tree at p, stopping as soon as ctx ends (what is
// left stays for later). Read-only directories are made writable first, as
// fsutil.RemoveAll does; symbolic links are removed, never followed.
func removeTree(ctx context.Context, p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return ignoreMissing(os.Remove(p))
	}
	if fi.Mode().Perm()&0o700 != 0o700 {
		_ = os.Chmod(p, 0o700)
	}
	// All names first: removing entries while reading a directory may
	// skip some.
	entries, err := os.ReadDir(p)
	if err != nil {
		return ignoreMissing(err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		child := filepath.Join(p, e.Name())
		if e.IsDir() {
			err = removeTree(ctx, child)
		} else {
			err = ignoreMissing(os.Remove(child))
		}
		if err != nil {
			return err
		}
	}
	return ignoreMissing(os.Remove(p))
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
