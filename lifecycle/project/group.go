package project

import (
	"path/filepath"
	"strconv"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// Locator is where a project.toml group entry's buildpack comes from: its
// URI, or for an id (and version) a builder reference
// (urn:cnb:builder:ID[@VERSION]) that distribution.FetchBuildpacks resolves against the
// buildpacks already laid out. An inline buildpack has none; see
// Locators.
func (b Buildpack) Locator() string {
	switch {
	case b.URI != "":
		return b.URI
	case b.Inline():
		return ""
	}
	return distribution.BuilderLocator(b.ID, b.Version)
}

// Locators turns project.toml group entries into locators for
// distribution.FetchBuildpacks, writing each inline buildpack into its own directory
// under dir (see WriteInlineBuildpack; stackID is the builder's).
func Locators(refs []Buildpack, dir, stackID string) ([]string, error) {
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
