package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeepTrees moves the directories of the layers m lists out of the layers
// directory into c.Trees, one per diffID, and removes the trees m no longer
// lists. The next build's restorer moves them back instead of unpacking the
// cached blobs; with the exporter's stat snapshots, an unchanged layer then
// costs neither a read nor a write. c.Trees must be on the layers
// directory's file system; "" keeps nothing. Call it after Write, when the
// layers directory is no longer needed.
func (c *Cache) KeepTrees(layers Dir, m CacheMetadata) error {
	if c.Trees == "" {
		return nil
	}
	if err := os.MkdirAll(c.Trees, 0o755); err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	keep := map[string]bool{}
	for _, bp := range m.Buildpacks {
		for name, l := range bp.Layers {
			hex, ok := strings.CutPrefix(l.SHA, "sha256:")
			if !ok || keep[hex] {
				continue
			}
			keep[hex] = true
			dst := filepath.Join(c.Trees, hex)
			if _, err := os.Lstat(dst); err == nil {
				continue
			}
			src, err := layers.scopedJoin(EscapeID(bp.ID) + "/" + name)
			if err != nil {
				return err
			}
			if err := os.Rename(src.Host, dst); err != nil {
				return fmt.Errorf("keeping cache tree of %s:%s: %w", bp.ID, name, err)
			}
			snap, err := treeSnapshot(dst)
			if err == nil {
				err = writeFileAtomic(dst+snapshotSuffix, []byte(snap+"\n"), 0o644)
			}
			if err != nil {
				return fmt.Errorf("keeping cache tree of %s:%s: %w", bp.ID, name, err)
			}
		}
	}
	entries, err := os.ReadDir(c.Trees)
	if err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	for _, e := range entries {
		if !keep[strings.TrimSuffix(e.Name(), snapshotSuffix)] {
			if err := os.RemoveAll(filepath.Join(c.Trees, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("pruning cache trees: %w", err)
			}
		}
	}
	return nil
}

// snapshotSuffix names the file next to a kept tree that holds its stat
// snapshot as KeepTrees left it.
const snapshotSuffix = ".snapshot"

// treeSnapshot is the stat snapshot of a kept tree.
func treeSnapshot(dir string) (string, error) {
	return statSnapshot(context.Background(), dir, "", 0, 0)
}

// takeTree moves the kept tree of diffID sha to dst; false when there is
// none, when it is not exactly as KeepTrees left it (a tree touched since
// is removed), or when it cannot be moved: the blob is unpacked instead.
func takeTree(trees, sha, dst string) bool {
	hex, ok := strings.CutPrefix(sha, "sha256:")
	if trees == "" || !ok {
		return false
	}
	src := filepath.Join(trees, hex)
	if fi, err := os.Lstat(src); err != nil || !fi.IsDir() {
		return false
	}
	want, err := os.ReadFile(src + snapshotSuffix)
	got, serr := treeSnapshot(src)
	if err != nil || serr != nil || strings.TrimSpace(string(want)) != got {
		os.RemoveAll(src)
		os.Remove(src + snapshotSuffix)
		return false
	}
	os.Remove(src + snapshotSuffix)
	if err := os.RemoveAll(dst); err != nil {
		return false
	}
	return os.Rename(src, dst) == nil
}
