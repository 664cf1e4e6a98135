package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/oci"
)

// newLayer starts a layer bound for the store, in the run image's media
// type family.
func (x *exporting) newLayer() (*oci.LayerWriter, error) {
	return oci.NewLayerWriter(oci.LayerOptions{Store: x.e.Store, MediaType: x.layerType, Mode: x.rootMode, Progress: x.e.Progress})
}

// rootMode is how directories of the layers and app trees are recorded,
// so that the image does not depend on where it was built: the layers and
// app directories themselves are 0755, the mode a build container gives
// them (in place in a pod they are volumes: an emptyDir is 0777, and only
// its owner may change that), and no directory keeps a setgid bit, which
// directories inherit from a volume with an fsGroup. Everything else keeps
// its mode.
func (x *exporting) rootMode(name string, m fs.FileMode) fs.FileMode {
	switch {
	case !m.IsDir():
		return m
	case name == x.layers.Container || name == x.app.Container:
		return fs.ModeDir | 0o755
	}
	return m &^ fs.ModeSetgid
}

// finish aborts w on err, or returns its layer.
func finish(w *oci.LayerWriter, err error) (v1.Layer, error) {
	if err != nil {
		_ = w.Abort() // the write error is the one worth returning
		return nil, err
	}
	return w.Layer()
}

// dirLayer writes the tree at the container path name, which lies inside
// root (the layers or app directory): first the parents of name, then the
// tree, everything owned by the CNB user. Parents inside root take their
// mode from disk; parents above root's container path (e.g. "/x" for a
// layers dir at "/x/layers") are 0755. The lifecycle takes the parents'
// owners from disk, where the build container made them the CNB user's;
// kiln writes that owner directly, so that the host owner never leaks.
//
// The tree and its parents are opened through directory handles below
// root: a symlink on the way, or in place of the tree, is an error, and
// nothing outside root is ever read.
func (x *exporting) dirLayer(ctx context.Context, root Dir, name string) (v1.Layer, error) {
	top, err := openTree(root)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	tree, err := top.OpenDir(relPath(root, name))
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	return x.layer(ctx, name, func(w layerSink) error {
		if err := x.parents(w, top, root, name); err != nil {
			return err
		}
		return w.TreeAt(ctx, tree, name, x.e.UID, x.e.GID)
	})
}

// relPath is the container path name (inside root's) relative to root.
func relPath(root Dir, name string) string {
	return strings.TrimPrefix(strings.TrimPrefix(name, root.Container), "/")
}

// isDirIn reports whether the container path name inside root is a
// directory (not a symlink to one).
func isDirIn(root Dir, name string) bool {
	top, err := openTree(root)
	if err != nil {
		return false
	}
	defer top.Close()
	return isDirAt(top, relPath(root, name))
}

// parents writes the parent directory entries of the container path name,
// outermost first ("/" excluded); top is root, open.
func (x *exporting) parents(w layerSink, top *beneath.Dir, root Dir, name string) error {
	var dirs []string
	for d := path.Dir(name); d != "/" && d != "."; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		mode := fs.ModeDir | 0o755
		uid, gid := 0, 0
		if d == root.Container || strings.HasPrefix(d, root.Container+"/") {
			fi, err := top.Lstat(relPath(root, d))
			if err != nil {
				return fmt.Errorf("reading parent %s: %w", d, err)
			}
			if !fi.IsDir() {
				return fmt.Errorf("parent %s is not a directory", d)
			}
			mode, uid, gid = x.rootMode(d, fi.Mode()), x.e.UID, x.e.GID
		}
		if err := w.Dir(d, mode, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// buildpackLayers adds the launch layers of every buildpack, in group
// order and, within a buildpack, in layer order (by name).
func (x *exporting) buildpackLayers(ctx context.Context, bps []BuildpackOutput) error {
	for _, bp := range bps {
		md := BuildpackLayers{ID: bp.ID, Version: bp.Version, Layers: map[string]LayerMetadata{}}
		if bp.Store != nil {
			md.Store = &StoreMetadata{Data: bp.Store}
		}
		prev := x.prev.ForBuildpack(bp.ID)
		for _, l := range bp.Layers {
			if !l.Launch {
				continue
			}
			sha, err := x.buildpackLayer(ctx, bp.GroupEntry, l, prev.Layers[l.Name])
			if err != nil {
				return err
			}
			md.Layers[l.Name] = LayerMetadata{SHA: sha, Data: l.Metadata, Build: l.Build, Launch: l.Launch, Cache: l.Cache}
		}
		x.meta.Buildpacks = append(x.meta.Buildpacks, md)
	}
	return nil
}

// buildpackLayer adds one launch layer: its directory, or, without one,
// the previous image's layer of the same buildpack and name.
func (x *exporting) buildpackLayer(ctx context.Context, bp GroupEntry, l Layer, prev LayerMetadata) (string, error) {
	id := bp.ID + ":" + l.Name
	createdBy := fmt.Sprintf("Layer: '%s', Created by buildpack: %s@%s", l.Name, bp.ID, bp.Version)
	name := path.Join(x.layers.Container, EscapeID(bp.ID), l.Name)
	if !l.HasDir {
		return x.reuseLayer(id, createdBy, l, prev)
	}
	layer, err := x.dirLayer(ctx, x.layers, name)
	if err != nil {
		return "", fmt.Errorf("creating layer %s: %w", id, err)
	}
	x.made[name] = layer
	return x.addNamed(id, createdBy, layer, prev.SHA)
}

// reuseLayer adds a launch layer that has metadata but no directory: the
// buildpack keeps the previous image's layer (CNB contract §2.6).
func (x *exporting) reuseLayer(id, createdBy string, l Layer, prev LayerMetadata) (string, error) {
	if l.Cache {
		return "", fmt.Errorf("reusing layer %s: it is cache=true but has no contents: %w", id, ErrLayerNotReusable)
	}
	if prev.SHA == "" || x.e.Previous == nil {
		return "", fmt.Errorf("reusing layer %s: the previous image has no metadata for it: %w", id, ErrLayerNotReusable)
	}
	h, err := v1.NewHash(prev.SHA)
	if err != nil {
		return "", fmt.Errorf("reusing layer %s: %w", id, err)
	}
	// The store's copy first: kiln wrote it and it is local.
	layer, ok := x.storeLayer(h)
	if !ok {
		if layer, err = x.e.Previous.LayerByDiffID(h); err != nil {
			return "", fmt.Errorf("reusing layer %s from the previous image: %v: %w", id, err, ErrLayerNotReusable)
		}
	}
	fmt.Fprintf(x.out, "Reusing layer '%s'\n", id)
	if _, err := x.add(id, createdBy, layer, true); err != nil {
		return "", err
	}
	return prev.SHA, nil
}

// sbomLayer adds <layers>/sbom/launch when it exists (Platform API ≥0.8).
func (x *exporting) sbomLayer(ctx context.Context) error {
	name := path.Join(x.layers.Container, "sbom", "launch")
	if x.api.LessThan("0.8") || !isDirIn(x.layers, name) {
		return nil
	}
	layer, err := x.dirLayer(ctx, x.layers, name)
	if err != nil {
		return fmt.Errorf("creating layer %s: %w", sbomLayerID, err)
	}
	prev := ""
	if x.prev != nil && x.prev.SBOM != nil {
		prev = x.prev.SBOM.SHA
	}
	sha, err := x.addNamed(sbomLayerID, sbomCreatedBy, layer, prev)
	if err != nil {
		return err
	}
	x.meta.SBOM = &LayerSHA{SHA: sha}
	return nil
}

// launcherLayer adds /cnb/lifecycle/launcher, root-owned.
func (x *exporting) launcherLayer(ctx context.Context) error {
	if len(x.e.Launcher) == 0 {
		return fmt.Errorf("creating layer %s: no launcher executable", launcherLayerID)
	}
	layer, err := x.layer(ctx, launcherLayerID, func(w layerSink) error {
		if err := w.Dir(cnbDir, fs.ModeDir|0o755, 0, 0); err != nil {
			return err
		}
		if err := w.Dir(lifecycleDir, fs.ModeDir|0o755, 0, 0); err != nil {
			return err
		}
		return w.File(launcherPath, 0o755, 0, 0, int64(len(x.e.Launcher)), bytes.NewReader(x.e.Launcher))
	})
	if err != nil {
		return fmt.Errorf("creating layer %s: %w", launcherLayerID, err)
	}
	x.meta.Launcher.SHA, err = x.addNamed(launcherLayerID, launcherCreatedBy, layer, x.prevSHA(func(m *LifecycleMetadata) LayerSHA { return m.Launcher }))
	return err
}

// configLayer adds <layers>/config (metadata.toml).
func (x *exporting) configLayer(ctx context.Context) error {
	name := path.Join(x.layers.Container, "config")
	if !isDirIn(x.layers, name) {
		return fmt.Errorf("creating layer %s: %s does not exist (the build writes metadata.toml there)", configLayerID, name)
	}
	layer, err := x.dirLayer(ctx, x.layers, name)
	if err != nil {
		return fmt.Errorf("creating layer %s: %w", configLayerID, err)
	}
	x.meta.Config.SHA, err = x.addNamed(configLayerID, configCreatedBy, layer, x.prevSHA(func(m *LifecycleMetadata) LayerSHA { return m.Config }))
	return err
}

// processTypesLayer adds a /cnb/process/<type> → launcher symlink per
// process, root-owned, mode 0755 as the lifecycle writes them; nothing when there are no processes.
func (x *exporting) processTypesLayer(ctx context.Context, procs []Process) error {
	if len(procs) == 0 {
		return nil
	}
	layer, err := x.layer(ctx, processTypesLayerID, func(w layerSink) error {
		if err := w.Dir(cnbDir, fs.ModeDir|0o755, 0, 0); err != nil {
			return err
		}
		if err := w.Dir(ProcessDir, fs.ModeDir|0o755, 0, 0); err != nil {
			return err
		}
		for _, p := range procs {
			if p.Type == "" || strings.ContainsAny(p.Type, `/><:|&\`) || p.Type == "." || p.Type == ".." {
				return fmt.Errorf("invalid process type %q", p.Type)
			}
			if err := w.SymlinkMode(path.Join(ProcessDir, p.Type), launcherPath, 0o755, 0, 0); err != nil { // the lifecycle's mode
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating layer %s: %w", processTypesLayerID, err)
	}
	x.meta.ProcessTypes.SHA, err = x.addNamed(processTypesLayerID, processTypesCreatedBy, layer, x.prevSHA(func(m *LifecycleMetadata) LayerSHA { return m.ProcessTypes }))
	return err
}

// prevSHA returns a diffID the previous image records, or "".
func (x *exporting) prevSHA(get func(*LifecycleMetadata) LayerSHA) string {
	if x.prev == nil {
		return ""
	}
	return get(x.prev).SHA
}
