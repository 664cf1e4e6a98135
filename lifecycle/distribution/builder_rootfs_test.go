package distribution

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/oci"
)

// TestReadBuilderRootfs reads a builder from its unpacked root filesystem,
// as kiln does running inside it (--builder rootfs:/), and finds what
// ReadBuilderImage finds in the image: the order, the run images, the CNB
// user, and the buildpacks laid out.
func TestReadBuilderRootfs(t *testing.T) {
	ctx := context.Background()
	img := createTestBuilder(t, builderFixture(t, ""), testBuildImage(t, testStack()))
	want, err := ReadBuilderImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := oci.Unpack(ctx, img, root, oci.UnpackOptions{Rootless: true}); err != nil {
		t.Fatal(err)
	}
	env := append(want.Env, "CNB_STACK_ID=io.kiln.test")
	got, bps, err := ReadBuilderRootfs(ctx, root, env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Order, got.Order); diff != "" {
		t.Errorf("order (-image +rootfs):\n%s", diff)
	}
	if diff := cmp.Diff(want.RunImages, got.RunImages); diff != "" {
		t.Errorf("run images (-image +rootfs):\n%s", diff)
	}
	if got.UID != want.UID || got.GID != want.GID || got.StackID != "io.kiln.test" {
		t.Errorf("CNB user %d:%d, stack %q; want %d:%d, io.kiln.test", got.UID, got.GID, got.StackID, want.UID, want.GID)
	}
	var names []string
	for _, d := range bps.All {
		names = append(names, d.FullName())
		if d.Dir != filepath.Join(root, "cnb", "buildpacks", EscapeID(d.ID), d.Version) {
			t.Errorf("%s is at %s", d.FullName(), d.Dir)
		}
	}
	if diff := cmp.Diff([]string{"acme/a@1.0.0", "acme/b@2.0.0", "acme/meta@0.1.0"}, names); diff != "" {
		t.Errorf("buildpacks (-want +got):\n%s", diff)
	}
	if _, err := bps.ResolveOrder(got.Order); err != nil {
		t.Errorf("resolving the order against the buildpacks laid out: %v", err)
	}

	// Not a builder, and no CNB user: errors that say so.
	if _, _, err := ReadBuilderRootfs(ctx, t.TempDir(), env); !errors.Is(err, ErrNotBuilder) {
		t.Errorf("an empty root: %v, want ErrNotBuilder", err)
	}
	if _, _, err := ReadBuilderRootfs(ctx, root, []string{"PATH=/bin"}); !errors.Is(err, ErrInvalidBuildImage) {
		t.Errorf("no CNB_USER_ID: %v, want ErrInvalidBuildImage", err)
	}
	// A buildpack laid out under the wrong directory is refused.
	if err := os.Rename(filepath.Join(root, "cnb", "buildpacks", "acme_b", "2.0.0"), filepath.Join(root, "cnb", "buildpacks", "acme_b", "9.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadBuilderRootfs(ctx, root, env); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("acme/b 2.0.0 at acme_b/9.0.0: %v, want ErrInvalidConfig", err)
	}
}
