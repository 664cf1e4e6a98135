package distribution

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// wantBuildpackLayer is the entry list of a fixture component's layer:
// the id and version directories first, then the tree, root-owned, with
// pack's modes.
func wantBuildpackLayer(id, version string, composite bool) []string {
	base := "/cnb/buildpacks/" + EscapeID(id)
	want := []string{base + " 755 dir", base + "/" + version + " 755 dir"}
	v := base + "/" + version
	if !composite {
		want = append(want, v+"/bin 755 dir", v+"/bin/build 755 file", v+"/bin/detect 755 file")
	}
	want = append(want, v+"/buildpack.toml 644 file")
	if !composite {
		want = append(want, v+"/share 755 dir", v+"/share/data.txt 644 file", v+"/share/link 755 link") // pack normalises link modes too
	}
	return want
}

// describe renders headers as "name mode type", failing on non-root owners.
func describe(t *testing.T, hs []header) []string {
	t.Helper()
	var out []string
	for _, h := range hs {
		if h.UID != 0 || h.GID != 0 {
			t.Errorf("%s owned by %d:%d", h.Name, h.UID, h.GID)
		}
		typ := map[byte]string{tar.TypeDir: "dir", tar.TypeReg: "file", tar.TypeSymlink: "link"}[h.Type]
		out = append(out, h.Name+" "+strconv.FormatInt(h.Mode, 8)+" "+typ)
	}
	return out
}

func TestPackageBuildpack(t *testing.T) {
	ctx := context.Background()
	a, b, meta := fixtureSet(t)
	out := t.TempDir()
	bImg := packageTo(t, &PackageConfig{Buildpack: PackageModule{URI: b}}, filepath.Join(out, "b.cnb"))
	cfg := &PackageConfig{
		Buildpack:    PackageModule{URI: meta},
		Dependencies: []PackageModule{{URI: a}, {URI: filepath.Join(out, "b.cnb")}},
		Targets:      []Target{{OS: "linux", Arch: "amd64"}},
	}
	cnb := filepath.Join(out, "meta.cnb")
	img := packageTo(t, cfg, cnb)
	// A buildpack packaged without package.toml targets records the
	// platform of its buildpack.toml [[targets]], as pack does.
	if cf, err := bImg.ConfigFile(); err != nil || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("b.cnb config os/arch: %+v %v; want linux/amd64 from buildpack.toml", cf, err)
	}

	if mt, err := img.MediaType(); err != nil || mt != types.DockerManifestSchema2 {
		t.Errorf("media type %s, %v; want Docker v2 as pack", mt, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(oci.Epoch) {
		t.Errorf("config os %q arch %q created %v", cf.OS, cf.Architecture, cf.Created)
	}
	labels := configLabels(t, img)
	var md BuildpackageMetadata
	if err := json.Unmarshal([]byte(labels[BuildpackageMetadataLabel]), &md); err != nil {
		t.Fatal(err)
	}
	wantMD := BuildpackageMetadata{ID: "acme/meta", Version: "0.1.0", Name: "Fixture", Stacks: []Stack{{ID: "*"}}}
	if diff := cmp.Diff(wantMD, md); diff != "" {
		t.Errorf("%s (-want +got):\n%s", BuildpackageMetadataLabel, diff)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	order := []struct {
		id, version string
		composite   bool
	}{{"acme/a", "1.0.0", false}, {"acme/b", "2.0.0", false}, {"acme/meta", "0.1.0", true}}
	if len(layers) != len(order) {
		t.Fatalf("%d layers, want one per buildpack (%d)", len(layers), len(order))
	}
	wantLayers := LayersMetadata{}
	for i, bp := range order {
		diffID, err := layers[i].DiffID()
		if err != nil {
			t.Fatal(err)
		}
		if mt, _ := layers[i].MediaType(); mt != types.DockerLayer {
			t.Errorf("layer %d media type %s", i, mt)
		}
		info := LayerInfo{API: "0.10", LayerDiffID: diffID.String(), Name: "Fixture"}
		if bp.composite {
			info.Order = Order{{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}, {ID: "acme/b", Version: "2.0.0", Optional: true}}}}
		} else {
			info.Stacks = []Stack{{ID: "*"}}
			info.Targets = []Target{{OS: "linux", Arch: "amd64", Distros: []Distro{{Name: "debian", Version: "12"}}}}
		}
		wantLayers[bp.id] = map[string]LayerInfo{bp.version: info}
		if diff := cmp.Diff(wantBuildpackLayer(bp.id, bp.version, bp.composite), describe(t, layerHeaders(t, layers[i]))); diff != "" {
			t.Errorf("layer of %s (-want +got):\n%s", bp.id, diff)
		}
	}
	var gotLayers LayersMetadata
	if err := json.Unmarshal([]byte(labels[BuildpackLayersLabel]), &gotLayers); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantLayers, gotLayers); diff != "" {
		t.Errorf("%s (-want +got):\n%s", BuildpackLayersLabel, diff)
	}
	// b's layer is the same whether packaged alone or as a dependency.
	bLayers, err := bImg.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustDiffID(t, bLayers[0]), mustDiffID(t, layers[1]); got != want {
		t.Errorf("acme/b layer %s alone, %s as a dependency", got, want)
	}

	t.Run("cnb layout", func(t *testing.T) { checkCNB(t, cnb, img) })
	t.Run("read back", func(t *testing.T) {
		dst := t.TempDir()
		bps, err := FetchBuildpacks(ctx, []string{cnb}, dst)
		if err != nil {
			t.Fatal(err)
		}
		if got := bps.Fetched[0].Main.FullName(); got != "acme/meta@0.1.0" {
			t.Errorf("main %s", got)
		}
		if len(bps.All) != 3 {
			t.Errorf("%d buildpacks laid out", len(bps.All))
		}
		checkLaidOut(t, dst, fixtureBuildpack{id: "acme/a", version: "1.0.0"})
		checkLaidOut(t, dst, fixtureBuildpack{id: "acme/b", version: "2.0.0"})
	})
	t.Run("through a registry", func(t *testing.T) {
		reg := testutil.NewRegistry(t)
		ref, err := oci.ParseReference(reg.Host + "/buildpacks/meta:0.1.0")
		if err != nil {
			t.Fatal(err)
		}
		h, err := oci.Write(ctx, ref, img)
		if err != nil {
			t.Fatal(err)
		}
		if h != digest(t, img) {
			t.Errorf("pushed %s, built %s", h, digest(t, img))
		}
		dst := t.TempDir()
		bps, err := FetchBuildpacks(ctx, []string{"docker://" + ref.String()}, dst)
		if err != nil {
			t.Fatal(err)
		}
		if got := bps.Fetched[0].Main.FullName(); got != "acme/meta@0.1.0" || len(bps.All) != 3 {
			t.Errorf("main %s, %d buildpacks", got, len(bps.All))
		}
		checkLaidOut(t, dst, fixtureBuildpack{id: "acme/b", version: "2.0.0"})
	})
	t.Run("golden", func(t *testing.T) {
		// Changing these means packages made by earlier kiln versions no
		// longer match: say so in the commit.
		if got, want := digest(t, img).String(), goldenPackageDigest; got != want {
			t.Errorf("package digest %s, golden %s", got, want)
		}
		if got, want := fileDigest(t, cnb).String(), goldenCNBDigest; got != want {
			t.Errorf(".cnb sha256 %s, golden %s", got, want)
		}
	})
	t.Run("reproducible", func(t *testing.T) {
		again := filepath.Join(t.TempDir(), "meta.cnb")
		img2 := packageTo(t, cfg, again)
		if digest(t, img) != digest(t, img2) {
			t.Errorf("digests %s and %s", digest(t, img), digest(t, img2))
		}
		if fileDigest(t, cnb) != fileDigest(t, again) {
			t.Errorf(".cnb files differ")
		}
	})
}

// The digests of the fixture composite's buildpackage and .cnb file.
const (
	goldenPackageDigest = "sha256:b5fb573a995304cd96038d4de4c327784d2c70c753cd4e7c3ce39b92936cf874"
	goldenCNBDigest     = "sha256:b710d33917dfef8e33137aed2fe02079543e3693b8186ca659baf88fb9a55608"
)

func mustDiffID(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkCNB checks a .cnb as pack writes one: "/" first, absolute names,
// oci-layout and index.json naming img's manifest, one blob per layer plus
// config and manifest.
func checkCNB(t *testing.T, path string, img v1.Image) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hs := tarHeaders(t, f)
	if len(hs) == 0 || hs[0].Name != "/" || hs[0].Type != tar.TypeDir {
		t.Fatalf("first entry %+v, want the root /", hs[0])
	}
	var names []string
	for _, h := range hs[1:] {
		names = append(names, h.Name)
	}
	layers, _ := img.Layers()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantBlobs := map[string]bool{"/blobs/sha256/" + digest(t, img).Hex: true, "/blobs/sha256/" + m.Config.Digest.Hex: true}
	for _, l := range layers {
		h, _ := l.Digest()
		wantBlobs["/blobs/sha256/"+h.Hex] = true
	}
	var gotBlobs []string
	for _, n := range names {
		if strings.HasPrefix(n, "/blobs/sha256/") {
			gotBlobs = append(gotBlobs, n)
			delete(wantBlobs, n)
		}
	}
	if len(wantBlobs) > 0 || len(gotBlobs) != len(layers)+2 {
		t.Errorf("blobs %v; missing %v", gotBlobs, wantBlobs)
	}
	if names[0] != "/blobs" || names[1] != "/blobs/sha256" || names[len(names)-2] != "/index.json" || names[len(names)-1] != "/oci-layout" {
		t.Errorf("entries %v", names)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal([]byte(hs[len(hs)-2].Body), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digest(t, img) || idx.Manifests[0].MediaType != types.DockerManifestSchema2 {
		t.Errorf("index.json %+v", idx)
	}
}

func TestPackageBuildpackErrors(t *testing.T) {
	dir := t.TempDir()
	a, b, meta := fixtureSet(t)
	other := writeBuildpack(t, filepath.Join(dir, "other"), fixtureBuildpack{id: "acme/other", version: "1.0.0"})
	jammy := filepath.Join(dir, "jammy")
	testutil.WriteFile(t, filepath.Join(jammy, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/jammy\"\nversion = \"1\"\n[[stacks]]\nid = \"jammy\"\n")
	bionic := filepath.Join(dir, "bionic")
	testutil.WriteFile(t, filepath.Join(bionic, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/bionic\"\nversion = \"1\"\n[[stacks]]\nid = \"bionic\"\n")
	pair := filepath.Join(dir, "pair")
	testutil.WriteFile(t, filepath.Join(pair, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/pair\"\nversion = \"1\"\n"+
		"[[order]]\n[[order.group]]\nid = \"acme/jammy\"\nversion = \"1\"\n[[order.group]]\nid = \"acme/bionic\"\nversion = \"1\"\n")
	noVersion := filepath.Join(dir, "noversion")
	testutil.WriteFile(t, filepath.Join(noVersion, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/nv\"\nversion = \"1\"\n"+
		"[[order]]\n[[order.group]]\nid = \"acme/a\"\n")
	badComposite := filepath.Join(dir, "badcomposite")
	testutil.WriteFile(t, filepath.Join(badComposite, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/bc\"\nversion = \"1\"\n"+
		"[[order]]\n[[order.group]]\nid = \"acme/a\"\nversion = \"1.0.0\"\n[[stacks]]\nid = \"*\"\n")
	notPackage := writeCNB(t, filepath.Join(dir, "plain.cnb"), withLabels(t, mustEmptyImage(t), map[string]any{"x": "y"}))

	for _, tc := range []struct {
		name string
		cfg  PackageConfig
		want error
	}{
		{"missing dependency", PackageConfig{Buildpack: PackageModule{URI: meta}, Dependencies: []PackageModule{{URI: a}}}, ErrInvalidConfig},
		{"unused dependency", PackageConfig{Buildpack: PackageModule{URI: meta}, Dependencies: []PackageModule{{URI: a}, {URI: b}, {URI: other}}}, ErrInvalidConfig},
		{"no common stack", PackageConfig{Buildpack: PackageModule{URI: pair}, Dependencies: []PackageModule{{URI: jammy}, {URI: bionic}}}, ErrIncompatible},
		{"order without version", PackageConfig{Buildpack: PackageModule{URI: noVersion}, Dependencies: []PackageModule{{URI: a}}}, ErrInvalidConfig},
		{"composite with stacks", PackageConfig{Buildpack: PackageModule{URI: badComposite}, Dependencies: []PackageModule{{URI: a}}}, ErrIncompatible},
		{"not a buildpackage", PackageConfig{Buildpack: PackageModule{URI: meta}, Dependencies: []PackageModule{{URI: notPackage}}}, ErrNotBuildpackage},
		{"windows", PackageConfig{Buildpack: PackageModule{URI: a}, Platform: PackagePlatform{OS: "windows"}}, ErrInvalidConfig},
		{"several targets", PackageConfig{Buildpack: PackageModule{URI: a}, Targets: []Target{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}}, ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PackageBuildpack(context.Background(), &tc.cfg, WithTempDir(t.TempDir()))
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func mustEmptyImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := emptyImage(v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}
