package oci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestArchiveLoadsInPodman proves that a docker-archive kiln writes is one
// that `podman load` (the daemonless docker load) accepts, with its name.
func TestArchiveLoadsInPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		testutil.Skip(t, "podman is not installed (hack/deps.sh installs it)")
	}
	dir := t.TempDir()
	for _, tc := range []struct{ name, ref string }{
		{"oci", "docker-archive:" + filepath.Join(dir, "oci.tar") + ":example.test/kiln/oci:v1"},
		{"docker", "docker-archive:" + filepath.Join(dir, "docker.tar") + ":example.test/kiln/docker:v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := withPlatform(t, ociImage(t, 2))
			if tc.name == "docker" {
				img = withPlatform(t, dockerImage(t, 2))
			}
			ref := mustParse(t, tc.ref)
			if _, err := Write(context.Background(), ref, img); err != nil {
				t.Fatal(err)
			}
			// A private storage root: nothing of the machine's podman state is
			// read or changed. Short, because podman limits the runroot to 50
			// characters.
			root, err := os.MkdirTemp("", "kpd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			podman := func(args ...string) string {
				t.Helper()
				base := []string{"--root", filepath.Join(root, "root"), "--runroot", filepath.Join(root, "run"),
					"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"}
				out, err := exec.Command("podman", append(base, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("podman %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			out := podman("load", "-i", ref.Path)
			want := ref.Name.String()
			if !strings.Contains(out, want) {
				t.Fatalf("podman load did not report %s:\n%s", want, out)
			}
			if imgs := podman("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(imgs, want) {
				t.Fatalf("podman images does not list %s:\n%s", want, imgs)
			}
		})
	}
}
