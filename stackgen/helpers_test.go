package stackgen_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

const busybox = "/bin/busybox" // Debian's busybox-static (hack/deps.sh)

// busyboxRootfs assembles a small root filesystem: busybox with a few
// applet links, and the account and os-release files the test gives.
func busyboxRootfs(t *testing.T, passwd, group string) string {
	t.Helper()
	if _, err := os.Stat(busybox); err != nil {
		testutil.Skip(t, "busybox-static is not installed: "+err.Error())
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "usr/lib", "home", "tmp"} {
		mkdir(t, filepath.Join(root, d))
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "bin/busybox"), string(b), 0o755)
	for _, applet := range []string{"sh", "id", "ls", "cat", "touch"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if passwd != "" {
		write(t, filepath.Join(root, "etc/passwd"), passwd, 0o644)
	}
	if group != "" {
		write(t, filepath.Join(root, "etc/group"), group, 0o644)
	}
	write(t, filepath.Join(root, "usr/lib/os-release"), "PRETTY_NAME=\"Test Linux 12\"\nID=testlinux\nVERSION_ID=\"12\"\n", 0o644)
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc/os-release")); err != nil {
		t.Fatal(err)
	}
	return root
}

const (
	basePasswd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"
	baseGroup  = "root:x:0:\nnogroup:x:65534:\n"
)

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T) *oci.Store {
	t.Helper()
	s, err := oci.OpenStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// file is an entry of an image's flattened file system.
type file struct {
	hdr     *tar.Header
	content string
}

// files flattens img (whiteouts applied) into name → entry.
func files(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")] = file{hdr: h, content: string(b)}
	}
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkImage runs validate.Image, and umoci unpack --rootless on the image
// written to a layout.
func checkImage(t *testing.T, img v1.Image) {
	t.Helper()
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	umoci, err := exec.LookPath("umoci")
	if err != nil {
		testutil.Skip(t, "umoci is not installed")
		return
	}
	dir := t.TempDir()
	ref, err := oci.ParseReference("oci:" + filepath.Join(dir, "layout") + ":img")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(umoci, "unpack", "--rootless", "--image", filepath.Join(dir, "layout")+":img", filepath.Join(dir, "bundle")).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
}
