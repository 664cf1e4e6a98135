package oci

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// Usage measures what the store holds, by kind; caches are the directories
// of PruneOptions.Caches. Trees whose size was measured before and that did
// not change (root filesystems and cache entries are never written once in
// place) are not walked again.
func (s *Store) Usage(ctx context.Context, caches []string) (Usage, error) {
	sizes := s.loadSizes()
	u, err := s.usage(ctx, caches, sizes, true)
	if err != nil {
		return Usage{}, err
	}
	s.saveSizes(sizes)
	return u, nil
}

// usage measures the store; without work, the work directories and the
// trash are left out (counted neither there nor as other).
func (s *Store) usage(ctx context.Context, caches []string, sizes *treeSizes, work bool) (Usage, error) {
	kinds := map[string]*KindUsage{}
	order := []string{KindImages, KindLayers, KindRootfs, KindCaches, KindWork, KindTrash, KindOther}
	for _, k := range order {
		kinds[k] = &KindUsage{Kind: k}
	}
	counted := map[string]bool{} // paths measured as a kind: not "other"
	live, err := s.leases()
	if err != nil {
		return Usage{}, err
	}
	cutoff := time.Now()
	for _, l := range live {
		if l.start.Before(cutoff) {
			cutoff = l.start
		}
	}
	keep, err := s.referenced()
	if err != nil {
		return Usage{}, err
	}
	blobs := filepath.Join(s.dir, "blobs", "sha256")
	entries, _ := os.ReadDir(blobs)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		k := kinds[KindLayers]
		if keep[e.Name()] {
			k = kinds[KindImages]
		} else if fi.ModTime().Before(cutoff) {
			k.Reclaimable += diskSize(fi)
		}
		k.Bytes += diskSize(fi)
		k.Entries++
	}
	counted[blobs] = true
	caches = withOwnCaches(caches)
	memo := filepath.Join(s.dir, "memo")
	n, err := sizes.walk(ctx, memo, map[string]bool{filepath.Join(s.dir, filepath.FromSlash(verifiedCache)): true})
	if err != nil {
		return Usage{}, err
	}
	kinds[KindLayers].Bytes += n
	counted[memo] = true
	trees, err := s.treeUnits(ctx, caches, sizes)
	if err != nil {
		return Usage{}, err
	}
	for _, t := range trees {
		k := kinds[t.kind]
		k.Bytes += t.size
		k.Entries++
		if t.lastUse.Before(cutoff) && (t.lock == "" || lockFree(t.lock)) {
			k.Reclaimable += t.size
		}
		for _, p := range append(t.paths, t.lock) {
			counted[p] = true
		}
	}
	for _, pattern := range caches {
		dirs, _ := filepath.Glob(filepath.Join(s.dir, filepath.FromSlash(pattern)))
		for _, d := range dirs {
			counted[d] = true
		}
	}
	counted[filepath.Join(s.dir, "rootfs")] = true
	wd := filepath.Join(s.dir, workDir)
	entries, _ = os.ReadDir(wd)
	for _, e := range entries {
		if !work {
			break
		}
		p := filepath.Join(wd, e.Name())
		n, err := sizes.walk(ctx, p, nil)
		if err != nil {
			return Usage{}, err
		}
		k := kinds[KindWork]
		if strings.HasPrefix(e.Name(), trashPrefix) || strings.HasPrefix(e.Name(), gonePrefix) {
			k = kinds[KindTrash]
			k.Reclaimable += n
		}
		k.Bytes += n
		if e.IsDir() {
			k.Entries++
		}
	}
	counted[wd] = true
	other, err := sizes.walk(ctx, s.dir, counted)
	if err != nil {
		return Usage{}, err
	}
	kinds[KindOther].Bytes = other
	var u Usage
	for _, k := range order {
		u.Kinds = append(u.Kinds, *kinds[k])
		u.Total += kinds[k].Bytes
	}
	return u, nil
}

// treeSizes remembers the sizes of trees that do not change once in place
// (work/.sizes.json), keyed by path and checked against the tree root's
// device, inode and ctime.
type treeSizes struct {
	path  string
	known map[string]sizeRecord
	dirty bool
}

type sizeRecord struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Ctime int64  `json:"ctime"`
	Size  int64  `json:"size"`
}

func (s *Store) loadSizes() *treeSizes {
	t := &treeSizes{path: filepath.Join(s.dir, workDir, sizesRecord), known: map[string]sizeRecord{}}
	if b, err := os.ReadFile(t.path); err == nil {
		_ = json.Unmarshal(b, &t.known) // a damaged record is measured again
	}
	return t
}

// saveSizes writes the sizes still in use; it is only a shortcut.
func (s *Store) saveSizes(t *treeSizes) {
	if !t.dirty || s.lease == nil {
		return
	}
	for p := range t.known {
		if _, err := os.Lstat(p); err != nil {
			delete(t.known, p)
		}
	}
	if b, err := json.Marshal(t.known); err == nil {
		_ = atomicfile.WriteFile(t.path, b, 0o600)
	}
}

// measure is the disk size of the file or tree at p; remember allows the
// size of a tree to be remembered.
func (t *treeSizes) measure(ctx context.Context, p string, remember bool) (int64, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return diskSize(fi), nil
	}
	st, _ := fi.Sys().(*unix.Stat_t)
	if remember && st != nil {
		if r, ok := t.known[p]; ok && r.Dev == uint64(st.Dev) && r.Ino == st.Ino && r.Ctime == st.Ctim.Nano() {
			return r.Size, nil
		}
	}
	n, err := t.walk(ctx, p, nil)
	if err != nil {
		return 0, err
	}
	if remember && st != nil {
		t.known[p] = sizeRecord{Dev: uint64(st.Dev), Ino: st.Ino, Ctime: st.Ctim.Nano(), Size: n}
		t.dirty = true
	}
	return n, nil
}

// walk adds up the disk size of the tree at p, hard links once, leaving
// out the paths in skip. Unreadable directories count as empty.
func (t *treeSizes) walk(ctx context.Context, root string, skip map[string]bool) (int64, error) {
	var n int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if skip[p] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*unix.Stat_t); ok && st.Nlink > 1 && !fi.IsDir() {
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		n += diskSize(fi)
		return nil
	})
	return n, err
}

// verifiedCache is where the store remembers verified blobs of output
// layouts (store_verified.go): a cache of its own, pruned like the
// callers' caches.
const verifiedCache = "memo/verified"

func withOwnCaches(caches []string) []string {
	return append(caches[:len(caches):len(caches)], verifiedCache)
}
