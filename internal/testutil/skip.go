// Package testutil holds helpers shared by kiln's tests: strict skipping,
// registries (in-process and a real docker-registry process) and fixtures.
package testutil

import (
	"os"
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
