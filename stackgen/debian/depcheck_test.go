package debian

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "stackgen/debian", "./oci", "./stackgen", "./lifecycle", "./sandbox", "./cmd",
		"github.com/google/go-containerregistry", "github.com/spf13/cobra")
}
