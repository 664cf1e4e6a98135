package oci

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the timestamp of everything kiln writes deterministically: tar
// entry mtimes, config created times, history. It is the CNB convention
// (1980-01-01T00:00:01Z, Unix 315532801); the one second past midnight keeps
// tools that treat a zero DOS date as "unset" honest.
var Epoch = time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC)

// LayerOptions describes how a layer is written. The zero value writes
// relative names owned by 0:0 with Epoch mtimes to a temp file under
// os.TempDir().
type LayerOptions struct {
	// TempDir is where the compressed blob is written; default os.TempDir().
	// The file stays there for as long as the layer is used; the caller
	// removes it when done (see LayerFile) unless Store is set, in which
	// case it becomes the store's blob.
	TempDir string
	// Store, when set, receives every finished layer as a blob (the temp
	// file is created inside the store and renamed to its digest) and its
	// diffID → digest memo. LayerFromDir then reuses a layer whose diffID
	// the store already knows instead of compressing it again.
	Store *Store
	// UID and GID own the entries LayerFromDir adds from the tree.
	UID, GID int
	// Prefix is the path in the image under which LayerFromDir places the
	// tree, e.g. "/layers/acme_node/node": entries are named Prefix + the
	// path below dir, and the tree's root becomes an entry named Prefix.
	// Empty means relative names ("bin/x") and no entry for the root.
	Prefix string
	// Parents also writes entries for the parent directories of a tree's
	// destination ("/layers", "/layers/acme_node"), each with the mode and
	// owner of the corresponding parent of the source directory on disk
	// (CNB contract §3). Parents past the source's own are root-owned 0755.
	Parents bool
	// ModTime is the mtime of every entry; zero means Epoch.
	ModTime time.Time
	// Mode, when set, maps the on-disk mode of each entry added from a tree,
	// and of every symlink (fs.ModeSymlink|0o777 before the mapping), to
	// the mode recorded (name is the entry name); see NormalizedMode.
	Mode func(name string, mode fs.FileMode) fs.FileMode
	// MediaType of the layer; default types.OCILayer. Only gzip media types
	// are written.
	MediaType types.MediaType
	// Level is the gzip level; 0 means gzip.BestSpeed, which is what
	// registries and go-containerregistry use by default.
	Level int
	// Progress, when set, is told how many bytes of tar have been written
	// and compressed so far (PhaseLayer events, Total 0, every few MiB and
	// once Done), so that a long layer shows it is moving.
	Progress func(Progress)
}

// NormalizedMode is a LayerOptions.Mode for builder and buildpack layers
// (CNB contract §5.1): directories 0755, files 0755 when any execute bit is
// set and 0644 otherwise, symlinks 0755 (pack normalises their 0777 as it
// does any mode with an execute bit); devices and pipes are unchanged.
func NormalizedMode(_ string, m fs.FileMode) fs.FileMode {
	switch {
	case m.IsDir():
		return fs.ModeDir | 0o755
	case m.Type() == fs.ModeSymlink:
		return fs.ModeSymlink | 0o755
	case m.Type() != 0:
		return m
	case m&0o111 != 0:
		return 0o755
	}
	return 0o644
}

// LayerFromDir writes the tree at dir as a deterministic layer: a sorted
// walk, PAX headers, empty user and group names, opts.UID/GID owners,
// opts.ModTime (Epoch) mtimes, hard links kept as links. The tar is hashed,
// compressed and written to a temp file in one pass and the returned layer
// reads that file back.
//
// With opts.Store set, the tree is first only tarred and hashed; when the
// store's memo knows that diffID, the stored blob is returned without
// compressing anything.
func LayerFromDir(ctx context.Context, dir string, opts LayerOptions) (v1.Layer, error) {
	if opts.Store != nil {
		diffID, err := diffIDFromDir(ctx, dir, opts)
		if err != nil {
			return nil, fmt.Errorf("writing layer from %s: %w", dir, err)
		}
		want := opts.MediaType
		if want == "" {
			want = types.OCILayer
		}
		if l, ok := opts.Store.LayerByDiffID(diffID); ok {
			if mt, _ := l.MediaType(); mt == want {
				return l, nil
			}
		}
	}
	w, err := NewLayerWriter(opts)
	if err != nil {
		return nil, fmt.Errorf("writing layer from %s: %w", dir, err)
	}
	if err := w.Tree(ctx, dir, opts.Prefix, opts.UID, opts.GID); err != nil {
		_ = w.Abort()
		return nil, fmt.Errorf("writing layer from %s: %w", dir, err)
	}
	l, err := w.Layer()
	if err != nil {
		return nil, fmt.Errorf("writing layer from %s: %w", dir, err)
	}
	return l, nil
}

// diffIDFromDir tars the tree exactly as LayerFromDir would and returns
// the digest of the tar, writing nothing.
func diffIDFromDir(ctx context.Context, dir string, opts LayerOptions) (v1.Hash, error) {
	w := newTarWriter(io.Discard, opts)
	if err := w.tree(ctx, dir, opts.Prefix, opts.UID, opts.GID); err != nil {
		return v1.Hash{}, err
	}
	if err := w.tw.Close(); err != nil {
		return v1.Hash{}, err
	}
	return sumOf(w.diffID.h), nil
}

// fileLayer is a compressed layer in a file whose digests and size were
// computed while it was written.
type fileLayer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed opens the blob file.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("opening layer %s: %w", l.digest, err)
	}
	return f, nil
}

// Uncompressed opens the blob file and decompresses it as it is read.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("decompressing layer %s: %w", l.digest, err)
	}
	return &gunzipReader{zr: zr, c: f}, nil
}

// gunzipReader decompresses and closes both the gzip reader and the
// compressed stream.
type gunzipReader struct {
	zr *gzip.Reader
	c  io.Closer
}

func (r *gunzipReader) Read(p []byte) (int, error) { return r.zr.Read(p) }

func (r *gunzipReader) Close() error {
	err := r.zr.Close()
	if cerr := r.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// LayerFile returns the file holding a layer written by LayerFromDir or
// LayerWriter, so that a caller without a store can remove it when done;
// ok is false for any other layer.
func LayerFile(l v1.Layer) (path string, ok bool) {
	fl, ok := l.(*fileLayer)
	if !ok {
		return "", false
	}
	return fl.path, true
}
