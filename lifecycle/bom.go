package lifecycle

import (
	"encoding/json"
	"fmt"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// BOMEntry is an entry of the deprecated bill of materials: [[bom]] in
// launch.toml and build.toml (Buildpack API 0.5–0.6, still read later),
// and, below API 0.5, what a buildpack left in its plan file.
type BOMEntry struct {
	Name      string         `toml:"name" json:"name"`
	Version   string         `toml:"version,omitempty" json:"version,omitempty"`
	Metadata  map[string]any `toml:"metadata" json:"metadata"`
	Buildpack BOMBuildpack   `toml:"buildpack" json:"buildpack"`
}

// BOMBuildpack names the buildpack of a BOM entry.
type BOMBuildpack struct {
	ID      string `toml:"id" json:"id"`
	Version string `toml:"version" json:"version"`
}

// legacyBOM collects the BOM of a build, for launch and for build.
type legacyBOM struct {
	launch, build []BOMEntry
}

// add checks entries of bp against the rules of its API and records them.
// Below API 0.5 a top-level version must agree with metadata.version and
// moves into it; from 0.5 a top-level version is an error.
func (b *legacyBOM) add(launch bool, bp *Buildpack, entries []Require) error {
	for _, r := range entries {
		e := BOMEntry{Name: r.Name, Metadata: r.Metadata, Buildpack: BOMBuildpack{ID: bp.Info.ID, Version: bp.Info.Version}}
		if r.Version != "" {
			if bp.api.AtLeast("0.5") {
				return fmt.Errorf("bom entry %q of %s has a top-level version; use metadata.version", r.Name, bp.Info.ID)
			}
			if mv, ok := r.Metadata["version"]; ok && fmt.Sprint(mv) != r.Version {
				return fmt.Errorf("bom entry %q of %s: version does not match metadata.version", r.Name, bp.Info.ID)
			}
			e.Metadata = map[string]any{}
			for k, v := range r.Metadata {
				e.Metadata[k] = v
			}
			e.Metadata["version"] = r.Version
		}
		if launch {
			b.launch = append(b.launch, e)
		} else {
			b.build = append(b.build, e)
		}
	}
	return nil
}

// write stores the BOM as <layers>/sbom/{launch,build}/sbom.legacy.json
// (Platform API ≥0.9; earlier platforms put it in metadata.toml).
func (b *legacyBOM) write(layers *beneath.Dir) error {
	for _, part := range []struct {
		kind    string
		entries []BOMEntry
	}{{"launch", b.launch}, {"build", b.build}} {
		if len(part.entries) == 0 {
			continue
		}
		data, err := json.Marshal(part.entries)
		if err != nil {
			return err
		}
		dir, err := layers.MkdirAll("sbom/"+part.kind, 0o755)
		if err == nil {
			err = dir.WriteFile("sbom.legacy.json", data, 0o644)
			dir.Close()
		}
		if err != nil {
			return fmt.Errorf("writing legacy BOM: %w", err)
		}
	}
	return nil
}
