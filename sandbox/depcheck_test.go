package sandbox

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "sandbox", "./oci", "./lifecycle", "./stackgen", "./cmd", "github.com/spf13/cobra")
}
