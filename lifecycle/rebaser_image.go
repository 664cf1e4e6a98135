package lifecycle

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rebasing is the state of one Rebaser.Run once the checks passed.
type rebasing struct {
	app, base       v1.Image
	appCfg, baseCfg *v1.ConfigFile
	top             int // index of the app image's old top run image layer
	api             apiVersion
	created         time.Time
}

// image assembles the rebased image: a manifest of the app image's media
// type listing the new base's layers and then the app image's layers above
// the old base, all taken as they are (remote layers stay remote and
// mountable), with the app image's config edited (config).
func (b *rebasing) image(edit runImageEdit, report *RebaseReport) (v1.Image, error) {
	appManifest, err := b.app.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading app image manifest: %w", err)
	}
	appLayers, err := b.app.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading app image layers: %w", err)
	}
	baseLayers, err := b.base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading run image layers: %w", err)
	}
	if len(appLayers) != len(b.appCfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("the app image has %d layers and %d diffIDs", len(appLayers), len(b.appCfg.RootFS.DiffIDs))
	}
	if len(baseLayers) == 0 {
		return nil, fmt.Errorf("the run image has no layers")
	}
	mt := appManifest.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	var adds []mutate.Addendum
	for _, l := range baseLayers {
		if l, err = retypeFor(mt, l); err != nil {
			return nil, fmt.Errorf("reading run image layers: %w", err)
		}
		adds = append(adds, mutate.Addendum{Layer: l})
	}
	for _, l := range appLayers[b.top+1:] {
		adds = append(adds, mutate.Addendum{Layer: l})
	}
	cfg, err := b.config(edit, len(baseLayers), appLayers[b.top+1:])
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, mt), appManifest.Config.MediaType)
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, fmt.Errorf("assembling rebased image: %w", err)
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("assembling rebased image: %w", err)
	}
	if len(appManifest.Annotations) > 0 {
		img = mutate.Annotations(img, appManifest.Annotations).(v1.Image)
	}
	report.NewTopLayer = cfg.RootFS.DiffIDs[len(baseLayers)-1].String()
	report.BaseLayers, report.AppLayers = len(baseLayers), len(appLayers)-b.top-1
	return img, nil
}

// config is the app image's config with the new base's diffIDs, history,
// os, architecture and os.version, the base's stack (and, from Platform
// API 0.12, base) labels, and the lifecycle label pointing at the new base.
func (b *rebasing) config(edit runImageEdit, baseLayers int, kept []v1.Layer) (*v1.ConfigFile, error) {
	cfg := b.appCfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.OSVersion = b.baseCfg.OS, b.baseCfg.Architecture, b.baseCfg.OSVersion
	cfg.Created = v1.Time{Time: b.created}

	diffIDs := append([]v1.Hash{}, b.baseCfg.RootFS.DiffIDs...)
	if len(diffIDs) != baseLayers {
		return nil, fmt.Errorf("the run image has %d layers and %d diffIDs", baseLayers, len(diffIDs))
	}
	cfg.RootFS.DiffIDs = append(diffIDs, b.appCfg.RootFS.DiffIDs[b.top+1:]...)
	cfg.History = rebasedHistory(b.baseCfg.History, baseLayers, b.appCfg.History, b.top+1, len(kept), b.created)

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
	raw, err := edit.apply(labels[LabelLifecycleMetadata], b.api)
	if err != nil {
		return nil, err
	}
	labels[LabelLifecycleMetadata] = raw
	cfg.Config.Labels = labels
	return cfg, nil
}

// baseLabel reports whether a label belongs to the run image and is
// re-copied from the new one.
func (b *rebasing) baseLabel(k string) bool {
	return strings.HasPrefix(k, "io.buildpacks.stack.") ||
		b.api.atLeast("0.12") && strings.HasPrefix(k, "io.buildpacks.base.")
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

// retypeFor gives a run image layer the media type of the app manifest's
// family (Docker v2 or OCI) when it has the other family's; the blob is the
// same. Layers of the right family are returned as they are.
func retypeFor(manifest types.MediaType, l v1.Layer) (v1.Layer, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
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
	if want, ok := pairs[mt]; ok {
		return &retypedLayer{Layer: l, mediaType: want}, nil
	}
	return l, nil
}

// retypedLayer is a layer reporting another media type for the same blob.
type retypedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l *retypedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
