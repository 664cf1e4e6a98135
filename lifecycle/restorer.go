package lifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// Restorer is the restore phase (after detection, Platform API ≥0.7): it
// gives each buildpack of the group what earlier builds left, by the
// restore table of CNB contract §2.5: store.toml from the previous image,
// <layer>.toml files holding only [metadata] (no [types]: a buildpack keeps
// a layer by flagging it again), and the directories of cache=true layers
// from the cache.
//
// Nothing it restores can fail the build: a layer whose cached blob is
// missing, damaged or not what the metadata says, or a kept launch layer
// the previous image can no longer give, is left out with a warning, and
// the buildpack builds it again.
type Restorer struct {
	// Layers is the layers directory.
	Layers Dir
	// Group is the group that passed detection.
	Group Group
	// Analysis is what the analyzer found.
	Analysis Analysis
	// Store is where the exporter finds layers it wrote before; a kept
	// launch layer found there needs no check of the previous image.
	Store *oci.Store
	// PlatformAPI is the Platform API version (default DefaultPlatformAPI).
	PlatformAPI string
	// SkipLayers restores only store.toml (CNB_SKIP_RESTORE).
	SkipLayers bool
	// Unpack is how cached layers are unpacked (rootless or not).
	Unpack oci.UnpackOptions
	// Owner, when set, owns what the phase writes for buildpacks.
	Owner *Owner
	// Trees is Cache.Trees: unpacked cached layers, moved into place
	// instead of unpacking their blobs.
	Trees string
	// Discard is Cache.Discard, for kept trees found unusable.
	Discard func(path string) error

	Logger *slog.Logger
	// Out receives pack-like lines ("Restoring data for …") and warnings.
	Out io.Writer
}

// restoring is the state of one Restorer.Run.
type restoring struct {
	r      *Restorer
	api    api.Version
	log    *slog.Logger
	out    io.Writer
	result RestoreResult
	layers *beneath.Dir // the layers dir
	// restored are the layers whose metadata was restored, as
	// "<escaped-id>/<layer>": their SBOM files are restored too.
	restored map[string]bool
}

// RestoreResult is what the restorer could not use.
type RestoreResult struct {
	// Unusable are the cache's layers that could not be restored (missing,
	// damaged, not what the metadata says): Cache.Drop removes them so that
	// the next write stores them afresh.
	Unusable []v1.Layer
}

// Run restores the group's store.toml files, layer metadata and cached
// layer directories. Errors are *PhaseError-free plain errors about the
// layers directory itself (exit 42 is the caller's to map).
func (r *Restorer) Run(ctx context.Context) (RestoreResult, error) {
	platformAPI, err := api.Parse(orDefault(r.PlatformAPI, DefaultPlatformAPI))
	if err != nil {
		return RestoreResult{}, err
	}
	s := &restoring{r: r, api: platformAPI, log: loggerOr(r.Logger), out: writerOr(r.Out), restored: map[string]bool{}}
	if s.layers, err = openTree(r.Layers); err != nil {
		return RestoreResult{}, err
	}
	defer s.layers.Close()
	for _, e := range r.Group.Group {
		if err := s.buildpack(ctx, e); err != nil {
			return RestoreResult{}, err
		}
	}
	s.sboms(ctx)
	return s.result, nil
}

// buildpack restores one buildpack's files.
func (s *restoring) buildpack(ctx context.Context, e GroupEntry) error {
	prev := s.r.Analysis.Metadata.ForBuildpack(e.ID)
	cached := s.r.Analysis.CacheMetadata.ForBuildpack(e.ID)
	if prev.Store == nil && len(prev.Layers) == 0 && len(cached.Layers) == 0 {
		return nil
	}
	bpDir := s.r.Layers.join(EscapeID(e.ID))
	bp, err := mkdirFor(s.layers, EscapeID(e.ID), s.r.Owner)
	if err != nil {
		return fmt.Errorf("restoring %s: %w", e.ID, err)
	}
	defer bp.Close()
	if prev.Store != nil {
		if err := writeTOMLAt(bp, "store.toml", storeFile{Metadata: prev.Store.Data}, s.r.Owner); err != nil {
			return fmt.Errorf("restoring store.toml of %s: %w", e.ID, err)
		}
	}
	if s.r.SkipLayers {
		return nil
	}
	names := map[string]bool{}
	for n := range prev.Layers {
		names[n] = true
	}
	for n := range cached.Layers {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		im, inImage := prev.Layers[n]
		cm, inCache := cached.Layers[n]
		if err := s.layer(ctx, e.ID, layerDir{bp, bpDir}, n, im, inImage, cm, inCache && cm.Cache); err != nil {
			return err
		}
	}
	return nil
}

// layer applies the restore table to one layer name.
func (s *restoring) layer(ctx context.Context, bp string, bpDir layerDir, name string, im LayerMetadata, inImage bool, cm LayerMetadata, inCache bool) error {
	id := bp + ":" + name
	switch {
	case inImage && im.Launch && im.Cache:
		if !inCache {
			return nil // the image has it, the cache lost it: rebuilt
		}
		if cm.SHA != im.SHA {
			s.log.Debug("cached layer differs from the image's", "layer", id)
			return nil
		}
		if !s.data(ctx, bpDir, name, id, cm.SHA) {
			return nil
		}
		return s.metadata(bpDir, name, id, im.Data, "app image")
	case !inImage && inCache && (!cm.Launch || s.api.AtLeast("0.14")):
		if !s.data(ctx, bpDir, name, id, cm.SHA) {
			return nil
		}
		return s.metadata(bpDir, name, id, cm.Data, "cache")
	case inImage && im.Launch && !im.Build && !im.Cache:
		if !s.reusable(id, im.SHA) {
			return nil
		}
		return s.metadata(bpDir, name, id, im.Data, "app image")
	}
	return nil
}

// layerDir is a buildpack's layers dir, open, and its paths.
type layerDir struct {
	dir  *beneath.Dir
	path Dir
}

// metadata writes <layer>.toml holding only [metadata].
func (s *restoring) metadata(bpDir layerDir, name, id string, data any, from string) error {
	fmt.Fprintf(s.out, "Restoring metadata for %q from %s\n", id, from)
	var v struct {
		Metadata any `toml:"metadata,omitempty"`
	}
	if m, ok := data.(map[string]any); ok && len(m) > 0 {
		v.Metadata = m
	}
	if err := writeTOMLAt(bpDir.dir, name+".toml", v, s.r.Owner); err != nil {
		return fmt.Errorf("restoring metadata of %s: %w", id, err)
	}
	s.restored[path.Base(bpDir.path.Container)+"/"+name] = true
	return nil
}

// reusable reports whether the launch layer with diffID sha can still be
// taken from the store or the previous image, reading the previous
// image's blob through to check it.
func (s *restoring) reusable(id, sha string) bool {
	h, err := v1.NewHash(sha)
	if err == nil && s.r.Store != nil {
		if _, ok := s.r.Store.LayerByDiffID(h); ok {
			return true
		}
	}
	if err == nil && s.r.Analysis.Previous != nil {
		err = readThrough(s.r.Analysis.Previous, h)
	}
	if err != nil {
		fmt.Fprintf(s.out, "Warning: not restoring metadata for %q: the previous image's layer is unusable: %v\n", id, err)
		return false
	}
	return true
}

// readThrough reads a layer's compressed blob to the end, which verifies
// its digest.
func readThrough(img v1.Image, h v1.Hash) error {
	l, err := img.LayerByDiffID(h)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return err
}

// data restores a layer directory from the cache; false, with a warning,
// when it cannot.
func (s *restoring) data(ctx context.Context, bpDir layerDir, name, id, sha string) bool {
	fmt.Fprintf(s.out, "Restoring data for %q from cache\n", id)
	if err := s.unpack(ctx, bpDir, name, sha); err != nil {
		if ctx.Err() != nil {
			return false
		}
		fmt.Fprintf(s.out, "Warning: not restoring %q from the cache, it will be rebuilt: %v\n", id, err)
		return false
	}
	return true
}

// unpack extracts the cached layer with diffID sha into a staging
// directory, checks what came out against sha, and moves the layer's
// directory into place.
func (s *restoring) unpack(ctx context.Context, bpDir layerDir, name, sha string) error {
	img := s.r.Analysis.Cache
	if img == nil {
		return fmt.Errorf("no cache image")
	}
	if takeTree(s.r.Trees, sha, bpDir.dir, name, s.r.Discard) {
		return nil
	}
	h, err := v1.NewHash(sha)
	if err != nil {
		return err
	}
	l, err := img.LayerByDiffID(h)
	if err != nil {
		return fmt.Errorf("finding layer %s: %w", sha, err)
	}
	if err := s.unpackLayer(ctx, l, bpDir, name, sha); err != nil {
		s.result.Unusable = append(s.result.Unusable, l)
		return err
	}
	return nil
}

// unpackLayer extracts l, checks it and moves the layer into place. The
// staging directory is in the layers dir (the same file system) and is
// unpacked into through its handle.
func (s *restoring) unpackLayer(ctx context.Context, l v1.Layer, bpDir layerDir, name, sha string) error {
	stagingName, err := s.layers.MkdirTemp(".restore-")
	if err != nil {
		return err
	}
	defer s.layers.RemoveAll(stagingName)
	staging, err := s.layers.OpenDir(stagingName)
	if err != nil {
		return err
	}
	defer staging.Close()
	if err := unpackVerified(ctx, l, staging.HandlePath(), s.r.Unpack); err != nil {
		return err
	}
	rel := strings.TrimPrefix(path.Join(bpDir.path.Container, name), "/")
	if !isDirAt(staging, rel) {
		return fmt.Errorf("layer %s has no directory %s", sha, "/"+rel)
	}
	if err := bpDir.dir.RemoveAll(name); err != nil {
		return err
	}
	return staging.Rename(rel, bpDir.dir, name)
}
