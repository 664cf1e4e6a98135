package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/oci/internal/fsutil"
)

// Rootfs returns a directory holding img unpacked with opts, from the
// store's cache of root filesystems (rootfs/<image digest hex>-root or
// -rootless) or unpacked there now. The tree is shared by every later build
// of the same image: callers must treat it as read-only (mount it
// read-only, or copy it) and never write into it. Being shared, it is
// always unpacked with Shared set: it holds no setuid or setgid file and
// no device node, whoever reaches it.
//
// The tree is built in a temp directory inside the store and renamed into
// place when complete, so an interrupted unpack leaves no partial tree
// under the final name. A lock per image (rootfs/<key>.lock) serialises
// concurrent callers, in this process or others, so the image is unpacked
// once; its modification time is the tree's last use, which keeps Prune
// from removing it while this Store's lease lives.
func (s *Store) Rootfs(ctx context.Context, img v1.Image, opts UnpackOptions) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("unpacking root filesystem: %w", err)
	}
	opts.Shared = true
	key := d.Hex + "-root"
	if opts.Rootless {
		key = d.Hex + "-rootless"
	}
	base := filepath.Join(s.dir, "rootfs")
	dir := filepath.Join(base, key)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	if err := os.Chmod(base, 0o700); err != nil { // made 0755 by earlier kilns
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	lock := filepath.Join(base, key+".lock")
	// Marked used, then checked: a Prune either saw the mark or removed
	// the tree before it, and then it is unpacked again.
	if s.use(lock) {
		if ok, err := isDir(dir); ok || err != nil {
			return dir, err
		}
	}
	unlock, err := lockPath(ctx, lock)
	if err != nil {
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	defer unlock()
	s.use(lock)
	if ok, err := isDir(dir); ok || err != nil {
		return dir, err // another caller finished it while we waited
	}
	// Under the lock, temp trees of this image can only be leftovers of a
	// caller that died.
	if stale, _ := filepath.Glob(filepath.Join(base, ".tmp-"+key+"-*")); len(stale) > 0 {
		for _, p := range stale {
			_ = fsutil.RemoveAll(p)
		}
	}
	if !opts.Rootless {
		// rootfs/<hex>, the root tree of kilns before -root, kept setuid
		// files and device nodes: it goes once it is replaced.
		_ = fsutil.RemoveAll(filepath.Join(base, d.Hex))
	}
	tmp, err := os.MkdirTemp(base, ".tmp-"+key+"-")
	if err != nil {
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	if err := Unpack(ctx, img, tmp, opts); err != nil {
		_ = fsutil.RemoveAll(tmp)
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = fsutil.RemoveAll(tmp)
		return "", fmt.Errorf("unpacking root filesystem of %s: %w", d, err)
	}
	return dir, nil
}

func isDir(p string) (bool, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// lockPath takes an exclusive flock on path, polling so that ctx can cancel
// the wait; unlock releases it. The lock is on the file path names when
// it is taken: one removed meanwhile (by Prune) is opened again.
func lockPath(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			if same, err := samePath(f, path); err != nil || !same {
				f.Close()
				if err != nil {
					return nil, err
				}
				return lockPath(ctx, path)
			}
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// samePath tells whether path still names the open file f.
func samePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}
