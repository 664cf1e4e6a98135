package oci

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertNoDependency(t, "oci", "./sandbox", "./lifecycle", "./stackgen", "./cmd", "github.com/spf13/cobra")
}
