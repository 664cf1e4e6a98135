package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// PruneOptions bound what Prune keeps. With MaxSize and MaxAge both zero,
// Prune removes everything it may but the Tags entries.
type PruneOptions struct {
	// MaxSize is how many bytes (of disk blocks) the store may hold, not
	// counting the work directories of live processes and the trash: the
	// least recently used entries are removed until it fits. What the
	// store's index names, and what live kiln processes use, is never
	// removed and may alone exceed it.
	MaxSize int64
	// MaxAge removes every entry not used for longer.
	MaxAge time.Duration
	// Caches are directories of the store, relative and possibly globs,
	// whose entries other packages keep as disposable caches (records,
	// unpacked trees): an entry, with the entries whose names add a
	// "."-suffix to its name, is one unit, last used when any of them was
	// last modified.
	Caches []string
	// Tags are prefixes of the names in the store's index of images it
	// keeps as caches (kiln's "kiln.cache/…" build caches): such an entry,
	// with the blobs only it names, is a unit too, last used when its
	// manifest was read or written through the Store. They go only to
	// meet MaxSize or MaxAge.
	Tags []string
	// KeepTrash leaves removed trees in the store's trash (removed in the
	// background by the next kiln, or by a Prune without it) instead of
	// removing them now: for a prune at the end of a build.
	KeepTrash bool
}

// PruneReport is what Prune removed and what the store holds afterwards.
type PruneReport struct {
	Removed      int   // entries removed
	RemovedBytes int64 // their size
	// Size is the store's size afterwards as MaxSize counts it: everything
	// but the work directories of live processes and the trash.
	Size int64
}

// Usage is what a store holds, by kind, in bytes of disk blocks.
type Usage struct {
	Kinds []KindUsage
	// Total is the sum of the kinds.
	Total int64
}

// KindUsage is the usage of one kind of entry.
type KindUsage struct {
	// Kind is one of the Kind* constants.
	Kind    string
	Bytes   int64
	Entries int
	// Reclaimable is what Prune without limits would remove now.
	Reclaimable int64
}

// Kinds of store entries in a Usage, in the order they are listed.
const (
	KindImages  = "images"           // blobs the store's index names
	KindLayers  = "layers"           // other blobs: layers kept for reuse, and their memo records
	KindRootfs  = "root filesystems" // unpacked build and run images
	KindCaches  = "caches"           // PruneOptions.Caches
	KindWork    = "work"             // work directories of live kiln processes
	KindTrash   = "trash"            // retired trees, being removed
	KindOther   = "other"            // anything else (e.g. downloaded packages)
	sizesRecord = ".sizes.json"      // in work/: sizes of immutable trees
)

// unit is one removable store entry: a blob, a root filesystem, a cache
// entry.
type unit struct {
	kind    string
	tag     string   // an index entry, removed from the index first
	paths   []string // removed together; the first is the entry itself
	size    int64
	lastUse time.Time
	lock    string // a lock a live user holds (root filesystems), or ""
}

// Prune removes from the store what it does not need, within opts: blobs
// no image of its index names, unpacked root filesystems, the entries of
// opts.Caches, memo records of removed blobs, the work directories of
// dead kiln processes and the trash. It is safe while other kiln
// processes use the store: it removes nothing the index names, nothing
// used since the oldest live lease of another Store began (its process may
// still need it; what this Store used is not protected: prune when done),
// no root filesystem being unpacked, and no live lease's work directory;
// the decisions and removals of blobs are made under the index lock, so
// that no index ever names a removed blob.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (PruneReport, error) {
	var r PruneReport
	if err := s.prune(ctx, opts, &r); err != nil {
		return r, fmt.Errorf("pruning store %s: %w", s.dir, err)
	}
	return r, nil
}

func (s *Store) prune(ctx context.Context, opts PruneOptions, r *PruneReport) error {
	if _, err := s.leases(); err != nil { // dead leases' work directories go to the trash
		return err
	}
	if err := s.retireLegacy(); err != nil {
		return err
	}
	sizes := s.loadSizes()
	// Sizes are measured before the lock (a walk may be long); what may be
	// removed is decided under it.
	before, err := s.usage(ctx, opts.Caches, sizes, false)
	if err != nil {
		return err
	}
	trees, err := s.treeUnits(ctx, withOwnCaches(opts.Caches), sizes)
	if err != nil {
		return err
	}
	err = s.layout.withLock(func() error {
		live, err := s.leases()
		if err != nil {
			return err
		}
		cutoff := time.Now()
		for _, l := range live {
			if s.lease != nil && l.id == s.lease.id {
				continue // what this Store used is the caller's to keep
			}
			if l.start.Before(cutoff) {
				cutoff = l.start
			}
		}
		blobs, err := s.blobUnits()
		if err != nil {
			return err
		}
		tags, err := s.tagUnits(opts.Tags)
		if err != nil {
			return err
		}
		units := append(append(blobs, trees...), tags...)
		for i := range units {
			units[i].refresh()
		}
		total := before.Total
		sort.Slice(units, func(i, j int) bool { return units[i].lastUse.Before(units[j].lastUse) })
		now := time.Now()
		for _, u := range units {
			if err := ctx.Err(); err != nil {
				return err
			}
			old := opts.MaxAge > 0 && now.Sub(u.lastUse) > opts.MaxAge
			over := opts.MaxSize > 0 && total > opts.MaxSize
			limited := opts.MaxSize > 0 || opts.MaxAge > 0
			if !old && !over && (limited || u.tag != "") {
				continue
			}
			if !u.lastUse.Before(cutoff) {
				continue // a live process may need it
			}
			removed, err := s.remove(u)
			if err != nil {
				return err
			}
			if removed {
				r.Removed++
				r.RemovedBytes += u.size
				total -= u.size
			}
		}
		r.Size = total
		return s.pruneMemo()
	})
	if err != nil {
		return err
	}
	s.saveSizes(sizes)
	if opts.KeepTrash {
		return nil
	}
	return s.emptyTrash(ctx)
}

// refresh rereads a unit's last use: it may have been used since it was
// measured.
func (u *unit) refresh() {
	for _, p := range append(u.paths, u.lock) {
		if p == "" {
			continue
		}
		if fi, err := os.Lstat(p); err == nil && fi.ModTime().After(u.lastUse) {
			u.lastUse = fi.ModTime()
		}
	}
}

// remove removes a unit, trees by a rename into the trash; false when it
// is in use after all.
func (s *Store) remove(u unit) (bool, error) {
	if u.tag != "" {
		if err := s.untag(u.tag); err != nil {
			return false, err
		}
	}
	if u.lock != "" {
		f, err := os.OpenFile(u.lock, os.O_RDWR, 0)
		if err == nil {
			defer f.Close()
			if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
				return false, nil // being unpacked
			}
		}
	}
	for _, p := range u.paths {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !fi.IsDir() {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
			continue
		}
		if err := s.toTrash(p); err != nil {
			return false, err
		}
	}
	if u.lock != "" {
		// Lockers check that the path still names the file they locked.
		if err := os.Remove(u.lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return true, nil
}

// toTrash moves a tree of the store into the trash.
func (s *Store) toTrash(p string) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	dir := filepath.Join(s.dir, workDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	err := os.Rename(p, filepath.Join(dir, trashPrefix+hex.EncodeToString(b[:])))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// blobUnits lists the blobs the index does not name as units (temp files
// of writers too: a live writer's are newer than its lease).
func (s *Store) blobUnits() ([]unit, error) {
	keep, err := s.referenced()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var units []unit
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		units = append(units, unit{kind: KindLayers, paths: []string{p}, size: diskSize(fi), lastUse: fi.ModTime()})
	}
	return units, nil
}

// referenced lists the blobs (hex) the store's index names, through
// nested indexes, manifests and configs.
func (s *Store) referenced() (map[string]bool, error) {
	idx, err := s.layout.readIndex()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, d := range idx.Manifests {
		if err := s.closure(d, keep); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// closure adds to keep the blobs (hex) d names, itself included.
func (s *Store) closure(d v1.Descriptor, keep map[string]bool) error {
	if d.Digest.Hex == "" || keep[d.Digest.Hex] {
		return nil
	}
	keep[d.Digest.Hex] = true
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() && d.MediaType != "" {
		return nil // a config or layer
	}
	raw, err := os.ReadFile(s.layout.blobPath(d.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a damaged entry: nothing to keep below it
	}
	if err != nil {
		return err
	}
	children, err := blobChildren(raw)
	if err != nil {
		return nil // a layer or config named as a manifest: kept, not walked
	}
	for _, c := range children {
		if err := s.closure(c, keep); err != nil {
			return err
		}
	}
	return nil
}

// tagUnits lists the index entries whose names start with one of
// prefixes (caches the store keeps in its own layout) as units: the entry,
// with the blobs no other entry names, last used when its manifest was.
func (s *Store) tagUnits(prefixes []string) ([]unit, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	idx, err := s.layout.readIndex()
	if err != nil {
		return nil, err
	}
	sets := make([]map[string]bool, len(idx.Manifests))
	count := map[string]int{}
	for i, d := range idx.Manifests {
		sets[i] = map[string]bool{}
		if err := s.closure(d, sets[i]); err != nil {
			return nil, err
		}
		for h := range sets[i] {
			count[h]++
		}
	}
	var units []unit
	for i, d := range idx.Manifests {
		name := d.Annotations[refNameAnnotation]
		if !hasAnyPrefix(name, prefixes) {
			continue
		}
		u := unit{kind: KindImages, tag: name, lastUse: modTime(s.layout.blobPath(d.Digest))}
		for h := range sets[i] {
			if count[h] > 1 {
				continue
			}
			p := filepath.Join(s.dir, "blobs", "sha256", h)
			fi, err := os.Lstat(p)
			if err != nil {
				continue
			}
			u.paths = append(u.paths, p)
			u.size += diskSize(fi)
		}
		units = append(units, u)
	}
	return units, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// untag removes name from the index; the caller holds the index lock.
func (s *Store) untag(name string) error {
	idx, err := s.layout.readIndex()
	if err != nil {
		return err
	}
	kept := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		if d.Annotations[refNameAnnotation] != name {
			kept = append(kept, d)
		}
	}
	idx.Manifests = kept
	return s.layout.writeIndexLocked(idx)
}

// pruneMemo removes memo records whose blob is gone.
func (s *Store) pruneMemo() error {
	dir := filepath.Join(s.dir, "memo", "sha256")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			// A record being written, or left by a killed writer.
			if time.Since(modTime(p)) > time.Hour {
				os.Remove(p)
			}
			continue
		}
		rec, err := readMemo(p)
		if err == nil && s.layout.hasBlob(rec.Digest) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// treeUnits lists root filesystems and the entries of caches as units.
func (s *Store) treeUnits(ctx context.Context, caches []string, sizes *treeSizes) ([]unit, error) {
	var units []unit
	rootfs := filepath.Join(s.dir, "rootfs")
	entries, err := os.ReadDir(rootfs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(rootfs, name)
		switch {
		case strings.HasSuffix(name, ".lock"):
			if _, err := os.Lstat(strings.TrimSuffix(p, ".lock")); errors.Is(err, fs.ErrNotExist) {
				// A lock of a removed or never finished tree.
				units = append(units, unit{kind: KindRootfs, lock: p, lastUse: modTime(p)})
			}
			continue
		case strings.HasPrefix(name, ".tmp-"):
			// A tree being unpacked (under its key's lock), or left by a
			// killed unpack: .tmp-<key>-<random>.
			key := strings.TrimPrefix(name, ".tmp-")
			if i := strings.LastIndex(key, "-"); i > 0 {
				key = key[:i]
			}
			size, err := sizes.measure(ctx, p, false)
			if err != nil {
				return nil, err
			}
			units = append(units, unit{kind: KindRootfs, paths: []string{p}, size: size,
				lastUse: modTime(p), lock: filepath.Join(rootfs, key+".lock")})
			continue
		}
		size, err := sizes.measure(ctx, p, true)
		if err != nil {
			return nil, err
		}
		lock := p + ".lock"
		units = append(units, unit{kind: KindRootfs, paths: []string{p}, size: size, lastUse: modTime(lock), lock: lock})
	}
	for _, pattern := range caches {
		dirs, err := filepath.Glob(filepath.Join(s.dir, filepath.FromSlash(pattern)))
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			u, err := cacheUnits(ctx, dir, sizes)
			if err != nil {
				return nil, err
			}
			units = append(units, u...)
		}
	}
	return units, nil
}

// cacheUnits lists the entries of a cache directory as units: an entry
// with its "."-suffixed siblings.
func cacheUnits(ctx context.Context, dir string, sizes *treeSizes) ([]unit, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	byStem := map[string]*unit{}
	var stems []string
	for _, e := range entries {
		stem, _, _ := strings.Cut(e.Name(), ".")
		if stem == "" {
			stem = e.Name() // temp files of writers: units of their own
		}
		u := byStem[stem]
		if u == nil {
			u = &unit{kind: KindCaches}
			byStem[stem] = u
			stems = append(stems, stem)
		}
		p := filepath.Join(dir, e.Name())
		size, err := sizes.measure(ctx, p, true)
		if err != nil {
			return nil, err
		}
		u.paths = append(u.paths, p)
		u.size += size
		if t := modTime(p); t.After(u.lastUse) {
			u.lastUse = t
		}
	}
	units := make([]unit, 0, len(stems))
	for _, stem := range stems {
		units = append(units, *byStem[stem])
	}
	return units, nil
}

func modTime(p string) time.Time {
	fi, err := os.Lstat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// diskSize is the disk space a file takes.
func diskSize(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// blobChildren lists the blobs a manifest or index names: its manifests
// (walked further), config and layers (media types set to say they are
// not).
func blobChildren(raw []byte) ([]v1.Descriptor, error) {
	var m struct {
		Manifests []v1.Descriptor `json:"manifests"`
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := m.Manifests
	leaf := func(d v1.Descriptor) v1.Descriptor {
		if d.MediaType == "" || d.MediaType.IsIndex() || d.MediaType.IsImage() {
			d.MediaType = "application/octet-stream" // a leaf, whatever it claims
		}
		return d
	}
	if m.Config != nil {
		out = append(out, leaf(*m.Config))
	}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 {
			out = append(out, leaf(l))
		}
	}
	return out, nil
}

// readMemo reads a memo record.
func readMemo(p string) (memoRecord, error) {
	var rec memoRecord
	b, err := os.ReadFile(p)
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(b, &rec)
}
