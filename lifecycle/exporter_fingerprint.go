package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/oci"
)

// fingerprintVersion changes whenever what a layer's entries turn into
// (oci's tar format) or what the fingerprint covers changes: old records
// then simply stop matching.
const fingerprintVersion = "kiln-layer-fingerprint-3"

// layerSink receives a layer's entries. *oci.LayerWriter writes them;
// fingerprinter only hashes them, so that a layer whose entries did not
// change is found again without building its tar or compressing it.
type layerSink interface {
	Dir(name string, mode fs.FileMode, uid, gid int) error
	File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error
	Symlink(name, target string, uid, gid int) error
	SymlinkMode(name, target string, mode fs.FileMode, uid, gid int) error
	Hardlink(name, target string, mode fs.FileMode, uid, gid int) error
	TreeAt(ctx context.Context, src *beneath.Dir, dst string, uid, gid int) error
}

var _ layerSink = (*oci.LayerWriter)(nil)

// fingerprinter hashes the calls a layer is made of, file contents
// included. Trees are walked by the same oci.TreeWalker that
// oci.LayerWriter.Tree uses (names, modes, sizes, link targets, hard links,
// device numbers). LayerWriter's output is a function of exactly these
// calls, so equal fingerprints mean equal layers.
type fingerprinter struct {
	h      hash.Hash
	walker *oci.TreeWalker // shared by a layer's trees, as LayerWriter's is
	bytes  int64           // file content hashed
	buf    []byte
	store  *oci.Store // remembers trees by their stat snapshot; nil: none
	// probe makes TreeAt fail with errWouldRead rather than read a tree
	// of at least minSnapshotBytes that no stat snapshot vouches for.
	probe bool
	// snaps holds the stat snapshots taken of the layer's trees, which
	// the fingerprinter of the same layer's next pass (teeSink's, after a
	// probe) takes over instead of walking the trees' stats again.
	snaps map[snapTree]snapshot
}

// snapTree names a tree a layer's fill adds; snapshot is statSnapshot's
// answer for it.
type snapTree struct {
	src      *beneath.Dir
	dst      string
	uid, gid int
}

type snapshot struct {
	key  string
	size int64
	err  error
}

// snapshot returns the tree's stat snapshot, taken once per layer.
func (f *fingerprinter) snapshot(ctx context.Context, src *beneath.Dir, dst string, uid, gid int) (string, int64, error) {
	t := snapTree{src, dst, uid, gid}
	if s, ok := f.snaps[t]; ok {
		return s.key, s.size, s.err
	}
	k, size, err := statSnapshot(ctx, src, dst, uid, gid)
	if f.snaps != nil && ctx.Err() == nil {
		f.snaps[t] = snapshot{k, size, err}
	}
	return k, size, err
}

// errWouldRead is a probing fingerprinter's answer for a layer it could
// only fingerprint by reading a large tree.
var errWouldRead = errors.New("the layer's content would have to be read")

func newFingerprinter(mediaType string, store *oci.Store, mode func(string, fs.FileMode) fs.FileMode) *fingerprinter {
	f := &fingerprinter{h: sha256.New(), walker: &oci.TreeWalker{Mode: mode}, buf: make([]byte, 256<<10), store: store,
		snaps: map[snapTree]snapshot{}}
	f.str(fingerprintVersion)
	f.str(mediaType)
	return f
}

func (f *fingerprinter) str(s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	f.h.Write(n[:])
	f.h.Write([]byte(s))
}

func (f *fingerprinter) num(v uint64) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], v)
	f.h.Write(n[:])
}

func (f *fingerprinter) head(kind, name string, mode fs.FileMode, uid, gid int) {
	f.str(kind)
	f.str(name)
	f.num(uint64(mode))
	f.num(uint64(uid))
	f.num(uint64(gid))
}

func (f *fingerprinter) Dir(name string, mode fs.FileMode, uid, gid int) error {
	f.head("dir", name, mode, uid, gid)
	return nil
}

func (f *fingerprinter) File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	f.head("file", name, mode, uid, gid)
	f.num(uint64(size))
	n, err := io.CopyBuffer(f.h, io.LimitReader(r, size), f.buf)
	f.bytes += n
	if err == nil && n != size {
		err = fmt.Errorf("%s: read %d bytes of %d", name, n, size)
	}
	return err
}

func (f *fingerprinter) Symlink(name, target string, uid, gid int) error {
	f.head("symlink", name, 0, uid, gid)
	f.str(target)
	return nil
}

func (f *fingerprinter) SymlinkMode(name, target string, mode fs.FileMode, uid, gid int) error {
	f.head("symlink-mode", name, mode, uid, gid)
	f.str(target)
	return nil
}

func (f *fingerprinter) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	f.head("hardlink", name, mode, uid, gid)
	f.str(target)
	return nil
}

// TreeAt adds the fingerprint of the tree src: the hash of its entries as
// LayerWriter.TreeAt would write them (sorted, symlinks not followed, hard
// links by inode). A tree whose stat snapshot (names, modes, sizes, inodes,
// mtimes and ctimes of every entry but the root's times) was seen before
// is not read again: its recorded hash is used. Any write to a file changes
// its ctime, which the kernel sets and no buildpack can, so an equal
// snapshot means equal content.
func (f *fingerprinter) TreeAt(ctx context.Context, src *beneath.Dir, dst string, uid, gid int) error {
	f.str("tree")
	var snapKey string
	if f.store != nil {
		if k, size, err := f.snapshot(ctx, src, dst, uid, gid); err == nil {
			snapKey = k
			if b, err := os.ReadFile(snapshotPath(f.store, k)); err == nil {
				f.str(strings.TrimSpace(string(b)))
				return nil
			}
			if f.probe && size >= minSnapshotBytes {
				return errWouldRead
			}
		}
	}
	sub := &fingerprinter{h: sha256.New(), walker: f.walker, buf: f.buf}
	if err := f.walker.WalkAt(ctx, src, dst, uid, gid, sub); err != nil {
		return err
	}
	f.bytes += sub.bytes
	sum := sub.sum()
	f.str(sum)
	// Only trees worth the shortcut are remembered: small ones are read
	// again quickly, and a record per build of a small, ever-rewritten
	// tree (such as config/) would only pile up.
	if snapKey != "" && sub.bytes >= minSnapshotBytes {
		_ = writeFileAtomic(snapshotPath(f.store, snapKey), []byte(sum+"\n"), 0o644) // only a shortcut
	}
	return nil
}

// minSnapshotBytes is the content size from which a tree's stat snapshot
// is remembered.
const minSnapshotBytes = 1 << 20

// snapshotPath is where the store remembers the hash of a tree with a stat
// snapshot.
func snapshotPath(s *oci.Store, key string) string {
	return filepath.Join(s.Dir(), "lifecycle", "snapshots", key)
}

// statSnapshot hashes what lstat says of every entry of the tree dir, and
// adds up the sizes of its regular files.
func statSnapshot(ctx context.Context, dir *beneath.Dir, dst string, uid, gid int) (key string, size int64, err error) {
	h := sha256.New()
	f := &fingerprinter{h: h}
	f.str(fingerprintVersion + "-snapshot")
	f.str(dst)
	f.num(uint64(uid))
	f.num(uint64(gid))
	err = dir.Walk(func(rel string, fi *beneath.FileInfo, _ *beneath.Dir) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st := fi.Stat()
		if fi.Mode().IsRegular() {
			size += st.Size
		}
		if rel != "" {
			rel = "/" + rel
		}
		f.str(rel)
		f.num(uint64(st.Mode))
		if rel == "" {
			return nil // renaming the root changes its ctime, not its content
		}
		for _, v := range []uint64{uint64(st.Dev), st.Ino, uint64(st.Nlink), uint64(st.Size), uint64(st.Uid), uint64(st.Gid),
			uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec), uint64(st.Rdev)} {
			f.num(v)
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return f.sum(), size, nil
}

// Device hashes a device node or FIFO entry.
func (f *fingerprinter) Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error {
	f.head("special", name, mode, uid, gid)
	f.num(rdev)
	return nil
}

func (f *fingerprinter) sum() string { return hex.EncodeToString(f.h.Sum(nil)) }

// fingerprintPath is where the store remembers the diffID of the layer
// with a fingerprint.
func fingerprintPath(s *oci.Store, fp string) string {
	return filepath.Join(s.Dir(), "lifecycle", "fingerprints", fp)
}

// layer makes the layer that fill writes: when the store remembers its
// fingerprint and still holds the blob, that blob is reused without
// building a tar or compressing anything; otherwise fill runs again into a
// LayerWriter and the fingerprint is recorded. Without a store it always
// writes. id names the layer in errors.
func (x *exporting) layer(ctx context.Context, id string, fill func(w layerSink) error) (v1.Layer, error) {
	s := x.e.Store
	if s == nil {
		return x.writeLayer(fill)
	}
	// Without a previous image, a layer whose large trees no stat snapshot
	// vouches for is most likely new: it is written and fingerprinted in
	// one pass rather than read twice. With one, it is most likely the
	// same content written again, which a fingerprint finds without
	// compressing anything.
	fp := newFingerprinter(string(x.layerType), s, x.rootMode)
	fp.probe = x.e.Previous == nil
	err := fill(fp)
	var l v1.Layer
	switch {
	case errors.Is(err, errWouldRead):
		snaps := fp.snaps // taken before anything was read: still what the tee's pass would take
		fp = newFingerprinter(string(x.layerType), s, x.rootMode)
		fp.snaps = snaps
		w, err := x.newLayer()
		if err != nil {
			return nil, err
		}
		if l, err = finish(w, fill(teeSink{fp, w})); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if l, ok := x.remembered(s, fp.sum()); ok {
			return l, nil
		}
		if l, err = x.writeLayer(fill); err != nil {
			return nil, err
		}
	}
	key := fp.sum()
	x.report.CompressedBytes += fp.bytes
	d, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(fingerprintPath(s, key), []byte(d.String()+"\n"), 0o644); err != nil {
		x.log.Warn("recording a layer fingerprint", "layer", id, "err", err)
	}
	return l, nil
}

// remembered returns the layer a fingerprint was recorded for, from the
// store or from an image the exporter may reuse layers of.
func (x *exporting) remembered(s *oci.Store, key string) (v1.Layer, bool) {
	b, err := os.ReadFile(fingerprintPath(s, key))
	if err != nil {
		return nil, false
	}
	d, err := v1.NewHash(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false
	}
	if l, ok := x.storeLayer(d); ok {
		return l, true
	}
	return x.reusable(d)
}

// storeLayer returns the store's layer with diffID d in the image's media
// type family.
func (x *exporting) storeLayer(d v1.Hash) (v1.Layer, bool) {
	if x.e.Store == nil {
		return nil, false
	}
	l, ok := x.e.Store.LayerByDiffID(d)
	if !ok {
		return nil, false
	}
	if mt, err := l.MediaType(); err != nil || mt != x.layerType {
		return nil, false
	}
	return l, true
}

// reusable finds a layer by diffID among the images the exporter may take
// layers from (the previous image, the cache), whose blobs are readable.
func (x *exporting) reusable(d v1.Hash) (v1.Layer, bool) {
	for _, img := range append([]v1.Image{x.e.Previous}, x.e.Reuse...) {
		if img == nil {
			continue
		}
		l, err := img.LayerByDiffID(d)
		if err != nil {
			continue
		}
		if mt, err := l.MediaType(); err != nil || mt != x.layerType {
			continue
		}
		if rc, err := l.Compressed(); err == nil {
			rc.Close()
			return l, true
		}
	}
	return nil, false
}

// writeLayer runs fill into a new LayerWriter.
func (x *exporting) writeLayer(fill func(w layerSink) error) (v1.Layer, error) {
	w, err := x.newLayer()
	if err != nil {
		return nil, err
	}
	return finish(w, fill(w))
}

// The fingerprinter is fed by the walker that feeds LayerWriter.
var _ oci.TreeSink = (*fingerprinter)(nil)
