package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci/internal/fsutil"
)

// UnpackOptions says how layers are unpacked into a directory. The zero
// value unpacks as root: ownership applied, device nodes created, setuid,
// setgid and sticky bits kept.
type UnpackOptions struct {
	// Rootless unpacks as an unprivileged user: device nodes are skipped,
	// setuid, setgid and sticky bits are dropped and ownership is not
	// applied (every file belongs to the caller).
	Rootless bool
	// Shared unpacks a tree that others may reach and run from: setuid
	// and setgid bits of files are dropped and device nodes are skipped
	// (with hard links to them), so that the tree never hands out another
	// user's privileges or raw devices. Ownership, directory modes and
	// FIFOs are kept. Store.Rootfs always sets it.
	Shared bool
	// MaxSize caps the file content one Unpack or UnpackLayer call writes,
	// each regular file counted at its size before any byte of it is
	// written, holes of sparse files included (they take no disk but
	// reading them takes time). Past it the unpack fails with
	// ErrUnpackTooLarge. 0 means DefaultMaxUnpackSize; negative, no cap.
	// It is not part of the rootfs cache key.
	MaxSize int64
	// Progress, when set, receives PhaseUnpack events: for each layer
	// (Blob set) its compressed bytes read so far against its size, then
	// one Done event for the whole image (Blob zero, Ref the image digest).
	// Layers are then read through their compressed stream, which costs a
	// compression for a layer that only exists as a plain tar (a docker
	// archive's). Only Unpack and Store.Rootfs report; it is not part of
	// the rootfs cache key.
	Progress func(Progress)
}

// Unpack unpacks the layers of img, lowest first, into dir, which must
// exist. Whiteouts of upper layers remove what lower layers wrote. Every
// name and link target is resolved inside dir; an entry that would climb
// out of it fails with ErrUnsafePath and a symlink pointing outside is
// followed as if dir were the root, never out of it.
//
// Directories keep owner write permission while layers are unpacked; their
// modes and times are applied once the last layer is done.
func Unpack(ctx context.Context, img v1.Image, dir string, opts UnpackOptions) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("unpacking image: listing layers: %w", err)
	}
	u := newUnpacker(dir, opts)
	var done Progress
	if opts.Progress != nil {
		if done, err = unpackEvent(img); err != nil {
			return fmt.Errorf("unpacking image: %w", err)
		}
	}
	for _, l := range layers {
		if opts.Progress == nil {
			err = u.unpackLayer(ctx, l)
		} else {
			var n int64
			n, err = u.unpackLayerReporting(ctx, l, done)
			done.Complete += n
			done.Total += n
		}
		if err != nil {
			return err
		}
	}
	if err := u.finish(); err != nil {
		return fmt.Errorf("unpacking image into %s: %w", dir, err)
	}
	if opts.Progress != nil {
		done.Done = true
		opts.Progress(done)
	}
	return nil
}

// UnpackLayer unpacks one uncompressed layer tar into dir, applying its
// whiteouts to what dir already holds. See Unpack for the rules.
func UnpackLayer(ctx context.Context, tarStream io.Reader, dir string, opts UnpackOptions) error {
	u := newUnpacker(dir, opts)
	if err := u.unpackTar(ctx, tarStream); err != nil {
		return fmt.Errorf("unpacking layer into %s: %w", dir, err)
	}
	if err := u.finish(); err != nil {
		return fmt.Errorf("unpacking layer into %s: %w", dir, err)
	}
	return nil
}

// unpacker carries what outlives one layer: the directories whose mode and
// times are applied at the end.
type unpacker struct {
	root string
	opts UnpackOptions
	dirs map[string]dirMeta // host path → final mode and time
	seen map[string]bool    // names (relative to root) written by the current layer
	// skipped are the names (relative to root) of device nodes left out,
	// so that hard links to them are left out too.
	skipped map[string]bool
	written int64  // bytes of file content so far, against the cap
	buf     []byte // one chunk of content being copied
}

type dirMeta struct {
	mode  fs.FileMode
	mtime time.Time
}

func newUnpacker(root string, opts UnpackOptions) *unpacker {
	return &unpacker{root: root, opts: opts, dirs: map[string]dirMeta{}, skipped: map[string]bool{}}
}

func (u *unpacker) unpackLayer(ctx context.Context, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return fmt.Errorf("unpacking layer: %w", err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	err = u.unpackTar(ctx, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	return nil
}

func (u *unpacker) unpackTar(ctx context.Context, r io.Reader) error {
	u.seen = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		if err := u.entry(ctx, hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// finish applies the deferred modes and times of directories, deepest
// first: a parent made 0000 before its children would lock an
// unprivileged caller out of them. A directory that a later layer removed
// or replaced is left alone.
func (u *unpacker) finish() error {
	paths := make([]string, 0, len(u.dirs))
	for p := range u.dirs {
		paths = append(paths, p)
	}
	// A child sorts after its parent, so reverse order puts it first.
	slices.Sort(paths)
	slices.Reverse(paths)
	for _, p := range paths {
		m := u.dirs[p]
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(p, m.mode); err != nil {
			return err
		}
		if err := fsutil.Lutimes(p, m.mtime); err != nil {
			return err
		}
	}
	return nil
}

// forget drops the deferred metadata of p and everything below it, when a
// directory is removed and the path may come back as something else.
func (u *unpacker) forget(p string) {
	delete(u.dirs, p)
	prefix := p + string(os.PathSeparator)
	for k := range u.dirs {
		if strings.HasPrefix(k, prefix) {
			delete(u.dirs, k)
		}
	}
}
