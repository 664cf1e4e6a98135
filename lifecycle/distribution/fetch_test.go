package distribution

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

var (
	bpA    = fixtureBuildpack{id: "acme/a", version: "1.0.0"}
	bpB    = fixtureBuildpack{id: "acme/b", version: "2.0.0"}
	bpMeta = fixtureBuildpack{id: "acme/meta", version: "0.1.0", order: Order{{Group: []ModuleRef{
		{ID: "acme/a", Version: "1.0.0"}, {ID: "acme/b", Version: "2.0.0", Optional: true},
	}}}}
)

// summary is what the tests compare of a Fetched.
type summary struct {
	Main       string
	Buildpacks []string
	Composite  bool
	HasLayer   bool
}

func summarise(f Fetched) summary {
	s := summary{Main: f.Main.FullName(), Composite: f.Main.Composite(), HasLayer: f.Main.Layer != nil}
	for _, d := range f.Buildpacks {
		s.Buildpacks = append(s.Buildpacks, d.FullName())
	}
	return s
}

func TestFetchBuildpacks(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	dirB := writeBuildpack(t, filepath.Join(src, "b"), bpB)
	dirMeta := writeBuildpack(t, filepath.Join(src, "meta"), bpMeta)

	pkg := buildpackage(t, bpMeta,
		map[string]fixtureBuildpack{dirMeta: bpMeta},
		map[string]fixtureBuildpack{dirA: bpA, dirB: bpB}) // a flattened layer
	single := buildpackage(t, bpA, map[string]fixtureBuildpack{dirA: bpA})

	tgz := writeTgz(t, filepath.Join(src, "a.tgz"), dirA, "")
	tgzNested := writeTgz(t, filepath.Join(src, "a-nested.tar.gz"), dirA, "a-1.0.0")
	cnb := writeCNB(t, filepath.Join(src, "meta.cnb"), pkg)
	layoutDir := filepath.Join(src, "layout")
	writeLayout(t, layoutDir, single, "pkg")

	mux := http.NewServeMux()
	mux.HandleFunc("/a.tgz", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, tgz) })
	mux.HandleFunc("/meta.cnb", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, cnb) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	all3 := []string{"acme/a@1.0.0", "acme/b@2.0.0", "acme/meta@0.1.0"}
	tests := []struct {
		name    string
		locator string
		opts    []Option
		want    summary
	}{
		{"directory", dirA, nil, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"relative directory", "a", []Option{WithBaseDir(src)}, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"file url", "file://" + dirA, nil, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"tgz", tgz, nil, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"tgz with a top directory", tgzNested, nil, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"cnb", cnb, nil, summary{Main: "acme/meta@0.1.0", Buildpacks: all3, Composite: true}},
		{"http tgz", srv.URL + "/a.tgz", nil, summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}}},
		{"http cnb", srv.URL + "/meta.cnb", nil, summary{Main: "acme/meta@0.1.0", Buildpacks: all3, Composite: true}},
		{"oci layout reference", "oci:" + layoutDir + ":pkg", nil,
			summary{Main: "acme/a@1.0.0", Buildpacks: []string{"acme/a@1.0.0"}, HasLayer: true}},
		{"docker reference through a reader", "docker://registry.example/acme/meta:1", []Option{WithImageReader(
			func(ctx context.Context, ref string) (v1.Image, error) {
				if ref != "registry.example/acme/meta:1" {
					return nil, errors.New("unexpected reference " + ref)
				}
				return pkg, nil
			})}, summary{Main: "acme/meta@0.1.0", Buildpacks: all3, Composite: true, HasLayer: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "buildpacks")
			bps, err := FetchBuildpacks(ctx, []string{tt.locator}, dst, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(bps.Fetched) != 1 || bps.Fetched[0].Locator != tt.locator {
				t.Fatalf("Fetched = %+v", bps.Fetched)
			}
			if diff := cmp.Diff(tt.want, summarise(bps.Fetched[0])); diff != "" {
				t.Errorf("fetched (-want +got):\n%s", diff)
			}
			for _, d := range bps.All {
				bp := map[string]fixtureBuildpack{"acme/a": bpA, "acme/b": bpB, "acme/meta": bpMeta}[d.ID]
				checkLaidOut(t, dst, bp)
				if want := filepath.Join(dst, EscapeID(d.ID), d.Version); d.Dir != want {
					t.Errorf("%s: Dir = %s, want %s", d.FullName(), d.Dir, want)
				}
			}
			entries, err := os.ReadDir(dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind in dst: %s", e.Name())
				}
			}
		})
	}
}

func TestFetchBuildpacksDescriptors(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	dirB := writeBuildpack(t, filepath.Join(src, "b"), bpB)
	dirMeta := writeBuildpack(t, filepath.Join(src, "meta"), bpMeta)
	pkg := buildpackage(t, bpMeta, map[string]fixtureBuildpack{dirMeta: bpMeta, dirA: bpA, dirB: bpB})
	cnb := writeCNB(t, filepath.Join(src, "meta.cnb"), pkg)

	dst := t.TempDir()
	// A appears twice: by itself and inside the package.
	bps, err := FetchBuildpacks(ctx, []string{dirA, cnb}, dst)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range bps.All {
		got = append(got, d.FullName())
	}
	if diff := cmp.Diff([]string{"acme/a@1.0.0", "acme/b@2.0.0", "acme/meta@0.1.0"}, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	a, ok := bps.Lookup("acme/a", "")
	if !ok {
		t.Fatal("Lookup(acme/a) found nothing")
	}
	want := Descriptor{
		API: "0.10", ID: "acme/a", Version: "1.0.0", Name: "Fixture",
		Stacks:  []Stack{{ID: "*"}},
		Targets: []Target{{OS: "linux", Arch: "amd64", Distros: []Distro{{Name: "debian", Version: "12"}}}},
		Dir:     filepath.Join(dst, "acme_a", "1.0.0"), Path: filepath.Join(dst, "acme_a", "1.0.0", DescriptorFile),
	}
	if diff := cmp.Diff(want, a, cmpopts.IgnoreFields(Descriptor{}, "Layer")); diff != "" {
		t.Errorf("descriptor (-want +got):\n%s", diff)
	}
	meta, ok := bps.Lookup("acme/meta", "0.1.0")
	if !ok || !meta.Composite() || !cmp.Equal(meta.Order, bpMeta.order) {
		t.Errorf("Lookup(acme/meta) = %+v, %v", meta, ok)
	}
	if _, ok := bps.Lookup("acme/a", "9.9.9"); ok {
		t.Error("Lookup of a missing version found something")
	}

	// A second call into the same directory keeps what is there.
	bps2, err := FetchBuildpacks(ctx, []string{dirA}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if bps2.Fetched[0].Main.Dir != a.Dir {
		t.Errorf("second fetch laid out %s", bps2.Fetched[0].Main.Dir)
	}
}

func TestFetchBuildpacksErrors(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(src, "noid/buildpack.toml"), "api = \"0.10\"\n[buildpack]\nversion = \"1\"\n")
	testutil.WriteFile(t, filepath.Join(src, "reserved/buildpack.toml"), "[buildpack]\nid = \"app\"\nversion = \"1\"\n")

	notPkg := writeCNB(t, filepath.Join(src, "plain.cnb"), empty.Image)
	badLabel := withLabels(t, empty.Image, map[string]any{
		BuildpackageMetadataLabel: BuildpackageMetadata{ID: "acme/x", Version: "1"},
		BuildpackLayersLabel:      LayersMetadata{},
	})
	outside := func(entries []tarEntry) v1.Image {
		l := layerFromEntries(t, entries)
		diffID, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			t.Fatal(err)
		}
		return withLabels(t, img, map[string]any{
			BuildpackageMetadataLabel: BuildpackageMetadata{ID: "acme/a", Version: "1.0.0"},
			BuildpackLayersLabel: LayersMetadata{"acme/a": {"1.0.0": LayerInfo{API: "0.10",
				LayerDiffID: diffID.String()}}},
		})
	}
	good := bpLayerEntries(t, map[string]fixtureBuildpack{dirA: bpA})
	escaping := outside(append(good, tarEntry{name: "/etc/passwd", typeflag: 0x30, mode: 0o644, body: "x"}))
	climbing := outside(append(good, tarEntry{name: "../../x", typeflag: 0x30, mode: 0o644, body: "x"}))
	missingBp := outside([]tarEntry{{name: "/cnb/buildpacks/", typeflag: 0x35, mode: 0o755}})
	images := map[string]v1.Image{"bad-label": badLabel, "escaping": escaping, "climbing": climbing, "missing": missingBp}
	reader := WithImageReader(func(ctx context.Context, ref string) (v1.Image, error) {
		if img, ok := images[ref]; ok {
			return img, nil
		}
		return nil, errors.New("no such image")
	})
	testutil.WriteFile(t, filepath.Join(src, "junk.tgz"), "not an archive")

	tests := []struct {
		name    string
		locator string
		wantErr error
		errHas  string
	}{
		{"missing path", filepath.Join(src, "missing"), os.ErrNotExist, ""},
		{"missing cnb", "missing.cnb", os.ErrNotExist, ""},
		{"no buildpack.toml", filepath.Join(src, "empty"), ErrNoDescriptor, ""},
		{"no id", filepath.Join(src, "noid"), ErrInvalidDescriptor, ""},
		{"reserved id", filepath.Join(src, "reserved"), ErrInvalidDescriptor, ""},
		{"not a buildpackage", notPkg, ErrNotBuildpackage, "plain.cnb"},
		{"main not in layers", "bad-label", ErrNotBuildpackage, "acme/x"},
		{"entry outside /cnb/buildpacks", "escaping", ErrUnsafePath, "/etc"},
		{"entry climbing out", "climbing", oci.ErrUnsafePath, ""},
		{"labelled buildpack absent", "missing", os.ErrNotExist, ""},
		{"unreadable image", "docker://nowhere", nil, "no such image"},
		{"not an archive", filepath.Join(src, "junk.tgz"), nil, "junk.tgz"},
		{"registry urn", "urn:cnb:registry:acme/a@1.0.0", ErrUnsupportedLocator, ""},
		{"builder urn", "urn:cnb:builder:acme/a", ErrNoBuildpack, "acme/a"},
		{"builder urn with a version", "urn:cnb:builder:acme/a@1.0.0", ErrNoBuildpack, "acme/a@1.0.0"},
		{"whole builder", "from=builder", ErrUnsupportedLocator, ""},
		{"empty", "", ErrUnsupportedLocator, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			_, err := FetchBuildpacks(ctx, []string{tt.locator}, dst, reader, WithBaseDir(src))
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not mention %q", err, tt.errHas)
			}
			entries, _ := os.ReadDir(dst)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind in dst: %s", e.Name())
				}
			}
		})
	}
}

func TestExtractBuildpacks(t *testing.T) {
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	dirB := writeBuildpack(t, filepath.Join(src, "b"), bpB)
	// A builder-like image: the layers label without the buildpackage label.
	img := buildpackage(t, bpA, map[string]fixtureBuildpack{dirA: bpA}, map[string]fixtureBuildpack{dirB: bpB})
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	delete(cfg.Config.Labels, BuildpackageMetadataLabel)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	ds, err := ExtractBuildpacks(context.Background(), img, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].ID != "acme/a" || ds[1].ID != "acme/b" || ds[0].Layer == nil {
		t.Fatalf("ExtractBuildpacks = %+v", ds)
	}
	checkLaidOut(t, dst, bpA)
	checkLaidOut(t, dst, bpB)
	// The layer handed back is the image's own.
	d0, _ := ds[0].Layer.DiffID()
	layers, _ := img.Layers()
	if d, _ := layers[0].DiffID(); d != d0 {
		t.Errorf("layer diffID %s, want %s", d0, d)
	}
}

func TestFetchBuildpacksFromBuilder(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	noImages := WithImageReader(func(ctx context.Context, ref string) (v1.Image, error) {
		return nil, errors.New("image reader called for " + ref)
	})
	dst := t.TempDir()
	// The builder's buildpacks are laid out first.
	if _, err := FetchBuildpacks(ctx, []string{dirA}, dst); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"urn:cnb:builder:acme/a", "urn:cnb:builder:acme/a@1.0.0", "from=builder:acme/a@1.0.0",
		"acme/a", "acme/a@1.0.0"} {
		bps, err := FetchBuildpacks(ctx, []string{loc}, dst, noImages)
		if err != nil {
			t.Errorf("%s: %v", loc, err)
			continue
		}
		if got := bps.Fetched[0].Main; got.FullName() != "acme/a@1.0.0" || got.Dir != filepath.Join(dst, "acme_a", "1.0.0") {
			t.Errorf("%s: Main = %s in %s", loc, got.FullName(), got.Dir)
		}
	}
	// A bare id that is not laid out is an image reference.
	if _, err := FetchBuildpacks(ctx, []string{"acme/other@1.0.0"}, dst, noImages); err == nil ||
		!strings.Contains(err.Error(), "image reader called for acme/other@1.0.0") {
		t.Errorf("bare id not on the builder: error %v", err)
	}
}

func TestFetchBuildpacksHostileArchive(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	canary := t.TempDir()
	desc := tarEntry{name: DescriptorFile, typeflag: 0x30, mode: 0o644,
		body: "api = \"0.10\"\n[buildpack]\nid = \"acme/h\"\nversion = \"1\"\n"}
	tests := []struct {
		name    string
		entries []tarEntry
	}{
		{"write through an absolute link", []tarEntry{desc,
			{name: "link", typeflag: 0x32, linkname: canary},
			{name: "link/pwned", typeflag: 0x30, mode: 0o644, body: "x"}}},
		{"write through a climbing link", []tarEntry{desc,
			{name: "up", typeflag: 0x32, linkname: "../../../../../../../../" + canary},
			{name: "up/pwned", typeflag: 0x30, mode: 0o644, body: "x"}}},
		{"dot-dot name", []tarEntry{desc, {name: "../../../../../../../../" + canary + "/pwned", typeflag: 0x30, mode: 0o644, body: "x"}}},
		{"hard link out", []tarEntry{desc, {name: "hl", typeflag: 0x31, linkname: "../../../../../../../../" + canary + "/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			writeTar(t, &buf, tt.entries)
			file := filepath.Join(src, strings.ReplaceAll(tt.name, " ", "-")+".tar")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := FetchBuildpacks(ctx, []string{file}, t.TempDir())
			t.Logf("error: %v", err)
			if entries, _ := os.ReadDir(canary); len(entries) != 0 {
				t.Fatalf("wrote outside: %v", entries)
			}
		})
	}
}
