package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// tutorialDebs are the Debian packages docs/tutorial.md turns into wheels
// (app/requirements.txt pins their upstream versions).
var tutorialDebs = []string{"python3-starlette", "python3-anyio", "python3-idna", "python3-sniffio",
	"python3-uvicorn", "python3-asgiref", "python3-click", "python3-h11"}

// repoRoot is the checkout this test was compiled from: the walkthrough and
// hack/wheelhouse.py live outside the package (the rootless pass runs a
// copy of the test binary elsewhere).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no source path for the test")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "testdata", "walkthrough", "builder.toml")); err != nil {
		testutil.Skip(t, "the checkout's testdata/walkthrough is not readable: "+err.Error())
	}
	return root
}

// tutorialCache is where the heavy inputs persist between runs when
// KILN_TEST_CACHE is set (the store with the Debian packages, the stack's
// lock, the .debs of the wheelhouse); else a fresh directory.
func tutorialCache(t *testing.T) string {
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

// tutorial is one run of docs/tutorial.md in a working directory.
type tutorial struct {
	root, cache, work, store string
}

// kiln runs the CLI in-process in the working directory, with the
// tutorial's store; it fails the test on a non-zero exit.
func (tu *tutorial) kiln(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := kilnImage(t, append([]string{"--store", tu.store}, args...)...)
	if code != 0 {
		t.Fatalf("kiln %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func newTutorial(t *testing.T) *tutorial {
	t.Helper()
	if _, err := os.Stat("/etc/apt/sources.list.d/debian.sources"); err != nil {
		if _, err2 := os.Stat("/etc/apt/sources.list"); err2 != nil {
			testutil.Skip(t, "no Debian apt sources on this machine")
		}
	}
	tu := &tutorial{root: repoRoot(t), cache: tutorialCache(t), work: t.TempDir()}
	tu.store = filepath.Join(tu.cache, "store")
	if err := os.CopyFS(tu.work, os.DirFS(filepath.Join(tu.root, "testdata", "walkthrough"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tu.work, "empty-app"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(tu.work)
	return tu
}

// TestTutorial runs every command of docs/tutorial.md, in its order: the
// stack from Debian packages, the two buildpackages, the builder, the empty
// app and its size, the wheelhouse, the Starlette app built with no network,
// the app served by kiln run, and the buildpack iterated on without
// rebuilding the builder.
func TestTutorial(t *testing.T) {
	tu := newTutorial(t)

	// 1. The stack.
	tu.kiln(t, "stack", "create", "--config", "stack.toml", "--lock", filepath.Join(tu.cache, "stack.lock"),
		"--build-output", "oci:stack:build", "--run-output", "oci:stack:run")
	run := readImage(t, "oci:stack:run")
	if cfg, err := run.ConfigFile(); err != nil || cfg.Config.Labels["io.buildpacks.stack.id"] != "io.kiln.stacks.python" {
		t.Fatalf("run image stack id: %v %v", cfg, err)
	}

	// 2. The buildpackages, 3. the builder.
	tu.kiln(t, "buildpack", "package", "buildpacks/empty.cnb", "--config", "buildpacks/empty-package.toml")
	tu.kiln(t, "buildpack", "package", "buildpacks/python.cnb", "--config", "buildpacks/python-package.toml")
	tu.kiln(t, "builder", "create", "oci:builder", "--config", "builder.toml")

	// 4. An empty app: the empty buildpack, and what kiln adds to the run image.
	out := tu.kiln(t, "build", "oci:out:empty", "--builder", "oci:builder", "--path", "empty-app")
	for _, want := range []string{"buildpacks/empty 0.0.1\n", "---> Building Empty Buildpack\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("empty build output lacks %q:\n%s", want, out)
		}
	}
	added, addedGz := addedBytes(t, run, readImage(t, "oci:out:empty"))
	t.Logf("the empty app adds %d bytes (%d compressed) to the run image; pack added 2.4 MB", added, addedGz)
	if added > 4<<20 {
		t.Errorf("the empty app adds %d bytes to the run image, more than the launcher and config should", added)
	}

	// 5. The wheelhouse: Debian's packages as wheels, by the build image's python3.
	wheels := tu.wheelhouse(t)

	// 6. The app, with no network: pip finds everything in the wheelhouse.
	out = tu.kiln(t, "build", "oci:out:webapp", "--builder", "oci:builder", "--path", "app", "--network", "none",
		"--volume", wheels+":/platform/bindings/wheelhouse", "--env", "BP_PIP_FIND_LINKS=/platform/bindings/wheelhouse")
	for _, want := range []string{"buildpacks/python 0.0.1\n", "Installing requirements from /platform/bindings/wheelhouse only (--no-index)\n",
		"Successfully installed anyio-3.6.2 asgiref-3.6.0 click-8.1.3 h11-0.14.0 idna-3.3 sniffio-1.2.0 starlette-0.26.1 uvicorn-0.17.6\n",
		"Adding layer 'buildpacks/python:venv'\n", "Setting default process type 'web'\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("webapp build output lacks %q:\n%s", want, out)
		}
	}
	app := readImage(t, "oci:out:webapp")
	digest, err := app.Digest()
	if err != nil {
		t.Fatal(err)
	}
	testutil.SameAcrossModes(t, "TestTutorial webapp digest", digest.String())

	// 7. kiln run serves it on the host's loopback.
	t.Run("kiln run", func(t *testing.T) { tu.serve(t) })

	// 8. Iterating on the buildpack: a directory instead of the builder's copy.
	out = tu.kiln(t, "build", "oci:out:iterate", "--builder", "oci:builder", "--buildpack", "buildpacks/python",
		"--path", "app", "--network", "none", "--volume", wheels+":/platform/bindings/wheelhouse", "--env", "BP_PIP_FIND_LINKS=/platform/bindings/wheelhouse")
	if !strings.Contains(out, "---> Building by Python Buildpack\n") {
		t.Errorf("build with --buildpack buildpacks/python:\n%s", out)
	}

	// The same image under an external runtime: umoci unpack + runc run.
	t.Run("runc", func(t *testing.T) { runWebappInRunc(t, tu.work) })
}

// wheelhouse downloads the Debian packages (kept in the cache) and runs
// hack/wheelhouse.py on them in the build image; it returns the directory.
func (tu *tutorial) wheelhouse(t *testing.T) string {
	t.Helper()
	debs := filepath.Join(tu.cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, p := range tutorialDebs {
		if m, _ := filepath.Glob(filepath.Join(debs, p+"_*.deb")); len(m) == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		cmd := exec.Command("apt-get", append([]string{"download"}, missing...)...)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			testutil.Skip(t, fmt.Sprintf("apt-get download (no package lists? run apt-get update): %v\n%s", err, out))
		}
	}
	wheels := filepath.Join(tu.work, "wheelhouse")
	if err := os.Mkdir(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--network", "none", "--user", "0", "--entrypoint", "python3",
		"--volume", filepath.Join(tu.root, "hack") + ":/hack:ro", "--volume", debs + ":/debs:ro",
		"--volume", wheels + ":/wheelhouse", "oci:stack:build", "/hack/wheelhouse.py", "/wheelhouse"}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		args = append(args, "/debs/"+filepath.Base(f))
	}
	tu.kiln(t, args...)
	for _, w := range []string{"starlette-0.26.1", "uvicorn-0.17.6", "asgiref-3.6.0"} {
		checkWheel(t, filepath.Join(wheels, w+"-py3-none-any.whl"))
	}
	return wheels
}

// checkWheel checks a wheel as an installer may: a .dist-info named after
// the file with METADATA and WHEEL, and a RECORD whose digests and sizes
// match every other entry.
func checkWheel(t *testing.T, path string) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Errorf("wheelhouse: %v", err)
		return
	}
	defer z.Close()
	parts := strings.Split(strings.TrimSuffix(filepath.Base(path), ".whl"), "-")
	info := parts[0] + "-" + parts[1] + ".dist-info/"
	entries := map[string][]byte{}
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		entries[f.Name] = b
	}
	for _, name := range []string{"METADATA", "WHEEL", "RECORD"} {
		if _, ok := entries[info+name]; !ok {
			t.Errorf("%s: no %s%s", path, info, name)
		}
	}
	recorded := map[string]bool{}
	for _, row := range strings.Split(strings.TrimSpace(string(entries[info+"RECORD"])), "\n") {
		f := strings.Split(row, ",")
		if len(f) != 3 {
			t.Errorf("%s: RECORD row %q", path, row)
			continue
		}
		recorded[f[0]] = true
		if f[0] == info+"RECORD" {
			continue
		}
		sum := sha256.Sum256(entries[f[0]])
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); f[1] != want || f[2] != fmt.Sprint(len(entries[f[0]])) {
			t.Errorf("%s: RECORD says %s %s for %s, the entry is %s %d", path, f[1], f[2], f[0], want, len(entries[f[0]]))
		}
	}
	for name := range entries {
		if !recorded[name] {
			t.Errorf("%s: %s is not in RECORD", path, name)
		}
	}
}

// serve starts `kiln run` as its own process, as the tutorial does in the
// background, checks both routes and stops it with SIGTERM (which kiln
// forwards to the app).
func (tu *tutorial) serve(t *testing.T) {
	kiln := os.Getenv("KILN_TEST_BIN")
	if kiln == "" {
		kiln = filepath.Join(tu.root, "bin", "kiln")
	}
	if _, err := os.Stat(kiln); err != nil {
		testutil.Skip(t, "no kiln binary (make build, or KILN_TEST_BIN)")
	}
	port := tutorialPort(t)
	var log bytes.Buffer
	cmd := exec.Command(kiln, "--store", tu.store, "run", "--user", "1000", "--env", "PORT="+port, "--env", "HOST=127.0.0.1", "oci:out:webapp")
	cmd.Dir = tu.work
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		cmd.Wait()
		done <- log.String()
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("kiln run did not stop on SIGTERM")
		}
	}()
	checkHomepage(t, port, done)
}

// addedBytes sums the uncompressed and compressed sizes of img's layers
// that base does not have.
func addedBytes(t *testing.T, base, img v1.Image) (uncompressed, compressed int64) {
	t.Helper()
	have := map[v1.Hash]bool{}
	bl, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bl {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		have[d] = true
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		if have[d] {
			continue
		}
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		uncompressed += n
		compressed += size
	}
	return uncompressed, compressed
}

// tutorialPort is a free port on 127.0.0.1.
func tutorialPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// checkHomepage waits for the app on port and checks both routes; done
// delivers the server's output if it exits first.
func checkHomepage(t *testing.T, port string, done <-chan string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := client.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case log := <-done:
			t.Fatalf("the app exited before answering:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app does not answer on %s: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for path, want := range map[string]string{"/": "Homepage", "/about": "About"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("GET %s: %s %q, want 200 %q", path, resp.Status, body, want)
		}
	}
}

// runWebappInRunc unpacks oci:out:webapp with umoci and serves it with runc
// in the host's network namespace.
func runWebappInRunc(t *testing.T, work string) {
	for _, tool := range []string{"umoci", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Skip(t, tool+" is not installed (make deps)")
		}
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	unpack := []string{"unpack", "--image", filepath.Join(work, "out") + ":webapp", bundle}
	if testutil.Rootless() {
		unpack = append([]string{"unpack", "--rootless"}, unpack[1:]...)
	}
	if out, err := exec.Command("umoci", unpack...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %v: %v\n%s", unpack, err, out)
	}
	port := tutorialPort(t)
	cfgPath := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["env"] = append(proc["env"].([]any), "PORT="+port, "HOST=127.0.0.1")
	runcUser(spec)
	// The host's network, as kiln run's default: the port is reachable.
	linux := spec["linux"].(map[string]any)
	var nss []any
	for _, ns := range linux["namespaces"].([]any) {
		if ns.(map[string]any)["type"] != "network" {
			nss = append(nss, ns)
		}
	}
	linux["namespaces"] = nss
	runcUser(spec)
	if raw, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "runc-state")
	id := "kiln-tutorial-" + port
	var log bytes.Buffer
	cmd := exec.Command("runc", "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		cmd.Wait()
		done <- log.String()
	}()
	defer func() {
		exec.Command("runc", "--root", state, "kill", id, "KILL").Run()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Error("runc run did not stop")
		}
		exec.Command("runc", "--root", state, "delete", "--force", id).Run()
	}()
	checkHomepage(t, port, done)
}
