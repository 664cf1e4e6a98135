package appimage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// rebaseFixture is a run image, an app image built on it the way the
// exporter lays one out, and images to rebase onto, all in memory.
type rebaseFixture struct {
	run, app v1.Image
	images   map[string]v1.Image // what ReadImage finds, by name
}

// runImageFixture is a run image of n random layers with stack labels.
func runImageFixture(t *testing.T, n int, mt types.MediaType, labels map[string]string, cfg func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	img, err := random.Image(512, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, mt)
	if mt == types.OCIManifestSchema1 {
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/bin:/bin"}
	cf.Config.User = "1000:1000"
	cf.Config.Labels = map[string]string{
		LabelStackID: "kiln.test.stack", LabelDistroName: "busybox", LabelDistroVersion: "1",
		LabelRebasable: "true", "io.buildpacks.base.maintainer": "kiln",
	}
	for k, v := range labels {
		if v == "" {
			delete(cf.Config.Labels, k)
			continue
		}
		cf.Config.Labels[k] = v
	}
	if cfg != nil {
		cfg(cf)
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// appImageFixture appends three layers (a buildpack layer, the app, the
// launcher) to run, with the labels and env of an exported image.
func appImageFixture(t *testing.T, run v1.Image, platformAPI, runName string, mirrors []string) v1.Image {
	t.Helper()
	var adds []oci.Append
	var shas []string
	for i, by := range []string{"Layer: 'tools', Created by buildpack: example/hello@0.0.1", "Application Layer", "Buildpacks Application Launcher"} {
		l, err := random.Layer(1024+int64(i), types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, d.String())
		adds = append(adds, oci.Append{Layer: l, History: v1.History{CreatedBy: by}})
	}
	runLayers, err := run.Layers()
	if err != nil {
		t.Fatal(err)
	}
	top, err := runLayers[len(runLayers)-1].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	runDigest, err := run.Digest()
	if err != nil {
		t.Fatal(err)
	}
	meta := lifecycle.LifecycleMetadata{
		App:        lifecycle.AppLayers{{SHA: shas[1]}},
		Buildpacks: []lifecycle.BuildpackLayers{{ID: "example/hello", Version: "0.0.1", Layers: map[string]lifecycle.LayerMetadata{"tools": {SHA: shas[0], Launch: true}}}},
		Launcher:   lifecycle.LayerSHA{SHA: shas[2]},
		RunImage:   lifecycle.RunImageForRebase{TopLayer: top.String(), Reference: runDigest.String(), Image: runName, Mirrors: mirrors},
		Stack:      &lifecycle.StackRunImageLabel{RunImage: lifecycle.RunImageName{Image: runName, Mirrors: mirrors}},
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	created, workDir := oci.Epoch, "/workspace"
	img, err := oci.Mutate(run, oci.Mutation{
		Labels: map[string]string{
			lifecycle.LabelLifecycleMetadata: string(raw),
			lifecycle.LabelBuildMetadata:     `{"bom":null,"buildpacks":[{"id":"example/hello","version":"0.0.1","homepage":"https://example.com/hello"}],"launcher":{"version":"0.1.0","source":{"git":{"repository":"","commit":""}}},"processes":[{"type":"web","command":["app.sh"],"args":["default-arg"],"direct":true,"buildpackID":"example/hello","working-dir":"/workspace"},{"type":"tool","command":["tool"],"args":null,"direct":true,"buildpackID":"example/hello"}],"buildpack-default-process-type":"web"}`,
		},
		Env:        []string{"CNB_PLATFORM_API=" + platformAPI, "PATH=/cnb/process:/cnb/lifecycle:/usr/bin:/bin"},
		Entrypoint: []string{"/cnb/process/web"},
		WorkingDir: &workDir,
		Cmd:        []string{},
		Layers:     adds,
		Created:    &created,
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newRebaseFixture(t *testing.T, platformAPI string) rebaseFixture {
	t.Helper()
	run := runImageFixture(t, 2, types.OCIManifestSchema1, nil, nil)
	f := rebaseFixture{run: run, images: map[string]v1.Image{}}
	f.app = appImageFixture(t, run, platformAPI, "registry.example/run:1", []string{"mirror.example/run:1"})
	f.images["registry.example/run:1"] = runImageFixture(t, 3, types.OCIManifestSchema1, nil, nil)
	return f
}

func (f rebaseFixture) read(_ context.Context, ref string) (v1.Image, error) {
	img, ok := f.images[ref]
	if !ok {
		return nil, fmt.Errorf("no image %s", ref)
	}
	return img, nil
}

func diffIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range cf.RootFS.DiffIDs {
		out = append(out, d.String())
	}
	return out
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range m.Layers {
		out = append(out, d.Digest.String())
	}
	return out
}

func TestRebaserSwapsBaseLayers(t *testing.T) {
	f := newRebaseFixture(t, "0.13")
	newRun := f.images["registry.example/run:1"]
	r := &Rebaser{App: f.app, ReadImage: f.read}
	img, report, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	// Layers: the new base's, then the app's above the old base, the same
	// blobs (digests) and diffIDs.
	appDigests, runDigests := layerDigests(t, f.app), layerDigests(t, newRun)
	want := append(append([]string{}, runDigests...), appDigests[2:]...)
	if diff := cmp.Diff(want, layerDigests(t, img)); diff != "" {
		t.Errorf("layer digests (-want +got):\n%s", diff)
	}
	wantDiffIDs := append(append([]string{}, diffIDs(t, newRun)...), diffIDs(t, f.app)[2:]...)
	if diff := cmp.Diff(wantDiffIDs, diffIDs(t, img)); diff != "" {
		t.Errorf("diffIDs (-want +got):\n%s", diff)
	}
	newTop := diffIDs(t, newRun)[2]
	runDigest, _ := newRun.Digest()
	wantReport := RebaseReport{
		RunImage: "registry.example/run:1", RunImageReference: "registry.example/run@" + runDigest.String(),
		OldTopLayer: diffIDs(t, f.app)[1], NewTopLayer: newTop, OldBaseLayers: 2, BaseLayers: 3, AppLayers: 3,
	}
	if diff := cmp.Diff(wantReport, report); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	// Config: the app's, but for the lifecycle label's run image.
	oldCfg, _ := f.app.ConfigFile()
	cfg, _ := img.ConfigFile()
	meta, _, err := lifecycle.ParseLifecycleMetadata(cfg.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if meta.RunImage.TopLayer != newTop || meta.RunImage.Reference != wantReport.RunImageReference {
		t.Errorf("runImage = %+v, want topLayer %s reference %s", meta.RunImage, newTop, wantReport.RunImageReference)
	}
	if meta.RunImage.Image != "registry.example/run:1" || len(meta.RunImage.Mirrors) != 1 {
		t.Errorf("the recorded names changed: %+v", meta.RunImage)
	}
	ignore := func(c *v1.ConfigFile) *v1.ConfigFile {
		c = c.DeepCopy()
		c.RootFS, c.History = v1.RootFS{}, nil
		delete(c.Config.Labels, lifecycle.LabelLifecycleMetadata)
		return c
	}
	if diff := cmp.Diff(ignore(oldCfg), ignore(cfg)); diff != "" {
		t.Errorf("config changed beyond the run image (-old +new):\n%s", diff)
	}
	// History: the new base's entries, then the app's; all stamped.
	if len(cfg.History) != 6 {
		t.Fatalf("history has %d entries, want 6: %+v", len(cfg.History), cfg.History)
	}
	if got := cfg.History[5].CreatedBy; got != "Buildpacks Application Launcher" {
		t.Errorf("last history entry %q", got)
	}
	for _, h := range cfg.History {
		if !h.Created.Equal(oci.Epoch) {
			t.Errorf("history created %v, want %v", h.Created, oci.Epoch)
		}
	}

	// Rebasing onto the same run image again changes nothing.
	again, _, err := (&Rebaser{App: img, ReadImage: f.read}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("a second rebase onto the same run image gave %s, first %s", d2, d1)
	}
}

func TestRebaserLabels(t *testing.T) {
	f := newRebaseFixture(t, "0.13")
	f.images["registry.example/run:1"] = runImageFixture(t, 1, types.OCIManifestSchema1, map[string]string{
		LabelStackID: "kiln.test.stack", "io.buildpacks.base.maintainer": "", "io.buildpacks.base.released": "2026-11-24",
		"io.buildpacks.stack.mixins": `["curl"]`,
	}, nil)
	// An unknown field of the lifecycle label survives the edit.
	cf, _ := f.app.ConfigFile()
	label := strings.Replace(cf.Config.Labels[lifecycle.LabelLifecycleMetadata], `"runImage":{`, `"future":{"x":1},"runImage":{"extra":true,`, 1)
	app, err := oci.Mutate(f.app, oci.Mutation{Labels: map[string]string{lifecycle.LabelLifecycleMetadata: label, "user.label": "kept"}})
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := (&Rebaser{App: app, ReadImage: f.read}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := img.ConfigFile()
	labels := got.Config.Labels
	for k, want := range map[string]string{
		"io.buildpacks.base.maintainer": "", "io.buildpacks.base.released": "2026-11-24",
		"io.buildpacks.stack.mixins": `["curl"]`, "user.label": "kept", LabelDistroName: "busybox",
	} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	meta := labels[lifecycle.LabelLifecycleMetadata]
	if !strings.Contains(meta, `"future":{"x":1},"runImage":{"extra":true,`) {
		t.Errorf("unknown fields of the lifecycle label were lost: %s", meta)
	}
}

func TestRebaserChecks(t *testing.T) {
	amd := func(c *v1.ConfigFile) {}
	arm := func(c *v1.ConfigFile) { c.Architecture = "arm64" }
	variant := func(c *v1.ConfigFile) { c.Variant = "v8" }
	for _, tc := range []struct {
		name     string
		api      string
		app      map[string]string // labels set on the app image
		base     map[string]string // labels of the new run image
		cfg      func(*v1.ConfigFile)
		runImage string
		want     error
	}{
		{name: "recorded name", api: "0.13", cfg: amd},
		{name: "mirror", api: "0.13", cfg: amd, runImage: "mirror.example/run:1"},
		{name: "by digest", api: "0.13", cfg: amd, runImage: "registry.example/run:1@sha256:" + strings.Repeat("a", 64)},
		{name: "not rebasable", api: "0.13", cfg: amd, app: map[string]string{LabelRebasable: "false"}, want: ErrNotRebasable},
		{name: "other architecture", api: "0.13", cfg: arm, want: ErrTargetMismatch},
		{name: "variant set on one side only", api: "0.13", cfg: variant},
		{name: "other distro", api: "0.13", cfg: amd, base: map[string]string{LabelDistroVersion: "2"}, want: ErrTargetMismatch},
		{name: "no distro on the new base", api: "0.13", cfg: amd, base: map[string]string{LabelDistroName: "", LabelDistroVersion: ""}},
		{name: "new tag", api: "0.13", cfg: amd, runImage: "registry.example/run:2", want: ErrRunImageNotRecorded},
		{name: "other repository", api: "0.13", cfg: amd, runImage: "registry.example/other:1", want: ErrRunImageNotRecorded},
		{name: "old platform, other stack", api: "0.11", cfg: amd, base: map[string]string{LabelStackID: "other"}, want: ErrStackMismatch},
		{name: "old platform, new tag", api: "0.11", cfg: amd, runImage: "registry.example/run:2"},
		{name: "old platform, mixins", api: "0.11", cfg: amd,
			app:  map[string]string{LabelStackMixins: `["run:curl","git"]`},
			base: map[string]string{LabelStackMixins: `["curl"]`}, want: ErrMixinsMissing},
		{name: "old platform, mixin superset", api: "0.11", cfg: amd,
			app:  map[string]string{LabelStackMixins: `["run:curl"]`},
			base: map[string]string{LabelStackMixins: `["curl","git"]`}},
		{name: "old platform ignores rebasable", api: "0.11", cfg: arm, app: map[string]string{LabelRebasable: "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRebaseFixture(t, tc.api)
			if tc.app != nil {
				app, err := oci.Mutate(f.app, oci.Mutation{Labels: tc.app})
				if err != nil {
					t.Fatal(err)
				}
				f.app = app
			}
			name := tc.runImage
			if name == "" {
				name = "registry.example/run:1"
			}
			f.images[name] = runImageFixture(t, 1, types.OCIManifestSchema1, tc.base, tc.cfg)
			r := &Rebaser{App: f.app, RunImage: tc.runImage, ReadImage: f.read}
			img, _, err := r.Run(context.Background())
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Run: %v, want %v", err, tc.want)
			}
			if err != nil {
				if lifecycle.ExitCode(err) != ExitRebase {
					t.Errorf("exit code %d, want %d", lifecycle.ExitCode(err), ExitRebase)
				}
				// Forced, the rebase goes through with a warning.
				r.Force = true
				img, report, err := r.Run(context.Background())
				if err != nil {
					t.Fatalf("forced: %v", err)
				}
				if len(report.Warnings) != 1 {
					t.Errorf("forced: warnings %q, want one", report.Warnings)
				}
				if errors.Is(tc.want, ErrRunImageNotRecorded) {
					cf, _ := img.ConfigFile()
					meta, _, _ := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
					wantRun := lifecycle.RunImageForRebase{TopLayer: meta.RunImage.TopLayer, Reference: meta.RunImage.Reference, Image: name}
					if diff := cmp.Diff(wantRun, meta.RunImage); diff != "" {
						t.Errorf("forced onto a new name: runImage (-want +got):\n%s", diff)
					}
					if meta.Stack == nil || meta.Stack.RunImage.Image != name || len(meta.Stack.RunImage.Mirrors) != 0 {
						t.Errorf("forced onto a new name: stack %+v", meta.Stack)
					}
				}
				return
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
		})
	}
}

func TestRebaserMediaTypes(t *testing.T) {
	// A Docker-typed app image rebased onto an OCI run image stays a valid
	// Docker image: the run layers take the Docker layer type.
	run := runImageFixture(t, 1, types.DockerManifestSchema2, nil, nil)
	app := appImageFixture(t, run, "0.13", "run", nil)
	if mt, _ := app.MediaType(); mt != types.DockerManifestSchema2 {
		t.Fatalf("fixture app image is %s", mt)
	}
	newRun := runImageFixture(t, 2, types.OCIManifestSchema1, nil, nil)
	read := func(context.Context, string) (v1.Image, error) { return newRun, nil }
	img, _, err := (&Rebaser{App: app, ReadImage: read}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	m, _ := img.Manifest()
	if m.MediaType != types.DockerManifestSchema2 || m.Config.MediaType != types.DockerConfigJSON {
		t.Errorf("manifest %s, config %s", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.DockerLayer {
			t.Errorf("layer %s has type %s", l.Digest, l.MediaType)
		}
	}
}

func TestRebaserMissingMetadata(t *testing.T) {
	f := newRebaseFixture(t, "0.13")
	for name, img := range map[string]v1.Image{
		"plain image": f.run,
		"unknown top layer": func() v1.Image {
			img, err := oci.Mutate(f.app, oci.Mutation{Labels: map[string]string{
				lifecycle.LabelLifecycleMetadata: `{"runImage":{"topLayer":"sha256:` + strings.Repeat("0", 64) + `"}}`}})
			if err != nil {
				t.Fatal(err)
			}
			return img
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := (&Rebaser{App: img, RunImage: "registry.example/run:1", ReadImage: f.read, Force: true}).Run(context.Background())
			if !errors.Is(err, ErrNoRebaseMetadata) {
				t.Errorf("Run: %v, want ErrNoRebaseMetadata", err)
			}
		})
	}
	empty := `{"runImage":{"topLayer":"` + diffIDs(t, f.app)[1] + `"}}`
	img, err := oci.Mutate(f.app, oci.Mutation{Labels: map[string]string{lifecycle.LabelLifecycleMetadata: empty}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&Rebaser{App: img, ReadImage: f.read}).Run(context.Background()); !errors.Is(err, ErrNoRunImage) {
		t.Errorf("no run image given or recorded: %v, want ErrNoRunImage", err)
	}
}

func TestRecordedRunImage(t *testing.T) {
	m := lifecycle.LifecycleMetadata{RunImage: lifecycle.RunImageForRebase{Image: "a.example/run:1", Mirrors: []string{"b.example/run:1", "c.example/run:1"}}}
	for registry, want := range map[string]string{"": "a.example/run:1", "c.example": "c.example/run:1", "z.example": "a.example/run:1"} {
		if got := recordedRunImage(&m, "", registry); got != want {
			t.Errorf("recordedRunImage(%q) = %q, want %q", registry, got, want)
		}
	}
	old := lifecycle.LifecycleMetadata{Stack: &lifecycle.StackRunImageLabel{RunImage: lifecycle.RunImageName{Image: "oci:stack:run"}}}
	if got := recordedRunImage(&old, "", ""); got != "oci:stack:run" {
		t.Errorf("from the stack label: %q", got)
	}
	if !records(&old, "", "oci:./stack:run") || records(&old, "", "oci:stack:other") {
		t.Error("layout names are compared by clean path and tag")
	}
	// A kiln-local name is recorded only in kiln's own label.
	none := lifecycle.LifecycleMetadata{Stack: &lifecycle.StackRunImageLabel{}}
	if got := recordedRunImage(&none, "oci:stack:run", ""); got != "oci:stack:run" {
		t.Errorf("from %s: %q", lifecycle.LabelLocalRunImage, got)
	}
	if !records(&none, "oci:stack:run", "oci:./stack:run") {
		t.Errorf("the name in %s is not taken as recorded", lifecycle.LabelLocalRunImage)
	}
}

// Rebasing onto the run image the app already has changes nothing: the
// same digest, however often, and the run image's empty-layer history
// entries (ENV, LABEL and the like) are not added again.
func TestRebaserSameRunImageIsIdempotent(t *testing.T) {
	// Docker types throughout, as random layers have them.
	run := runImageFixture(t, 2, types.DockerManifestSchema2, nil, func(cf *v1.ConfigFile) {
		cf.History = []v1.History{{CreatedBy: "layer 1"}, {CreatedBy: "layer 2"}, {CreatedBy: "ENV PATH", EmptyLayer: true}}
	})
	runDigest, err := run.Digest()
	if err != nil {
		t.Fatal(err)
	}
	app := appImageFixture(t, run, "0.13", "registry.example/run:1", nil)
	// As the exporter writes it: the run image by name and digest, every
	// history entry stamped.
	app = exported(t, app, "registry.example/run@"+runDigest.String())
	images := map[string]v1.Image{"registry.example/run:1": run}
	read := func(_ context.Context, ref string) (v1.Image, error) { return images[ref], nil }

	once, _, err := (&Rebaser{App: app, ReadImage: read}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	twice, _, err := (&Rebaser{App: once, ReadImage: read}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{once, twice} {
		if got, want := digest(t, img), digest(t, app); got != want {
			t.Errorf("rebased onto its own run image: %s, want the app's %s", got, want)
		}
	}
	cf, err := twice.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.History) != 6 {
		t.Errorf("history has %d entries after two rebases, want 6 (3 run image, 3 app): %+v", len(cf.History), cf.History)
	}
}

// exported sets runImage.reference in img's lifecycle label and stamps
// every history entry with the epoch, as the exporter does.
func exported(t *testing.T, img v1.Image, ref string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	meta, _, err := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	meta.RunImage.Reference = ref
	raw, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels[lifecycle.LabelLifecycleMetadata] = string(raw)
	for i := range cf.History {
		cf.History[i].Created = v1.Time{Time: oci.Epoch}
	}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
