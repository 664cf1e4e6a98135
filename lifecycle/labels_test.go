package lifecycle

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// TestLifecycleMetadataApp reads "app" as an array, as a single object
// (older images) and as null.
func TestLifecycleMetadataApp(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  AppLayers
	}{
		{`{"app":[{"sha":"sha256:a"},{"sha":"sha256:b"}]}`, AppLayers{{SHA: "sha256:a"}, {SHA: "sha256:b"}}},
		{`{"app":{"sha":"sha256:a"}}`, AppLayers{{SHA: "sha256:a"}}},
		{`{"app": null}`, nil},
		{`{}`, nil},
	} {
		m, ok, err := ParseLifecycleMetadata(map[string]string{LabelLifecycleMetadata: tc.label})
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", tc.label, ok, err)
		}
		if diff := cmp.Diff(tc.want, m.App); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.label, diff)
		}
	}
	if _, ok, err := ParseLifecycleMetadata(nil); ok || err != nil {
		t.Errorf("absent label: %v %v", ok, err)
	}
	if _, ok, err := ParseLifecycleMetadata(map[string]string{LabelLifecycleMetadata: `{"app":"x"}`}); !ok || err == nil {
		t.Errorf("invalid label: %v %v", ok, err)
	}
}

// TestLifecycleMetadataShape pins the JSON key names and order the
// reference lifecycle writes (CNB contract §3, §9 item 11).
func TestLifecycleMetadataShape(t *testing.T) {
	m := LifecycleMetadata{
		App:  AppLayers{{SHA: "sha256:app"}},
		SBOM: &LayerSHA{SHA: "sha256:sbom"},
		Buildpacks: []BuildpackLayers{{ID: "acme/node", Version: "1.0.0",
			Layers: map[string]LayerMetadata{"node": {SHA: "sha256:n", Data: map[string]any{"v": "1"}, Launch: true}},
			Store:  &StoreMetadata{Data: map[string]any{"k": "v"}}}},
		Config:   LayerSHA{SHA: "sha256:c"},
		Launcher: LayerSHA{SHA: "sha256:l"},
		RunImage: RunImageForRebase{TopLayer: "sha256:t", Reference: "r@sha256:x", Image: "r:1", Mirrors: []string{"m:1"}},
		Stack:    &StackRunImageLabel{RunImage: RunImageName{Image: "r:1"}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"app":[{"sha":"sha256:app"}],"sbom":{"sha":"sha256:sbom"},` +
		`"buildpacks":[{"key":"acme/node","version":"1.0.0","layers":{"node":{"sha":"sha256:n","data":{"v":"1"},"build":false,"launch":true,"cache":false}},"store":{"metadata":{"k":"v"}}}],` +
		`"config":{"sha":"sha256:c"},"launcher":{"sha":"sha256:l"},"process-types":{"sha":""},` +
		`"runImage":{"topLayer":"sha256:t","reference":"r@sha256:x","image":"r:1","mirrors":["m:1"]},` +
		`"stack":{"runImage":{"image":"r:1"}}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	var back LifecycleMetadata
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := back.ForBuildpack("acme/node").Layers["node"].SHA; got != "sha256:n" {
		t.Errorf("ForBuildpack: %q", got)
	}
	var none *LifecycleMetadata
	if got := none.ForBuildpack("acme/node"); got.ID != "" {
		t.Errorf("ForBuildpack on nil: %+v", got)
	}
}

func TestBuildLabel(t *testing.T) {
	m := BuildMetadata{
		Buildpacks: []GroupEntry{{ID: "acme/node", Version: "1.0.0", API: "0.10", Homepage: "https://h"}},
		Processes: []Process{{Type: "web", Command: []string{"node", "app.js"}, Args: []string{"-p"}, Direct: true, BuildpackID: "acme/node",
			ExecEnv: []string{"production"}}},
		DefaultProcessType: "web",
	}
	launcher := LauncherMetadata{Version: "1", Source: LauncherSource{Git: GitMetadata{Repository: "repo", Commit: "c"}}}
	for _, tc := range []struct {
		platform string
		want     string
	}{
		{"0.13", `{"buildpacks":[{"id":"acme/node","version":"1.0.0","homepage":"https://h"}],` +
			`"launcher":{"version":"1","source":{"git":{"repository":"repo","commit":"c"}}},` +
			`"processes":[{"type":"web","command":["node","app.js"],"args":["-p"],"direct":true,"buildpackID":"acme/node","exec-env":["production"]}],` +
			`"buildpack-default-process-type":"web"}`},
		{"0.9", `{"buildpacks":[{"id":"acme/node","version":"1.0.0","homepage":"https://h"}],` +
			`"launcher":{"version":"1","source":{"git":{"repository":"repo","commit":"c"}}},` +
			`"processes":[{"type":"web","command":"node","args":["app.js","-p"],"direct":true,"buildpackID":"acme/node","exec-env":["production"]}],` +
			`"buildpack-default-process-type":"web"}`},
		{"0.8", `{"bom":null,"buildpacks":[{"id":"acme/node","version":"1.0.0","homepage":"https://h"}],` +
			`"launcher":{"version":"1","source":{"git":{"repository":"repo","commit":"c"}}},` +
			`"processes":[{"type":"web","command":"node","args":["app.js","-p"],"direct":true,"buildpackID":"acme/node","exec-env":["production"]}],` +
			`"buildpack-default-process-type":"web"}`},
	} {
		b, err := json.Marshal(buildLabel(m, launcher, api.MustParse(tc.platform)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, string(b)); diff != "" {
			t.Errorf("Platform %s (-want +got):\n%s", tc.platform, diff)
		}
		var back BuildLabel
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("Platform %s: reading back: %v", tc.platform, err)
		}
	}
	// No processes: [], and no "bom" from Platform 0.9, as the lifecycle
	// writes them.
	b, err := json.Marshal(buildLabel(BuildMetadata{}, LauncherMetadata{}, api.MustParse("0.13")))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"buildpacks":null,"launcher":{"version":"","source":{"git":{"repository":"","commit":""}}},"processes":[]}`; string(b) != want {
		t.Errorf("empty build label %s, want %s", b, want)
	}
}

func TestProjectMetadataLabel(t *testing.T) {
	for _, tc := range []struct {
		m    ProjectMetadata
		want string
	}{
		{ProjectMetadata{}, `{}`},
		{ProjectMetadata{Source: &ProjectSource{Type: "git", Version: map[string]any{"commit": "abc"}, Metadata: map[string]any{"url": "u"}}},
			`{"source":{"type":"git","version":{"commit":"abc"},"metadata":{"url":"u"}}}`},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("got %s, want %s", b, tc.want)
		}
	}
}

// runImage.reference names a registry run image by repository and digest,
// as the spec asks; a layout or archive by its digest alone.
func TestRunImageReference(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"registry.example/stacks/run:1": "registry.example/stacks/run@" + d.String(),
		"run:1":                         "index.docker.io/library/run@" + d.String(),
		"oci:stack:run":                 d.String(),
		"docker-archive:run.tar":        d.String(),
	} {
		got, err := RunImageReference(img, name)
		if err != nil || got != want {
			t.Errorf("RunImageReference(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}
