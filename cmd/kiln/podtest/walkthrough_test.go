package podtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// wheelDebs are the Debian packages docs/tutorial.md turns into wheels.
var wheelDebs = []string{"python3-starlette", "python3-anyio", "python3-idna", "python3-sniffio",
	"python3-uvicorn", "python3-asgiref", "python3-click", "python3-h11"}

// walkthroughCache holds the stack's lock and the Debian packages between
// runs when KILN_TEST_CACHE is set (make test sets it per run, so that
// TestTutorial and this test download them once), else a new directory.
func walkthroughCache(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KILN_TEST_CACHE")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "tutorial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPodWalkthrough builds the walkthrough's Starlette app (docs/
// tutorial.md: the stack from Debian packages, both buildpackages, the
// builder) in place in a restricted pod of that builder, offline from the
// wheelhouse, and compares it with the same build on the host; the image
// runs its app in a restricted pod.
func TestPodWalkthrough(t *testing.T) {
	if _, err := os.Stat("/etc/apt/sources.list.d/debian.sources"); err != nil {
		if _, err2 := os.Stat("/etc/apt/sources.list"); err2 != nil {
			testutil.Skip(t, "no Debian apt sources on this machine")
		}
	}
	d := testutil.SharedDocker(t)
	cache, work := walkthroughCache(t), t.TempDir()
	store := filepath.Join(cache, "store")
	if err := os.CopyFS(work, os.DirFS(filepath.Join(repoRoot(t), "testdata", "walkthrough"))); err != nil {
		t.Fatal(err)
	}
	reg := testutil.StartDockerRegistry(t)
	k := func(args ...string) string { return kiln(t, work, append([]string{"--store", store}, args...)...) }
	k("stack", "create", "--config", "stack.toml", "--lock", filepath.Join(cache, "stack.lock"),
		"--build-output", "oci:stack:build", "--run-output", "oci:stack:run")
	run := reg.Host + "/walkthrough/run:1"
	k("image", "copy", "oci:stack:run", run)
	k("buildpack", "package", "buildpacks/empty.cnb", "--config", "buildpacks/empty-package.toml")
	k("buildpack", "package", "buildpacks/python.cnb", "--config", "buildpacks/python-package.toml")
	image := "kiln.test/walkthrough-builder:1"
	archive := filepath.Join(work, "builder.tar")
	k("builder", "create", "docker-archive:"+archive+":"+image, "--config", "builder.toml")
	d.Load(t, archive)
	wheels := wheelhouse(t, work, store, cache)

	findLinks := "BP_PIP_FIND_LINKS=/platform/bindings/wheelhouse"
	hostRep := filepath.Join(t.TempDir(), "report.json")
	k("build", reg.Host+"/walkthrough/host:1", "--builder", "docker-archive:"+archive+":"+image, "--path", "app",
		"--run-image", run, "--volume", wheels+":/platform/bindings/wheelhouse", "--env", findLinks, "--report", hostRep)
	host := readReport(t, hostRep)

	b := &builder{dir: work, store: store, reg: reg, image: image, docker: d}
	ws := testutil.EmptyDir(t)
	copyTree(t, filepath.Join(work, "app"), ws, 1000680000, 0)
	ref := reg.Host + "/walkthrough/pod:1"
	out, errOut, code, rep := podBuild{App: ws, Output: ref,
		Pod:  testutil.Pod{Volumes: []string{wheels + ":/platform/bindings/wheelhouse:ro"}},
		Args: []string{"--run-image", run, "--env", findLinks}}.run(t, b)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"Sandbox: none", "buildpacks/python 0.0.1\n", "Installing requirements from /platform/bindings/wheelhouse only (--no-index)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the pod build's output lacks %q:\n%s", want, out)
		}
	}
	if got := readReport(t, rep).Digest; got != host.Digest {
		t.Errorf("digest %s in the pod, %s on the host", got, host.Digest)
	}
	// The app's dependencies are there: import them with the image's own
	// launcher and environment, in a restricted pod.
	appArchive := filepath.Join(t.TempDir(), "webapp.tar")
	k("image", "copy", ref, "docker-archive:"+appArchive+":kiln.test/webapp:1")
	d.Load(t, appArchive)
	pout, perr, pcode := d.Run(t, testutil.Pod{Image: "kiln.test/webapp:1", Entrypoint: "/cnb/lifecycle/launcher"},
		"--", "python3", "-c", "import starlette, uvicorn; print('starlette', starlette.__version__)")
	if pcode != 0 || strings.TrimSpace(pout) != "starlette 0.26.1" {
		t.Errorf("the webapp image in a pod: exit %d %q %s", pcode, pout, perr)
	}
}

// wheelhouse turns the Debian packages into wheels with the build image's
// python3 (hack/wheelhouse.py in kiln run), as docs/tutorial.md does, and
// returns the directory.
func wheelhouse(t *testing.T, work, store, cache string) string {
	t.Helper()
	debs := filepath.Join(cache, "podtest-debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, p := range wheelDebs {
		if m, _ := filepath.Glob(filepath.Join(debs, p+"_*.deb")); len(m) == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		cmd := exec.Command("apt-get", append([]string{"download"}, missing...)...)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			testutil.Skip(t, "apt-get download (no package lists? run apt-get update): "+err.Error()+"\n"+string(out))
		}
	}
	wheels := filepath.Join(work, "wheelhouse")
	if err := os.Mkdir(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--store", store, "run", "--network", "none", "--user", "0", "--entrypoint", "python3",
		"--volume", filepath.Join(repoRoot(t), "hack") + ":/hack:ro", "--volume", debs + ":/debs:ro",
		"--volume", wheels + ":/wheelhouse", "oci:stack:build", "/hack/wheelhouse.py", "/wheelhouse"}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		args = append(args, "/debs/"+filepath.Base(f))
	}
	kiln(t, work, args...)
	if err := filepath.Walk(wheels, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			err = os.Chmod(p, 0o755) // readable by the pod's uid
		} else if err == nil {
			err = os.Chmod(p, 0o644)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return wheels
}
