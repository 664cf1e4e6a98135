package distribution

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// stackImage describes a build image made by testBuildImage.
type stackImage struct {
	arch    string
	env     []string
	labels  map[string]string
	withBox bool // busybox-static at /bin/busybox and /bin/sh
}

// testStack is the build image most tests use: busybox, a cnb user
// 1000:1000, linux/amd64, Debian 12, stack io.kiln.test.
func testStack() stackImage {
	return stackImage{
		arch:    "amd64",
		env:     []string{"PATH=/bin", "CNB_USER_ID=1000", "CNB_GROUP_ID=1000"},
		labels:  map[string]string{StackIDLabel: "io.kiln.test", DistroNameLabel: "debian", DistroVersionLabel: "12"},
		withBox: true,
	}
}

// testBuildImage assembles a build image in code: an OCI-typed image with one
// layer holding /etc/passwd, /etc/group and (withBox) the host's static
// busybox as /bin/busybox with /bin/sh linking to it.
func testBuildImage(t *testing.T, s stackImage) v1.Image {
	t.Helper()
	w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	addFile := func(name, content string, mode os.FileMode) {
		if err := w.File(name, mode, 0, 0, int64(len(content)), strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin", "etc", "home", "home/cnb"} {
		uid := 0
		if d == "home/cnb" {
			uid = 1000
		}
		if err := w.Dir(d, os.ModeDir|0o755, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	addFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1000:cnb:/home/cnb:/bin/sh\n", 0o644)
	addFile("etc/group", "root:x:0:\ncnb:x:1000:\n", 0o644)
	if s.withBox {
		box, err := os.ReadFile("/bin/busybox")
		if err != nil {
			testutil.Skip(t, "no /bin/busybox (busybox-static): "+err.Error())
		}
		addFile("bin/busybox", string(box), 0o755)
		if err := w.Symlink("bin/sh", "busybox", 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cfg, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", s.arch
	cfg.Config.Env, cfg.Config.Labels, cfg.Config.User = s.env, s.labels, "1000:1000"
	if base, err = mutate.ConfigFile(base, cfg); err != nil {
		t.Fatal(err)
	}
	img, err := oci.Mutate(base, oci.Mutation{Layers: []oci.Append{{Layer: l}}, Created: &oci.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// header is the part of a tar header the layout checks compare.
type header struct {
	Name     string
	Mode     int64
	UID, GID int
	Type     byte
	Linkname string
	Body     string // for small regular files
}

// layerHeaders lists a layer's entries; bodies of files under 4 KiB are
// kept.
func layerHeaders(t *testing.T, l v1.Layer) []header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return tarHeaders(t, rc)
}

func tarHeaders(t *testing.T, r io.Reader) []header {
	t.Helper()
	var hs []header
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(oci.Epoch) {
			t.Errorf("%s: mtime %v, want %v", hdr.Name, hdr.ModTime, oci.Epoch)
		}
		h := header{Name: hdr.Name, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid, Type: hdr.Typeflag, Linkname: hdr.Linkname}
		if hdr.Typeflag == tar.TypeReg && hdr.Size < 4096 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			h.Body = string(b)
		}
		hs = append(hs, h)
	}
}

// configLabels returns img's labels after validating the image.
func configLabels(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config.Labels
}

// digest returns img's manifest digest.
func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fileDigest hashes a file's bytes.
func fileDigest(t *testing.T, path string) v1.Hash {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fixtureSet writes the buildpacks most tests package: two components
// acme/a@1.0.0 and acme/b@2.0.0, and the composite acme/meta@0.1.0 whose
// order is a, then b (optional).
func fixtureSet(t *testing.T) (a, b, meta string) {
	t.Helper()
	dir := t.TempDir()
	a = writeBuildpack(t, filepath.Join(dir, "a"), fixtureBuildpack{id: "acme/a", version: "1.0.0"})
	b = writeBuildpack(t, filepath.Join(dir, "b"), fixtureBuildpack{id: "acme/b", version: "2.0.0"})
	meta = writeBuildpack(t, filepath.Join(dir, "meta"), fixtureBuildpack{id: "acme/meta", version: "0.1.0",
		order: Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}, {ID: "acme/b", Version: "2.0.0", Optional: true}}}}})
	return a, b, meta
}

// packageTo packages cfg and writes it as a .cnb file at path.
func packageTo(t *testing.T, cfg *PackageConfig, path string) v1.Image {
	t.Helper()
	img, err := PackageBuildpack(context.Background(), cfg, WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCNB(context.Background(), img, path); err != nil {
		t.Fatal(err)
	}
	return img
}
