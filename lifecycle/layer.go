package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Layer is one layer a buildpack left in <layers>/<escaped-id>/ after its
// build: a <name>.toml with at least one flag set, and possibly a directory.
type Layer struct {
	Name string
	// Dir is the layer directory; the container path is where it sits in
	// the output image (e.g. /layers/acme_node/node).
	Dir    Dir
	HasDir bool // false: only <name>.toml exists (e.g. a reused launch layer)
	Launch bool
	Build  bool
	Cache  bool
	// Metadata is the [metadata] table (nil when absent).
	Metadata map[string]any
}

// layerFile is <layer>.toml in either format: top-level flags below
// Buildpack API 0.6, a [types] table from 0.6.
type layerFile struct {
	Launch   *bool          `toml:"launch"`
	Build    *bool          `toml:"build"`
	Cache    *bool          `toml:"cache"`
	Types    *layerTypes    `toml:"types"`
	Metadata map[string]any `toml:"metadata"`
}

type layerTypes struct {
	Launch bool `toml:"launch"`
	Build  bool `toml:"build"`
	Cache  bool `toml:"cache"`
}

// notLayers are the files of a buildpack's layers dir that are not layer
// metadata.
var notLayers = map[string]bool{"launch.toml": true, "build.toml": true, "store.toml": true}

// decode reads the flags of a <layer>.toml for a buildpack of API v. From
// 0.6 top-level flags are an error; below 0.6 a [types] table is ignored
// with a warning.
func (f layerFile) flags(v api.Version, log *slog.Logger, name string) (layerTypes, error) {
	topLevel := f.Launch != nil || f.Build != nil || f.Cache != nil
	if v.AtLeast("0.6") {
		if topLevel {
			return layerTypes{}, fmt.Errorf("layer %s: the launch, build and cache flags belong in a [types] table for Buildpack API %s", name, v)
		}
		if f.Types == nil {
			return layerTypes{}, nil
		}
		return *f.Types, nil
	}
	if f.Types != nil {
		log.Warn("ignoring the [types] table of a layer: Buildpack API below 0.6 takes top-level flags", "layer", name)
	}
	deref := func(b *bool) bool { return b != nil && *b }
	return layerTypes{Launch: deref(f.Launch), Build: deref(f.Build), Cache: deref(f.Cache)}, nil
}

// readLayers reads the layers of the buildpack layers dir bpDir after a
// build of API v, in name order. Layers with every flag false (including
// restored metadata-only TOMLs the buildpack did not re-flag) are left out;
// from API 0.6 their directory is renamed to <name>.ignore.
func readLayers(bpDir Dir, v api.Version, log *slog.Logger) ([]Layer, error) {
	entries, err := os.ReadDir(bpDir.Host)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading layers dir %s: %w", bpDir.Host, err)
	}
	var out []Layer
	for _, ent := range entries {
		name, ok := strings.CutSuffix(ent.Name(), ".toml")
		if !ok || ent.IsDir() || notLayers[ent.Name()] || name == "" {
			continue
		}
		l, err := readLayer(bpDir, name, v, log)
		if err != nil {
			return nil, err
		}
		if l != nil {
			out = append(out, *l)
		}
	}
	return out, nil
}

// readLayer reads one layer; nil means it is ignored.
func readLayer(bpDir Dir, name string, v api.Version, log *slog.Logger) (*Layer, error) {
	var f layerFile
	tomlPath, err := bpDir.scopedJoin(name + ".toml")
	if err != nil {
		return nil, err
	}
	if _, _, err := decodeOptional(tomlPath.Host, &f); err != nil {
		return nil, fmt.Errorf("reading layer metadata %s: %w", tomlPath.Host, err)
	}
	t, err := f.flags(v, log, name)
	if err != nil {
		return nil, err
	}
	l := &Layer{Name: name, Dir: bpDir.join(name), Launch: t.Launch, Build: t.Build, Cache: t.Cache, Metadata: f.Metadata}
	fi, err := os.Lstat(l.Dir.Host)
	l.HasDir = err == nil && fi.IsDir()
	if t.Launch || t.Build || t.Cache {
		return l, nil
	}
	if v.AtLeast("0.6") && l.HasDir {
		if err := os.Rename(l.Dir.Host, l.Dir.Host+".ignore"); err != nil {
			return nil, fmt.Errorf("ignoring layer %s: %w", filepath.Base(l.Dir.Host), err)
		}
	}
	return nil, nil
}
