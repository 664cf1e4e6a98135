package lifecycle

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// ReadBuildResult reads back what a build left in the layers directory, for
// an exporter that runs in another process than the build (the Platform
// API's exporter after its builder): each group buildpack's layers
// (<layers>/<escaped-id>/<layer>.toml, as readLayers reads them after the
// build) and store.toml, <layers>/config/metadata.toml, and the SBOM
// directories. The group is group.toml's, whose entries carry their
// Buildpack API.
func ReadBuildResult(layers Dir, group Group, log *slog.Logger) (BuildResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res BuildResult
	mdPath, err := layers.scopedJoin("config/metadata.toml")
	if err != nil {
		return res, err
	}
	if res.Metadata, err = ReadBuildMetadata(mdPath.Host); err != nil {
		return res, err
	}
	for _, entry := range group.Group {
		v, err := api.Parse(orDefault(entry.API, "0.2"))
		if err != nil {
			return res, fmt.Errorf("reading the build of %s: %w", entry, err)
		}
		bpDir, err := layers.scopedJoin(EscapeID(entry.ID))
		if err != nil {
			return res, err
		}
		ls, err := readLayers(bpDir, v, log)
		if err != nil {
			return res, err
		}
		var store storeFile
		storePath, err := bpDir.scopedJoin("store.toml")
		if err != nil {
			return res, err
		}
		if _, _, err := decodeOptional(storePath.Host, &store); err != nil {
			return res, fmt.Errorf("reading %s: %w", storePath.Host, err)
		}
		entry.Optional = false
		res.Buildpacks = append(res.Buildpacks, BuildpackOutput{GroupEntry: entry, Layers: ls, Store: store.Metadata})
	}
	for _, kind := range []struct {
		name string
		dst  *string
	}{{"launch", &res.SBOMDirs.Launch}, {"build", &res.SBOMDirs.Build}, {"cache", &res.SBOMDirs.Cache}} {
		if d := filepath.Join(layers.Host, "sbom", kind.name); isDir(d) {
			*kind.dst = d
		}
	}
	return res, nil
}
