package distribution

import (
	"archive/tar"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// packStyleMetadata is an io.buildpacks.builder.metadata label as pack
// writes it: license keys capitalised (pack's License has no JSON tags),
// null extensions, the run image only in stack.runImage.
const packStyleMetadata = `{"description":"made by pack","buildpacks":[{"id":"acme/a","version":"1.0.0",` +
	`"licenses":[{"Type":"MIT","URI":""}]}],"extensions":null,"stack":{"runImage":{"image":"run:pack","mirrors":["mirror/run:pack"]}},` +
	`"lifecycle":{"version":"0.20.0","api":{"buildpack":"0.7","platform":"0.7"},"apis":{"buildpack":{"deprecated":[],` +
	`"supported":["0.7","0.12"]},"platform":{"deprecated":[],"supported":["0.7","0.14"]}}},"createdBy":{"name":"Pack CLI","version":"0.40.5"}}`

func TestReadBuilderImagePackStyle(t *testing.T) {
	stack := testStack()
	stack.withBox = false
	orderFile := func(id, version string) tarEntry {
		return tarEntry{name: "/cnb/order.toml", typeflag: tar.TypeReg, mode: 0o644,
			body: "[[order]]\n[[order.group]]\nid = \"" + id + "\"\nversion = \"" + version + "\"\n"}
	}
	runFile := tarEntry{name: "cnb/run.toml", typeflag: tar.TypeReg, mode: 0o644,
		body: "[[images]]\nimage = \"run:file\"\n"}
	labels := map[string]string{
		BuilderMetadataLabel: packStyleMetadata,
		BuildpackLayersLabel: `{"acme/a":{"1.0.0":{"api":"0.10","stacks":[{"id":"*"}],"layerDiffID":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}}`,
		MixinsLabel:          "null",
	}
	wantLayers := LayersMetadata{"acme/a": {"1.0.0": {API: "0.10", Stacks: []Stack{{ID: "*"}},
		LayerDiffID: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}}}
	for _, tc := range []struct {
		name      string
		layers    [][]tarEntry
		labels    map[string]string
		wantOrder Order
		wantRun   []RunImage
	}{
		{
			name:      "order from the label, version resolved",
			labels:    map[string]string{BuildpackOrderLabel: `[{"group":[{"id":"acme/a"}]}]`},
			wantOrder: Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}}}},
			wantRun:   []RunImage{{Image: "run:pack", Mirrors: []string{"mirror/run:pack"}}},
		},
		{
			name:      "an order label that does not resolve falls back on order.toml",
			labels:    map[string]string{BuildpackOrderLabel: `[{"group":[{"id":"acme/gone"}]}]`},
			layers:    [][]tarEntry{{orderFile("acme/a", "1.0.0")}},
			wantOrder: Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}}}},
			wantRun:   []RunImage{{Image: "run:pack", Mirrors: []string{"mirror/run:pack"}}},
		},
		{
			name:      "order from the top order.toml",
			layers:    [][]tarEntry{{orderFile("acme/a", "0.9.0")}, {orderFile("acme/a", "1.0.0")}},
			wantOrder: Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}}}},
			wantRun:   []RunImage{{Image: "run:pack", Mirrors: []string{"mirror/run:pack"}}},
		},
		{
			name:    "order.toml deleted by a whiteout",
			layers:  [][]tarEntry{{orderFile("acme/a", "1.0.0")}, {{name: "cnb/.wh.order.toml", typeflag: tar.TypeReg}}},
			wantRun: []RunImage{{Image: "run:pack", Mirrors: []string{"mirror/run:pack"}}},
		},
		{
			name:    "order.toml under an opaque directory",
			layers:  [][]tarEntry{{orderFile("acme/a", "1.0.0")}, {{name: "cnb/.wh..wh..opq", typeflag: tar.TypeReg}}},
			wantRun: []RunImage{{Image: "run:pack", Mirrors: []string{"mirror/run:pack"}}},
		},
		{
			name:      "run images from run.toml",
			labels:    map[string]string{BuildpackOrderLabel: `[{"group":[{"id":"acme/a","version":"1.0.0"}]}]`, BuilderMetadataLabel: `{"lifecycle":{"version":"0.20.0"}}`},
			layers:    [][]tarEntry{{runFile}},
			wantOrder: Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}}}},
			wantRun:   []RunImage{{Image: "run:file"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := testBuildImage(t, stack)
			for _, entries := range tc.layers {
				var err error
				if img, err = mutate.AppendLayers(img, layerFromEntries(t, entries)); err != nil {
					t.Fatal(err)
				}
			}
			img = withStringLabels(t, img, labels, tc.labels)
			b, err := ReadBuilderImage(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantOrder, b.Order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRun, b.RunImages); diff != "" {
				t.Errorf("run images (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantLayers, b.Buildpacks); diff != "" {
				t.Errorf("buildpacks (-want +got):\n%s", diff)
			}
			if b.UID != 1000 || b.GID != 1000 || b.StackID != "io.kiln.test" || b.Mixins != nil {
				t.Errorf("uid %d gid %d stack %q mixins %v", b.UID, b.GID, b.StackID, b.Mixins)
			}
		})
	}
	t.Run("licenses and creator", func(t *testing.T) {
		img := withStringLabels(t, testBuildImage(t, stack), labels, nil)
		b, err := ReadBuilderImage(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Metadata.Buildpacks[0].Licenses; len(got) != 1 || got[0].Type != "MIT" {
			t.Errorf("licenses %+v", got)
		}
		if b.Metadata.CreatedBy.Name != "Pack CLI" || b.Metadata.Lifecycle.APIs.Platform.Supported[1] != "0.14" {
			t.Errorf("metadata %+v", b.Metadata)
		}
	})
}

func TestReadBuilderImageErrors(t *testing.T) {
	stack := testStack()
	stack.withBox = false
	noUser := stack
	noUser.env = nil
	for _, tc := range []struct {
		name   string
		stack  stackImage
		labels map[string]string
		want   error
	}{
		{"no metadata label", stack, map[string]string{}, ErrNotBuilder},
		{"bad metadata label", stack, map[string]string{BuilderMetadataLabel: "{"}, ErrNotBuilder},
		{"bad layers label", stack, map[string]string{BuilderMetadataLabel: "{}", BuildpackLayersLabel: "[]"}, ErrNotBuilder},
		{"no CNB user", noUser, map[string]string{BuilderMetadataLabel: "{}"}, ErrInvalidBuildImage},
		{"order names a missing buildpack", stack, map[string]string{BuilderMetadataLabel: "{}",
			BuildpackOrderLabel: `[{"group":[{"id":"acme/a"}]}]`}, ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := withStringLabels(t, testBuildImage(t, tc.stack), tc.labels, nil)
			_, err := ReadBuilderImage(context.Background(), img)
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// withStringLabels sets labels (later maps win) on img.
func withStringLabels(t *testing.T, img v1.Image, maps ...map[string]string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for _, m := range maps {
		for k, v := range m {
			cf.Config.Labels[k] = v
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
