package project

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

func TestProjectGroup(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeProjectBuildpack(t, filepath.Join(src, "a"), "acme/a", "1.0.0")
	dirB := writeProjectBuildpack(t, filepath.Join(src, "b"), "acme/b", "2.0.0")
	dst := t.TempDir()
	// The builder's buildpacks.
	if _, err := distribution.FetchBuildpacks(ctx, []string{dirB}, dst); err != nil {
		t.Fatal(err)
	}
	refs := []Buildpack{
		{URI: dirA},
		{ID: "acme/b", Version: "2.0.0"},
		{ID: "acme/inline", Script: &InlineScript{API: "0.10", Inline: "echo hi"}},
		{ID: "acme/b"},
	}
	locators, err := Locators(refs, t.TempDir(), "io.buildpacks.stacks.jammy")
	if err != nil {
		t.Fatal(err)
	}
	if locators[1] != "urn:cnb:builder:acme/b@2.0.0" || locators[3] != "urn:cnb:builder:acme/b" {
		t.Errorf("locators = %q", locators)
	}
	bps, err := distribution.FetchBuildpacks(ctx, locators, dst)
	if err != nil {
		t.Fatal(err)
	}
	want := []distribution.ModuleRef{{ID: "acme/a", Version: "1.0.0"}, {ID: "acme/b", Version: "2.0.0"},
		{ID: "acme/inline", Version: "0.0.0"}, {ID: "acme/b", Version: "2.0.0"}}
	if diff := cmp.Diff(want, bps.Group()); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
	inline, _ := bps.Lookup("acme/inline", "")
	if diff := cmp.Diff([]distribution.Stack{{ID: "io.buildpacks.stacks.jammy"}}, inline.Stacks); diff != "" {
		t.Errorf("inline stacks (-want +got):\n%s", diff)
	}
	info := inline.LayerInfo("sha256:00")
	if info.API != "0.10" || info.LayerDiffID != "sha256:00" || len(info.Stacks) != 1 {
		t.Errorf("LayerInfo = %+v", info)
	}
	if s := (distribution.ModuleRef{ID: "a/b"}).String() + " " + want[0].String(); s != "a/b acme/a@1.0.0" {
		t.Errorf("String() = %q", s)
	}
}

// writeProjectBuildpack writes a buildpack directory holding only its
// buildpack.toml.
func writeProjectBuildpack(t *testing.T, dir, id, version string) string {
	t.Helper()
	testutil.WriteFile(t, filepath.Join(dir, "buildpack.toml"), "api = \"0.10\"\n[buildpack]\nid = \""+id+"\"\nversion = \""+version+"\"\n")
	return dir
}
