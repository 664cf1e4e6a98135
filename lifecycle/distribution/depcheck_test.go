package distribution

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// The distribution formats never import the build: not the phases, not the
// project, not the orchestration.
func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle/distribution", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc",
		"=./lifecycle", "./lifecycle/project", "./lifecycle/platform", "./lifecycle/appimage")
}
