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
