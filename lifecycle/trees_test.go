package lifecycle

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// TestTreesByHandle keeps the phases from touching what buildpacks write
// by path: every path-based file call in the package needs an allowance
// saying why its path is one kiln alone controls.
func TestTreesByHandle(t *testing.T) {
	const layout = "the cache's OCI layout: kiln's own directory, no buildpack sees it"
	const store = "the store: kiln's own directory, no buildpack sees it"
	const api = "an exported function on a file the caller names (the platform's own files)"
	depcheck.AssertNoPathCalls(t, map[string]string{
		"buildpack.go:exists":                     "the buildpacks dir: laid out by kiln, read-only to buildpacks, names joined inside it",
		"buildpack.go:ReadBuildpack":              "the buildpacks dir: laid out by kiln, read-only to buildpacks, names joined inside it",
		"paths.go:scopedJoin":                     "joins inside the buildpacks dir (above)",
		"cache.go:Read":                           layout,
		"cache.go:Drop":                           layout,
		"cache.go:pruneLayout":                    layout,
		"cache.go:layoutBlobs":                    layout,
		"cache_trees.go:KeepTrees":                "creates the cache trees dir in the store; what goes in is moved by handle",
		"exporter_fingerprint.go:TreeAt":          store,
		"exporter_fingerprint.go:remembered":      store,
		"analyzed.go:ReadAnalyzed":                api,
		"project_metadata.go:ReadProjectMetadata": api,
		"group.go:ReadGroup":                      api,
		"plan.go:ReadPlan":                        api,
		"order.go:ReadOrder":                      api,
		"metadata.go:ReadBuildMetadata":           api,
		"tomlfile.go:writeFileAtomic":             api + " and the store's records",
	})
}
