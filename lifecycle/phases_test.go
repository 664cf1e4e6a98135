package lifecycle

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fullOrder exercises every fixture: Buildpack APIs 0.2 to 0.12, a
// composite, an [[or]] plan and an optional buildpack that fails.
var fullOrder = orderOf(ref("test/v02"), ref("test/v06"), ref("test/meta"), ref("test/v10"), ref("test/v12"),
	GroupEntry{ID: "test/optional-fail", Version: "1.0.0", Optional: true})

// detectAndBuild runs both phases over fullOrder.
func detectAndBuild(t *testing.T, p Paths) (DetectResult, BuildResult) {
	t.Helper()
	ctx := context.Background()
	d := &Detector{Paths: p, Runner: ExecRunner{}, Order: fullOrder, Target: testTarget, Env: baseEnv, ExecEnv: "production"}
	dr, err := d.Run(ctx)
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	b := &Builder{Paths: p, Runner: ExecRunner{}, Group: dr.Group, Plan: dr.Plan, Target: testTarget, Env: baseEnv, ExecEnv: "production"}
	br, err := b.Run(ctx)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return dr, br
}

func TestDetectFullOrder(t *testing.T) {
	p := testPaths(t, "")
	dr, _ := detectAndBuild(t, p)

	wantGroup := Group{Group: []GroupEntry{
		{ID: "test/v02", Version: "1.0.0", API: "0.2", Homepage: "https://example.com/v02"},
		{ID: "test/v06", Version: "1.0.0", API: "0.6"},
		{ID: "test/v08", Version: "1.0.0", API: "0.8"},
		{ID: "test/v09", Version: "1.0.0", API: "0.9"},
		{ID: "test/v10", Version: "1.0.0", API: "0.10"},
		{ID: "test/v12", Version: "1.0.0", API: "0.12"},
	}}
	wantPlan := Plan{Entries: []PlanEntry{
		{Providers: []GroupEntry{ref("test/v10")}, Requires: []Require{{Name: "assets"}}},
		{Providers: []GroupEntry{ref("test/v02")}, Requires: []Require{
			{Name: "runtime", Metadata: map[string]any{"version": "1.0"}}, // top-level version moved (API 0.2)
			{Name: "runtime", Metadata: map[string]any{"version": "2"}},
		}},
		{Providers: []GroupEntry{ref("test/v08"), ref("test/v09")}, Requires: []Require{{Name: "tool", Metadata: map[string]any{"flavour": "sharp"}}}},
	}}
	opts := cmpopts.EquateEmpty()
	if diff := cmp.Diff(wantGroup, dr.Group, opts); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantPlan, dr.Plan, opts); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	// The files on disk say the same.
	g, err := ReadGroup(filepath.Join(p.Layers.Host, "group.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantGroup, g, opts); diff != "" {
		t.Errorf("group.toml (-want +got):\n%s", diff)
	}
	pl, err := ReadPlan(filepath.Join(p.Layers.Host, "plan.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPlan, pl, opts); diff != "" {
		t.Errorf("plan.toml (-want +got):\n%s", diff)
	}
	// Detect env (API 0.8): allowlist, platform env, CNB_* variables.
	env := envFile(t, filepath.Join(p.App.Host, "detect-env-v08.txt"))
	for k, want := range map[string]string{
		"PATH":              "/platform/bin:/usr/bin:/bin",
		"HOME":              "/home/cnb",
		"http_proxy":        "http://proxy:3128",
		"PLATFORM_VAR":      "from-platform",
		"CNB_PLATFORM_DIR":  p.Platform.Container,
		"CNB_BUILDPACK_DIR": filepath.Join(p.Buildpacks.Host, "test_v08", "1.0.0"),
	} {
		if env[k] != want {
			t.Errorf("detect env %s = %q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"SECRET", "CNB_TARGET_OS", "CNB_EXEC_ENV"} {
		if v, ok := env[k]; ok {
			t.Errorf("detect env of API 0.8 has %s=%q", k, v)
		}
	}
	if filepath.Dir(env["CNB_BUILD_PLAN_PATH"]) == "" || filepath.Base(env["CNB_BUILD_PLAN_PATH"]) != "plan.toml" {
		t.Errorf("CNB_BUILD_PLAN_PATH = %q", env["CNB_BUILD_PLAN_PATH"])
	}
}

func TestBuildFullOrder(t *testing.T) {
	p := testPaths(t, "")
	_, br := detectAndBuild(t, p)
	L := p.Layers.Host
	opts := cmpopts.EquateEmpty()

	wantMeta := BuildMetadata{
		Buildpacks: []GroupEntry{
			{ID: "test/v02", Version: "1.0.0", API: "0.2", Homepage: "https://example.com/v02"},
			{ID: "test/v06", Version: "1.0.0", API: "0.6"},
			{ID: "test/v08", Version: "1.0.0", API: "0.8"},
			{ID: "test/v09", Version: "1.0.0", API: "0.9"},
			{ID: "test/v10", Version: "1.0.0", API: "0.10"},
			{ID: "test/v12", Version: "1.0.0", API: "0.12"},
		},
		Labels: []Label{{Key: "test.label", Value: "v10"}}, // v10 replaced v06's value
		Processes: []Process{
			{Type: "main", Command: []string{"./main"}, Direct: true, BuildpackID: "test/v12", WorkingDir: "/workspace/sub", ExecEnv: []string{"production"}},
			{Type: "task", Command: []string{"run-task"}, Args: []string{"--fast"}, Direct: true, BuildpackID: "test/v08", WorkingDir: "/tmp"},
			{Type: "web", Command: []string{"echo hello"}, Args: []string{"a"}, BuildpackID: "test/v02"},
			{Type: "worker", Command: []string{"sh", "-c", "echo work"}, Args: []string{"extra"}, Direct: true, BuildpackID: "test/v09"},
		},
		Slices: []Slice{{Paths: []string{"public/*"}}},
		// web (implicit, 0.2) → worker (0.6) → cleared by v09's non-default
		// worker → main (0.12).
		DefaultProcessType: "main",
	}
	if diff := cmp.Diff(wantMeta, br.Metadata, opts); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	onDisk, err := ReadBuildMetadata(filepath.Join(L, "config", "metadata.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantMeta, onDisk, opts); diff != "" {
		t.Errorf("metadata.toml (-want +got):\n%s", diff)
	}

	layer := func(bp, name string, launch, build, cache bool, md map[string]any) Layer {
		return Layer{Name: name, Dir: p.Layers.join(bp, name), HasDir: true, Launch: launch, Build: build, Cache: cache, Metadata: md}
	}
	wantBPs := []BuildpackOutput{
		{GroupEntry: wantMeta.Buildpacks[0], Layers: []Layer{layer("test_v02", "runtime", true, true, true, map[string]any{"version": "1.0"})}},
		{GroupEntry: wantMeta.Buildpacks[1], Layers: []Layer{
			layer("test_v06", "launchonly", true, false, false, map[string]any{"answer": int64(42)}),
			layer("test_v06", "tools", false, true, false, nil),
		}},
		{GroupEntry: wantMeta.Buildpacks[2], Layers: []Layer{
			layer("test_v08", "alpha", true, true, false, nil),
			layer("test_v08", "zeta", true, true, false, nil),
		}},
		{GroupEntry: wantMeta.Buildpacks[3], Store: map[string]any{"runs": int64(1)}},
		{GroupEntry: wantMeta.Buildpacks[4], Layers: []Layer{layer("test_v10", "cacheonly", false, false, true, nil)}},
		{GroupEntry: wantMeta.Buildpacks[5], Layers: []Layer{layer("test_v12", "app", true, false, false, map[string]any{"exec-env": []any{"production"}})}},
	}
	if diff := cmp.Diff(wantBPs, br.Buildpacks, opts); diff != "" {
		t.Errorf("buildpacks (-want +got):\n%s", diff)
	}
	if len(br.Unmet.Entries) != 0 {
		t.Errorf("unmet plan entries: %+v", br.Unmet)
	}
	// The all-false layer of API 0.6 was renamed.
	if !isDir(filepath.Join(L, "test_v06", "dropme.ignore")) || isDir(filepath.Join(L, "test_v06", "dropme")) {
		t.Error("test_v06/dropme was not renamed to dropme.ignore")
	}
	// SBOM copies (Platform ≥0.8).
	wantSBOM := map[string]string{
		"sbom/launch/test_v08/zeta/sbom.cdx.json": `{"bomFormat":"CycloneDX"}` + "\n",
		"sbom/launch/test_v08/sbom.cdx.json":      `{"bomFormat":"CycloneDX"}` + "\n",
		"sbom/launch/test_v12/app/sbom.spdx.json": `{"spdxVersion":"SPDX-2.3"}` + "\n",
	}
	for rel, want := range wantSBOM {
		if got := readFile(t, filepath.Join(L, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	// What v02 (API 0.2) left in its plan file is its legacy launch BOM.
	wantLegacy := `[{"name":"runtime","metadata":{"version":"1.0"},"buildpack":{"id":"test/v02","version":"1.0.0"}},` +
		`{"name":"runtime","metadata":{"version":"2"},"buildpack":{"id":"test/v02","version":"1.0.0"}}]`
	if got := readFile(t, filepath.Join(L, "sbom", "launch", "sbom.legacy.json")); got != wantLegacy {
		t.Errorf("sbom.legacy.json = %s, want %s", got, wantLegacy)
	}
	if br.SBOMDirs != (SBOMDirs{Launch: filepath.Join(L, "sbom", "launch")}) {
		t.Errorf("SBOMDirs = %+v", br.SBOMDirs)
	}
}

func TestBuildPlansAndArgs(t *testing.T) {
	p := testPaths(t, "")
	detectAndBuild(t, p)
	L := p.Layers.Host
	// API 0.2 gets metadata.version copied to a top-level version, and both
	// requirements of the entry it provides.
	var plan02 BuildpackPlan
	if _, _, err := decodeOptional(filepath.Join(L, "test_v02", "plan.txt"), &plan02); err != nil {
		t.Fatal(err)
	}
	want02 := BuildpackPlan{Entries: []Require{
		{Name: "runtime", Version: "1.0", Metadata: map[string]any{"version": "1.0"}},
		{Name: "runtime", Version: "2", Metadata: map[string]any{"version": "2"}},
	}}
	if diff := cmp.Diff(want02, plan02); diff != "" {
		t.Errorf("v02 plan (-want +got):\n%s", diff)
	}
	// v08 left "tool" unmet, so v09, the next provider, got it too.
	for _, bp := range []string{"test_v08", "test_v09"} {
		var got BuildpackPlan
		if _, _, err := decodeOptional(filepath.Join(L, bp, "plan.txt"), &got); err != nil {
			t.Fatal(err)
		}
		want := BuildpackPlan{Entries: []Require{{Name: "tool", Metadata: map[string]any{"flavour": "sharp"}}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s plan (-want +got):\n%s", bp, diff)
		}
	}
	if got := readFile(t, filepath.Join(L, "test_v06", "plan.txt")); got != "" {
		t.Errorf("v06 (provides nothing) got plan %q", got)
	}
	// Positional arguments: <layers>/<escaped-id> <platform> <plan>.
	args := readFile(t, filepath.Join(L, "test_v02", "args.txt"))
	wantPrefix := filepath.Join(L, "test_v02") + " " + p.Platform.Container + " "
	if len(args) < len(wantPrefix) || args[:len(wantPrefix)] != wantPrefix {
		t.Errorf("v02 args = %q, want prefix %q", args, wantPrefix)
	}
}

func TestBuildEnv(t *testing.T) {
	p := testPaths(t, "")
	detectAndBuild(t, p)
	L := p.Layers.Host
	lay := func(bp, layer, sub string) string { return filepath.Join(L, bp, layer, sub) }
	origPath := "/usr/bin:/bin"
	tests := []struct {
		bp   string
		want map[string]string // "" value: must be absent
	}{{
		bp: "test_v02", // first: allowlist + platform env only; no CNB_* beyond the buildpack dir (API 0.2)
		want: map[string]string{
			"PATH": "/platform/bin:" + origPath, "HOME": "/home/cnb", "PLATFORM_VAR": "from-platform",
			"SECRET": "", "CNB_LAYERS_DIR": "", "CNB_TARGET_OS": "",
			"CNB_BUILDPACK_DIR": filepath.Join(p.Buildpacks.Host, "test_v02", "1.0.0"),
		},
	}, {
		bp: "test_v06", // v02's build layer: bin on PATH, env/SHARED without suffix (API <0.5) prepended
		want: map[string]string{
			"PATH":   "/platform/bin:" + lay("test_v02", "runtime", "bin") + ":" + origPath,
			"SHARED": "from-v02", "V02_OVR": "v02",
		},
	}, {
		bp: "test_v08", // v06: .append with .delim, no suffix = override (≥0.5), .default, env.build/
		want: map[string]string{
			"PATH":   "/platform/bin:" + lay("test_v06", "tools", "bin") + ":" + lay("test_v02", "runtime", "bin") + ":" + origPath,
			"SHARED": "from-v02;from-v06", "V06_OVR": "v06", "DEF": "first", "V06_BUILD": "build-only",
			"CNB_LAYERS_DIR": filepath.Join(L, "test_v08"), "CNB_PLATFORM_DIR": p.Platform.Container,
			"CNB_TARGET_OS": "",
		},
	}, {
		bp: "test_v09", // v08: later layer names first on PATH; .append without .delim concatenates
		want: map[string]string{
			"PATH": "/platform/bin:" + lay("test_v08", "zeta", "bin") + ":" + lay("test_v08", "alpha", "bin") + ":" +
				lay("test_v06", "tools", "bin") + ":" + lay("test_v02", "runtime", "bin") + ":" + origPath,
			"LD_LIBRARY_PATH": lay("test_v08", "zeta", "lib") + ":" + lay("test_v08", "alpha", "lib"),
			"LIBRARY_PATH":    lay("test_v08", "zeta", "lib") + ":" + lay("test_v08", "alpha", "lib"),
			"ORDER":           "alphazeta",
		},
	}, {
		bp: "test_v10", // API 0.10: target variables
		want: map[string]string{
			"CNB_TARGET_OS": "linux", "CNB_TARGET_ARCH": "amd64", "CNB_TARGET_DISTRO_NAME": "debian",
			"CNB_TARGET_DISTRO_VERSION": "12", "CNB_EXEC_ENV": "",
		},
	}, {
		bp:   "test_v12", // API 0.12: CNB_EXEC_ENV
		want: map[string]string{"CNB_EXEC_ENV": "production", "CNB_TARGET_OS": "linux"},
	}}
	for _, tt := range tests {
		t.Run(tt.bp, func(t *testing.T) {
			env := envFile(t, filepath.Join(L, tt.bp, "env.txt"))
			for k, want := range tt.want {
				got, ok := env[k]
				switch {
				case want == "" && ok:
					t.Errorf("%s is set to %q, want unset", k, got)
				case want != "" && got != want:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if plan := env["CNB_BP_PLAN_PATH"]; tt.bp >= "test_v08" && filepath.Base(plan) != "plan.toml" {
				t.Errorf("CNB_BP_PLAN_PATH = %q", plan)
			}
		})
	}
}
