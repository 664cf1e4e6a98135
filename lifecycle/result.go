package lifecycle

// BuildResult is what the exporter needs from the build.
type BuildResult struct {
	// Buildpacks are the group's buildpacks in order, each with its layers
	// (sorted by name) and store.toml.
	Buildpacks []BuildpackOutput
	// Metadata is what Run wrote to <layers>/config/metadata.toml:
	// buildpacks, labels, processes (sorted by type), slices, default type.
	Metadata BuildMetadata
	// Unmet is what is left of the plan: entries no buildpack met.
	Unmet Plan
	// SBOMDirs are the host paths of <layers>/sbom/{launch,build,cache}
	// that exist; "" otherwise. The launch one is the SBOM layer.
	SBOMDirs SBOMDirs
}

// SBOMDirs are the SBOM directories the build produced.
type SBOMDirs struct {
	Launch, Build, Cache string
}

// BuildpackOutput is one buildpack's share of the build result.
type BuildpackOutput struct {
	GroupEntry
	// Layers are the layers with at least one flag set, by name.
	Layers []Layer
	// Store is store.toml's [metadata]; nil without store.toml.
	Store map[string]any
}

// storeFile is store.toml.
type storeFile struct {
	Metadata map[string]any `toml:"metadata"`
}

// buildFile is build.toml (Buildpack API ≥0.5).
type buildFile struct {
	Unmet []struct {
		Name string `toml:"name"`
	} `toml:"unmet"`
	BOM []Require `toml:"bom"`
}
