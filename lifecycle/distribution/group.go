package distribution

import "fmt"

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
