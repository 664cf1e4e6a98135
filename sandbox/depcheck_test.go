package sandbox_test

import (
	"os"
	"testing"

	"github.com/kilnbuild/kiln/internal/depcheck"
)

func TestDepcheck(t *testing.T) {
	if os.Getenv("KILN_TEST_ROOTLESS") == "1" {
		// The rootless pass runs a copy of the test binary outside the
		// module; imports do not depend on privileges and the first pass
		// checked them.
		t.Log("import direction checked by the pass as root")
		return
	}
	depcheck.AssertNoDependency(t, "sandbox", "./oci", "./lifecycle", "./stackgen", "./cmd", "github.com/spf13/cobra")
}
