package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/appimage"
	"github.com/kilnbuild/kiln/oci"
)

// rebaseEnv is a build environment with an app image at oci:out:app built
// on oci:stack:run, and a newer run image: the same plus one layer holding
// /etc/run-version.
type rebaseEnv struct {
	buildEnvDir
	appImg, oldRun, newRun v1.Image
}

func newRebaseEnv(t *testing.T) rebaseEnv {
	t.Helper()
	e := rebaseEnv{buildEnvDir: newBuildEnv(t)}
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	if out, errOut, code := e.kiln(t, "build", "oci:out:app", "--builder", builder, "--path", e.app); code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	e.appImg = readImage(t, "oci:out:app")
	e.oldRun = readImage(t, "oci:stack:run")
	e.newRun = withRunLayer(t, e.oldRun, "2", nil)
	return e
}

// withRunLayer is run with a layer holding /etc/run-version = version,
// and cfg applied to its config.
func withRunLayer(t *testing.T, run v1.Image, version string, cfg func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	content := "run image " + version + "\n"
	if err := w.File("/etc/run-version", 0o644, 0, 0, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.Mutate(run, oci.Mutation{Layers: []oci.Append{{Layer: l, History: v1.History{CreatedBy: "run image " + version}}}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cfg(cf)
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// readImage reads the image at reference s and checks it with ggcr's
// validate.Image, as every image kiln writes must pass.
func readImage(t *testing.T, s string) v1.Image {
	t.Helper()
	img := readImageWith(t, s)
	if err := validate.Image(img); err != nil {
		t.Fatalf("validating %s: %v", s, err)
	}
	return img
}

func writeImage(t *testing.T, s string, img v1.Image) {
	t.Helper()
	ref, err := oci.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func diffIDsOf(t *testing.T, img v1.Image) []string {
	t.Helper()
	var out []string
	for _, d := range configOf(t, img).RootFS.DiffIDs {
		out = append(out, d.String())
	}
	return out
}

func digestsOf(t *testing.T, img v1.Image) []string {
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

// checkRebased checks that got is app on newRun: newRun's layers and then
// app's above its old base (same digests where the formats keep them,
// same diffIDs always), the lifecycle label pointing at newRun, and the
// config otherwise app's.
func checkRebased(t *testing.T, got, app, oldRun, newRun v1.Image, sameDigests bool) {
	t.Helper()
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	nOld := len(diffIDsOf(t, oldRun))
	want := append(diffIDsOf(t, newRun), diffIDsOf(t, app)[nOld:]...)
	if diff := cmp.Diff(want, diffIDsOf(t, got)); diff != "" {
		t.Errorf("diffIDs (-want +got):\n%s", diff)
	}
	if sameDigests {
		want := append(digestsOf(t, newRun), digestsOf(t, app)[nOld:]...)
		if diff := cmp.Diff(want, digestsOf(t, got)); diff != "" {
			t.Errorf("layer digests (-want +got):\n%s", diff)
		}
	}
	cfg, appCfg := configOf(t, got), configOf(t, app)
	meta, _, err := lifecycle.ParseLifecycleMetadata(cfg.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	newIDs := diffIDsOf(t, newRun)
	if meta.RunImage.TopLayer != newIDs[len(newIDs)-1] {
		t.Errorf("runImage.topLayer %s, want %s", meta.RunImage.TopLayer, newIDs[len(newIDs)-1])
	}
	runDigest, err := newRun.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(meta.RunImage.Reference, runDigest.String()) {
		t.Errorf("runImage.reference %s, want the digest %s", meta.RunImage.Reference, runDigest)
	}
	for k, v := range configOf(t, newRun).Config.Labels {
		if strings.HasPrefix(k, "io.buildpacks.stack.") || strings.HasPrefix(k, "io.buildpacks.base.") {
			if cfg.Config.Labels[k] != v {
				t.Errorf("label %s = %q, want the new run image's %q", k, cfg.Config.Labels[k], v)
			}
		}
	}
	strip := func(c *v1.ConfigFile) *v1.ConfigFile {
		c = c.DeepCopy()
		c.RootFS, c.History = v1.RootFS{}, nil
		for k := range c.Config.Labels {
			// A rebase onto a registry name records it in the lifecycle
			// label, and kiln's record of a local name goes.
			if k == lifecycle.LabelLifecycleMetadata || k == lifecycle.LabelLocalRunImage ||
				strings.HasPrefix(k, "io.buildpacks.stack.") || strings.HasPrefix(k, "io.buildpacks.base.") {
				delete(c.Config.Labels, k)
			}
		}
		return c
	}
	if diff := cmp.Diff(strip(appCfg), strip(cfg)); diff != "" {
		t.Errorf("config changed beyond the run image (-app +rebased):\n%s", diff)
	}
}

// blobTimes returns the modification times of a layout's blobs by digest.
func blobTimes(t *testing.T, layout string, digests []string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, d := range digests {
		fi, err := os.Stat(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		out[d] = fi.ModTime()
	}
	return out
}

func TestRebaseLayout(t *testing.T) {
	e := newRebaseEnv(t)
	// The newer run image keeps its name, as a stack update does.
	writeImage(t, "oci:stack:run", e.newRun)

	out, errOut, code := e.kiln(t, "rebase", "oci:out:app", "--output", "oci:out:rebased")
	if code != 0 {
		t.Fatalf("kiln rebase: exit %d\n%s\n%s", code, out, errOut)
	}
	rebased := readImage(t, "oci:out:rebased")
	d, err := rebased.Digest()
	if err != nil {
		t.Fatal(err)
	}
	wantOut := "Rebasing oci:out:app on run image oci:stack:run\n*** Images (" + d.Hex[:12] + "):\n" +
		"      oci:out:rebased\nRebased oci:out:rebased\n"
	if out != wantOut {
		t.Errorf("output:\n%s\nwant:\n%s", out, wantOut)
	}
	checkRebased(t, rebased, e.appImg, e.oldRun, e.newRun, true)
	testutil.SameAcrossModes(t, "TestRebaseLayout digest", d.String())

	// The rebased image runs: the app as before, on the new run layer.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"oci:out:rebased"}, "app: tool says hi args=default-arg\n"},
		{[]string{"--entrypoint", "/bin/cat", "oci:out:rebased", "/etc/run-version"}, "run image 2\n"},
	} {
		got, errOut, code := e.kiln(t, append([]string{"run"}, tc.args...)...)
		if code != 0 || got != tc.want {
			t.Errorf("kiln run %v: exit %d, %q; want %q\n%s", tc.args, code, got, tc.want, errOut)
		}
	}

	// In place: the app's blobs already in the layout are not rewritten,
	// and the result is the image written to --output above.
	appDigests := digestsOf(t, e.appImg)[len(digestsOf(t, e.oldRun)):]
	before := blobTimes(t, "out", appDigests)
	time.Sleep(20 * time.Millisecond) // a rewrite would show in the mtime
	if out, errOut, code := e.kiln(t, "rebase", "oci:out:app"); code != 0 {
		t.Fatalf("kiln rebase in place: exit %d\n%s\n%s", code, out, errOut)
	}
	if diff := cmp.Diff(before, blobTimes(t, "out", appDigests)); diff != "" {
		t.Errorf("app layer blobs were rewritten (-before +after):\n%s", diff)
	}
	inPlace, err := readImage(t, "oci:out:app").Digest()
	if err != nil {
		t.Fatal(err)
	}
	if inPlace != d {
		t.Errorf("in place %s, with --output %s", inPlace, d)
	}
}

func TestRebaseChecks(t *testing.T) {
	e := newRebaseEnv(t)
	otherArch := "arm64"
	if runtime.GOARCH == "arm64" {
		otherArch = "amd64"
	}
	writeImage(t, "oci:stack:run2", e.newRun)
	writeImage(t, "oci:stack:arch", withRunLayer(t, e.oldRun, "arch", func(c *v1.ConfigFile) { c.Architecture = otherArch }))
	notRebasable, err := oci.Mutate(e.appImg, oci.Mutation{Labels: map[string]string{appimage.LabelRebasable: "false"}})
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, "oci:out:fixed", notRebasable)
	writeImage(t, "oci:stack:run", e.newRun)

	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"not rebasable", []string{"oci:out:fixed"}, "not rebasable"},
		{"other architecture", []string{"oci:out:app", "--run-image", "oci:stack:arch"}, "does not fit"},
		{"unrecorded name", []string{"oci:out:app", "--run-image", "oci:stack:run2"}, "is not among oci:stack:run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"rebase"}, append(tc.args, "--output", "oci:out:checked")...)
			out, errOut, code := e.kiln(t, args...)
			if code != 72 || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, want 72 with %q\nstdout:\n%s\nstderr:\n%s", code, tc.msg, out, errOut)
			}
			out, errOut, code = e.kiln(t, append(args, "--force")...)
			if code != 0 || !strings.Contains(errOut, "Warning: ") || !strings.Contains(errOut, tc.msg) {
				t.Errorf("--force: exit %d, want 0 with a warning %q\nstdout:\n%s\nstderr:\n%s", code, tc.msg, out, errOut)
			}
		})
	}
	// Forced onto a new name, the image records that name: a local one in
	// kiln's own label only, where other platforms do not look.
	cfg := configOf(t, readImage(t, "oci:out:checked"))
	meta, _, err := lifecycle.ParseLifecycleMetadata(cfg.Config.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if local := cfg.Config.Labels[lifecycle.LabelLocalRunImage]; local != "oci:stack:run2" || meta.RunImage.Image != "" ||
		meta.Stack == nil || meta.Stack.RunImage.Image != "" {
		t.Errorf("forced rebase onto oci:stack:run2 recorded %q, %+v, stack %+v", local, meta.RunImage, meta.Stack)
	}
}

func TestRebaseArchive(t *testing.T) {
	e := newRebaseEnv(t)
	writeImage(t, "oci:stack:run", e.newRun)
	if _, errOut, code := e.kiln(t, "image", "copy", "oci:out:app", "docker-archive:app.tar:kiln/app:1"); code != 0 {
		t.Fatalf("kiln image copy: exit %d\n%s", code, errOut)
	}
	archived := readImage(t, "docker-archive:app.tar:kiln/app:1")
	if out, errOut, code := e.kiln(t, "rebase", "docker-archive:app.tar:kiln/app:1"); code != 0 {
		t.Fatalf("kiln rebase: exit %d\n%s\n%s", code, out, errOut)
	}
	// A docker archive stores no manifest: the diffIDs are what stays.
	checkRebased(t, readImage(t, "docker-archive:app.tar:kiln/app:1"), archived, e.oldRun, e.newRun, false)
}

// recordingRegistry is ggcr's in-process registry, as testutil.NewRegistry
// runs it, recording each request with its query: an upload's final PUT
// names the blob it completes (?digest=…), a mount its source (?mount=…).
func recordingRegistry(t *testing.T) (host string, requests func() []string) {
	t.Helper()
	var mu sync.Mutex
	var reqs []string
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reqs...)
	}
}

// blobDigest finds the digest a blob request is about: in its path (GET,
// HEAD) or in its digest or mount query (uploads).
var blobDigest = regexp.MustCompile(`(?:/blobs/|[?&](?:digest|mount)=)(sha256(?::|%3A)[0-9a-f]{64})`)

func TestRebaseRegistry(t *testing.T) {
	e := newRebaseEnv(t)
	host, requests := recordingRegistry(t)
	writeImage(t, "oci:stack:run2", e.newRun)
	app, run := host+"/kiln/app:1", host+"/kiln/run:2"
	for src, dst := range map[string]string{"oci:out:app": app, "oci:stack:run2": run} {
		if _, errOut, code := e.kiln(t, "image", "copy", src, dst); code != 0 {
			t.Fatalf("kiln image copy %s %s: exit %d\n%s", src, dst, code, errOut)
		}
	}
	seen := len(requests())
	out, errOut, code := e.kiln(t, "rebase", app, "--run-image", run, "--force")
	if code != 0 {
		t.Fatalf("kiln rebase: exit %d\n%s\n%s", code, out, errOut)
	}
	reqs := requests()[seen:]
	checkRebased(t, readImage(t, app), e.appImg, e.oldRun, e.newRun, true)
	appDigest, err := e.appImg.Digest()
	if err != nil {
		t.Fatal(err)
	}
	byDigest := host + "/kiln/app@" + appDigest.String()
	if _, errOut, code := e.kiln(t, "rebase", byDigest, "--run-image", run, "--force"); code == 0 || !strings.Contains(errOut, "give --output") {
		t.Errorf("rebase in place of a digest reference: exit %d\n%s", code, errOut)
	}

	// No app layer was downloaded or uploaded: no GET of one, no upload
	// completed or mounted with its digest.
	appLayers := map[string]bool{}
	for _, d := range digestsOf(t, e.appImg)[len(digestsOf(t, e.oldRun)):] {
		appLayers[d] = true
	}
	checked := map[string]bool{}
	for _, r := range reqs {
		m := blobDigest.FindStringSubmatch(r)
		if m == nil {
			continue
		}
		d := strings.Replace(m[1], "%3A", ":", 1)
		switch method, _, _ := strings.Cut(r, " "); method {
		case "HEAD":
			checked[d] = true
		case "GET", "PUT", "POST", "PATCH":
			if appLayers[d] {
				t.Errorf("app layer blob transferred: %s", r)
			}
		}
	}
	for d := range appLayers {
		if !checked[d] {
			t.Errorf("app layer %s was not checked for existence", d)
		}
	}
	if t.Failed() {
		t.Logf("requests of the rebase:\n%s", strings.Join(reqs, "\n"))
	}
}

// TestRebaseDockerRegistry rebases in a real registry server, onto the run
// image the app image records (pulled anew with --pull always).
func TestRebaseDockerRegistry(t *testing.T) {
	e := newRebaseEnv(t)
	reg := testutil.StartDockerRegistry(t)
	run := reg.Host + "/kiln/run:1"
	// The app image recorded a registry run image name: rebased once onto
	// it with --force, as a platform that moved its stack to a registry.
	writeImage(t, run, e.oldRun)
	app := reg.Host + "/kiln/app:1"
	if _, errOut, code := e.kiln(t, "rebase", "oci:out:app", "--run-image", run, "--force", "--output", app); code != 0 {
		t.Fatalf("first kiln rebase: exit %d\n%s", code, errOut)
	}
	first := readImage(t, app)
	// The stack is updated under the same name; rebase finds it.
	writeImage(t, run, e.newRun)
	out, errOut, code := e.kiln(t, "--pull", "always", "rebase", app)
	if code != 0 {
		t.Fatalf("kiln rebase: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "on run image "+run+"\n") {
		t.Errorf("output does not name the recorded run image %s:\n%s", run, out)
	}
	checkRebased(t, readImage(t, app), first, e.oldRun, e.newRun, true)
}
