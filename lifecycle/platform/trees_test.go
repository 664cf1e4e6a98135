package platform

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// TestTreesByHandle: one build prepares its directories by path before any
// buildpack runs, and reads the build image's root filesystem, which no
// buildpack writes; what buildpacks write is read by package lifecycle,
// through handles. Every path-based call here says which of those it is.
func TestTreesByHandle(t *testing.T) {
	const before = "kiln's own directories, before any buildpack runs"
	const image = "the build image's root filesystem (shared and read-only, or / in place): no buildpack writes it"
	depcheck.AssertNoPathCalls(t, map[string]string{
		"build.go:layOutDirs":                 before,
		"build.go:volumeMountpoints":          "mount points in the platform dir (kiln's, read-only to buildpacks) for the user's volumes",
		"inplace.go:inPlaceDirs":              before + " (the app, layers and platform dirs the user gives)",
		"inplace.go:existingDir":              before,
		"inplace.go:inPlaceInputs":            "the order file the platform names (-order)",
		"inplace.go:writableDir":              before,
		"phases.go:prepareDirs":               before,
		"phases.go:writeEnvFiles":             "the platform dir: kiln's, read-only to buildpacks",
		"phases.go:writeBuildConfig":          "the build-config dir: kiln's, never mounted",
		"phases.go:chownTree":                 before + " (the app copy and the empty layers dir)",
		"phases.go:previousMissing":           "the user's --previous-image path",
		"builder_lifecycle.go:readRootfsFile": image,
		"stack.go:builderEnvFiles":            image,
		"stack.go:withHome":                   image,
		"stack.go:passwdHome":                 image,
		"stack.go:targetData":                 image,
		"stack.go:osRelease":                  image,
	})
}
