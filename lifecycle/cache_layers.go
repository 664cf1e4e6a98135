package lifecycle

import (
	"context"
	"fmt"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CacheLayers returns what the cache should hold after the last Run: every
// cache=true layer that has a directory, with its metadata (CNB contract
// §2.5). Launch layers are the very layers the image got; cache-only layers
// are made the way launch layers are, so an unchanged one is found again
// by its fingerprint and nothing is compressed. Call it after Run.
func (e *Exporter) CacheLayers(ctx context.Context, res BuildResult) (CacheMetadata, []v1.Layer, error) {
	x := e.last
	if x == nil {
		var err error
		if x, err = e.start(); err != nil {
			return CacheMetadata{}, nil, err
		}
	}
	var m CacheMetadata
	var layers []v1.Layer
	seen := map[v1.Hash]bool{}
	for _, bp := range res.Buildpacks {
		md := BuildpackLayers{ID: bp.ID, Version: bp.Version, Layers: map[string]LayerMetadata{}}
		for _, l := range bp.Layers {
			if !l.Cache || !l.HasDir {
				continue
			}
			name := path.Join(x.layers.Container, EscapeID(bp.ID), l.Name)
			layer, ok := x.made[name]
			if !ok {
				var err error
				if layer, err = x.dirLayer(ctx, x.layers, name); err != nil {
					return CacheMetadata{}, nil, fmt.Errorf("creating cache layer %s:%s: %w", bp.ID, l.Name, err)
				}
			}
			d, err := layer.DiffID()
			if err != nil {
				return CacheMetadata{}, nil, err
			}
			md.Layers[l.Name] = LayerMetadata{SHA: d.String(), Data: l.Metadata, Build: l.Build, Launch: l.Launch, Cache: true}
			if !seen[d] {
				seen[d] = true
				layers = append(layers, layer)
			}
		}
		if len(md.Layers) > 0 {
			m.Buildpacks = append(m.Buildpacks, md)
		}
	}
	name := path.Join(x.layers.Container, "sbom", "cache")
	if res.SBOMDirs.Cache != "" && isDirIn(x.layers, name) {
		layer, err := x.dirLayer(ctx, x.layers, name)
		if err != nil {
			return CacheMetadata{}, nil, fmt.Errorf("creating the cache SBOM layer: %w", err)
		}
		d, err := layer.DiffID()
		if err != nil {
			return CacheMetadata{}, nil, err
		}
		m.SBOM = &LayerSHA{SHA: d.String()}
		if !seen[d] {
			layers = append(layers, layer)
		}
	}
	return m, layers, nil
}
