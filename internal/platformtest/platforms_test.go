package platformtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithDocker(m)) }

// world is a stack and a default kiln builder (no [lifecycle] uri) with the
// hello buildpack: the builder as a layout for kiln build on the host and
// loaded into the test's dockerd for the pods, its run image in a registry
// on 127.0.0.1.
type world struct {
	d          *testutil.Docker
	dir, store string
	reg, run   string
	app        string // the app's files, copied into each pod's /workspace
	hostDigest string // what kiln build on the host gives
}

const builderTag = "kiln.test/builder:1"

func newWorld(t *testing.T) *world {
	t.Helper()
	d := testutil.SharedDocker(t)
	w := &world{d: d, dir: t.TempDir()}
	w.store = filepath.Join(w.dir, "store")
	w.reg = testutil.NewRegistry(t).Host
	w.run = w.reg + "/stack/run:1"
	root := filepath.Join(w.dir, "rootfs")
	testutil.BusyboxRootfs(t, root)
	w.kiln(t, "stack", "create", "--id", "io.kiln.test", "--build-base", "rootfs:"+root, "--run-base", "rootfs:"+root,
		"--build-output", "oci:stack:build", "--run-output", w.run)
	hello, err := filepath.Abs("../../cmd/kiln/testdata/buildpacks/hello")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(w.dir, "builder.toml"), `[[buildpacks]]
uri = "`+hello+`"
[[order]]
  [[order.group]]
  id = "example/hello"
[build]
image = "oci:stack:build"
[[run.images]]
image = "`+w.run+`"
`)
	w.kiln(t, "builder", "create", "oci:builder", "--config", "builder.toml")
	w.kiln(t, "builder", "create", "docker-archive:builder.tar:"+builderTag, "--config", "builder.toml")
	d.Load(t, filepath.Join(w.dir, "builder.tar"))
	w.app = filepath.Join(w.dir, "app")
	testutil.WriteFile(t, filepath.Join(w.app, "app.sh"), "echo \"app: $(hitool) args=$*\"\n")
	testutil.WriteFile(t, filepath.Join(w.app, "README"), "kiln test app\n")
	w.kiln(t, "build", w.reg+"/app/host:1", "--builder", "oci:builder", "--path", w.app, "--report", "host.json")
	var rep struct{ Digest string }
	b, err := os.ReadFile(filepath.Join(w.dir, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Digest == "" {
		t.Fatalf("kiln build --report: %v %s", err, b)
	}
	w.hostDigest = rep.Digest
	return w
}

// kilnBinary is the built kiln (make build; KILN_TEST_BIN).
func kilnBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KILN_TEST_BIN"); p != "" {
		return p
	}
	p, err := filepath.Abs("../../bin/kiln")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		testutil.Skip(t, "no kiln binary (make build, or KILN_TEST_BIN)")
	}
	return p
}

// kiln runs the kiln binary on the host in w's directory, with w's store.
func (w *world) kiln(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(kilnBinary(t), append([]string{"--store", w.store}, args...)...)
	cmd.Dir = w.dir
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kiln %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut.String())
	}
	return string(out)
}

// pod is a restricted pod of the builder image with a fresh /workspace
// (the app), /layers and /cache, the volumes a platform gives the phases.
type pod struct {
	testutil.Pod
	layers, cache string
}

func (w *world) newPod(t *testing.T, env ...string) *pod {
	t.Helper()
	ws := testutil.EmptyDir(t)
	for _, f := range []string{"app.sh", "README"} {
		b, err := os.ReadFile(filepath.Join(w.app, f))
		if err != nil {
			t.Fatal(err)
		}
		testutil.WriteFile(t, filepath.Join(ws, f), string(b))
		os.Chmod(filepath.Join(ws, f), 0o644)
	}
	p := &pod{layers: testutil.EmptyDir(t), cache: testutil.EmptyDir(t)}
	p.Image = builderTag
	p.Volumes = []string{ws + ":/workspace", p.layers + ":/layers", p.cache + ":/cache"}
	p.Env = env
	return p
}

// phase runs one lifecycle binary in the pod and fails t unless it exits 0.
func (w *world) phase(t *testing.T, p *pod, network string, cmd ...string) string {
	t.Helper()
	pp := p.Pod
	pp.Network = network
	out, errOut, code := w.d.Run(t, pp, cmd...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(cmd, " "), code, out, errOut)
	}
	return out
}

var reportDigest = regexp.MustCompile(`digest = "(sha256:[0-9a-f]{64})"`)

// checkImage reads report.toml, checks the image has the host build's
// digest, and runs it.
func (w *world) checkImage(t *testing.T, p *pod, image, report string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.layers, report))
	if err != nil {
		t.Fatalf("report.toml: %v", err)
	}
	m := reportDigest.FindSubmatch(b)
	if m == nil {
		t.Fatalf("report.toml has no digest:\n%s", b)
	}
	if string(m[1]) != w.hostDigest {
		t.Errorf("image %s has digest %s, kiln build on the host %s", image, m[1], w.hostDigest)
	}
	if got := w.kiln(t, "run", image); got != "app: tool says hi args=default-arg\n" {
		t.Errorf("kiln run %s: %q", image, got)
	}
}

// Tekton's buildpacks task: one creator call with the flags the task
// passes, as the restricted user; the image is the host build's.
func TestTektonCreator(t *testing.T) {
	w := newWorld(t)
	p := w.newPod(t, "CNB_PLATFORM_API=0.13")
	image := w.reg + "/app/tekton:1"
	out := w.phase(t, p, "host", "/cnb/lifecycle/creator", "-app=/workspace", "-cache-dir=/cache", "-uid=1000", "-gid=1000",
		"-layers=/layers", "-platform=/platform", "-process-type=web", "-skip-restore=false",
		"-previous-image="+image, "-run-image="+w.run, image)
	for _, want := range []string{"===> DETECTING", "example/hello 0.0.1", "===> EXPORTING"} {
		if !strings.Contains(out, want) {
			t.Errorf("creator output lacks %q:\n%s", want, out)
		}
	}
	w.checkImage(t, p, image, "report.toml")
	// The next build reuses the cache directory.
	again := w.phase(t, p, "host", "/cnb/lifecycle/creator", "-app=/workspace", "-cache-dir=/cache", "-uid=1000", "-gid=1000",
		"-layers=/layers", "-platform=/platform", "-process-type=web", "-previous-image="+image, "-run-image="+w.run, image)
	if !strings.Contains(again, "Reusing") {
		t.Errorf("second creator run reused nothing:\n%s", again)
	}
}

// pack's untrusted flow: analyzer, detector, restorer, builder and exporter
// as separate containers sharing /layers. The detector and builder, which
// run buildpacks, run without a network at all: they need no registry and
// no credentials.
func TestPackUntrustedFlow(t *testing.T) {
	w := newWorld(t)
	p := w.newPod(t, "CNB_PLATFORM_API=0.13")
	image := w.reg + "/app/pack:1"
	// Out of order, a phase says what is missing, with its exit code.
	out, errOut, code := w.d.Run(t, p.Pod, "/cnb/lifecycle/exporter", "-layers=/layers", image)
	if code != 62 || !strings.Contains(errOut, "run the detector first") {
		t.Errorf("exporter first: exit %d, want 62\n%s\n%s", code, out, errOut)
	}
	w.phase(t, p, "host", "/cnb/lifecycle/analyzer", "-layers=/layers", "-run-image="+w.run,
		"-uid=1000", "-gid=1000", image)
	w.phase(t, p, "none", "/cnb/lifecycle/detector", "-app=/workspace", "-layers=/layers", "-platform=/platform")
	w.phase(t, p, "host", "/cnb/lifecycle/restorer", "-layers=/layers", "-cache-dir=/cache", "-uid=1000", "-gid=1000")
	w.phase(t, p, "none", "/cnb/lifecycle/builder", "-app=/workspace", "-layers=/layers", "-platform=/platform")
	w.phase(t, p, "host", "/cnb/lifecycle/exporter", "-app=/workspace", "-layers=/layers", "-cache-dir=/cache",
		"-process-type=web", "-uid=1000", "-gid=1000", image)
	for _, f := range []string{"analyzed.toml", "group.toml", "plan.toml", "config/metadata.toml", "report.toml"} {
		if _, err := os.Stat(filepath.Join(p.layers, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	w.checkImage(t, p, image, "report.toml")
}

// kpack's sequence: the same five phases, configured through CNB_*
// variables and explicit file paths, with a cache image in the registry,
// at the newest Platform API kiln implements.
func TestKpackPhases(t *testing.T) {
	w := newWorld(t)
	image := w.reg + "/app/kpack:1"
	p := w.newPod(t, "CNB_PLATFORM_API=0.14", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace",
		"CNB_GROUP_PATH=/layers/kpack/group.toml", "CNB_PLAN_PATH=/layers/kpack/plan.toml",
		"CNB_ANALYZED_PATH=/layers/kpack/analyzed.toml", "CNB_REPORT_PATH=/layers/kpack/report.toml",
		"CNB_CACHE_IMAGE="+w.reg+"/app/kpack-cache:1", "CNB_RUN_IMAGE="+w.run)
	if err := os.MkdirAll(filepath.Join(p.layers, "kpack"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(p.layers, "kpack"), 0o777)
	// An order in the layers directory wins over /cnb/order.toml.
	testutil.WriteFile(t, filepath.Join(p.layers, "order.toml"), "[[order]]\n  [[order.group]]\n  id = \"example/hello\"\n  version = \"0.0.1\"\n")
	w.phase(t, p, "host", "/cnb/lifecycle/analyzer", image)
	w.phase(t, p, "none", "/cnb/lifecycle/detector")
	w.phase(t, p, "host", "/cnb/lifecycle/restorer")
	w.phase(t, p, "none", "/cnb/lifecycle/builder")
	w.phase(t, p, "host", "/cnb/lifecycle/exporter", image)
	b, err := os.ReadFile(filepath.Join(p.layers, "kpack", "report.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reportDigest.Match(b) {
		t.Errorf("report.toml: %s", b)
	}
	if got := w.kiln(t, "run", image); got != "app: tool says hi args=default-arg\n" {
		t.Errorf("kiln run %s: %q", image, got)
	}
}

// The creator writing OCI layouts (-layout, -layout-dir: the run image read
// from the layout too, the image and its -tag written there, -report
// elsewhere), and the rebaser putting the host's image back on its own run
// image: the same digest, as a rebase onto the same run image changes
// nothing.
func TestLayoutAndRebaser(t *testing.T) {
	w := newWorld(t)
	out := testutil.EmptyDir(t)
	// <layout-dir>/<registry>/<repository>/<tag>, the registry with its port.
	runLayout := filepath.Join(out, w.reg, "stack", "run", "1")
	w.kiln(t, "image", "copy", w.run, "oci:"+runLayout+":1")
	if err := filepath.Walk(out, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chmod(p, 0o777)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p := w.newPod(t, "CNB_PLATFORM_API=0.13")
	p.Volumes = append(p.Volumes, out+":/out")
	image := w.reg + "/app/layout:1"
	w.phase(t, p, "none", "/cnb/lifecycle/creator", "-layout", "-layout-dir=/out", "-run-image="+w.run,
		"-report=/layers/layout-report.toml", "-tag="+w.reg+"/app/layout:extra", image)
	for _, tag := range []string{"1", "extra"} {
		ref := "oci:" + filepath.Join(out, w.reg, "app", "layout", tag) + ":" + tag
		if got := w.kiln(t, "run", ref); got != "app: tool says hi args=default-arg\n" {
			t.Errorf("kiln run %s: %q", ref, got)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.layers, "layout-report.toml")); err != nil || !reportDigest.Match(b) {
		t.Errorf("-report: %v\n%s", err, b)
	}

	r := w.newPod(t, "CNB_PLATFORM_API=0.13")
	rebased := w.reg + "/app/host:1"
	w.phase(t, r, "host", "/cnb/lifecycle/rebaser", "-report=/layers/report.toml", rebased)
	w.checkImage(t, r, rebased, "report.toml")
}
