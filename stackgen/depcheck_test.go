package stackgen

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "stackgen", "./lifecycle", "./sandbox", "./cmd", "github.com/spf13/cobra")
}
