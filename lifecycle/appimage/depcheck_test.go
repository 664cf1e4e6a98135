package appimage

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// Finished images are read through the phases' label types only.
func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle/appimage", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc",
		"./lifecycle/distribution", "./lifecycle/project", "./lifecycle/platform")
}
