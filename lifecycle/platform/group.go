package platform

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// Locator is where a project.toml group entry's buildpack comes from: its
// URI, or for an id (and version) a builder reference
// (urn:cnb:builder:ID[@VERSION]) that FetchBuildpacks resolves against the
// buildpacks already laid out. An inline buildpack has none; see
// ProjectLocators.
func (b ProjectBuildpack) Locator() string {
	switch {
	case b.URI != "":
		return b.URI
	case b.Inline():
		return ""
	case b.Version != "":
		return builderURN + b.ID + "@" + b.Version
	}
	return builderURN + b.ID
}

// ProjectLocators turns project.toml group entries into locators for
// FetchBuildpacks, writing each inline buildpack into its own directory
// under dir (see WriteInlineBuildpack; stackID is the builder's).
func ProjectLocators(refs []ProjectBuildpack, dir, stackID string) ([]string, error) {
	locators := make([]string, len(refs))
	for i, r := range refs {
		if !r.Inline() {
			locators[i] = r.Locator()
			continue
		}
		bpDir := filepath.Join(dir, "inline-"+strconv.Itoa(i))
		if err := WriteInlineBuildpack(bpDir, r, stackID); err != nil {
			return nil, err
		}
		locators[i] = bpDir
	}
	return locators, nil
}

// Group is the group the locators stand for, as a --buildpack list or a
// project.toml group replaces the order: each locator's main buildpack, in
// the order given.
func (b *Buildpacks) Group() []ModuleRef {
	group := make([]ModuleRef, len(b.Fetched))
	for i, f := range b.Fetched {
		group[i] = ModuleRef{ID: f.Main.ID, Version: f.Main.Version}
	}
	return group
}

// LayerInfo is d's entry in an io.buildpacks.buildpack.layers label, for a
// layer with the given diffID.
func (d Descriptor) LayerInfo(diffID string) LayerInfo {
	return LayerInfo{API: d.API, Stacks: d.Stacks, Targets: d.Targets, Order: d.Order,
		LayerDiffID: diffID, Homepage: d.Homepage, Name: d.Name}
}

// String is id@version.
func (r ModuleRef) String() string {
	if r.Version == "" {
		return r.ID
	}
	return fmt.Sprintf("%s@%s", r.ID, r.Version)
}
