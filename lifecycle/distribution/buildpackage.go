package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// Labels of buildpackages and builders.
const (
	// BuildpackageMetadataLabel marks a buildpackage and names its main
	// buildpack.
	BuildpackageMetadataLabel = "io.buildpacks.buildpackage.metadata"
	// BuildpackLayersLabel maps each buildpack's id and version to its
	// layer's diffID, in buildpackages and builders.
	BuildpackLayersLabel = "io.buildpacks.buildpack.layers"
)

// BuildpackageMetadata is the io.buildpacks.buildpackage.metadata label.
type BuildpackageMetadata struct {
	ID          string    `json:"id"`
	Version     string    `json:"version"`
	Name        string    `json:"name,omitempty"`
	Homepage    string    `json:"homepage,omitempty"`
	Description string    `json:"description,omitempty"`
	Keywords    []string  `json:"keywords,omitempty"`
	Licenses    []License `json:"licenses,omitempty"`
	Stacks      []Stack   `json:"stacks,omitempty"`
}

// LayersMetadata is the io.buildpacks.buildpack.layers label: id → version
// → layer information.
type LayersMetadata map[string]map[string]LayerInfo

// LayerInfo is one buildpack's entry in LayersMetadata.
type LayerInfo struct {
	API         string   `json:"api"`
	Stacks      []Stack  `json:"stacks,omitempty"`
	Targets     []Target `json:"targets,omitempty"`
	Order       Order    `json:"order,omitempty"`
	LayerDiffID string   `json:"layerDiffID"`
	Homepage    string   `json:"homepage,omitempty"`
	Name        string   `json:"name,omitempty"`
}

// fromImage lays out a buildpackage image's buildpacks; source names it in
// errors.
func (f *fetcher) fromImage(ctx context.Context, img v1.Image, source string) (Fetched, error) {
	labels, err := imageLabels(img)
	if err != nil {
		return Fetched{}, err
	}
	k := f.o.kind
	raw, ok := labels[k.metadataLabel]
	if !ok {
		return Fetched{}, fmt.Errorf("%w: %s has no %s label", ErrNotBuildpackage, source, k.metadataLabel)
	}
	var md BuildpackageMetadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return Fetched{}, fmt.Errorf("%w: %s: parsing %s: %v", ErrNotBuildpackage, source, k.metadataLabel, err)
	}
	all, err := f.extract(ctx, img, labels)
	if err != nil {
		return Fetched{}, err
	}
	fetched := Fetched{Buildpacks: all}
	for _, d := range all {
		if d.ID == md.ID && d.Version == md.Version {
			fetched.Main = d
			return fetched, nil
		}
	}
	return Fetched{}, fmt.Errorf("%w: %s names %s@%s, which its %s label does not list",
		ErrNotBuildpackage, source, md.ID, md.Version, k.layersLabel)
}

// ExtractBuildpacks lays out the buildpacks an image's
// io.buildpacks.buildpack.layers label lists — a buildpackage's or a
// builder's — into dst as FetchBuildpacks does, and returns them sorted by
// id@version. Buildpacks already in dst are kept and their layers not read.
// With AsExtensions it lays out the image extensions of the
// io.buildpacks.extension.layers label instead.
func ExtractBuildpacks(ctx context.Context, img v1.Image, dst string, opts ...Option) (_ []Descriptor, err error) {
	f, err := newFetcher(dst, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.cleanup(); err == nil && cerr != nil {
			err = fmt.Errorf("removing staging directories: %w", cerr)
		}
	}()
	labels, err := imageLabels(img)
	if err != nil {
		return nil, fmt.Errorf("extracting buildpacks: %w", err)
	}
	ds, err := f.extract(ctx, img, labels)
	if err != nil {
		return nil, fmt.Errorf("extracting buildpacks: %w", err)
	}
	return ds, nil
}

func imageLabels(img v1.Image) (map[string]string, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	return cfg.Config.Labels, nil
}

// extract unpacks each layer the layers label names once, and installs the
// buildpacks it holds.
func (f *fetcher) extract(ctx context.Context, img v1.Image, labels map[string]string) ([]Descriptor, error) {
	var layers LayersMetadata
	label := f.o.kind.layersLabel
	raw, ok := labels[label]
	if !ok {
		return nil, fmt.Errorf("%w: no %s label", ErrNotBuildpackage, label)
	}
	if err := json.Unmarshal([]byte(raw), &layers); err != nil {
		return nil, fmt.Errorf("parsing %s label: %w", label, err)
	}
	byLayer := map[string][]idVersion{}
	for id, versions := range layers {
		for version, info := range versions {
			if err := CheckIDVersion(id, version); err != nil {
				return nil, fmt.Errorf("%s label: %w", label, err)
			}
			byLayer[info.LayerDiffID] = append(byLayer[info.LayerDiffID], idVersion{id, version})
		}
	}
	var all []Descriptor
	for _, diffID := range slices.Sorted(maps.Keys(byLayer)) {
		ds, err := f.extractLayer(ctx, img, diffID, byLayer[diffID])
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	sortDescriptors(all)
	return all, nil
}

type idVersion struct{ id, version string }

// extractLayer unpacks one layer into the staging area (unless every
// buildpack it holds is laid out already) and installs its buildpacks.
func (f *fetcher) extractLayer(ctx context.Context, img v1.Image, diffID string, bps []idVersion) ([]Descriptor, error) {
	h, err := v1.NewHash(diffID)
	if err != nil {
		return nil, fmt.Errorf("%s label: layer diffID %q: %w", f.o.kind.layersLabel, diffID, err)
	}
	layer, err := img.LayerByDiffID(h)
	if err != nil {
		return nil, fmt.Errorf("finding layer %s: %w", diffID, err)
	}
	stage := ""
	var ds []Descriptor
	for _, bp := range bps {
		if !f.present(bp.id, bp.version) && stage == "" {
			if stage, err = f.unpackLayer(ctx, layer, diffID); err != nil {
				return nil, err
			}
		}
		src := filepath.Join(stage, EscapeID(bp.id), bp.version)
		if stage != "" {
			if _, err := os.Lstat(filepath.Join(src, f.o.kind.descriptor)); err != nil {
				return nil, fmt.Errorf("layer %s lacks /%s/%s/%s/%s: %w",
					diffID, f.o.kind.dir, EscapeID(bp.id), bp.version, f.o.kind.descriptor, err)
			}
		}
		d, err := install(src, f.dst, bp.id, bp.version, f.o.kind)
		if err != nil {
			return nil, fmt.Errorf("laying out %s@%s from layer %s: %w", bp.id, bp.version, diffID, err)
		}
		d.Layer = layer
		ds = append(ds, d)
	}
	return ds, nil
}

// unpackLayer unpacks a buildpack layer into a new staging directory and
// returns the directory that stands for /cnb/buildpacks. Anything outside
// /cnb/buildpacks is refused.
func (f *fetcher) unpackLayer(ctx context.Context, layer v1.Layer, diffID string) (string, error) {
	stage, err := f.stageDir()
	if err != nil {
		return "", err
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return "", fmt.Errorf("reading layer %s: %w", diffID, err)
	}
	err = oci.UnpackLayer(ctx, rc, stage, oci.UnpackOptions{Rootless: true})
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("extracting buildpack layer %s: %w", diffID, err)
	}
	if err := onlyUnder(stage, f.o.kind.dir); err != nil {
		return "", fmt.Errorf("extracting buildpack layer %s: %w", diffID, err)
	}
	return filepath.Join(stage, f.o.kind.dir), nil
}

// onlyUnder checks that root holds nothing but the directories leading to
// rel (a slash path) and what is below rel, and makes sure rel exists.
func onlyUnder(root, rel string) error {
	dir := root
	for _, elem := range strings.Split(rel, "/") {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() != elem || !e.IsDir() {
				return fmt.Errorf("%w: /%s is outside /%s", ErrUnsafePath,
					path.Join(filepath.ToSlash(strings.TrimPrefix(dir, root)), e.Name()), rel)
			}
		}
		if len(entries) == 0 {
			break
		}
		dir = filepath.Join(dir, elem)
	}
	return os.MkdirAll(filepath.Join(root, rel), 0o755)
}
