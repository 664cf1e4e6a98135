package platform

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// One build drives the phases, distribution and project; the sandbox comes in only
// through the Sandbox interface the CLI implements.
func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle/platform", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc",
		"./lifecycle/appimage")
}
