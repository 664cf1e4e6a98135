package oci

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/kilnbuild/kiln/internal/testutil"
)

// ociImage returns a random image with OCI media types (random.Image makes
// Docker ones).
func ociImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, layers)
	for i := 0; i < layers; i++ {
		l, err := random.Layer(1024, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "ociImage"}})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	return withPlatform(t, img)
}

// withPlatform sets the config's os and architecture, which umoci needs.
func withPlatform(t testing.TB, img v1.Image) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// dockerImage returns a random image with Docker v2 media types.
func dockerImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(1024, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return withPlatform(t, img)
}

func mustParse(t testing.TB, s string) Reference {
	t.Helper()
	r, err := ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkOutput reads ref back and checks it the way other tools would:
// ggcr's validate.Image always, skopeo inspect for layouts and archives,
// umoci unpack for layouts with OCI media types.
func checkOutput(t *testing.T, ref Reference, opts ...Option) v1.Image {
	t.Helper()
	img, err := Read(context.Background(), ref, opts...)
	if err != nil {
		t.Fatalf("reading back %s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validating %s: %v", ref, err)
	}
	switch ref.Kind {
	case KindLayout:
		// skopeo 1.9 and umoci 0.4.7 ignore Docker-typed manifests in a
		// layout; kiln keeps a registry image's bytes (and digest) instead
		// of converting, so only OCI-typed images are theirs to check.
		if mt, _ := img.MediaType(); mt == types.OCIManifestSchema1 {
			skopeo(t, "inspect", "oci:"+ref.Path+":"+ref.Tag)
			umociUnpack(t, ref.Path+":"+ref.Tag)
		}
	case KindArchive:
		skopeo(t, "inspect", "docker-archive:"+ref.Path)
	}
	return img
}

func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		testutil.Skip(t, "skopeo is not installed (hack/deps.sh installs it)")
	}
	out, err := exec.Command("skopeo", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
	return out
}

func umociUnpack(t *testing.T, image string) {
	t.Helper()
	if _, err := exec.LookPath("umoci"); err != nil {
		testutil.Skip(t, "umoci is not installed (hack/deps.sh installs it)")
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.Command("umoci", "unpack", "--rootless", "--image", image, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack --rootless --image %s: %v\n%s", image, err, out)
	}
}
