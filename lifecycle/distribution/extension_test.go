package distribution

import (
	"archive/tar"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestFetchExtensions(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	extDir := filepath.Join(src, "ext")
	testutil.WriteFile(t, filepath.Join(extDir, ExtensionDescriptorFile),
		"api = \"0.10\"\n[extension]\nid = \"acme/ext\"\nversion = \"0.1.0\"\nname = \"Ext\"\n")
	testutil.WriteFile(t, filepath.Join(extDir, "bin/generate"), "#!/bin/sh\n")
	testutil.WriteFile(t, filepath.Join(extDir, "bin/detect"), "#!/bin/sh\n")

	// An extension package: its layer under /cnb/extensions.
	entries := []tarEntry{
		{name: "/cnb/extensions/acme_ext/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "/cnb/extensions/acme_ext/0.1.0/", typeflag: tar.TypeDir, mode: 0o755},
	}
	entries = append(entries, dirEntries(t, extDir, "/cnb/extensions/acme_ext/0.1.0")...)
	l := layerFromEntries(t, entries)
	diffID, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	img = withLabels(t, img, map[string]any{
		ExtensionMetadataLabel: BuildpackageMetadata{ID: "acme/ext", Version: "0.1.0"},
		ExtensionLayersLabel:   LayersMetadata{"acme/ext": {"0.1.0": LayerInfo{API: "0.10", LayerDiffID: diffID.String()}}},
	})
	cnb := writeCNB(t, filepath.Join(src, "ext.cnb"), img)

	for _, loc := range []string{extDir, cnb} {
		dst := t.TempDir()
		bps, err := FetchBuildpacks(ctx, []string{loc}, dst, AsExtensions())
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		d := bps.Fetched[0].Main
		if d.FullName() != "acme/ext@0.1.0" || !d.Extension || d.Name != "Ext" ||
			d.Path != filepath.Join(dst, "acme_ext", "0.1.0", ExtensionDescriptorFile) {
			t.Errorf("%s: Main = %+v", loc, d)
		}
		got := testutil.Tree(t, d.Dir)
		if got["bin/generate"] != "-rwxr-xr-x #!/bin/sh\n" {
			t.Errorf("%s: bin/generate = %q", loc, got["bin/generate"])
		}
	}
	// Fetched as a buildpack, the extension package is not a buildpackage.
	if _, err := FetchBuildpacks(ctx, []string{cnb}, t.TempDir()); !errors.Is(err, ErrNotBuildpackage) {
		t.Errorf("extension package as a buildpack: error %v", err)
	}
	if _, err := FetchBuildpacks(ctx, []string{extDir}, t.TempDir()); !errors.Is(err, ErrNoDescriptor) {
		t.Errorf("extension dir as a buildpack: error %v", err)
	}
}
