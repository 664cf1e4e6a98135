package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestMain(m *testing.M) { os.Exit(RunWithDocker(m)) }

// busyboxArchive writes a docker-archive of a one-layer busybox image named
// ref and returns its path.
func busyboxArchive(t *testing.T, ref string) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		Skip(t, "busybox-static is not installed (make deps)")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(h *tar.Header) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	hdr(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	hdr(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	hdr(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	for _, applet := range []string{"sh", "cat", "id", "touch", "grep", "wget"} {
		hdr(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64",
		Config: v1.Config{Env: []string{"PATH=/bin"}}, RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDockerPod proves the harness confines containers as a restricted pod
// is: the user, no capabilities, no_new_privs, Docker's default seccomp
// filter (or none when unconfined), a read-only root filesystem with a
// writable /tmp and writable emptyDir volumes.
func TestDockerPod(t *testing.T) {
	d := SharedDocker(t)
	d.Load(t, busyboxArchive(t, "kiln.test/busybox:1"))
	probe := `id -u; id -g; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status;
touch /rootfs-write 2>/dev/null && echo rootfs writable || echo rootfs read-only
touch /tmp/x && echo tmp writable; touch /empty/x && echo empty writable`
	for _, tc := range []struct {
		name string
		pod  Pod
		want []string
	}{
		{"restricted", Pod{}, []string{"1000680000\n0\n", "CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"}},
		{"unconfined seccomp", Pod{SeccompUnconfined: true}, []string{"1000680000\n0\n", "NoNewPrivs:\t1", "Seccomp:\t0"}},
		{"uid 1000", Pod{User: "1000:1000"}, []string{"1000\n1000\n", "CapEff:\t0000000000000000", "Seccomp:\t2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod
			p.Image = "kiln.test/busybox:1"
			p.Volumes = []string{EmptyDir(t) + ":/empty"}
			out, errOut, code := d.Run(t, p, "sh", "-c", probe)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			for _, want := range append(tc.want, "rootfs read-only", "tmp writable", "empty writable") {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	// A registry on the host's loopback is reachable with --network host.
	r := StartDockerRegistry(t)
	out, errOut, code := d.Run(t, Pod{Image: "kiln.test/busybox:1"}, "wget", "-q", "-O", "-", "http://"+r.Host+"/v2/")
	if code != 0 || strings.TrimSpace(out) != "{}" {
		t.Errorf("GET /v2/ of the test registry from the pod: exit %d %q %s", code, out, errOut)
	}
}
