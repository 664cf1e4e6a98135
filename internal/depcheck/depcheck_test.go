package depcheck

import "testing"

// TestInternalIsLeaf enforces the house rule that internal packages are
// leaves: they import nothing of kiln's outside internal/.
func TestInternalIsLeaf(t *testing.T) {
	for _, p := range []string{"internal/atomicfile", "internal/testutil", "internal/depcheck", "internal/tomlkeys", "internal/treecopy"} {
		AssertNoDependency(t, p, "./oci", "./sandbox", "./lifecycle", "./stackgen", "./cmd")
	}
}
