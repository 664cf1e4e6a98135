package lifecycle

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// appLayers adds one layer per slice, in order, then one for the files no
// slice took: always len(slices)+1 layers, empty ones included (CNB
// contract §3). Without slices the single layer is "Application Layer".
func (x *exporting) appLayers(ctx context.Context, sl []Slice) error {
	tree, err := readAppTree(ctx, x.app)
	if err != nil {
		return fmt.Errorf("reading app dir: %w", err)
	}
	defer tree.dir.Close()
	var files [][]string
	for i, s := range sl {
		matched, err := tree.matchSlice(x.app, s)
		if err != nil {
			return fmt.Errorf("slice %d: %w", i+1, err)
		}
		files = append(files, matched)
	}
	files = append(files, tree.remaining())
	prev := map[string]bool{}
	if x.prev != nil {
		for _, a := range x.prev.App {
			prev[a.SHA] = true
		}
	}
	var reused int
	var reports []LayerReport
	for i, f := range files {
		createdBy := fmt.Sprintf("Application Slice: %d", i+1)
		if len(sl) == 0 {
			createdBy = appLayerCreatedBy
		}
		layer, err := x.appLayer(ctx, tree, f)
		if err != nil {
			return fmt.Errorf("creating app layer %d: %w", i+1, err)
		}
		d, err := layer.DiffID()
		if err != nil {
			return err
		}
		r, err := x.add(fmt.Sprintf("slice-%d", i+1), createdBy, layer, prev[d.String()])
		if err != nil {
			return err
		}
		if r.Reused {
			reused++
		}
		reports = append(reports, r)
		x.meta.App = append(x.meta.App, LayerSHA{SHA: d.String()})
	}
	if reused > 0 {
		fmt.Fprintf(x.out, "Reusing %d/%d app layer(s)\n", reused, len(reports))
	}
	if n := len(reports) - reused; n > 0 {
		fmt.Fprintf(x.out, "Adding %d/%d app layer(s)\n", n, len(reports))
	}
	return nil
}

// appLayer writes the files (paths in the app dir, sorted) as one layer: the parents
// of the app dir, then the files under their container names, owned by the
// CNB user. An empty list gives an empty layer.
func (x *exporting) appLayer(ctx context.Context, tree *appTree, files []string) (v1.Layer, error) {
	return x.layer(ctx, x.app.Container, func(w layerSink) error {
		if len(files) > 0 {
			if err := x.parents(w, tree.dir, x.app, x.app.Container); err != nil {
				return err
			}
		}
		links := map[[2]uint64]string{}
		for _, f := range files {
			if err := x.appEntry(w, tree, f, links); err != nil {
				return err
			}
		}
		return nil
	})
}

// appEntry writes one file of the app dir, f its path in the app dir ("":
// the dir itself).
func (x *exporting) appEntry(w layerSink, tree *appTree, f string, links map[[2]uint64]string) error {
	fi := tree.infos[f]
	name := path.Join(x.app.Container, f)
	uid, gid := x.e.UID, x.e.GID
	switch {
	case fi.IsDir():
		return w.Dir(name, x.rootMode(name, fi.Mode()), uid, gid)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := tree.dir.Readlink(f)
		if err != nil {
			return err
		}
		return w.Symlink(name, target, uid, gid)
	case fi.Mode().IsRegular():
		if st := fi.Stat(); st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
			if first, ok := links[key]; ok {
				return w.Hardlink(name, first, fi.Mode(), uid, gid)
			}
			links[key] = name
		}
		file, err := tree.dir.OpenSame(f, fi)
		if err != nil {
			return err
		}
		defer file.Close() // read-only
		return w.File(name, fi.Mode(), uid, gid, fi.Size(), file)
	}
	x.log.Debug("skipping special file in the app dir", "path", name, "mode", fi.Mode())
	return nil
}

// appTree is the app directory as walked once (symlinks not followed), and
// which of its paths a slice has taken. Paths are relative to the app dir,
// "" for the dir itself; files are opened through dir, its handle.
type appTree struct {
	dir      *beneath.Dir
	infos    map[string]*beneath.FileInfo
	children map[string][]string
	taken    map[string]bool
}

func readAppTree(ctx context.Context, app Dir) (*appTree, error) {
	dir, err := openTree(app)
	if err != nil {
		return nil, err
	}
	t := &appTree{dir: dir, infos: map[string]*beneath.FileInfo{}, children: map[string][]string{}, taken: map[string]bool{}}
	err = dir.Walk(func(rel string, fi *beneath.FileInfo, _ *beneath.Dir) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.infos[rel] = fi
		t.taken[rel] = false
		if rel != "" {
			parent := parentOf(rel)
			t.children[parent] = append(t.children[parent], rel)
		}
		return nil
	})
	if err != nil {
		dir.Close()
		return nil, err
	}
	return t, nil
}

// parentOf is the parent of rel in an appTree.
func parentOf(rel string) string {
	if p := path.Dir(rel); p != "." {
		return p
	}
	return ""
}

// depth is how deep rel lies in an appTree (the root: 0).
func depth(rel string) int {
	if rel == "" {
		return 0
	}
	return strings.Count(rel, "/") + 1
}

// matchSlice takes the paths the slice's globs match that no earlier slice
// took (a matched directory brings its whole subtree), adds their parents
// up to the app dir, and returns them sorted. Globs are relative to the app
// dir and matched component by component as filepath.Glob does, against the
// walked tree only; an absolute glob inside the app dir's container path is
// made relative. A glob that climbs out of the app dir matches nothing.
func (t *appTree) matchSlice(app Dir, s Slice) ([]string, error) {
	matched := map[string]bool{}
	for _, pattern := range s.Paths {
		if rel, ok := strings.CutPrefix(pattern, app.Container+"/"); ok {
			pattern = rel
		}
		globs, err := t.glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("bad pattern for glob path %q: %w", pattern, err)
		}
		for _, g := range globs {
			t.take(g, matched)
		}
	}
	var parents []string
	added := map[string]bool{}
	for f := range matched {
		if f == "" {
			continue
		}
		for p := parentOf(f); ; p = parentOf(p) {
			if !matched[p] && !added[p] {
				added[p] = true
				parents = append(parents, p)
			}
			if p == "" {
				break
			}
		}
	}
	// A parent all of whose children are taken is taken too, deepest
	// first so that the answer propagates upwards.
	slices.SortFunc(parents, func(a, b string) int { return depth(b) - depth(a) })
	for _, p := range parents {
		all := true
		for _, c := range t.children[p] {
			if !t.taken[c] {
				all = false
				break
			}
		}
		t.taken[p] = all
	}
	out := make([]string, 0, len(matched)+len(parents))
	for f := range matched {
		out = append(out, f)
	}
	out = append(out, parents...)
	slices.Sort(out)
	return out, nil
}

// glob returns the walked paths pattern matches, as filepath.Glob of the
// pattern joined to the app dir would (symlinks aside: they are not
// followed).
func (t *appTree) glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	const root = "/app" // any root: joining only cleans the pattern
	joined := path.Join(root, pattern)
	if joined == root {
		return []string{""}, nil
	}
	rel, ok := strings.CutPrefix(joined, root+"/")
	if !ok {
		return nil, nil
	}
	want := strings.Split(rel, "/")
	var out []string
	for p := range t.infos {
		got := strings.Split(p, "/")
		if p == "" || len(got) != len(want) {
			continue
		}
		match := true
		for i := range want {
			if ok, _ := path.Match(want[i], got[i]); !ok {
				match = false
				break
			}
		}
		if match {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// take marks p and its subtree as taken into matched, unless p is outside
// the tree or taken already.
func (t *appTree) take(p string, matched map[string]bool) {
	if taken, ok := t.taken[p]; !ok || taken {
		return
	}
	for _, c := range t.children[p] {
		t.take(c, matched)
	}
	matched[p] = true
	t.taken[p] = true
}

// remaining returns, sorted, the paths no slice took, and takes them.
func (t *appTree) remaining() []string {
	var out []string
	for p, taken := range t.taken {
		if !taken {
			out = append(out, p)
			t.taken[p] = true
		}
	}
	slices.Sort(out)
	return out
}
