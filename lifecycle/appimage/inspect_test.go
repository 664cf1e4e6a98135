package appimage

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestInspect(t *testing.T) {
	run := runImageFixture(t, 2, types.OCIManifestSchema1, nil, nil)
	app := appImageFixture(t, run, "0.13", "registry.example/run:1", []string{"mirror.example/run:1"})
	info, err := Inspect(app)
	if err != nil {
		t.Fatal(err)
	}
	ids := diffIDs(t, app)
	digests := layerDigests(t, app)
	m, _ := app.Manifest()
	runDigest, _ := run.Digest()
	appDigest, _ := app.Digest()
	want := &ImageInfo{
		Digest: appDigest.String(), Created: "1980-01-01T00:00:01Z", OS: "linux", Architecture: "amd64",
		PlatformAPI: "0.13", Stack: "kiln.test.stack", Distro: &DistroInfo{Name: "busybox", Version: "1"}, Rebasable: true,
		RunImage: RunImageInfo{Image: "registry.example/run:1", Mirrors: []string{"mirror.example/run:1"},
			Reference: runDigest.String(), TopLayer: ids[1]},
		Buildpacks: []ModuleInfo{{ID: "example/hello", Version: "0.0.1", Homepage: "https://example.com/hello"}},
		Processes: []ProcessInfo{
			{Type: "web", Command: []string{"app.sh"}, Args: []string{"default-arg"}, Direct: true,
				WorkingDir: "/workspace", BuildpackID: "example/hello", Default: true},
			{Type: "tool", Command: []string{"tool"}, Args: []string{}, Direct: true, WorkingDir: "/workspace", BuildpackID: "example/hello"},
		},
		DefaultProcess: "web", Launcher: "0.1.0",
		BaseLayers: []LayerInfo{
			{DiffID: ids[0], Digest: digests[0], Size: m.Layers[0].Size, CreatedBy: "random"},
			{DiffID: ids[1], Digest: digests[1], Size: m.Layers[1].Size, CreatedBy: "random"},
		},
		AppLayers: []LayerInfo{
			{DiffID: ids[2], Digest: digests[2], Size: m.Layers[2].Size, Role: "example/hello:tools",
				CreatedBy: "Layer: 'tools', Created by buildpack: example/hello@0.0.1"},
			{DiffID: ids[3], Digest: digests[3], Size: m.Layers[3].Size, Role: "slice-1", CreatedBy: "Application Layer"},
			{DiffID: ids[4], Digest: digests[4], Size: m.Layers[4].Size, Role: "buildpacksio/lifecycle:launcher", CreatedBy: "Buildpacks Application Launcher"},
		},
	}
	want.BaseSize = m.Layers[0].Size + m.Layers[1].Size
	want.AppSize = m.Layers[2].Size + m.Layers[3].Size + m.Layers[4].Size
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Inspect (-want +got):\n%s", diff)
	}
	// The JSON form reads back into the same struct.
	raw, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var back ImageInfo
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	// An image without buildpack labels: every layer is base.
	plain, err := Inspect(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.BaseLayers) != 2 || len(plain.AppLayers) != 0 || len(plain.Buildpacks) != 0 || plain.RunImage.TopLayer != "" {
		t.Errorf("Inspect of a run image: %+v", plain)
	}
}
