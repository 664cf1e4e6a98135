package platform

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "lifecycle/platform", "./sandbox", "./stackgen", "./cmd",
		"github.com/spf13/cobra", "github.com/opencontainers/runc")
}
