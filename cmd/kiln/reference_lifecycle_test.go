package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle"
)

// referenceLifecycleArchive writes a lifecycle archive shaped as the
// reference lifecycle's release tarball (lifecycle.toml, lifecycle/<binary>):
// a lifecycle 0.20.0 implementing Platform API 0.7–0.15, whose `lifecycle
// -version` answers VERSION+COMMIT as the reference's does, and a launcher
// of its own (kiln's with a trailer: another file, which still runs).
func referenceLifecycleArchive(t *testing.T, file string) []byte {
	t.Helper()
	kilnLauncher, err := launcherBinary("amd64")
	if err != nil {
		t.Fatal(err)
	}
	launcher := append(append([]byte{}, kilnLauncher...), "\nnot kiln's launcher: the fixture lifecycle's\n"...)
	script := "#!/bin/sh\necho 0.20.0+0123abcd\n"
	files := []struct {
		name string
		body []byte
	}{
		{"lifecycle.toml", []byte(`[apis]
[apis.buildpack]
  deprecated = []
  supported = ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12"]
[apis.platform]
  deprecated = []
  supported = ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15"]
[lifecycle]
  version = "0.20.0"
`)},
		{"lifecycle/launcher", launcher},
		{"lifecycle/lifecycle", []byte(script)},
	}
	for _, bin := range []string{"analyzer", "builder", "creator", "detector", "exporter", "rebaser", "restorer"} {
		files = append(files, struct {
			name string
			body []byte
		}{"lifecycle/" + bin, []byte(script)})
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return launcher
}

// A builder that carries a lifecycle other than kiln's stays that
// lifecycle's: kiln build puts the builder's launcher into the app image and
// records what that lifecycle records (CNB contract §3: the launcher layer,
// io.buildpacks.build.metadata's launcher with the lifecycle's version,
// repository and commit, CNB_PLATFORM_API the highest both implement), as
// pack does with that builder.
func TestBuildWithReferenceLifecycleBuilder(t *testing.T) {
	e := newBuildEnv(t)
	launcher := referenceLifecycleArchive(t, filepath.Join(e.dir, "ref-lifecycle.tgz"))
	cfg := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, "\n[lifecycle]\nuri = \"ref-lifecycle.tgz\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := e.kiln(t, "builder", "create", "oci:refbuilder", "--config", cfg); code != 0 {
		t.Fatalf("kiln builder create: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := e.kiln(t, "build", "oci:out:ref", "--builder", "oci:refbuilder", "--path", e.app); code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	img := readImage(t, "oci:out:ref")
	cf := configOf(t, img)
	if !cmp.Equal(envOf(cf.Config.Env, "CNB_PLATFORM_API"), "0.14") {
		t.Errorf("CNB_PLATFORM_API=%s, want 0.14 (the highest of the lifecycle's 0.7–0.15 kiln implements)", envOf(cf.Config.Env, "CNB_PLATFORM_API"))
	}
	var build lifecycle.BuildLabel
	if err := json.Unmarshal([]byte(cf.Config.Labels[lifecycle.LabelBuildMetadata]), &build); err != nil {
		t.Fatal(err)
	}
	want := lifecycle.LauncherMetadata{Version: "0.20.0", Source: lifecycle.LauncherSource{Git: lifecycle.GitMetadata{
		Repository: "github.com/buildpacks/lifecycle", Commit: "0123abcd"}}}
	if diff := cmp.Diff(want, build.Launcher); diff != "" {
		t.Errorf("launcher metadata (-want +got):\n%s", diff)
	}
	meta, _, err := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if got := layerFile(t, img, meta.Launcher.SHA, "cnb/lifecycle/launcher"); !bytes.Equal(got, launcher) {
		t.Errorf("the image's launcher (%d bytes) is not the builder's (%d bytes)", len(got), len(launcher))
	}
	if got, _, code := e.kiln(t, "run", "oci:out:ref"); code != 0 || got != "app: tool says hi args=default-arg\n" {
		t.Errorf("kiln run: exit %d, %q", code, got)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// No golden digest: the fixture's launcher is kiln's own with a
	// trailer, so the digest moves with kiln's launcher; the expectations
	// above are the contract's.
	testutil.SameAcrossModes(t, "reference lifecycle build", d.String())
}

func envOf(env []string, k string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

// layerFile returns the content of the entry name in the layer of img with
// diffID sha.
func layerFile(t *testing.T, img v1.Image, sha, name string) []byte {
	t.Helper()
	h, err := v1.NewHash(sha)
	if err != nil {
		t.Fatal(err)
	}
	l, err := img.LayerByDiffID(h)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("no %s in layer %s", name, sha)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(hdr.Name, "/") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
