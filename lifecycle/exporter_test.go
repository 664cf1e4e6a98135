package lifecycle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/oci"
)

// goldenDigest is the manifest digest of the fixture exported onto the OCI
// test run image. It changes only when the image kiln writes changes: a tar
// convention, a label, the config, the fixture (metadata.toml as
// WriteBuildMetadata encodes it is part of it), or the gzip output of the
// pinned compressor. Check any change against CNB contract §3 before
// updating it.
const goldenDigest = "sha256:fb00ed2caa4379a98a8786e4a92d9335affe25afcee0872c362b797fddf5c6e8"

func TestExportImage(t *testing.T) {
	f := newFixture(t)
	run := testRunImage(t, false)
	var out bytes.Buffer
	img, rep := export(t, exporterFor(t, f, run, &out), f)

	wantOut := `Adding layer 'acme/node:modules'
Adding layer 'acme/node:node'
Adding layer 'acme/web:web'
Adding layer 'buildpacksio/lifecycle:launch.sbom'
Adding 3/3 app layer(s)
Adding layer 'buildpacksio/lifecycle:launcher'
Adding layer 'buildpacksio/lifecycle:config'
Adding layer 'buildpacksio/lifecycle:process-types'
Adding label 'io.buildpacks.lifecycle.metadata'
Adding label 'io.buildpacks.build.metadata'
Adding label 'io.buildpacks.project.metadata'
Adding label 'org.example.app'
Adding label 'io.buildpacks.stack.id'
Setting default process type 'web'
`
	if diff := cmp.Diff(wantOut, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	runLayers, err := run.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 11 {
		t.Fatalf("got %d layers, want 11 (1 run + 3 buildpack + sbom + 3 app + launcher + config + process types)", len(layers))
	}
	if got, want := digestOf(t, layers[0]), digestOf(t, runLayers[0]); got != want {
		t.Errorf("run image layer changed: %s, want %s", got, want)
	}
	for i, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("layer %d media type %s, want %s", i, mt, types.OCILayer)
		}
	}

	metadataTOML := readFile(t, filepath.Join(f.layers, "config", "metadata.toml"))
	wantEntries := [][]entry{
		{ // acme/node:modules
			cnbDirEntry("/layers", 0o755), cnbDirEntry("/layers/acme_node", 0o755),
			cnbDirEntry("/layers/acme_node/modules", 0o755), cnbDirEntry("/layers/acme_node/modules/lib", 0o755),
			cnbFileEntry("/layers/acme_node/modules/lib/m.js", 0o640, "module.exports = 1\n"),
		},
		{ // acme/node:node
			cnbDirEntry("/layers", 0o755), cnbDirEntry("/layers/acme_node", 0o755),
			cnbDirEntry("/layers/acme_node/node", 0o755), cnbDirEntry("/layers/acme_node/node/bin", 0o755),
			cnbFileEntry("/layers/acme_node/node/bin/node", 0o755, "#!/bin/sh\necho node\n"),
			cnbDirEntry("/layers/acme_node/node/env", 0o755),
			cnbFileEntry("/layers/acme_node/node/env/NODE_HOME.default", 0o644, "/layers/acme_node/node"),
		},
		{ // acme/web:web
			cnbDirEntry("/layers", 0o755), cnbDirEntry("/layers/acme_web", 0o755),
			cnbDirEntry("/layers/acme_web/web", 0o755),
			cnbFileEntry("/layers/acme_web/web/Procfile", 0o644, "web: node index.js\n"),
		},
		{ // launch SBOM
			cnbDirEntry("/layers", 0o755), cnbDirEntry("/layers/sbom", 0o755), cnbDirEntry("/layers/sbom/launch", 0o755),
			cnbDirEntry("/layers/sbom/launch/acme_node", 0o755), cnbDirEntry("/layers/sbom/launch/acme_node/node", 0o755),
			cnbFileEntry("/layers/sbom/launch/acme_node/node/sbom.cdx.json", 0o644, `{"bomFormat":"CycloneDX"}`),
		},
		{ // slice 1: public/*, with its parents
			cnbDirEntry("/workspace", 0o755), cnbDirEntry("/workspace/public", 0o755),
			cnbFileEntry("/workspace/public/a.css", 0o644, "a{}"),
			cnbDirEntry("/workspace/public/img", 0o755),
			cnbFileEntry("/workspace/public/img/b.png", 0o600, "PNG"),
		},
		{ // slice 2: /workspace/node_modules (absolute) and a glob matching nothing
			cnbDirEntry("/workspace", 0o755), cnbDirEntry("/workspace/node_modules", 0o755),
			cnbDirEntry("/workspace/node_modules/x", 0o755), cnbFileEntry("/workspace/node_modules/x/y.js", 0o644, "y"),
		},
		{ // the remainder, sorted, hard link and symlink kept
			cnbDirEntry("/workspace", 0o755), cnbDirEntry("/workspace/bin", 0o755),
			cnbFileEntry("/workspace/bin/run", 0o755, "#!/bin/sh\n"),
			{Name: "/workspace/bin/start", Type: tar.TypeLink, Mode: 0o755, UID: cnbUID, GID: cnbGID, Link: "/workspace/bin/run", Mtime: oci.Epoch.Unix()},
			cnbFileEntry("/workspace/index.js", 0o644, "console.log(1)\n"),
			{Name: "/workspace/main.js", Type: tar.TypeSymlink, Mode: 0o777, UID: cnbUID, GID: cnbGID, Link: "index.js", Mtime: oci.Epoch.Unix()},
		},
		{ // launcher
			rootDirEntry("/cnb"), rootDirEntry("/cnb/lifecycle"),
			{Name: "/cnb/lifecycle/launcher", Type: tar.TypeReg, Mode: 0o755, Content: "#!launcher\x00binary", Mtime: oci.Epoch.Unix()},
		},
		{ // config
			cnbDirEntry("/layers", 0o755), cnbDirEntry("/layers/config", 0o755),
			cnbFileEntry("/layers/config/metadata.toml", 0o644, metadataTOML),
		},
		{ // process types
			rootDirEntry("/cnb"), rootDirEntry("/cnb/process"),
			{Name: "/cnb/process/web", Type: tar.TypeSymlink, Mode: 0o755, Link: "/cnb/lifecycle/launcher", Mtime: oci.Epoch.Unix()},
			{Name: "/cnb/process/worker", Type: tar.TypeSymlink, Mode: 0o755, Link: "/cnb/lifecycle/launcher", Mtime: oci.Epoch.Unix()},
		},
	}
	for i, want := range wantEntries {
		if diff := cmp.Diff(want, entries(t, layers[i+1])); diff != "" {
			t.Errorf("layer %d (%s) entries (-want +got):\n%s", i+1, rep.Layers[i].ID, diff)
		}
	}

	// The report names each appended layer in image order.
	wantIDs := []string{"acme/node:modules", "acme/node:node", "acme/web:web", "buildpacksio/lifecycle:launch.sbom",
		"slice-1", "slice-2", "slice-3", "buildpacksio/lifecycle:launcher", "buildpacksio/lifecycle:config",
		"buildpacksio/lifecycle:process-types"}
	wantCreatedBy := []string{
		"Layer: 'modules', Created by buildpack: acme/node@1.0.0", "Layer: 'node', Created by buildpack: acme/node@1.0.0",
		"Layer: 'web', Created by buildpack: acme/web@2.0.0", "Software Bill-of-Materials",
		"Application Slice: 1", "Application Slice: 2", "Application Slice: 3",
		"Buildpacks Application Launcher", "Buildpacks Launcher Config", "Buildpacks Process Types",
	}
	var gotIDs, gotCreatedBy []string
	sha := map[string]string{}
	for i, r := range rep.Layers {
		gotIDs, gotCreatedBy = append(gotIDs, r.ID), append(gotCreatedBy, r.CreatedBy)
		if r.DiffID != diffIDOf(t, layers[i+1]) || r.Digest != digestOf(t, layers[i+1]) || r.Reused {
			t.Errorf("report of layer %s: %+v does not match the image layer", r.ID, r)
		}
		if size, _ := layers[i+1].Size(); r.Size != size {
			t.Errorf("report of layer %s: size %d, want %d", r.ID, r.Size, size)
		}
		sha[r.ID] = r.DiffID.String()
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("report layer ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCreatedBy, gotCreatedBy); diff != "" {
		t.Errorf("report created_by (-want +got):\n%s", diff)
	}
	if rep.DefaultProcess != "web" || !cmp.Equal(rep.Entrypoint, []string{"/cnb/process/web"}) {
		t.Errorf("report entrypoint: %q %q", rep.DefaultProcess, rep.Entrypoint)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, cf, oci.Epoch, append([]string{"run image base"}, wantCreatedBy...))
	if cf.Config.Entrypoint[0] != "/cnb/process/web" || len(cf.Config.Entrypoint) != 1 {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}

	// Labels, parsed.
	topLayer := diffIDOf(t, runLayers[0]).String()
	wantMeta := LifecycleMetadata{
		App:  AppLayers{{SHA: sha["slice-1"]}, {SHA: sha["slice-2"]}, {SHA: sha["slice-3"]}},
		SBOM: &LayerSHA{SHA: sha["buildpacksio/lifecycle:launch.sbom"]},
		Buildpacks: []BuildpackLayers{
			{ID: "acme/node", Version: "1.0.0", Store: &StoreMetadata{Data: map[string]any{"k": "v"}}, Layers: map[string]LayerMetadata{
				"modules": {SHA: sha["acme/node:modules"], Launch: true},
				"node":    {SHA: sha["acme/node:node"], Launch: true, Cache: true, Data: map[string]any{"version": "18.1"}},
			}},
			{ID: "acme/web", Version: "2.0.0", Layers: map[string]LayerMetadata{
				"web": {SHA: sha["acme/web:web"], Launch: true, Build: true},
			}},
		},
		Config:       LayerSHA{SHA: sha["buildpacksio/lifecycle:config"]},
		Launcher:     LayerSHA{SHA: sha["buildpacksio/lifecycle:launcher"]},
		ProcessTypes: LayerSHA{SHA: sha["buildpacksio/lifecycle:process-types"]},
		RunImage: RunImageForRebase{TopLayer: topLayer, Reference: "registry.example/run@sha256:" + strings.Repeat("ab", 32),
			Image: "registry.example/run:12", Mirrors: []string{"mirror.example/run:12"}},
		Stack: &StackRunImageLabel{RunImage: RunImageName{Image: "registry.example/run:12", Mirrors: []string{"mirror.example/run:12"}}},
	}
	gotMeta, ok, err := ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil || !ok {
		t.Fatalf("lifecycle label: %v %v", ok, err)
	}
	if diff := cmp.Diff(wantMeta, gotMeta); diff != "" {
		t.Errorf("lifecycle metadata (-want +got):\n%s", diff)
	}
	wantBuild := BuildLabel{
		Buildpacks: []BuildLabelModule{{ID: "acme/node", Version: "1.0.0", Homepage: "https://acme.example/node"}, {ID: "acme/web", Version: "2.0.0"}},
		Launcher:   LauncherMetadata{Version: "0.1.0", Source: LauncherSource{Git: GitMetadata{Repository: "github.com/kilnbuild/kiln", Commit: "0123456789abcdef"}}},
		Processes: []BuildLabelProc{
			{Type: "web", Command: ProcessCommand{Entries: []string{"node", "index.js"}}, Args: []string{"--port", "8080"}, Direct: true, BuildpackID: "acme/web"},
			{Type: "worker", Command: ProcessCommand{Entries: []string{"node"}}, Args: []string{"worker.js"}, Direct: true, BuildpackID: "acme/web", WorkingDir: "/workspace/bin"},
		},
		DefaultProcessType: "web",
	}
	var gotBuild BuildLabel
	if err := json.Unmarshal([]byte(cf.Config.Labels[LabelBuildMetadata]), &gotBuild); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantBuild, gotBuild); diff != "" {
		t.Errorf("build metadata (-want +got):\n%s", diff)
	}
	// The raw JSON keeps the lifecycle's quirks: no "bom" from Platform
	// 0.9, no "api".
	if raw := cf.Config.Labels[LabelBuildMetadata]; !strings.HasPrefix(raw, `{"buildpacks":[{"id":"acme/node","version":"1.0.0","homepage"`) {
		t.Errorf("build label JSON: %s", raw)
	}
	wantLabels := map[string]string{
		"io.buildpacks.project.metadata": "{}",
		"io.buildpacks.rebasable":        "true",       // inherited as is
		"io.buildpacks.stack.id":         "overridden", // a buildpack label wins
		"org.example.app":                "demo",
	}
	for k, v := range wantLabels {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}

	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d.String() != goldenDigest {
		t.Errorf("digest %s, want the golden %s", d, goldenDigest)
	}
}

// checkConfig checks what the exporter sets in the config: env, working
// dir, no Cmd, the run image's user, and created times.
func checkConfig(t *testing.T, cf *v1.ConfigFile, created time.Time, createdBy []string) {
	t.Helper()
	wantEnv := []string{"PATH=/cnb/process:/cnb/lifecycle:/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
		"CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace", "CNB_PLATFORM_API=0.13", "CNB_DEPRECATION_MODE=quiet"}
	if diff := cmp.Diff(wantEnv, cf.Config.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if cf.Config.Cmd != nil {
		t.Errorf("cmd %q, want none", cf.Config.Cmd)
	}
	if cf.Config.WorkingDir != "/workspace" || cf.Config.User != "1000:1001" {
		t.Errorf("working dir %q, user %q", cf.Config.WorkingDir, cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %s, want %s", cf.Created.Time, created)
	}
	var got []string
	for _, h := range cf.History {
		got = append(got, h.CreatedBy)
		if !h.Created.Time.Equal(created) {
			t.Errorf("history %q created %s, want %s", h.CreatedBy, h.Created.Time, created)
		}
	}
	if diff := cmp.Diff(createdBy, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func digestOf(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func diffIDOf(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func imageDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExportReproducible exports the same build twice from different
// directories and stores, and, as root, once more with every file owned by
// another user: the digest never changes, and it is the golden one that a
// rootless run of this test gets too (where the files belong to the
// invoking user).
func TestExportReproducible(t *testing.T) {
	run := testRunImage(t, false)
	f1, f2 := newFixture(t), newFixture(t)
	d1 := imageDigest(t, first(export(t, exporterFor(t, f1, run, nil), f1)))
	d2 := imageDigest(t, first(export(t, exporterFor(t, f2, run, nil), f2)))
	if d1 != d2 || d1.String() != goldenDigest {
		t.Errorf("digests %s and %s, want both %s", d1, d2, goldenDigest)
	}
	if os.Geteuid() != 0 {
		return // the files are the invoking user's: the golden digest proves it
	}
	f3 := newFixture(t)
	for _, dir := range []string{f3.layers, f3.app} {
		err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 4242, 4343)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	img, _ := export(t, exporterFor(t, f3, run, nil), f3)
	if d3 := imageDigest(t, img); d3 != d1 {
		t.Errorf("files owned by 4242:4343 give %s, want %s", d3, d1)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		for _, e := range entries(t, l) {
			if e.UID == 4242 || e.GID == 4343 {
				t.Errorf("%s: the host owner leaked: %d:%d", e.Name, e.UID, e.GID)
			}
		}
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestExportVolumeModes builds in place as a pod would: the layers and app
// directories are volumes whose own mode kiln cannot change (an emptyDir
// is 0777; with an fsGroup it is setgid, and so is every directory made in
// it). The image is the one a build container gives.
func TestExportVolumeModes(t *testing.T) {
	run := testRunImage(t, false)
	for _, mode := range []fs.FileMode{0o777, fs.ModeSetgid | 0o777, 0o700} {
		f := newFixture(t)
		for _, dir := range []string{f.layers, f.app} {
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
		}
		if mode&fs.ModeSetgid != 0 { // what directories made in such a volume inherit
			for _, dir := range []string{filepath.Join(f.app, "public"), filepath.Join(f.layers, "acme_node", "node")} {
				if err := os.Chmod(dir, fs.ModeSetgid|0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		if d := imageDigest(t, first(export(t, exporterFor(t, f, run, nil), f))); d.String() != goldenDigest {
			t.Errorf("layers and app directories of mode %v give %s, want %s", mode, d, goldenDigest)
		}
	}
}

func TestExportDockerRunImage(t *testing.T) {
	f := newFixture(t)
	img, _ := export(t, exporterFor(t, f, testRunImage(t, true), nil), f)
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
		t.Errorf("manifest media type %s", mt)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		if mt, _ := l.MediaType(); mt != types.DockerLayer {
			t.Errorf("layer %d media type %s, want %s", i, mt, types.DockerLayer)
		}
	}
}

// TestExportNoProcesses is the walkthrough's empty buildpack: no layers, no
// processes, no default. The entrypoint is the bare launcher, there is no
// process-types layer, and pack's warning is printed.
func TestExportNoProcesses(t *testing.T) {
	f := newFixture(t)
	empty := GroupEntry{ID: "buildpacks/empty", Version: "0.0.1", API: "0.2"}
	f.result = BuildResult{Buildpacks: []BuildpackOutput{{GroupEntry: empty}}, Metadata: BuildMetadata{Buildpacks: []GroupEntry{empty}}}
	if err := os.RemoveAll(filepath.Join(f.layers, "sbom")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBuildMetadata(filepath.Join(f.layers, "config", "metadata.toml"), f.result.Metadata, "0.13"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	img, rep := export(t, exporterFor(t, f, testRunImage(t, false), &out), f)
	wantOut := `Adding 1/1 app layer(s)
Adding layer 'buildpacksio/lifecycle:launcher'
Adding layer 'buildpacksio/lifecycle:config'
Adding label 'io.buildpacks.lifecycle.metadata'
Adding label 'io.buildpacks.build.metadata'
Adding label 'io.buildpacks.project.metadata'
Warning: default process type 'web' not present in list []
`
	if diff := cmp.Diff(wantOut, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, cf, oci.Epoch, []string{"run image base", "Application Layer",
		"Buildpacks Application Launcher", "Buildpacks Launcher Config"})
	if !cmp.Equal(cf.Config.Entrypoint, []string{"/cnb/lifecycle/launcher"}) || rep.DefaultProcess != "" {
		t.Errorf("entrypoint %q, default %q", cf.Config.Entrypoint, rep.DefaultProcess)
	}
	meta, _, err := ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if meta.ProcessTypes.SHA != "" || meta.SBOM != nil || len(meta.App) != 1 ||
		!cmp.Equal(meta.Buildpacks, []BuildpackLayers{{ID: "buildpacks/empty", Version: "0.0.1", Layers: map[string]LayerMetadata{}}}) {
		t.Errorf("lifecycle metadata: %+v", meta)
	}
	raw := cf.Config.Labels[LabelLifecycleMetadata]
	if !strings.Contains(raw, `"buildpacks":[{"key":"buildpacks/empty","version":"0.0.1","layers":{}}]`) ||
		!strings.Contains(raw, `"process-types":{"sha":""}`) {
		t.Errorf("lifecycle label JSON: %s", raw)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
}

func TestExportDefaultProcess(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	e := exporterFor(t, f, testRunImage(t, false), &out)
	e.DefaultProcess = "worker"
	img, rep := export(t, e, f)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(cf.Config.Entrypoint, []string{"/cnb/process/worker"}) || rep.DefaultProcess != "worker" {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
	if !strings.HasSuffix(out.String(), "Setting default process type 'worker'\n") {
		t.Errorf("output: %s", out.String())
	}
	// The buildpacks' default stays recorded in the build label.
	if !strings.Contains(cf.Config.Labels[LabelBuildMetadata], `"buildpack-default-process-type":"web"`) {
		t.Errorf("build label: %s", cf.Config.Labels[LabelBuildMetadata])
	}

	out.Reset()
	e = exporterFor(t, f, testRunImage(t, false), &out)
	e.DefaultProcess = "missing"
	_, _, err = e.Run(t.Context(), f.result)
	if !errors.Is(err, ErrProcessTypeNotFound) || !strings.Contains(err.Error(), `"missing"`) || ExitCode(err) != ExitExport {
		t.Errorf("error %v (exit code %d), want %v naming the type, exit code 62", err, ExitCode(err), ErrProcessTypeNotFound)
	}
	if out.Len() != 0 {
		t.Errorf("output before the error: %q", out.String())
	}
}

// TestExportCreated: SOURCE_DATE_EPOCH sets created in the config and the
// whole history; tar entries keep the epoch.
func TestExportCreated(t *testing.T) {
	f := newFixture(t)
	e := exporterFor(t, f, testRunImage(t, false), nil)
	e.Created = time.Unix(1700000000, 0)
	img, _ := export(t, e, f)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cf.Created.Time.Equal(e.Created) {
		t.Errorf("created %s", cf.Created.Time)
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(e.Created) {
			t.Errorf("history %q created %s", h.CreatedBy, h.Created.Time)
		}
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries(t, layers[len(layers)-1]) {
		if e.Mtime != oci.Epoch.Unix() {
			t.Errorf("%s mtime %d", e.Name, e.Mtime)
		}
	}
}

// TestExportPlatformAPI: below 0.12 the history carries no created_by and
// the label no run image name; below 0.10 a command is a string.
func TestExportPlatformAPI(t *testing.T) {
	f := newFixture(t)
	e := exporterFor(t, f, testRunImage(t, false), nil)
	e.PlatformAPI = "0.9"
	img, _ := export(t, e, f)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.History) != 11 {
		t.Errorf("%d history entries, want 11", len(cf.History))
	}
	for i, h := range cf.History {
		if h != (v1.History{Created: v1.Time{Time: oci.Epoch}}) {
			t.Errorf("history %d: %+v", i, h)
		}
	}
	meta, _, err := ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if meta.RunImage.Image != "" || meta.RunImage.Mirrors != nil || meta.Stack.RunImage.Image != "registry.example/run:12" {
		t.Errorf("run image metadata: %+v, stack %+v", meta.RunImage, meta.Stack)
	}
	raw := cf.Config.Labels[LabelBuildMetadata]
	if !strings.Contains(raw, `{"type":"web","command":"node","args":["index.js","--port","8080"]`) {
		t.Errorf("build label: %s", raw)
	}
	if envValue(cf.Config.Env, "CNB_PLATFORM_API") != "0.9" {
		t.Errorf("env %q", cf.Config.Env)
	}
}

// TestExportReuse exports twice: the second export finds every layer's
// diffID in the previous image, and takes a launch layer whose directory
// is gone from it.
func TestExportReuse(t *testing.T) {
	f := newFixture(t)
	run := testRunImage(t, false)
	prev, prevRep := export(t, exporterFor(t, f, run, nil), f)

	if err := os.RemoveAll(filepath.Join(f.layers, "acme_web", "web")); err != nil {
		t.Fatal(err)
	}
	f.result.Buildpacks[1].Layers[0].HasDir = false
	var out bytes.Buffer
	e := exporterFor(t, f, run, &out)
	e.Previous = prev
	img, rep := export(t, e, f)
	if got, want := imageDigest(t, img), imageDigest(t, prev); got != want {
		t.Errorf("digest %s, want the previous %s", got, want)
	}
	for i, r := range rep.Layers {
		if !r.Reused || r.DiffID != prevRep.Layers[i].DiffID {
			t.Errorf("layer %s: reused %v, diffID %s, want reused %s", r.ID, r.Reused, r.DiffID, prevRep.Layers[i].DiffID)
		}
	}
	for _, line := range []string{"Reusing layer 'acme/web:web'\n", "Reusing 3/3 app layer(s)\n", "Reusing layer 'buildpacksio/lifecycle:launcher'\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}

	// Without a previous image, or for a cache=true layer, that is an error.
	for name, edit := range map[string]func(*Exporter, *BuildResult){
		"no previous image": func(*Exporter, *BuildResult) {},
		"cache layer": func(e *Exporter, r *BuildResult) {
			e.Previous = prev
			r.Buildpacks[1].Layers[0].Cache = true
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := exporterFor(t, f, run, nil)
			res := f.result
			res.Buildpacks = append([]BuildpackOutput{}, f.result.Buildpacks...)
			res.Buildpacks[1].Layers = append([]Layer{}, res.Buildpacks[1].Layers...)
			edit(e, &res)
			_, _, err := e.Run(t.Context(), res)
			if !errors.Is(err, ErrLayerNotReusable) || !strings.Contains(err.Error(), "acme/web:web") || ExitCode(err) != ExitExport {
				t.Errorf("error %v, want %v naming acme/web:web", err, ErrLayerNotReusable)
			}
		})
	}
}

// TestExportSlices: n slices always give n+1 app layers, empty ones
// included.
func TestExportSlices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slices []Slice
		counts []int // entries per app layer
		out    string
	}{
		{"no slices", nil, []int{13}, "Adding 1/1 app layer(s)\n"},
		{"nothing matches", []Slice{{Paths: []string{"nope/*"}}}, []int{0, 13}, "Adding 2/2 app layer(s)\n"},
		{"everything", []Slice{{Paths: []string{"*"}}}, []int{13, 0}, "Adding 2/2 app layer(s)\n"},
		{"the app dir itself", []Slice{{Paths: []string{"."}}, {Paths: []string{"index.js"}}}, []int{13, 0, 0}, "Adding 3/3 app layer(s)\n"},
		{"outside", []Slice{{Paths: []string{"../layers/*", "/etc/*"}}}, []int{0, 13}, "Adding 2/2 app layer(s)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.result.Metadata.Slices = tc.slices
			var out bytes.Buffer
			img, rep := export(t, exporterFor(t, f, testRunImage(t, false), &out), f)
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			var counts []int
			var createdBy []string
			for i, r := range rep.Layers {
				if strings.HasPrefix(r.ID, "slice-") {
					counts = append(counts, len(entries(t, layers[i+1])))
					createdBy = append(createdBy, r.CreatedBy)
				}
			}
			if diff := cmp.Diff(tc.counts, counts); diff != "" {
				t.Errorf("entries per app layer (-want +got):\n%s", diff)
			}
			if len(tc.slices) == 0 && !cmp.Equal(createdBy, []string{"Application Layer"}) {
				t.Errorf("created_by %q", createdBy)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, out.String())
			}
		})
	}
}

// TestExportRefusesSymlinkedLayer: a layer directory replaced by a symlink
// (to anywhere on the host) is not followed.
func TestExportRefusesSymlinkedLayer(t *testing.T) {
	f := newFixture(t)
	web := filepath.Join(f.layers, "acme_web", "web")
	if err := os.RemoveAll(web); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", web); err != nil {
		t.Fatal(err)
	}
	_, _, err := exporterFor(t, f, testRunImage(t, false), nil).Run(t.Context(), f.result)
	if !errors.Is(err, beneath.ErrSymlink) || !strings.Contains(err.Error(), "/layers/acme_web/web") {
		t.Errorf("error %v, want a refusal naming the layer", err)
	}
}
