package sandbox

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// The container's root is a private view of Config.Rootfs rather than the
// tree itself, because mount points (/proc, /dev, /tmp, /layers,
// /etc/resolv.conf …) must exist in the root directory and the tree is a
// shared, read-only cache. The view is a directory of our own
// holding, for every top-level entry of the tree, an empty placeholder on
// which the entry is bind-mounted read-only inside the container, and a
// copy of every top-level symlink. A mount whose destination exists in the
// tree, with the source's type and without symlinks on the way, goes on
// top of the bound tree. Otherwise the directories on the way to it are
// "split": each becomes a real directory in the view whose entries are
// bound one by one, so that the mount point can be created in the view.
// Nothing is ever written to the tree. The container's init builds the
// view on a tmpfs of its own mount namespace (shim_mounts.go), so nothing
// of it touches the host's disk or outlives the container.

// viewMount is a read-only bind of a path of the tree onto the view.
type viewMount struct {
	source string // host path in the tree
	dest   string // absolute path in the container
}

// destination is a mount point and whether its source is a directory.
type destination struct {
	Path  string `json:"path"`
	IsDir bool   `json:"dir,omitempty"`
}

// buildView creates the view of tree in dir for the given mount
// destinations and returns the binds that fill it. tree must be absolute
// and symlink-free.
func buildView(tree, dir string, dests []destination) ([]viewMount, error) {
	split := map[string]bool{"/": true}
	leaves := map[string]bool{} // mount point → is a directory
	for _, dst := range dests {
		d := path.Clean("/" + dst.Path)
		if d == "/" {
			return nil, fmt.Errorf("mount destination %q: the root cannot be replaced", d)
		}
		if path.Dir(d) != "/" && existsInTree(tree, d, dst.IsDir) {
			continue
		}
		leaves[d] = dst.IsDir
		for p := path.Dir(d); ; p = path.Dir(p) {
			split[p] = true
			if p == "/" {
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var mounts []viewMount
	if err := fillView(tree, dir, "/", true, split, leaves, &mounts); err != nil {
		return nil, err
	}
	return mounts, nil
}

// fillView fills the view directory for the container path rel, a split
// directory; inTree: rel is a directory of the tree, reached without a
// symlink. Otherwise (missing, a file or a symlink in the tree) the tree
// is not read there: an image's symlink is never followed on the host,
// where its target would name a host directory.
func fillView(tree, dir, rel string, inTree bool, split map[string]bool, leaves map[string]bool, mounts *[]viewMount) error {
	src := filepath.Join(tree, rel)
	dst := filepath.Join(dir, rel)
	var entries []os.DirEntry
	if inTree {
		var err error
		if entries, err = os.ReadDir(src); err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		crel := path.Join(rel, name)
		csrc := filepath.Join(src, name)
		cdst := filepath.Join(dst, name)
		isLeaf, leaf := leaves[crel]
		switch {
		case leaf:
			// Covered by a mount: only its mount point.
			if err := placeholder(cdst, isLeaf); err != nil {
				return err
			}
		case split[crel]:
			// A directory on the way to a mount point. A symlink or a file
			// here is shadowed by a real directory: mount destinations are
			// resolved in the view, never through the image's links.
			isDir := e.IsDir() // of the entry itself: a symlink is not
			mode := os.FileMode(0o755)
			if isDir {
				mode = dirMode(csrc)
			}
			if err := os.Mkdir(cdst, mode); err != nil {
				return err
			}
			if err := fillView(tree, dir, crel, isDir, split, leaves, mounts); err != nil {
				return err
			}
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(csrc)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, cdst); err != nil {
				return err
			}
		default:
			if err := placeholder(cdst, e.IsDir()); err != nil {
				return err
			}
			*mounts = append(*mounts, viewMount{source: csrc, dest: crel})
		}
	}
	// Mount points and split directories missing from the tree (e.g.
	// /layers, /proc).
	var missingLeaves, missing []string
	for p := range leaves {
		if path.Dir(p) == rel && !seen[path.Base(p)] {
			missingLeaves = append(missingLeaves, p)
		}
	}
	sort.Strings(missingLeaves)
	for _, p := range missingLeaves {
		if err := placeholder(filepath.Join(dir, p), leaves[p]); err != nil {
			return err
		}
	}
	for p := range split {
		_, leaf := leaves[p]
		if p != "/" && path.Dir(p) == rel && !seen[path.Base(p)] && !leaf {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		if err := os.Mkdir(filepath.Join(dir, p), 0o755); err != nil {
			return err
		}
		if err := fillView(tree, dir, p, false, split, leaves, mounts); err != nil {
			return err
		}
	}
	return nil
}

// existsInTree reports whether the container path p exists in tree with
// the given type and without symlinks on the way.
func existsInTree(tree, p string, isDir bool) bool {
	cur := tree
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return false
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return false
		}
		if i == len(parts)-1 && fi.IsDir() != isDir {
			return false
		}
	}
	return true
}

// placeholder creates an empty mount point at dst.
func placeholder(dst string, isDir bool) error {
	if isDir {
		return os.Mkdir(dst, 0o755)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// dirMode is the mode of the directory at p in the tree, or 0755.
func dirMode(p string) os.FileMode {
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return fi.Mode().Perm()
	}
	return 0o755
}
