// Package testutil holds helpers shared by kiln's tests: strict skipping,
// registries (in-process and a real docker-registry process) and fixtures.
package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Strict reports whether skipping is forbidden: make test sets
// KILN_TEST_STRICT=1 because on the CI machine every test must run.
func Strict() bool { return os.Getenv("KILN_TEST_STRICT") == "1" }

// Skip skips t with reason, or fails it in strict mode, so that a missing
// tool or privilege on the CI machine can never pass silently.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Strict() {
		t.Fatalf("cannot run here and KILN_TEST_STRICT=1: %s", reason)
	}
	t.Skip(reason)
}

// Rootless reports whether the test process runs without root.
func Rootless() bool { return os.Geteuid() != 0 }

// SameAcrossModes proves that value does not depend on privileges: make
// test runs privilege-dependent packages twice, as root and then as an
// unprivileged user, with KILN_TEST_DIGESTS naming a directory both passes
// share. The root pass records value under key; the rootless pass fails
// unless it computed the same value. Outside make test it only logs.
func SameAcrossModes(t testing.TB, key, value string) {
	t.Helper()
	dir := os.Getenv("KILN_TEST_DIGESTS")
	if dir == "" {
		t.Logf("%s = %s (KILN_TEST_DIGESTS unset: not compared across modes)", key, value)
		return
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(key))
	if !Rootless() {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			t.Fatalf("recording %s: %v", key, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		if Strict() {
			t.Fatalf("the root pass recorded no %s to compare with: %v", key, err)
		}
		t.Logf("no root-pass value for %s: %v", key, err)
		return
	}
	if string(want) != value {
		t.Errorf("%s differs between modes: root %s, rootless %s", key, want, value)
	}
}
