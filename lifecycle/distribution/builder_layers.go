package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// builderParts is everything a builder image is assembled from.
type builderParts struct {
	cfg       *BuilderConfig
	bi        *buildImage
	lc        builderLifecycleSource
	mods      *builderModules
	runImages []RunImage
	o         *writeOptions
}

// image writes the builder's layers and labels on top of the build image.
func (b *builderParts) image(ctx context.Context, build v1.Image) (v1.Image, error) {
	lo := b.o.layerOptions()
	var adds []oci.Append
	dirs, err := b.dirsLayer(lo)
	if err != nil {
		return nil, fmt.Errorf("writing the directories layer: %w", err)
	}
	adds = append(adds, oci.Append{Layer: dirs, History: v1.History{CreatedBy: "kiln: builder directories"}})
	lifecycle, err := b.lifecycleLayer(lo)
	if err != nil {
		return nil, fmt.Errorf("writing the lifecycle layer: %w", err)
	}
	adds = append(adds, oci.Append{Layer: lifecycle, History: v1.History{CreatedBy: "kiln: lifecycle " + b.lc.md.Version}})
	bpAdds, bpLayers, err := moduleLayers(ctx, b.mods.buildpacks.All, buildpackKind, lo)
	if err != nil {
		return nil, err
	}
	extAdds, extLayers, err := moduleLayers(ctx, b.mods.extensions.All, extensionKind, lo)
	if err != nil {
		return nil, err
	}
	adds = append(slices.Concat(adds, bpAdds), extAdds...)
	config, err := b.configLayer(lo)
	if err != nil {
		return nil, fmt.Errorf("writing the configuration layer: %w", err)
	}
	adds = append(adds, oci.Append{Layer: config, History: v1.History{CreatedBy: "kiln: builder configuration"}})
	labels, err := b.labels(bpLayers, extLayers)
	if err != nil {
		return nil, err
	}
	workDir := layersDir
	return oci.Mutate(build, oci.Mutation{Labels: labels, WorkingDir: &workDir, Layers: adds, Created: &b.o.created})
}

// dirsLayer holds the directories a builder needs, in pack's order.
func (b *builderParts) dirsLayer(lo oci.LayerOptions) (v1.Layer, error) {
	w, err := oci.NewLayerWriter(lo)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{workspaceDir, layersDir} {
		_ = w.Dir(d, fs.ModeDir|0o755, b.bi.uid, b.bi.gid)
	}
	for _, d := range []string{"/cnb", "/cnb/buildpacks", "/cnb/extensions", "/platform", "/platform/env",
		"/cnb/build-config", buildConfigEnvDir} {
		_ = w.Dir(d, fs.ModeDir|0o755, 0, 0)
	}
	return w.Layer() // the first error of the calls above, if any
}

// lifecycleLayer holds /cnb/lifecycle — the kiln launcher, or the binaries
// of the lifecycle archive — and the /lifecycle link.
func (b *builderParts) lifecycleLayer(lo oci.LayerOptions) (v1.Layer, error) {
	var launcher, phases []byte
	if b.lc.archive == "" {
		if b.o.launcher == nil {
			return nil, errors.New("no launcher given (WithLauncher) and no lifecycle archive in builder.toml")
		}
		var err error
		if launcher, err = b.o.launcher(b.bi.platform.Architecture); err != nil {
			return nil, err
		}
		if b.o.kiln.phases != nil {
			if phases, err = b.o.kiln.phases(b.bi.platform.Architecture); err != nil {
				return nil, err
			}
		}
	}
	w, err := oci.NewLayerWriter(lo)
	if err != nil {
		return nil, err
	}
	err = w.Dir(lifecycleDir, fs.ModeDir|0o755, 0, 0)
	if err == nil && b.lc.archive != "" {
		err = writeLifecycleBinaries(w, b.lc.archive)
	} else if err == nil {
		err = writeKilnLifecycle(w, launcher, phases)
	}
	if err == nil {
		err = w.SymlinkMode(compatLifecycleDir, lifecycleDir, 0o644, 0, 0) // pack's mode for it
	}
	if err != nil {
		_ = w.Abort()
		return nil, err
	}
	return w.Layer()
}

// KilnPhases are the Platform API phase binaries of kiln's lifecycle: links
// to /cnb/lifecycle/lifecycle (the kiln binary), as the reference
// lifecycle's are links to its multi-call binary.
var KilnPhases = []string{"analyzer", "builder", "creator", "detector", "exporter", "rebaser", "restorer"}

// writeKilnLifecycle writes kiln's lifecycle into /cnb/lifecycle: the
// launcher, and, when there is one for the builder's architecture, the
// kiln binary as /cnb/lifecycle/lifecycle with a link per phase, in name
// order.
func writeKilnLifecycle(w *oci.LayerWriter, launcher, phases []byte) error {
	names := []string{"launcher"}
	if phases != nil {
		names = slices.Sorted(slices.Values(append(append(names, "lifecycle"), KilnPhases...)))
	}
	for _, n := range names {
		var err error
		switch n {
		case "launcher":
			err = w.File(lifecycleDir+"/launcher", 0o755, 0, 0, int64(len(launcher)), bytes.NewReader(launcher))
		case "lifecycle":
			err = w.File(lifecycleDir+"/lifecycle", 0o755, 0, 0, int64(len(phases)), bytes.NewReader(phases))
		default:
			err = w.Symlink(lifecycleDir+"/"+n, "lifecycle", 0, 0)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// configLayer holds /cnb/order.toml, /cnb/system.toml, /cnb/stack.toml,
// /cnb/run.toml and the /cnb/build-config/env files, in name order.
func (b *builderParts) configLayer(lo oci.LayerOptions) (v1.Layer, error) {
	files, err := b.configFiles()
	if err != nil {
		return nil, err
	}
	w, err := oci.NewLayerWriter(lo)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		_ = w.File(name, 0o644, 0, 0, int64(len(files[name])), bytes.NewReader(files[name]))
	}
	return w.Layer()
}

// configFiles renders the builder's configuration files.
func (b *builderParts) configFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	m := b.mods
	if len(m.order) > 0 || len(m.orderExtensions) > 0 {
		if err := encodeTOML(files, orderPath, struct {
			Order           Order `toml:"order,omitempty"`
			OrderExtensions Order `toml:"order-extensions,omitempty"`
		}{m.order, m.orderExtensions}); err != nil {
			return nil, err
		}
	}
	if len(m.system.Pre.Buildpacks)+len(m.system.Post.Buildpacks) > 0 {
		if err := encodeTOML(files, systemPath, struct {
			System System `toml:"system"`
		}{m.system}); err != nil {
			return nil, err
		}
	}
	recorded := RegistryRunImages(b.runImages)
	var first RunImage
	if len(recorded) > 0 {
		first = recorded[0]
	}
	if err := encodeTOML(files, stackPath, struct {
		RunImage RunImage `toml:"run-image"`
	}{first}); err != nil {
		return nil, err
	}
	if recorded == nil {
		recorded = []RunImage{} // "images = []": pack and the lifecycle read it as no run image
	}
	if err := encodeTOML(files, runPath, struct {
		Images []RunImage `toml:"images"`
	}{recorded}); err != nil {
		return nil, err
	}
	env, err := b.cfg.BuildEnvFiles()
	if err != nil {
		return nil, err
	}
	for name, value := range env {
		files[buildConfigEnvDir+"/"+name] = []byte(value)
	}
	return files, nil
}

func encodeTOML(files map[string][]byte, name string, v any) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	files[name] = buf.Bytes()
	return nil
}

// labels are the builder's labels (CNB contract §5.1).
func (b *builderParts) labels(bpLayers, extLayers LayersMetadata) (map[string]string, error) {
	m := b.mods
	recorded := RegistryRunImages(b.runImages)
	md := BuilderMetadata{
		Description: b.cfg.Description,
		Buildpacks:  moduleInfos(configOrder(m.buildpacks)),
		Extensions:  moduleInfos(configOrder(m.extensions)),
		Lifecycle:   b.lc.md,
		CreatedBy:   b.o.creator,
		Images:      recorded,
	}
	if len(recorded) > 0 {
		md.Stack.RunImage = recorded[0]
	}
	values := map[string]any{
		BuilderMetadataLabel: md,
		BuildpackLayersLabel: bpLayers,
		MixinsLabel:          b.bi.mixins,
	}
	if len(b.cfg.Order) > 0 {
		values[BuildpackOrderLabel] = b.cfg.Order
	}
	// pack writes both extension labels on every builder: {} and null when
	// there are no extensions, and no "optional" in the order (extensions
	// always are).
	if extLayers == nil {
		extLayers = LayersMetadata{}
	}
	values[ExtensionLayersLabel] = extLayers
	values[OrderExtensionsLabel] = withoutOptional(b.cfg.OrderExtensions)
	if len(m.system.Pre.Buildpacks)+len(m.system.Post.Buildpacks) > 0 {
		values[SystemLabel] = SystemMetadata{Pre: SystemModules{Buildpacks: m.system.Pre.Buildpacks},
			Post: SystemModules{Buildpacks: m.system.Post.Buildpacks}}
	}
	labels, err := jsonLabels(values)
	if err != nil {
		return nil, err
	}
	if b.bi.setStackID {
		labels[StackIDLabel] = b.bi.stackID
	}
	if local := LocalRunImage(b.runImages); local != "" {
		labels[LocalRunImageLabel] = local
	}
	return labels, nil
}

// withoutOptional is o with every optional flag cleared.
func withoutOptional(o Order) Order {
	if o == nil {
		return nil
	}
	out := make(Order, len(o))
	for i, e := range o {
		group := slices.Clone(e.Group)
		for j := range group {
			group[j].Optional = false
		}
		out[i] = OrderEntry{Group: group}
	}
	return out
}

// configOrder lists fetched modules as pack lists them in the builder
// metadata: in builder.toml order, each buildpackage's main buildpack
// followed by the others it holds sorted by id then version. As in pack, a
// module named twice is listed twice.
func configOrder(bps *Buildpacks) []Descriptor {
	var out []Descriptor
	for _, f := range bps.Fetched {
		out = append(out, f.Main)
		var deps []Descriptor
		for _, d := range f.Buildpacks {
			if d.FullName() != f.Main.FullName() {
				deps = append(deps, d)
			}
		}
		sortDescriptors(deps)
		out = append(out, deps...)
	}
	return out
}

func moduleInfos(ds []Descriptor) []ModuleInfo {
	var infos []ModuleInfo
	for _, d := range ds {
		infos = append(infos, d.moduleInfo())
	}
	return infos
}

// jsonUnmarshal decodes a label value.
func jsonUnmarshal(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }
