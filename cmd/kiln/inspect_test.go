package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/lifecycle/appimage"
)

func TestInspect(t *testing.T) {
	e := newRebaseEnv(t)
	out, errOut, code := e.kiln(t, "inspect", "oci:out:app")
	if code != 0 {
		t.Fatalf("kiln inspect: exit %d\n%s", code, errOut)
	}
	runDigest, err := e.oldRun.Digest()
	if err != nil {
		t.Fatal(err)
	}
	runIDs := diffIDsOf(t, e.oldRun)
	for _, want := range []string{
		"Inspecting image: oci:out:app\n",
		"\nStack: io.github.future-architect.samples.debian\n",
		"\nBase Image:\n  Reference: " + runDigest.String() + "\n  Top Layer: " + runIDs[len(runIDs)-1] + "\n",
		"\nRun Images:\n  oci:stack:run\n",
		"\nRebasable: true\n",
		"\nBuildpacks:\n  ID             VERSION  HOMEPAGE\n  example/hello  0.0.1    -\n",
		"  web (default)  /bin/sh app.sh  default-arg  /workspace\n",
		"  Run image: 2 layer(s), ", // the root filesystem and the CNB user (issue #14)
		"  Buildpacks, app and launcher: 5 layer(s), ",
		"  example/hello:tools\n",
		"  slice-1\n",
		"  buildpacksio/lifecycle:launcher\n",
		"\n    sha256:" + runIDs[0][7:19] + "  ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kiln inspect output lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = e.kiln(t, "inspect", "--json", "oci:out:app")
	if code != 0 {
		t.Fatalf("kiln inspect --json: exit %d\n%s", code, errOut)
	}
	var got appimage.ImageInfo
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("parsing --json output: %v\n%s", err, out)
	}
	want, err := appimage.Inspect(e.appImg)
	if err != nil {
		t.Fatal(err)
	}
	want.Image = "oci:out:app"
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}
	// Field names scripts rely on.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"stack", "run_image", "buildpacks", "processes", "default_process", "base_layers", "app_layers", "base_size", "app_size"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("--json lacks %q", k)
		}
	}
}
