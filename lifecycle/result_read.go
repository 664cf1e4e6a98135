package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// ReadBuildResult reads back what a build left in the layers directory, for
// an exporter that runs in another process than the build (the Platform
// API's exporter after its builder): each group buildpack's layers
// (<layers>/<escaped-id>/<layer>.toml, as readLayers reads them after the
// build) and store.toml, <layers>/config/metadata.toml, and the SBOM
// directories. The group is group.toml's, whose entries carry their
// Buildpack API.
//
// Everything is read through directory handles below layers (a symlink or
// FIFO left by a buildpack is an error naming it), as the builder reads it.
func ReadBuildResult(layers Dir, group Group, log *slog.Logger) (BuildResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res BuildResult
	root, err := openTree(layers)
	if err != nil {
		return res, err
	}
	defer root.Close()
	var md metadataFile
	if _, ok, err := readTOML(root, "config/metadata.toml", &md); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%s: %w", root.Path("config/metadata.toml"), fs.ErrNotExist)
		}
		return res, fmt.Errorf("reading build metadata: %w", err)
	}
	res.Metadata = md.metadata()
	for _, entry := range group.Group {
		v, err := api.Parse(orDefault(entry.API, "0.2"))
		if err != nil {
			return res, fmt.Errorf("reading the build of %s: %w", entry, err)
		}
		bp, err := readBuildpackOutput(root, layers, entry, v, log)
		if err != nil {
			return res, fmt.Errorf("reading the build of %s: %w", entry, err)
		}
		res.Buildpacks = append(res.Buildpacks, bp)
	}
	for _, kind := range []struct {
		name string
		dst  *string
	}{{"launch", &res.SBOMDirs.Launch}, {"build", &res.SBOMDirs.Build}, {"cache", &res.SBOMDirs.Cache}} {
		if rel := "sbom/" + kind.name; isDirAt(root, rel) {
			*kind.dst = filepath.Join(layers.Host, filepath.FromSlash(rel))
		}
	}
	return res, nil
}

// readBuildpackOutput reads the layers and store.toml of one buildpack.
func readBuildpackOutput(root *beneath.Dir, layers Dir, entry GroupEntry, v api.Version, log *slog.Logger) (BuildpackOutput, error) {
	name := EscapeID(entry.ID)
	dir, err := root.OpenDir(name)
	if errors.Is(err, fs.ErrNotExist) {
		entry.Optional = false
		return BuildpackOutput{GroupEntry: entry}, nil
	} else if err != nil {
		return BuildpackOutput{}, err
	}
	defer dir.Close()
	ls, err := readLayers(dir, layers.join(name), v, log)
	if err != nil {
		return BuildpackOutput{}, err
	}
	store, err := readStore(dir)
	if err != nil {
		return BuildpackOutput{}, err
	}
	entry.Optional = false
	return BuildpackOutput{GroupEntry: entry, Layers: ls, Store: store.Metadata}, nil
}

// readStore reads store.toml of a buildpack's layers dir (absent: no
// metadata).
func readStore(dir *beneath.Dir) (storeFile, error) {
	var f storeFile
	if _, _, err := readTOML(dir, "store.toml", &f); err != nil {
		return storeFile{}, fmt.Errorf("reading store.toml: %w", err)
	}
	if err := checkMetadata("metadata", f.Metadata); err != nil {
		return storeFile{}, fmt.Errorf("reading %s: %w", dir.Path("store.toml"), err)
	}
	return f, nil
}

// checkBOM checks the metadata of bom entries (or of the entries of a plan
// below Buildpack API 0.5, which become the bom).
func checkBOM(entries []Require) error {
	for i, r := range entries {
		if err := checkMetadata(fmt.Sprintf("bom[%d].metadata", i), r.Metadata); err != nil {
			return err
		}
	}
	return nil
}
