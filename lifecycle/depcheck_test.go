package lifecycle

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

// The phases are the lowest layer of lifecycle: they know nothing of the
// distribution formats, the project descriptor, one build's orchestration
// or finished images.
func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc",
		"./lifecycle/distribution", "./lifecycle/project", "./lifecycle/platform", "./lifecycle/appimage")
}
