package lifecycle

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
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

// readLayers reads the layers of a buildpack's layers dir bp (bpDir: its
// paths) after a build of API v, in name order. Layers with every flag
// false (including restored metadata-only TOMLs the buildpack did not
// re-flag) are left out; from API 0.6 their directory is renamed to
// <name>.ignore. A <name>.toml whose name is not a layer name is an error.
func readLayers(bp *beneath.Dir, bpDir Dir, v api.Version, log *slog.Logger) ([]Layer, error) {
	names, err := bp.Names()
	if err != nil {
		return nil, fmt.Errorf("reading layers dir: %w", err)
	}
	var out []Layer
	for _, n := range names {
		name, ok := strings.CutSuffix(n, ".toml")
		if !ok || notLayers[n] {
			continue
		}
		if fi, err := bp.Lstat(n); err == nil && fi.IsDir() {
			continue
		}
		if err := checkLayerName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", bp.Path(n), err)
		}
		l, err := readLayer(bp, bpDir, name, v, log)
		if err != nil {
			return nil, err
		}
		if l != nil {
			out = append(out, *l)
		}
	}
	return out, nil
}

// checkLayerName checks the name of a layer, as a <name>.toml file gives
// it: not empty, ".", ".." (which would name the buildpack's layers dir or
// the whole layers dir) or reserved.
func checkLayerName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.Contains(name, "/"):
		return fmt.Errorf("%q is not a layer name: %w", name, ErrInvalidLayerName)
	case notLayers[name+".toml"]:
		return fmt.Errorf("%q is a reserved name: %w", name, ErrInvalidLayerName)
	}
	return nil
}

// readLayer reads one layer; nil means it is ignored.
func readLayer(bp *beneath.Dir, bpDir Dir, name string, v api.Version, log *slog.Logger) (*Layer, error) {
	var f layerFile
	if _, _, err := readTOML(bp, name+".toml", &f); err != nil {
		return nil, fmt.Errorf("reading layer metadata: %w", err)
	}
	t, err := f.flags(v, log, name)
	if err == nil {
		err = checkMetadata("metadata", f.Metadata)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bp.Path(name+".toml"), err)
	}
	l := &Layer{Name: name, Dir: bpDir.join(name), Launch: t.Launch, Build: t.Build, Cache: t.Cache, Metadata: f.Metadata}
	fi, err := bp.Lstat(name)
	l.HasDir = err == nil && fi.IsDir()
	if t.Launch || t.Build || t.Cache {
		if err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("%s is %s, not a layer directory", bp.Path(name), beneath.Kind(fi.Mode()))
		}
		return l, nil
	}
	if v.AtLeast("0.6") && l.HasDir {
		if err := bp.Rename(name, bp, name+".ignore"); err != nil {
			return nil, fmt.Errorf("%s: ignoring layer %s (no flag set): %w", bp.Path(name+".toml"), name, err)
		}
	}
	return nil, nil
}
