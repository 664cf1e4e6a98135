package project

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// The project side knows buildpack locators (distribution), nothing of the phases
// or the orchestration.
func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle/project", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc",
		"=./lifecycle", "./lifecycle/platform", "./lifecycle/appimage")
}
