package lifecycle

import (
	"context"
	"crypto/sha256"
	"io"
	"io/fs"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/oci"
)

// teeSink writes a layer and fingerprints it in the same pass, each file
// read once: for a layer most likely new (see layer), where fingerprinting
// first and then writing would read every tree twice. The fingerprint is
// the one fingerprinter computes from the same calls, so the next build
// finds the layer by it.
type teeSink struct {
	fp *fingerprinter
	w  *oci.LayerWriter
}

var _ layerSink = teeSink{}

func (t teeSink) Dir(name string, mode fs.FileMode, uid, gid int) error {
	if err := t.fp.Dir(name, mode, uid, gid); err != nil {
		return err
	}
	return t.w.Dir(name, mode, uid, gid)
}

func (t teeSink) File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	h := observer{t.fp}
	hw, err := h.File(name, mode, uid, gid, size)
	if err != nil {
		return err
	}
	return t.w.File(name, mode, uid, gid, size, io.TeeReader(r, hw))
}

func (t teeSink) Symlink(name, target string, uid, gid int) error {
	if err := t.fp.Symlink(name, target, uid, gid); err != nil {
		return err
	}
	return t.w.Symlink(name, target, uid, gid)
}

func (t teeSink) SymlinkMode(name, target string, mode fs.FileMode, uid, gid int) error {
	if err := t.fp.SymlinkMode(name, target, mode, uid, gid); err != nil {
		return err
	}
	return t.w.SymlinkMode(name, target, mode, uid, gid)
}

func (t teeSink) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	if err := t.fp.Hardlink(name, target, mode, uid, gid); err != nil {
		return err
	}
	return t.w.Hardlink(name, target, mode, uid, gid)
}

// TreeAt writes the tree and hashes it as fingerprinter.TreeAt does, and
// remembers its stat snapshot for the next build.
func (t teeSink) TreeAt(ctx context.Context, src *beneath.Dir, dst string, uid, gid int) error {
	t.fp.str("tree")
	// The snapshot is taken before the content is read, as fingerprinter
	// takes it (the probing pass took it, and it is reused): a tree
	// changed while it is read then has other ctimes than the snapshot
	// recorded, which no later snapshot matches.
	snapKey := ""
	if t.fp.store != nil {
		if k, _, err := t.fp.snapshot(ctx, src, dst, uid, gid); err == nil {
			snapKey = k
		}
	}
	sub := &fingerprinter{h: sha256.New()}
	if err := t.w.TreeAtObserved(ctx, src, dst, uid, gid, observer{sub}); err != nil {
		return err
	}
	t.fp.bytes += sub.bytes
	sum := sub.sum()
	t.fp.str(sum)
	if snapKey != "" && sub.bytes >= minSnapshotBytes {
		_ = writeFileAtomic(snapshotPath(t.fp.store, snapKey), []byte(sum+"\n"), 0o644) // only a shortcut
	}
	return nil
}

// observer is a fingerprinter as an oci.TreeObserver: file contents are
// hashed as the layer writer reads them.
type observer struct{ f *fingerprinter }

var _ oci.TreeObserver = observer{}

func (o observer) Dir(name string, mode fs.FileMode, uid, gid int) error {
	return o.f.Dir(name, mode, uid, gid)
}

func (o observer) File(name string, mode fs.FileMode, uid, gid int, size int64) (io.Writer, error) {
	o.f.head("file", name, mode, uid, gid)
	o.f.num(uint64(size))
	o.f.bytes += size // the layer writer fails unless it reads exactly size bytes
	return o.f.h, nil
}

func (o observer) Symlink(name, target string, uid, gid int) error {
	return o.f.Symlink(name, target, uid, gid)
}

func (o observer) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	return o.f.Hardlink(name, target, mode, uid, gid)
}

func (o observer) Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error {
	return o.f.Device(name, mode, uid, gid, rdev)
}
