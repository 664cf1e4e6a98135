package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// The verified memo spares an unchanged output layout the re-hashing of
// every blob it already holds on each write. The store remembers, for a
// blob of a layout that kiln wrote or hashed, what fstat said of the file
// then: device, inode, size, modification and change times. Any write,
// truncation, chmod or replacement of the file changes its ctime, which
// the kernel sets and no one but root can set back, so an equal record
// means the bytes hashed then are the bytes there now. The record lives in
// the store (private to its owner), keyed by the layout's directory and
// the digest: memo/verified/<sha256 of both>.
type blobStat struct {
	Digest v1.Hash `json:"digest"`
	Dev    uint64  `json:"dev"`
	Ino    uint64  `json:"ino"`
	Size   int64   `json:"size"`
	Mtime  int64   `json:"mtime"`
	Ctime  int64   `json:"ctime"`
}

func statOf(f *os.File, h v1.Hash) (blobStat, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return blobStat{}, false
	}
	return blobStat{Digest: h, Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, true
}

func (s *Store) verifiedPath(layout string, h v1.Hash) string {
	abs, err := filepath.Abs(layout)
	if err != nil {
		abs = layout
	}
	k := sha256.Sum256([]byte(abs + "\x00" + h.String()))
	return filepath.Join(s.dir, "memo", "verified", hex.EncodeToString(k[:]))
}

// wasVerified tells whether the open blob f of layout is, by its fstat, the
// file hashed as h before.
func (s *Store) wasVerified(layout string, h v1.Hash, f *os.File) bool {
	now, ok := statOf(f, h)
	if !ok {
		return false
	}
	b, err := os.ReadFile(s.verifiedPath(layout, h))
	if err != nil {
		return false
	}
	var rec blobStat
	return json.Unmarshal(b, &rec) == nil && rec == now
}

// rememberVerified records the open blob f of layout as hashed to h. It is
// only a shortcut: errors are dropped, and nothing is synced.
func (s *Store) rememberVerified(layout string, h v1.Hash, f *os.File) {
	rec, ok := statOf(f, h)
	if !ok || s.lease == nil {
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	p := s.verifiedPath(layout, h)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}
