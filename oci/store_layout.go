package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// layoutDir is an OCI image layout on disk, written the way kiln needs it:
// blobs verified and renamed into place, index.json replaced atomically under
// a lock so that concurrent processes cannot lose each other's updates.
// Both the store and oci:DIR references use it.
type layoutDir struct {
	dir string
	// verify: blobs already present are named only after reusable has
	// checked them (output layouts); the store trusts what it wrote.
	verify bool
	// memo, with verify, remembers the blobs checked or written by their
	// fstat, so that a blob unchanged since is not hashed again.
	memo   *Store
	logger *slog.Logger // nil: discard
}

const (
	layoutFile   = "oci-layout"
	indexFile    = "index.json"
	lockFile     = "index.json.lock"
	layoutHeader = `{"imageLayoutVersion":"1.0.0"}`
)

// openLayout returns the layout at dir, creating its skeleton when create is
// set and the directory holds none.
func openLayout(dir string, create bool) (*layoutDir, error) {
	l := &layoutDir{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, layoutFile)); err == nil {
		return l, nil
	} else if !errors.Is(err, fs.ErrNotExist) || !create {
		return nil, fmt.Errorf("opening layout %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	err := l.withLock(func() error {
		if _, err := os.Stat(filepath.Join(dir, indexFile)); errors.Is(err, fs.ErrNotExist) {
			empty := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
			if err := l.writeIndexLocked(&empty); err != nil {
				return err
			}
		}
		return atomicfile.WriteFile(filepath.Join(dir, layoutFile), []byte(layoutHeader), 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	return l, nil
}

func (l *layoutDir) blobPath(h v1.Hash) string {
	return filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
}

func (l *layoutDir) hasBlob(h v1.Hash) bool {
	_, err := os.Stat(l.blobPath(h))
	return err == nil
}

// reusable reports whether blob h, of size bytes, is present and may be
// named as it is. Without verify, presence is enough. With it, the blob must
// be a regular file of that size whose content hashes to h: anything else
// (a damaged or truncated blob, a symlink, a FIFO) is reported absent, to
// be replaced by writeBlob.
func (l *layoutDir) reusable(h v1.Hash, size int64) (bool, error) {
	if !l.verify {
		return l.hasBlob(h), nil
	}
	p := l.blobPath(h)
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		l.replacing(h, fmt.Sprintf("cannot be opened as a file: %v", err))
		return false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("checking blob %s: %w", h, err)
	}
	switch {
	case !fi.Mode().IsRegular():
		l.replacing(h, "is "+describeMode(fi.Mode()))
		return false, nil
	case fi.Size() != size:
		l.replacing(h, fmt.Sprintf("is %d bytes, not %d", fi.Size(), size))
		return false, nil
	}
	if l.memo != nil && l.memo.wasVerified(l.dir, h, f) {
		return true, nil
	}
	hasher := sha256.New()
	if _, err := io.Copy(hasher, f); err != nil {
		return false, fmt.Errorf("checking blob %s: %w", h, err)
	}
	if got := sumOf(hasher); got != h {
		l.replacing(h, "hashes to "+got.String())
		return false, nil
	}
	if l.memo != nil {
		l.memo.rememberVerified(l.dir, h, f)
	}
	return true, nil
}

func (l *layoutDir) replacing(h v1.Hash, why string) {
	if l.logger != nil {
		l.logger.Warn("replacing a damaged blob in the layout", "layout", l.dir, "blob", h.String(), "why", why)
	}
}

// putBlobBytes stores b as a blob unless a reusable copy is there, and
// returns its digest.
func (l *layoutDir) putBlobBytes(b []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	if ok, err := l.reusable(h, int64(len(b))); ok || err != nil {
		return h, err
	}
	return h, l.writeBlob(h, bytes.NewReader(b), "memory")
}

// writeBlob stores the content of r as blob h, verifying it on the way: the
// bytes go to a temp file next to the destination, are hashed, synced and only
// renamed into place when they match h. A mismatch leaves nothing behind.
// Without verify a blob already present is kept; with it the caller has
// found it not reusable, and the new blob replaces it.
func (l *layoutDir) writeBlob(h v1.Hash, r io.Reader, source string) error {
	return l.commitBlob(h, func(tmp *os.File) error {
		hasher := sha256.New()
		if _, err := io.Copy(io.MultiWriter(&writeback{f: tmp}, hasher), r); err != nil {
			return fmt.Errorf("writing blob %s from %s: %w", h, source, err)
		}
		if got := sumOf(hasher); got != h {
			return &DigestError{Want: h, Got: got, Source: source}
		}
		return nil
	})
}

// copyVerifiedBlob stores blob h, of size bytes, copied from src: an open
// blob the store remembers as hashed to h (storedLayer.verifiedBlob), so it
// is copied by the kernel (copy_file_range: no pass through kiln, a clone on
// file systems that share extents) and not hashed again. Progress is
// reported per chunk.
func (l *layoutDir) copyVerifiedBlob(h v1.Hash, size int64, src *os.File, event Progress, progress func(Progress)) error {
	return l.commitBlob(h, func(tmp *os.File) error {
		progress(event)
		wb := &writeback{f: tmp}
		for event.Complete < size {
			n, err := tmp.ReadFrom(io.LimitReader(src, min(copyChunk, size-event.Complete)))
			event.Complete += n
			wb.wrote(n)
			if err != nil {
				return fmt.Errorf("writing blob %s from %s: %w", h, src.Name(), err)
			}
			if n == 0 {
				return fmt.Errorf("writing blob %s from %s: %d bytes of %d: the store's blob is shorter than recorded", h, src.Name(), event.Complete, size)
			}
			progress(event)
		}
		event.Done = true
		progress(event)
		return nil
	})
}

// copyChunk is how much copyVerifiedBlob copies between progress reports.
const copyChunk = 8 << 20

// commitBlob writes blob h through fill into a temp file next to its
// place, then syncs it and renames it into place; a failure leaves nothing
// behind. Without verify a blob already present is kept.
func (l *layoutDir) commitBlob(h v1.Hash, fill func(tmp *os.File) error) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("writing blob %s: unsupported digest algorithm", h)
	}
	if !l.verify && l.hasBlob(h) {
		return nil
	}
	dst := l.blobPath(h)
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+h.Hex[:12]+"-*")
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		tmp.Close()
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	if l.verify && l.memo != nil {
		// The file written, by its descriptor, whatever the path names now.
		l.memo.rememberVerified(l.dir, h, tmp)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	return nil
}

// openBlob opens blob h; the reader fails at EOF with a *DigestError when the
// content does not hash to h.
func (l *layoutDir) openBlob(h v1.Hash) (io.ReadCloser, error) {
	f, err := openRegular(l.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", h, err)
	}
	return newVerifyingReader(f, h, f.Name()), nil
}

// openRegular opens path for reading, refusing what is not a regular file
// (a FIFO would block, a device never end) without blocking on it.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, not a regular file", path, describeMode(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readBlob reads all of blob h, verified.
func (l *layoutDir) readBlob(h v1.Hash) ([]byte, error) {
	rc, err := l.openBlob(h)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	return b, nil
}

// readIndex reads index.json. It needs no lock: index.json is only ever
// replaced by rename, so a reader sees one complete version.
func (l *layoutDir) readIndex() (*v1.IndexManifest, error) {
	b, err := readRegular(filepath.Join(l.dir, indexFile))
	if err != nil {
		return nil, fmt.Errorf("reading index of layout %s: %w", l.dir, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("parsing index of layout %s: %w", l.dir, err)
	}
	return &idx, nil
}

// updateIndex runs fn on the current index.json and writes the result back,
// holding an exclusive lock so that concurrent writers serialise.
func (l *layoutDir) updateIndex(fn func(*v1.IndexManifest) error) error {
	return l.withLock(func() error {
		idx, err := l.readIndex()
		if err != nil {
			return err
		}
		if err := fn(idx); err != nil {
			return err
		}
		return l.writeIndexLocked(idx)
	})
}

func (l *layoutDir) writeIndexLocked(idx *v1.IndexManifest) error {
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(l.dir, indexFile), b, 0o644)
}

// withLock holds an exclusive flock on the layout's lock file while fn runs.
func (l *layoutDir) withLock(fn func() error) error {
	return l.withLockMode(unix.LOCK_EX, fn)
}

// withLockMode holds a flock of mode (unix.LOCK_EX or unix.LOCK_SH) on the
// layout's lock file while fn runs.
func (l *layoutDir) withLockMode(mode int, fn func() error) (err error) {
	f, err := os.OpenFile(filepath.Join(l.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("locking layout %s: %w", l.dir, err)
	}
	defer f.Close() // closing releases the lock
	for {
		err = unix.Flock(int(f.Fd()), mode)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("locking layout %s: %w", l.dir, err)
	}
	return fn()
}

// readRegular reads all of the regular file at path (see openRegular).
func readRegular(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func sumOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// verifyingReader hashes what it reads and, at EOF, turns a mismatch with the
// expected digest into a *DigestError.
type verifyingReader struct {
	rc     io.ReadCloser
	want   v1.Hash
	source string
	hasher hash.Hash
}

func newVerifyingReader(rc io.ReadCloser, want v1.Hash, source string) io.ReadCloser {
	return &verifyingReader{rc: rc, want: want, source: source, hasher: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.hasher.Write(p[:n])
	if err == io.EOF {
		if got := sumOf(v.hasher); got != v.want {
			return n, &DigestError{Want: v.want, Got: got, Source: v.source}
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }
