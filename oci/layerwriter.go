package oci

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// LayerWriter assembles a layer entry by entry (the launcher layer, process
// types, builder and buildpack layers) and streams it: every entry goes
// through tar → sha256 (diffID) → gzip → sha256 (digest) → temp file at
// once, so a layer is never held in memory. Entries are written in the
// order of the calls; names are used as given (cleaned; "/cnb/lifecycle"
// stays absolute) and may not contain "..". A LayerWriter is not safe for
// concurrent use.
type LayerWriter struct {
	t      *tarWriter
	opts   LayerOptions
	f      *os.File
	bw     *bufio.Writer
	zw     io.WriteCloser
	digest *hashingWriter
	err    error // the first error; every later call returns it
	done   bool
	// progress counts the tar bytes for LayerOptions.Progress (nil without).
	progress *layerProgress
}

// layerProgressEvery is how often a layer being written reports progress.
const layerProgressEvery = 4 << 20

// layerProgress reports the tar bytes written through it.
type layerProgress struct {
	w    io.Writer
	fn   func(Progress)
	n    int64
	next int64
}

func (p *layerProgress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.n >= p.next {
		p.fn(Progress{Phase: PhaseLayer, Complete: p.n})
		p.next = p.n + layerProgressEvery
	}
	return n, err
}

// NewLayerWriter starts a layer in a temp file under opts.TempDir (inside
// the store when opts.Store is set).
func NewLayerWriter(opts LayerOptions) (*LayerWriter, error) {
	if opts.MediaType == "" {
		opts.MediaType = types.OCILayer
	}
	if opts.MediaType != types.OCILayer && opts.MediaType != types.DockerLayer {
		return nil, fmt.Errorf("starting layer: media type %s is not a gzip layer type", opts.MediaType)
	}
	dir := opts.TempDir
	if opts.Store != nil && dir == "" {
		dir = opts.Store.tempDir()
	}
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, ".tmp-layer-*")
	if err != nil {
		return nil, fmt.Errorf("starting layer: %w", err)
	}
	var out io.Writer = f
	if opts.Store != nil { // synced before it joins the store: start that early
		out = &writeback{f: f}
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	digest := &hashingWriter{w: bw, h: sha256.New()}
	zw, err := newCompressor(digest, opts.Level)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("starting layer: %w", err)
	}
	var tarOut io.Writer = zw
	var counted *layerProgress
	if opts.Progress != nil {
		counted = &layerProgress{w: zw, fn: opts.Progress, next: layerProgressEvery}
		tarOut = counted
	}
	return &LayerWriter{t: newTarWriter(tarOut, opts), opts: opts, f: f, bw: bw, zw: zw, digest: digest, progress: counted}, nil
}

// Dir adds a directory entry.
func (w *LayerWriter) Dir(name string, mode fs.FileMode, uid, gid int) error {
	return w.add(name, func(n string) error { return w.t.dir(n, mode, uid, gid) })
}

// File adds a regular file of size bytes read from r; r must yield exactly
// size bytes.
func (w *LayerWriter) File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	return w.add(name, func(n string) error { return w.t.file(n, mode, uid, gid, size, r) })
}

// Symlink adds a symbolic link to target (stored as given), mode 0777 (or
// what LayerOptions.Mode makes of it).
func (w *LayerWriter) Symlink(name, target string, uid, gid int) error {
	return w.add(name, func(n string) error { return w.t.symlink(n, target, uid, gid) })
}

// SymlinkMode adds a symbolic link with the permission bits of mode, for
// links whose recorded mode is fixed by a format rather than by a tree: the
// lifecycle writes /cnb/process/<type> links 0755, pack the /lifecycle link
// 0644.
func (w *LayerWriter) SymlinkMode(name, target string, mode fs.FileMode, uid, gid int) error {
	return w.add(name, func(n string) error { return w.t.symlinkMode(n, target, mode, uid, gid) })
}

// Hardlink adds a hard link to target, the name of an earlier entry of
// this layer.
func (w *LayerWriter) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	return w.add(name, func(n string) error {
		t, err := cleanEntryName(target)
		if err != nil {
			return err
		}
		return w.t.hardlink(n, t, mode, uid, gid)
	})
}

// Tree adds the tree at src under the name dst, walked in sorted order, every
// entry owned by uid:gid with its on-disk mode (or LayerOptions.Mode's).
// dst itself becomes a directory entry unless it is "" (relative names) or
// "/". With LayerOptions.Parents the parents of dst come first, with the
// modes and owners of the parents of src (CNB contract §3). Hard links
// within the tree, and with earlier trees of the layer, stay links.
func (w *LayerWriter) Tree(ctx context.Context, src, dst string, uid, gid int) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.t.tree(ctx, src, dst, uid, gid); err != nil {
		w.err = fmt.Errorf("adding tree %s as %q: %w", src, dst, err)
		return w.err
	}
	return nil
}

// TreeAt is Tree of the open directory dir, for trees that others write
// (a build's layers): every entry is reached through directory handles and
// no symlink is followed. LayerOptions.Parents cannot be used with it.
func (w *LayerWriter) TreeAt(ctx context.Context, dir *beneath.Dir, dst string, uid, gid int) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.t.treeAt(ctx, dir, dst, uid, gid); err != nil {
		w.err = fmt.Errorf("adding tree %s as %q: %w", dir.Name(), dst, err)
		return w.err
	}
	return nil
}

func (w *LayerWriter) usable() error {
	if w.done {
		return ErrLayerFinished
	}
	return w.err
}

func (w *LayerWriter) add(name string, fn func(string) error) error {
	if err := w.usable(); err != nil {
		return err
	}
	n, err := cleanEntryName(name)
	if err == nil {
		err = fn(n)
	}
	if err != nil {
		w.err = fmt.Errorf("adding %q: %w", name, err)
	}
	return w.err
}

// Layer finishes the tar and the compression and returns the layer, which
// reads the written file. With a store, the file becomes the store's blob
// for the layer's digest and the diffID → digest memo is recorded.
func (w *LayerWriter) Layer() (v1.Layer, error) {
	if err := w.usable(); err != nil {
		_ = w.Abort()
		return nil, err
	}
	w.done = true
	err := errors.Join(w.t.tw.Close(), w.zw.Close(), w.bw.Flush())
	if err == nil && w.opts.Store != nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(w.f.Name())
		return nil, fmt.Errorf("finishing layer: %w", err)
	}
	if w.progress != nil {
		w.progress.fn(Progress{Phase: PhaseLayer, Complete: w.progress.n, Done: true})
	}
	l := &fileLayer{
		path:      w.f.Name(),
		digest:    sumOf(w.digest.h),
		diffID:    sumOf(w.t.diffID.h),
		size:      w.digest.n,
		mediaType: w.opts.MediaType,
	}
	if w.opts.Store == nil {
		return l, nil
	}
	stored, err := w.opts.Store.addLayer(l)
	if err != nil {
		return nil, fmt.Errorf("finishing layer %s: %w", l.digest, err)
	}
	return stored, nil
}

// Abort discards the layer and its temp file.
func (w *LayerWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.zw.Close() // flushes into the file about to be removed
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discarding layer: %w", err)
	}
	return nil
}
