package api

import (
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	depcheck.AssertStdlibOnly(t, "lifecycle/api")
}
