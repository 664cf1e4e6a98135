package depcheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInternalIsLeaf enforces the house rule that internal packages are
// leaves: they import nothing of kiln's outside internal/.
func TestInternalIsLeaf(t *testing.T) {
	for _, p := range []string{"internal/atomicfile", "internal/beneath", "internal/testutil", "internal/depcheck", "internal/tomlkeys", "internal/treecopy"} {
		AssertNoDependency(t, p, "./oci", "./sandbox", "./lifecycle", "./stackgen", "./cmd")
	}
}

// TestPathCalls proves the path-call check sees calls through renamed
// imports and methods, honours allowances and reports stale ones.
func TestPathCalls(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import (
	"os"
	fp "path/filepath"
	sj "github.com/cyphar/filepath-securejoin"
)

type T struct{}

func (T) read(p string) { os.ReadFile(p); fp.WalkDir(p, nil) }
func ok(p string)       { os.Getenv(p); fp.Join(p) }
func trusted(p string)  { os.MkdirAll(p, 0) }
func joined(p string)   { sj.SecureJoin(p, "x") }
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\nimport \"os\"\nfunc x() { os.Remove(\"\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := PathCalls(dir, map[string]string{"p.go:trusted": "kiln's own", "p.go:gone": "was"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"p.go:11: fp.WalkDir in read", "p.go:11: os.ReadFile in read", "p.go:14: sj.SecureJoin in joined",
		"p.go:gone: stale allowance (no path-based call there any more)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PathCalls (-want +got):\n%s", diff)
	}
}
