package lifecycle

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/oci"
)

// TestExportAfterBuild runs real buildpacks through the Detector and the
// Builder on the host, exports the result, writes it to an OCI layout
// through the store and reads it back.
func TestExportAfterBuild(t *testing.T) {
	p := testPaths(t, "")
	ctx := context.Background()
	dr, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(ref("test/v09"), ref("test/v12")), Target: testTarget, Env: baseEnv}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br, err := (&Builder{Paths: p, Runner: ExecRunner{}, Group: dr.Group, Plan: dr.Plan, Target: testTarget, Env: baseEnv}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := exporterFor(t, fixture{layers: p.Layers.Host, app: p.App.Host}, testRunImage(t, false), &out)
	img, rep, err := e.Run(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	var ids []string
	for _, r := range rep.Layers {
		ids = append(ids, r.ID)
	}
	// Every launch layer the buildpacks made, then the lifecycle's own.
	var want []string
	for _, bp := range br.Buildpacks {
		for _, l := range bp.Layers {
			if l.Launch {
				want = append(want, bp.ID+":"+l.Name)
			}
		}
	}
	if !slices.Contains(want, "test/v12:app") {
		t.Fatalf("the fixture buildpack made no launch layer app: %v", want)
	}
	want = append(want, "buildpacksio/lifecycle:launch.sbom", "slice-1", "buildpacksio/lifecycle:launcher",
		"buildpacksio/lifecycle:config", "buildpacksio/lifecycle:process-types")
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(cf.Config.Entrypoint, []string{"/cnb/process/main"}) {
		t.Errorf("entrypoint %q\n%s", cf.Config.Entrypoint, out.String())
	}
	meta, _, err := ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	app := meta.ForBuildpack("test/v12").Layers["app"]
	if !app.Launch || !cmp.Equal(app.Data, map[string]any{"exec-env": []any{"production"}}) {
		t.Errorf("layer metadata of test/v12:app: %+v", app)
	}
	sbom := entries(t, mustLayer(t, img, len(cf.RootFS.DiffIDs)-len(rep.Layers)+slices.Index(ids, "buildpacksio/lifecycle:launch.sbom")))
	if !slices.ContainsFunc(sbom, func(e entry) bool { return e.Name == "/layers/sbom/launch/test_v12/app/sbom.spdx.json" }) {
		t.Errorf("SBOM layer: %+v", sbom)
	}

	// Written to a layout through the store, the image keeps its digest.
	layout := oci.Reference{Kind: oci.KindLayout, Path: filepath.Join(t.TempDir(), "app"), Tag: "latest"}
	d, err := oci.Write(ctx, layout, img, oci.WithStore(e.Store))
	if err != nil {
		t.Fatal(err)
	}
	if d != imageDigest(t, img) {
		t.Errorf("written digest %s, want %s", d, imageDigest(t, img))
	}
	back, err := oci.Read(ctx, layout)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate.Image of the written image: %v", err)
	}
	if !strings.Contains(out.String(), "Setting default process type 'main'") {
		t.Errorf("output:\n%s", out.String())
	}
}

func mustLayer(t *testing.T, img v1.Image, i int) v1.Layer {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layers[i]
}

// TestExportWalkthrough exports the walkthrough's empty buildpack: pack's
// output, the bare launcher as entrypoint, no process-types layer.
func TestExportWalkthrough(t *testing.T) {
	p := testPaths(t, "")
	ctx := context.Background()
	group := Group{Group: []GroupEntry{{ID: "buildpacks/empty", Version: "0.0.1"}}}
	br, err := (&Builder{Paths: p, Runner: ExecRunner{}, Group: group, Env: baseEnv}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	img, rep, err := exporterFor(t, fixture{layers: p.Layers.Host, app: p.App.Host}, testRunImage(t, false), &out).Run(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	want := `Adding 1/1 app layer(s)
Adding layer 'buildpacksio/lifecycle:launcher'
Adding layer 'buildpacksio/lifecycle:config'
Adding label 'io.buildpacks.lifecycle.metadata'
Adding label 'io.buildpacks.build.metadata'
Adding label 'io.buildpacks.project.metadata'
Warning: default process type 'web' not present in list []
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if !cmp.Equal(rep.Entrypoint, []string{"/cnb/lifecycle/launcher"}) || len(rep.Layers) != 3 {
		t.Errorf("report: %+v", rep)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
}
