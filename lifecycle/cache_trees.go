package lifecycle

import (
	"fmt"
	"os"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// KeepTrees moves the directories of the layers m lists out of the layers
// directory into c.Trees, one per diffID, and discards the trees m no
// longer lists (c.Discard). The next build's restorer moves them back instead of unpacking the
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
			if err := discardTree(trees, n, c.Discard); err != nil {
				return fmt.Errorf("pruning cache trees: %w", err)
			}
		}
	}
	return nil
}

// keepTree moves the layer directory rel below layers to hex in trees, with
// its mark beside it.
func keepTree(layers *beneath.Dir, rel string, trees *beneath.Dir, hex string) error {
	if !isDirAt(layers, rel) {
		return fmt.Errorf("%s is not a directory", layers.Path(rel))
	}
	if err := layers.Rename(rel, trees, hex); err != nil {
		return err
	}
	mark, err := treeMark(trees, hex)
	if err != nil {
		return err
	}
	return trees.WriteFile(hex+snapshotSuffix, []byte(mark+"\n"), 0o644)
}

// snapshotSuffix names the file next to a kept tree that marks it as
// KeepTrees left it.
const snapshotSuffix = ".snapshot"

// treeMark identifies the kept tree name in trees: the device, inode and
// ctime of its root, which its move into place set. The tree is the very
// directory the exporter just made the layer of, moved by rename into the
// store, which is private to its owner and trusted as its blobs are; the
// mark tells it from another directory put in its place, or one whose top
// was changed, without walking it (the exporter walks the tree when it
// comes back, and reads what its stat snapshot does not vouch for).
func treeMark(trees *beneath.Dir, name string) (string, error) {
	fi, err := trees.Lstat(name)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", trees.Path(name))
	}
	st := fi.Stat()
	return fmt.Sprintf("kiln-kept-tree-1 %d %d %d", uint64(st.Dev), st.Ino, st.Ctim.Nano()), nil
}

// takeTree moves the kept tree of diffID sha to name in the buildpack's
// layers dir bp; false when there is none, when it is not as KeepTrees
// left it (it is then discarded), or when it cannot be moved: the blob is
// unpacked instead.
func takeTree(treesDir, sha string, bp *beneath.Dir, name string, discard func(string) error) bool {
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
	got, merr := treeMark(trees, hex)
	if err != nil || merr != nil || strings.TrimSpace(string(want)) != got {
		discardTree(trees, hex, discard)
		trees.Remove(hex + snapshotSuffix)
		return false
	}
	trees.Remove(hex + snapshotSuffix)
	if err := bp.RemoveAll(name); err != nil { // nothing there in a fresh layers dir
		return false
	}
	return trees.Rename(hex, bp, name) == nil
}

// discardTree moves the tree name in trees out of the way with discard
// (into the store's trash, see Cache.Discard), or removes it when there is
// none or it fails.
func discardTree(trees *beneath.Dir, name string, discard func(string) error) error {
	if discard != nil && discard(trees.Path(name)) == nil {
		return nil
	}
	return trees.RemoveAll(name)
}
