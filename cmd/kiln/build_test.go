package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle"
)

// buildStack makes a busybox stack in dir with `kiln stack create`: a root
// filesystem with every busybox applet, then build and run images in the
// layout dir/stack. The stack id is the walkthrough's.
func buildStack(t *testing.T, dir, store string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testutil.Skip(t, "busybox-static is not installed (make deps)")
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, d), 0o755) // whatever the umask
	}
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/busybox", string(bb), 0o755)
	write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
	write("etc/group", "root:x:0:\n", 0o644)
	write("etc/os-release", "ID=busybox\nVERSION_ID=1\n", 0o644)
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, errOut, code := kilnImage(t, "--store", store, "stack", "create",
		"--id", "io.github.future-architect.samples.debian",
		"--build-base", "rootfs:"+root, "--run-base", "rootfs:"+root,
		"--build-output", "oci:stack:build", "--run-output", "oci:stack:run")
	if code != 0 {
		t.Fatalf("kiln stack create: exit %d\n%s", code, errOut)
	}
}

// writeBuilder writes a builder.toml in the walkthrough's old [stack] form
// with the given buildpack directories (relative to testdata) and order.
func writeBuilder(t *testing.T, dir string, ids []string, bps ...string) string {
	t.Helper()
	var b strings.Builder
	for _, bp := range bps {
		abs := filepath.Join(pkgDir, "testdata", "buildpacks", bp)
		b.WriteString("[[buildpacks]]\nuri = \"" + abs + "\"\n\n")
	}
	b.WriteString("[[order]]\n")
	for _, id := range ids {
		b.WriteString("  [[order.group]]\n  id = \"" + id + "\"\n")
	}
	b.WriteString("\n[stack]\nid = \"io.github.future-architect.samples.debian\"\n" +
		"build-image = \"oci:stack:build\"\nrun-image = \"oci:stack:run\"\n")
	p := filepath.Join(dir, "builder.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildEnvDir is a working directory with a busybox stack in it: references
// are relative to it (so images record the same names on every run).
type buildEnvDir struct {
	dir, store, app string
}

func newBuildEnv(t *testing.T) buildEnvDir {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	e := buildEnvDir{dir: dir, store: filepath.Join(dir, "store"), app: filepath.Join(dir, "app")}
	buildStack(t, dir, e.store)
	if err := os.MkdirAll(e.app, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"app.sh": "echo \"app: $(hitool) args=$*\"\n",
		"README": "kiln test app\n",
	} {
		if err := os.WriteFile(filepath.Join(e.app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(e.app, name), 0o644)
	}
	os.Chmod(e.app, 0o755)
	return e
}

// kiln runs the CLI in-process with e's store.
func (e buildEnvDir) kiln(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return kilnImage(t, append([]string{"--store", e.store}, args...)...)
}

func TestBuildAndRun(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	out, errOut, code := e.kiln(t, "build", "oci:out:app", "--builder", builder, "--path", e.app, "--report", "report.json")
	if code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Sandbox: namespaces\n===> DETECTING\n1 of 1 buildpacks participating\nexample/hello 0.0.1\n",
		"===> BUILDING\n---> Building hello as 1000:1000 in /workspace, HOME=/home/cnb\n---> Done\n",
		"===> EXPORTING\nAdding layer 'example/hello:tools'\nAdding 1/1 app layer(s)\n",
		"Setting default process type 'web'\n",
		"Successfully built image oci:out:app\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}

	img := readImage(t, "oci:out:app")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	testutil.SameAcrossModes(t, "TestBuildAndRun digest", digest.String())

	var report struct {
		Digest  string
		Layers  []lifecycle.LayerReport
		Phases  []struct{ Phase string }
		Sandbox struct {
			Level    string
			Degraded []string
		}
	}
	b, err := os.ReadFile("report.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	if report.Digest != digest.String() {
		t.Errorf("report digest %s, image %s", report.Digest, digest)
	}
	if report.Sandbox.Level != "namespaces" || len(report.Sandbox.Degraded) != 0 {
		t.Errorf("report sandbox %+v, want namespaces", report.Sandbox)
	}
	var phases, layers []string
	for _, p := range report.Phases {
		phases = append(phases, p.Phase)
	}
	for _, l := range report.Layers {
		layers = append(layers, l.ID)
	}
	if diff := cmp.Diff([]string{"prepare", "analyze", "detect", "restore", "build", "stop", "export", "cache", "write"}, phases); diff != "" {
		t.Errorf("report phases (-want +got):\n%s", diff)
	}
	wantLayers := []string{"example/hello:tools", "slice-1", "buildpacksio/lifecycle:launcher",
		"buildpacksio/lifecycle:config", "buildpacksio/lifecycle:process-types"}
	if diff := cmp.Diff(wantLayers, layers); diff != "" {
		t.Errorf("report layers (-want +got):\n%s", diff)
	}

	// The image runs in kiln's sandbox: the default process with its default
	// args, user args replacing them, and another process by /cnb/process.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default process", []string{"oci:out:app"}, "app: tool says hi args=default-arg\n"},
		{"user args", []string{"oci:out:app", "x", "y"}, "app: tool says hi args=x y\n"},
		{"process type", []string{"--entrypoint", "/cnb/process/tool", "oci:out:app"}, "tool says hi\n"},
		{"launch env override", []string{"-e", "GREETING=yo", "--entrypoint", "tool", "oci:out:app"}, "tool says yo\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errOut, code := e.kiln(t, append([]string{"run"}, tc.args...)...)
			if code != 0 || got != tc.want {
				t.Errorf("kiln run %v: exit %d, %q; want %q\n%s", tc.args, code, got, tc.want, errOut)
			}
		})
	}

	// A second build of the same inputs gives the same image.
	out2, errOut, code := e.kiln(t, "build", "oci:out:again", "--builder", builder, "--path", e.app)
	if code != 0 {
		t.Fatalf("second kiln build: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out2, "*** Images ("+digest.Hex[:12]+")") {
		t.Errorf("second build gave another digest than %s:\n%s", digest, out2)
	}
}

// Relative oci: references in builder.toml are taken relative to the file,
// from any working directory, and the image records them as written: the
// same build from elsewhere gives the same digest, and no name pack cannot
// read ("oci:stack:run") reaches the lifecycle label.
func TestBuildBuilderFileRelativeReferences(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	out, errOut, code := e.kiln(t, "build", "oci:out:app", "--builder", builder, "--path", e.app)
	if code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Chdir(t.TempDir())
	out2, errOut, code := e.kiln(t, "build", "oci:elsewhere:app", "--builder", builder, "--path", e.app)
	if code != 0 {
		t.Fatalf("kiln build from another directory: exit %d\n%s\n%s", code, out2, errOut)
	}
	if id := imagesLine(out); id == "" || id != imagesLine(out2) {
		t.Errorf("built in the builder's directory: %q; elsewhere: %q; want the same image", id, imagesLine(out2))
	}
	cfg := configOf(t, readImage(t, "oci:elsewhere:app"))
	if raw := cfg.Config.Labels[lifecycle.LabelLifecycleMetadata]; strings.Contains(raw, "oci:") {
		t.Errorf("the lifecycle label names a local image: %s", raw)
	}
	if got := cfg.Config.Labels[lifecycle.LabelLocalRunImage]; got != "oci:stack:run" {
		t.Errorf("%s = %q, want the run image as builder.toml names it", lifecycle.LabelLocalRunImage, got)
	}
}

func TestBuildWalkthroughEmpty(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"buildpacks/empty"}, "empty")
	out, errOut, code := e.kiln(t, "build", "oci:out:empty", "--builder", builder, "--path", e.app)
	if code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"buildpacks/empty 0.0.1\n",
		"---> Building Empty Buildpack\n---> Done\n",
		"Adding 1/1 app layer(s)\n",
		"Warning: default process type 'web' not present in list []\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "process-types") {
		t.Errorf("an image without processes got a process-types layer:\n%s", out)
	}
	// With no default process the entrypoint is the bare launcher, which
	// needs a command (exit 82 without one), as in the reference lifecycle.
	got, _, code := e.kiln(t, "run", "oci:out:empty")
	if code != 82 {
		t.Errorf("running an image without a default process: exit %d, %q; want 82", code, got)
	}
	got, errOut, code = e.kiln(t, "run", "oci:out:empty", "--", "/bin/cat", "README")
	if code != 0 || got != "kiln test app\n" {
		t.Errorf("launcher -- cat README: exit %d, %q\n%s", code, got, errOut)
	}
}

// TestBuildVolume mounts a service binding under the read-only /platform.
func TestBuildVolume(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	binding := filepath.Join(e.dir, "binding")
	if err := os.MkdirAll(binding, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binding, "value"), []byte("bonjour"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := e.kiln(t, "build", "oci:out:vol", "--builder", builder, "--path", e.app,
		"--volume", binding+":/platform/bindings/greeting")
	if code != 0 || !strings.Contains(out, "---> binding says bonjour\n") {
		t.Errorf("kiln build --volume: exit %d\n%s\n%s", code, out, errOut)
	}
	_, errOut, code = e.kiln(t, "build", "oci:out:vol", "--builder", builder, "--path", e.app,
		"--volume", "relative:/x")
	if code == 0 || !strings.Contains(errOut, "--volume") {
		t.Errorf("a bad --volume: exit %d\n%s", code, errOut)
	}
}

func TestBuildExitCodes(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	empty := t.TempDir()
	// A buildpack whose detect errors (exit 1, neither pass nor 100).
	broken := filepath.Join(e.dir, "broken")
	testutil.WriteFile(t, filepath.Join(broken, "buildpack.toml"), "api = \"0.10\"\n[buildpack]\nid = \"example/broken\"\nversion = \"0.0.1\"\n[[targets]]\nos = \"linux\"\n")
	for _, f := range []string{"detect", "build"} {
		testutil.WriteFile(t, filepath.Join(broken, "bin", f), "#!/bin/sh\necho \"broken $0\" >&2\nexit 1\n")
		os.Chmod(filepath.Join(broken, "bin", f), 0o755)
	}
	brokenBuilder := filepath.Join(e.dir, "broken-builder.toml")
	testutil.WriteFile(t, brokenBuilder, "[[buildpacks]]\nuri = \""+broken+"\"\n[[order]]\n  [[order.group]]\n  id = \"example/broken\"\n"+
		"[stack]\nid = \"io.github.future-architect.samples.debian\"\nbuild-image = \"oci:stack:build\"\nrun-image = \"oci:stack:run\"\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no group passed", []string{"--path", empty}, 20, "no buildpack group passed detection"},
		{"buildpack build failed", []string{"--path", e.app, "--env", "FAIL_BUILD=1"}, 51, "failing as asked"},
		{"unknown default process", []string{"--path", e.app, "--default-process", "worker"}, 62, "worker"},
		{"no group passed, a buildpack errored", []string{"--path", e.app, "--builder", brokenBuilder}, 21, "broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := e.kiln(t, append([]string{"build", "oci:out:fail", "--builder", builder}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.msg) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.msg, out, errOut)
			}
		})
	}
}

// pkgDir is the package directory, read before tests change directory.
var pkgDir = func() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}()

// TestBuiltImageRunsInRunc proves the built image is a standard OCI image:
// skopeo reads it, umoci unpacks it into a runtime bundle and runc runs its
// default process.
func TestBuiltImageRunsInRunc(t *testing.T) {
	for _, tool := range []string{"umoci", "runc", "skopeo"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Skip(t, tool+" is not installed (make deps)")
		}
	}
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	if out, errOut, code := e.kiln(t, "build", "oci:out:app", "--builder", builder, "--path", e.app); code != 0 {
		t.Fatalf("kiln build: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, err := exec.Command("skopeo", "inspect", "oci:out:app").CombinedOutput(); err != nil {
		t.Fatalf("skopeo inspect oci:out:app: %v\n%s", err, out)
	}
	bundle := filepath.Join(e.dir, "bundle")
	unpack := []string{"unpack", "--image", "out:app", bundle}
	if testutil.Rootless() {
		unpack = append([]string{"unpack", "--rootless"}, unpack[1:]...)
	}
	if out, err := exec.Command("umoci", unpack...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %v: %v\n%s", unpack, err, out)
	}
	// A test has no terminal to give the container.
	cfgPath := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	spec["process"].(map[string]any)["terminal"] = false
	runcUser(spec)
	if raw, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(e.dir, "runc-state")
	id := "kiln-test-" + filepath.Base(e.dir)
	cmd := exec.Command("runc", "--root", state, "run", "--bundle", bundle, id)
	out, err := cmd.CombinedOutput()
	exec.Command("runc", "--root", state, "delete", "--force", id).Run()
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	if got, want := string(out), "app: tool says hi args=default-arg\n"; got != want {
		t.Errorf("runc run printed %q, want %q", got, want)
	}
}

// runcUser fits the process user of a umoci bundle to what runc can run.
// As root the image's own user stays (kiln's run images run as the CNB
// user). Rootless, umoci's bundle maps one id only, the invoking user as
// container uid 0, and every file of the unpacked image is that user's: the
// process runs as 0, since runc cannot switch to an unmapped uid such as
// the CNB user's.
func runcUser(spec map[string]any) {
	if !testutil.Rootless() {
		return
	}
	user, _ := spec["process"].(map[string]any)["user"].(map[string]any)
	if user == nil {
		return
	}
	user["uid"], user["gid"] = 0, 0
	delete(user, "additionalGids")
}

// TestBuildProjectDescriptor builds with a project.toml (schema 0.2) that
// names the buildpack group, excludes a file and sets build env.
func TestBuildProjectDescriptor(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"buildpacks/empty"}, "empty")
	project := `[_]
schema-version = "0.2"
id = "io.kiln.test.app"

[io.buildpacks]
exclude = ["README"]

[[io.buildpacks.group]]
uri = "` + filepath.Join(pkgDir, "testdata", "buildpacks", "hello") + `"

[[io.buildpacks.build.env]]
name = "FAIL_BUILD"
value = ""
`
	if err := os.WriteFile(filepath.Join(e.app, "project.toml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := e.kiln(t, "build", "oci:out:project", "--builder", builder, "--path", e.app)
	if code != 0 || !strings.Contains(out, "example/hello 0.0.1\n") {
		t.Fatalf("kiln build with project.toml: exit %d\n%s\n%s", code, out, errOut)
	}
	got, errOut, code := e.kiln(t, "run", "--entrypoint", "/bin/ls", "oci:out:project", "/workspace")
	if code != 0 || strings.Contains(got, "README") || !strings.Contains(got, "app.sh") {
		t.Errorf("/workspace of the image: exit %d, %q (README must be excluded)\n%s", code, got, errOut)
	}
	// The project's build env reaches buildpacks: set FAIL_BUILD and the
	// hello buildpack fails, as it does with --env.
	failing := strings.Replace(project, `value = ""`, `value = "1"`, 1)
	if err := os.WriteFile(filepath.Join(e.app, "project.toml"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = e.kiln(t, "build", "oci:out:project", "--builder", builder, "--path", e.app)
	if code != 51 || !strings.Contains(out+errOut, "failing as asked") {
		t.Errorf("project build env: exit %d, want 51\n%s\n%s", code, out, errOut)
	}
}

// The kiln binary builders carry as their lifecycle is the built bin/kiln
// (KILN_TEST_BIN in the rootless pass), not this test binary: builders
// then have the same digest in both passes.
func init() {
	kilnExecutable = func() (string, error) {
		if p := os.Getenv("KILN_TEST_BIN"); p != "" {
			return p, nil
		}
		p := filepath.Join(pkgDir, "..", "..", "bin", "kiln")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("no kiln binary to put in builders (make build, or KILN_TEST_BIN): %w", err)
		}
		return p, nil
	}
}
