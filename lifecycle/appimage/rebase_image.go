package appimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// rebasing is the state of one Rebaser.Run once the checks passed.
type rebasing struct {
	app, base       v1.Image
	appCfg, baseCfg *v1.ConfigFile
	top             int // index of the app image's old top run image layer
	api             api.Version
	created         time.Time
}

// image assembles the rebased image: the app image's manifest with the new
// base's layer descriptors in place of the old base's, and the edited config
// (config). The layers are the source images' own objects: nothing is read,
// hashed or decompressed, remote layers stay remote and mountable, and a
// writer skips every blob its destination already holds.
func (b *rebasing) image(edit runImageEdit, report *RebaseReport) (v1.Image, error) {
	appManifest, err := b.app.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading app image manifest: %w", err)
	}
	baseManifest, err := b.base.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading run image manifest: %w", err)
	}
	appLayers, err := b.app.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading app image layers: %w", err)
	}
	baseLayers, err := b.base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading run image layers: %w", err)
	}
	if n := len(appManifest.Layers); n != len(appLayers) || n != len(b.appCfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("the app image has %d layer descriptors, %d layers and %d diffIDs",
			n, len(appLayers), len(b.appCfg.RootFS.DiffIDs))
	}
	if n := len(baseManifest.Layers); n == 0 || n != len(baseLayers) || n != len(b.baseCfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("the run image has %d layer descriptors, %d layers and %d diffIDs",
			n, len(baseLayers), len(b.baseCfg.RootFS.DiffIDs))
	}
	mt := appManifest.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	cfg, err := b.config(edit, len(baseLayers), len(appLayers)-b.top-1)
	if err != nil {
		return nil, err
	}
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("assembling rebased image: %w", err)
	}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("assembling rebased image: %w", err)
	}

	m := appManifest.DeepCopy()
	m.Config.Digest, m.Config.Size, m.Config.Data = cfgDigest, cfgSize, nil
	m.Layers = nil
	img := &manifestImage{cfg: cfg, rawConfig: rawCfg, byDigest: map[v1.Hash]v1.Layer{}, byDiffID: map[v1.Hash]v1.Layer{}}
	add := func(d v1.Descriptor, l v1.Layer, diffID v1.Hash) {
		m.Layers = append(m.Layers, d)
		img.layers = append(img.layers, l)
		img.byDigest[d.Digest] = l
		img.byDiffID[diffID] = l
	}
	for i, d := range baseManifest.Layers {
		l := baseLayers[i]
		if want, ok := layerTypeFor(mt, d.MediaType); ok {
			d.MediaType = want
			l = &retypedLayer{Layer: l, mediaType: want}
		}
		add(d, l, b.baseCfg.RootFS.DiffIDs[i])
	}
	for i := b.top + 1; i < len(appLayers); i++ {
		add(appManifest.Layers[i], appLayers[i], b.appCfg.RootFS.DiffIDs[i])
	}
	if img.rawManifest, err = json.Marshal(m); err != nil {
		return nil, fmt.Errorf("assembling rebased image: %w", err)
	}
	img.manifest, img.mediaType = m, mt
	report.NewTopLayer = cfg.RootFS.DiffIDs[len(baseLayers)-1].String()
	report.BaseLayers, report.AppLayers = len(baseLayers), len(appLayers)-b.top-1
	return img, nil
}

// config is the app image's config with the new base's diffIDs, history,
// os, architecture and os.version, the base's stack (and, from Platform
// API 0.12, base) labels, and the lifecycle label pointing at the new base.
func (b *rebasing) config(edit runImageEdit, baseLayers, kept int) (*v1.ConfigFile, error) {
	cfg := b.appCfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.OSVersion = b.baseCfg.OS, b.baseCfg.Architecture, b.baseCfg.OSVersion
	cfg.Created = v1.Time{Time: b.created}

	diffIDs := append([]v1.Hash{}, b.baseCfg.RootFS.DiffIDs...)
	if len(diffIDs) != baseLayers {
		return nil, fmt.Errorf("the run image has %d layers and %d diffIDs", baseLayers, len(diffIDs))
	}
	cfg.RootFS.DiffIDs = append(diffIDs, b.appCfg.RootFS.DiffIDs[b.top+1:]...)
	cfg.History = rebasedHistory(b.baseCfg.History, baseLayers, b.appCfg.History, b.top+1, kept, b.created)

	labels := map[string]string{}
	for k, v := range cfg.Config.Labels {
		if !b.baseLabel(k) {
			labels[k] = v
		}
	}
	for k, v := range b.baseCfg.Config.Labels {
		if b.baseLabel(k) {
			labels[k] = v
		}
	}
	edit.topLayer = diffIDs[len(diffIDs)-1].String()
	raw, err := edit.apply(labels[lifecycle.LabelLifecycleMetadata], b.api)
	if err != nil {
		return nil, err
	}
	labels[lifecycle.LabelLifecycleMetadata] = raw
	if edit.setLocal {
		delete(labels, lifecycle.LabelLocalRunImage)
		if edit.local != "" {
			labels[lifecycle.LabelLocalRunImage] = edit.local
		}
	}
	cfg.Config.Labels = labels
	return cfg, nil
}

// baseLabel reports whether a label belongs to the run image and is
// re-copied from the new one.
func (b *rebasing) baseLabel(k string) bool {
	return strings.HasPrefix(k, "io.buildpacks.stack.") ||
		b.api.AtLeast("0.12") && strings.HasPrefix(k, "io.buildpacks.base.")
}

// rebasedHistory is the new base's history followed by the app image's
// entries above its old base, each stamped created. A history that does not
// describe its layers one to one (some tools write none) is replaced by one
// blank entry per layer, so that the result always lines up.
func rebasedHistory(base []v1.History, baseLayers int, app []v1.History, oldBaseLayers, kept int, created time.Time) []v1.History {
	if nonEmpty(base) != baseLayers {
		base = make([]v1.History, baseLayers)
	}
	var above []v1.History
	if nonEmpty(app) == oldBaseLayers+kept {
		seen, i := 0, 0
		for ; i < len(app) && seen < oldBaseLayers; i++ {
			if !app[i].EmptyLayer {
				seen++
			}
		}
		// The old base's empty-layer entries after its last layer (ENV,
		// LABEL, …) are its own: the new base brings its own, and keeping
		// them would add a copy at every rebase.
		for i < len(app) && app[i].EmptyLayer {
			i++
		}
		above = app[i:]
	} else {
		above = make([]v1.History, kept)
	}
	hist := append(append([]v1.History{}, base...), above...)
	for i := range hist {
		hist[i].Created = v1.Time{Time: created}
	}
	return hist
}

func nonEmpty(h []v1.History) int {
	n := 0
	for _, e := range h {
		if !e.EmptyLayer {
			n++
		}
	}
	return n
}

// layerTypeFor returns the layer media type of the manifest family (Docker
// v2 or OCI) that corresponds to a layer of the other family; ok is false
// when the layer's type already fits (or has no counterpart, as zstd).
func layerTypeFor(manifest, layer types.MediaType) (types.MediaType, bool) {
	var pairs map[types.MediaType]types.MediaType
	if manifest == types.DockerManifestSchema2 {
		pairs = map[types.MediaType]types.MediaType{
			types.OCILayer:             types.DockerLayer,
			types.OCIUncompressedLayer: types.DockerUncompressedLayer,
			types.OCIRestrictedLayer:   types.DockerForeignLayer,
		}
	} else {
		pairs = map[types.MediaType]types.MediaType{
			types.DockerLayer:             types.OCILayer,
			types.DockerUncompressedLayer: types.OCIUncompressedLayer,
			types.DockerForeignLayer:      types.OCIRestrictedLayer,
		}
	}
	want, ok := pairs[layer]
	return want, ok
}

// retypedLayer is a layer reporting another media type for the same blob.
type retypedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l *retypedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
