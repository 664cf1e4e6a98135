package podtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// builder is a builder image made by kiln on the host, its run image in a
// registry on 127.0.0.1 and the builder loaded into the test's dockerd.
type builder struct {
	dir     string // the host working directory: layouts, builder.toml
	store   string // the host's kiln store
	reg     *testutil.Registry
	image   string // the builder's name in dockerd and in its docker-archive
	archive string // docker-archive:FILE:NAME of the builder
	docker  *testutil.Docker
}

// busyboxBuilder makes a builder of cmd/kiln's fixture buildpacks (hello,
// counter) on a busybox stack: kiln stack create, the run image pushed to a
// docker-registry on 127.0.0.1, kiln builder create to a docker-archive,
// docker load. It lasts as long as t.
func busyboxBuilder(t testing.TB) *builder {
	t.Helper()
	d := testutil.SharedDocker(t)
	dir := t.TempDir()
	b := &builder{dir: dir, store: filepath.Join(dir, "store"), reg: testutil.StartDockerRegistry(t), docker: d,
		image: "kiln.test/busybox-builder:1"}
	testutil.BusyboxRootfs(t, filepath.Join(dir, "rootfs"))
	kiln(t, dir, "--store", b.store, "stack", "create", "--id", "io.kiln.test.busybox",
		"--build-base", "rootfs:rootfs", "--run-base", "rootfs:rootfs",
		"--build-output", "oci:stack:build", "--run-output", "oci:stack:run")
	run := b.reg.Host + "/stack/run:1"
	kiln(t, dir, "--store", b.store, "image", "copy", "oci:stack:run", run)
	bps := filepath.Join(repoRoot(t), "cmd", "kiln", "testdata", "buildpacks")
	toml := "[[buildpacks]]\nuri = " + strconv.Quote(filepath.Join(bps, "hello")) + "\n" +
		"[[buildpacks]]\nuri = " + strconv.Quote(filepath.Join(bps, "counter")) + "\n" +
		"[[buildpacks]]\nuri = " + strconv.Quote(filepath.Join(repoRoot(t), "cmd", "kiln", "podtest", "testdata", "probe")) + "\n" +
		"[[order]]\n  [[order.group]]\n  id = \"example/hello\"\n  [[order.group]]\n  id = \"example/counter\"\n  optional = true\n" +
		"  [[order.group]]\n  id = \"example/probe\"\n  optional = true\n" +
		"[build]\nimage = \"oci:stack:build\"\n[[run.images]]\nimage = " + strconv.Quote(run) + "\n"
	testutil.WriteFile(t, filepath.Join(dir, "builder.toml"), toml)
	b.archive = "docker-archive:" + filepath.Join(dir, "builder.tar") + ":" + b.image
	kiln(t, dir, "--store", b.store, "builder", "create", b.archive, "--config", "builder.toml")
	d.Load(t, filepath.Join(dir, "builder.tar"))
	return b
}

// app writes the fixture app (cmd/kiln/testdata/app) into a new emptyDir,
// owned by uid:gid, and returns it.
func app(t testing.TB, uid, gid int) string {
	t.Helper()
	dir := testutil.EmptyDir(t)
	copyTree(t, filepath.Join(repoRoot(t), "cmd", "kiln", "testdata", "app"), dir, uid, gid)
	return dir
}

// report is what kiln build --report writes, in part.
type report struct {
	Image  string `json:"image"`
	Digest string `json:"digest"`
}

func readReport(t testing.TB, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// podBuild is one `kiln build --builder rootfs:/` in a pod of the builder
// image: the app in an emptyDir at /workspace, layers in one at /layers,
// kiln's store and HOME in one at /cache, the report in one at /out.
type podBuild struct {
	Pod    testutil.Pod
	App    string   // host directory mounted at /workspace
	Output string   // the image reference to build
	Args   []string // more kiln build flags
	Kiln   []string // kiln flags before "build"
	Cache  string   // host directory mounted at /cache (kiln's store, HOME); "": a new one
}

// run runs the build and returns its output, exit code and report path.
func (p podBuild) run(t testing.TB, b *builder) (stdout, stderr string, code int, reportPath string) {
	t.Helper()
	out, cache, layers := testutil.EmptyDir(t), p.Cache, testutil.EmptyDir(t)
	if cache == "" {
		cache = testutil.EmptyDir(t)
	}
	pod := p.Pod
	pod.Image, pod.Entrypoint = b.image, "/kiln/kiln"
	pod.Volumes = append(pod.Volumes, kilnBinary(t)+":/kiln/kiln:ro", p.App+":/workspace", layers+":/layers",
		cache+":/cache", out+":/out")
	pod.Env = append(pod.Env, "HOME=/cache/home")
	args := append(append([]string{"--store", "/cache/store"}, p.Kiln...), "build", p.Output,
		"--builder", "rootfs:/", "--path", "/workspace", "--report", "/out/report.json")
	stdout, stderr, code = b.docker.Run(t, pod, append(args, p.Args...)...)
	return stdout, stderr, code, filepath.Join(out, "report.json")
}

// hostBuild builds the app with the builder image on the host (the
// namespaces sandbox) and returns the report.
func (b *builder) hostBuild(t testing.TB, output, appDir string, args ...string) report {
	t.Helper()
	rep := filepath.Join(t.TempDir(), "report.json")
	kiln(t, b.dir, append([]string{"--store", b.store, "build", output, "--builder", b.archive,
		"--path", appDir, "--report", rep}, args...)...)
	return readReport(t, rep)
}
