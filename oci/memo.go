package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// The memo remembers, for each layer kiln wrote into the store, the
// compressed blob of its uncompressed content: memo/sha256/<diffID hex>
// holds a small JSON record, replaced atomically. A layer whose content did
// not change is then found by its diffID and never compressed again.
type memoRecord struct {
	Digest    v1.Hash         `json:"digest"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"mediaType"`
}

func (s *Store) memoPath(diffID v1.Hash) string {
	return filepath.Join(s.dir, "memo", diffID.Algorithm, diffID.Hex)
}

// tempDir is where LayerWriter writes layers bound for the store: next to
// the blobs, so that finishing one is a rename.
func (s *Store) tempDir() string {
	return filepath.Join(s.dir, "blobs", "sha256")
}

// LayerByDiffID returns the layer the store holds for uncompressed content
// diffID, backed by its stored compressed blob (verified when read), if
// kiln wrote or memoised such a layer before.
func (s *Store) LayerByDiffID(diffID v1.Hash) (v1.Layer, bool) {
	b, err := os.ReadFile(s.memoPath(diffID))
	if err != nil {
		return nil, false
	}
	var rec memoRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, false
	}
	// Marked as used before the size check, so that Prune keeps it from
	// here on.
	p := s.layout.blobPath(rec.Digest)
	if !s.use(p) {
		return nil, false
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != rec.Size {
		return nil, false
	}
	return &storedLayer{s: s, diffID: diffID, rec: rec}, true
}

// RememberLayer records l's diffID → compressed digest in the memo. l's
// compressed blob must be in the store already for LayerByDiffID to use
// it.
func (s *Store) RememberLayer(l v1.Layer) error {
	diffID, err := l.DiffID()
	if err != nil {
		return fmt.Errorf("remembering layer: %w", err)
	}
	d, err := l.Digest()
	if err != nil {
		return fmt.Errorf("remembering layer %s: %w", diffID, err)
	}
	size, err := l.Size()
	if err != nil {
		return fmt.Errorf("remembering layer %s: %w", diffID, err)
	}
	mt, err := l.MediaType()
	if err != nil {
		return fmt.Errorf("remembering layer %s: %w", diffID, err)
	}
	b, err := json.Marshal(memoRecord{Digest: d, Size: size, MediaType: mt})
	if err != nil {
		return err
	}
	p := s.memoPath(diffID)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("remembering layer %s: %w", diffID, err)
	}
	if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("remembering layer %s: %w", diffID, err)
	}
	return nil
}

// addLayer moves a freshly written layer file into the store as its blob,
// replacing the blob already there, if any (the same bytes), and
// remembers it. The file's bytes were hashed as they were written, so it
// is remembered as verified too: copying it into an output needs no second
// hash (storedLayer.verifiedBlob). The rename is made under the layout's
// lock, shared, as use marks a blob: Prune, which decides and removes
// under it exclusively, never removes the new file for the old one's age.
func (s *Store) addLayer(l *fileLayer) (v1.Layer, error) {
	dst := s.layout.blobPath(l.digest)
	if err := os.Chmod(l.path, 0o644); err != nil {
		os.Remove(l.path)
		return nil, err
	}
	if err := s.layout.withLockMode(unix.LOCK_SH, func() error { return os.Rename(l.path, dst) }); err != nil {
		os.Remove(l.path)
		return nil, err
	}
	if f, err := openRegular(dst); err == nil {
		s.rememberVerified(s.layout.dir, l.digest, f)
		f.Close()
	}
	if err := s.RememberLayer(l); err != nil {
		return nil, err
	}
	return &storedLayer{s: s, diffID: l.diffID, rec: memoRecord{Digest: l.digest, Size: l.size, MediaType: l.mediaType}}, nil
}

// storedLayer is a layer whose compressed blob is in the store.
type storedLayer struct {
	s      *Store
	diffID v1.Hash
	rec    memoRecord
}

var _ v1.Layer = (*storedLayer)(nil)

func (l *storedLayer) Digest() (v1.Hash, error)            { return l.rec.Digest, nil }
func (l *storedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *storedLayer) Size() (int64, error)                { return l.rec.Size, nil }
func (l *storedLayer) MediaType() (types.MediaType, error) { return l.rec.MediaType, nil }

// Compressed opens the stored blob; reading it to the end verifies it.
func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	return l.s.layout.openBlob(l.rec.Digest)
}

// verifiedBlob opens the stored blob when the store remembers it, by its
// fstat, as hashed to its digest (written by a LayerWriter, or verified
// before): a copy of it then needs no hashing. ok is false otherwise,
// and the blob is read through Compressed.
func (l *storedLayer) verifiedBlob() (f *os.File, ok bool) {
	f, err := openRegular(l.s.layout.blobPath(l.rec.Digest))
	if err != nil {
		return nil, false
	}
	if !l.s.wasVerified(l.s.layout.dir, l.rec.Digest, f) {
		f.Close()
		return nil, false
	}
	return f, true
}

// Uncompressed decompresses the stored blob as it is read.
func (l *storedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("decompressing layer %s: %w", l.rec.Digest, err)
	}
	return &gunzipReader{zr: zr, c: rc}, nil
}
