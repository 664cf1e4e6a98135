// Package podtest runs kiln inside a restricted pod: containers of the
// test's own Docker daemon (testutil.SharedDocker) confined as the
// restricted Pod Security Standard confines a pod, running a builder image
// made by kiln with the static kiln binary mounted read-only. The daemon
// needs root: this package is not in hack/rootless-packages.
package podtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithDocker(m)) }

// repoRoot is the checkout the test was compiled from.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no source path for the test")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// kilnBinary is the static kiln that make build wrote (or KILN_TEST_BIN):
// the pods mount it read-only.
func kilnBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("KILN_TEST_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", "kiln")
	}
	if _, err := os.Stat(bin); err != nil {
		testutil.Skip(t, "no kiln binary (make build, or KILN_TEST_BIN): "+err.Error())
	}
	return bin
}

// kiln runs the kiln binary on the host in dir and returns its standard
// output; a non-zero exit fails t.
func kiln(t testing.TB, dir string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), kilnBinary(t), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kiln %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// copyTree copies src to dst (created) and hands every file to uid:gid, as
// a pod's init step that fetched the sources as the pod's user would have.
func copyTree(t testing.TB, src, dst string, uid, gid int) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dst {
			return nil // the volume itself stays the kubelet's
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}
