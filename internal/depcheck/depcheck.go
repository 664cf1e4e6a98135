// Package depcheck enforces kiln's import direction in tests: each top-level
// package has a depcheck_test.go naming what it must not import.
package depcheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Module is kiln's module path.
const Module = "github.com/kilnbuild/kiln"

// deps lists the transitive imports of pkg (a module-relative path such as
// "oci") using the go command, as go-containerregistry's depcheck does.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	if os.Getenv("KILN_TEST_ROOTLESS") == "1" {
		// The rootless pass of make test runs copies of the test binaries
		// outside the module, where go list cannot work; the import
		// graph does not depend on privileges and the root pass checked it.
		t.Log("import direction is checked in the root pass")
		return nil
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps", Module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("listing dependencies of %s: %v", pkg, err)
	}
	var p struct{ Deps []string }
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("decoding go list output for %s: %v", pkg, err)
	}
	return p.Deps
}

// AssertNoDependency fails t if pkg imports, directly or not, any package
// whose path is one of the forbidden paths or lies below one. A path that
// starts with "./" is module-relative ("./sandbox"); one that starts with "="
// forbids that package alone, not the packages below it ("=./lifecycle").
func AssertNoDependency(t *testing.T, pkg string, forbidden ...string) {
	t.Helper()
	for _, d := range deps(t, pkg) {
		for _, f := range forbidden {
			exact := strings.HasPrefix(f, "=")
			f = strings.TrimPrefix(f, "=")
			if strings.HasPrefix(f, "./") {
				f = Module + "/" + f[2:]
			}
			if d == f || (!exact && strings.HasPrefix(d, f+"/")) {
				t.Errorf("%s imports %s, which the house style forbids", pkg, d)
			}
		}
	}
}

// AssertStdlibOnly fails t if pkg imports anything outside the standard
// library (a path whose first element has no dot is standard).
func AssertStdlibOnly(t *testing.T, pkg string) {
	t.Helper()
	for _, d := range deps(t, pkg) {
		first, _, _ := strings.Cut(d, "/")
		if strings.Contains(first, ".") {
			t.Errorf("%s imports %s; it must use the standard library only", pkg, d)
		}
	}
}
