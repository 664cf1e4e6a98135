package lifecycle

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// KeepTrees moves the directories of the layers m lists out of the layers
// directory into c.Trees, one per diffID, and removes the trees m no longer
// lists. The next build's restorer moves them back instead of unpacking the
// cached blobs; with the exporter's stat snapshots, an unchanged layer then
// costs neither a read nor a write. c.Trees must be on the layers
// directory's file system; "" keeps nothing. Call it after Write, when the
// layers directory is no longer needed. Every move is a rename between
// directory handles: a symlink in the layers dir is never followed.
func (c *Cache) KeepTrees(layers Dir, m CacheMetadata) error {
	if c.Trees == "" {
		return nil
	}
	if err := os.MkdirAll(c.Trees, 0o755); err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	trees, err := beneath.Open(c.Trees, "")
	if err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	defer trees.Close()
	root, err := openTree(layers)
	if err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	defer root.Close()
	keep := map[string]bool{}
	for _, bp := range m.Buildpacks {
		for _, name := range sortedKeys(bp.Layers) {
			hex, ok := strings.CutPrefix(bp.Layers[name].SHA, "sha256:")
			if !ok || keep[hex] {
				continue
			}
			keep[hex] = true
			if _, err := trees.Lstat(hex); err == nil {
				continue
			}
			if err := keepTree(root, EscapeID(bp.ID)+"/"+name, trees, hex); err != nil {
				return fmt.Errorf("keeping cache tree of %s:%s: %w", bp.ID, name, err)
			}
		}
	}
	names, err := trees.Names()
	if err != nil {
		return fmt.Errorf("keeping cache trees: %w", err)
	}
	for _, n := range names {
		if !keep[strings.TrimSuffix(n, snapshotSuffix)] {
			if err := trees.RemoveAll(n); err != nil {
				return fmt.Errorf("pruning cache trees: %w", err)
			}
		}
	}
	return nil
}

// keepTree moves the layer directory rel below layers to hex in trees, with
// its stat snapshot beside it.
func keepTree(layers *beneath.Dir, rel string, trees *beneath.Dir, hex string) error {
	if !isDirAt(layers, rel) {
		return fmt.Errorf("%s is not a directory", layers.Path(rel))
	}
	if err := layers.Rename(rel, trees, hex); err != nil {
		return err
	}
	snap, err := treeSnapshot(trees, hex)
	if err != nil {
		return err
	}
	return trees.WriteFile(hex+snapshotSuffix, []byte(snap+"\n"), 0o644)
}

// snapshotSuffix names the file next to a kept tree that holds its stat
// snapshot as KeepTrees left it.
const snapshotSuffix = ".snapshot"

// treeSnapshot is the stat snapshot of the kept tree name in trees.
func treeSnapshot(trees *beneath.Dir, name string) (string, error) {
	d, err := trees.OpenDir(name)
	if err != nil {
		return "", err
	}
	defer d.Close()
	return statSnapshot(context.Background(), d, "", 0, 0)
}

// takeTree moves the kept tree of diffID sha to name in the buildpack's
// layers dir bp; false when there is none, when it is not exactly as
// KeepTrees left it (a tree touched since is removed), or when it cannot
// be moved: the blob is unpacked instead.
func takeTree(treesDir, sha string, bp *beneath.Dir, name string) bool {
	hex, ok := strings.CutPrefix(sha, "sha256:")
	if treesDir == "" || !ok {
		return false
	}
	trees, err := beneath.Open(treesDir, "")
	if err != nil {
		return false
	}
	defer trees.Close()
	if !isDirAt(trees, hex) {
		return false
	}
	want, err := trees.ReadFile(hex+snapshotSuffix, maxTOMLSize)
	got, serr := treeSnapshot(trees, hex)
	if err != nil || serr != nil || strings.TrimSpace(string(want)) != got {
		trees.RemoveAll(hex)
		trees.Remove(hex + snapshotSuffix)
		return false
	}
	trees.Remove(hex + snapshotSuffix)
	if err := bp.RemoveAll(name); err != nil {
		return false
	}
	return trees.Rename(hex, bp, name) == nil
}
