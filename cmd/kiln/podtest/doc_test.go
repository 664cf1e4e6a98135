package podtest

import (
	"bufio"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// The output registry's credentials. testdata/probe searches every file a
// buildpack can read, and its environment, for exactly these.
const (
	registryUser     = "kiln"
	registryPassword = "kiln-pod-secret-3f1a"
)

// docPlaceholder is the registry docs/ci.md names; the test's own takes
// its place.
const docPlaceholder = "registry.example.com"

// ciDocCommands are the commands of docs/ci.md's sh blocks, continuation
// lines joined, comments dropped, the registry placeholder replaced.
func ciDocCommands(t *testing.T, registry string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in, line := false, ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		switch {
		case l == "```sh":
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && l != "" && !strings.HasPrefix(l, "#"):
			if cont, ok := strings.CutSuffix(l, "\\"); ok {
				line += cont
				continue
			}
			cmds = append(cmds, strings.ReplaceAll(line+l, docPlaceholder, registry))
			line = ""
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestCIDoc runs every command docs/ci.md shows, where it says they run: kiln's
// image made and pushed; kiln install in an init container of it; the build
// in a restricted pod of the builder image with no credentials, whose
// buildpacks see none (environment, files, mounts); the push, and the
// single-step build with a registry cache, with the credentials mounted.
func TestCIDoc(t *testing.T) {
	b := busyboxBuilder(t)
	reg := testutil.StartDockerRegistryAuth(t, registryUser, registryPassword)
	creds := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(registryUser + ":" + registryPassword))
	testutil.WriteFile(t, filepath.Join(creds, "config.json"), `{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`)
	os.Chmod(creds, 0o755)
	os.Chmod(filepath.Join(creds, "config.json"), 0o644) // the pod's uid reads it, as a Secret volume's file

	kilnVol, ws, layers, cache, shared := testutil.EmptyDir(t), app(t, 1000680000, 0), testutil.EmptyDir(t), testutil.EmptyDir(t), testutil.EmptyDir(t)
	kilnImage := ""
	var ids []string // the image IDs each build and copy printed
	cmds := ciDocCommands(t, reg.Host)
	if len(cmds) < 5 {
		t.Fatalf("docs/ci.md shows %d commands, fewer than this test expects:\n%s", len(cmds), strings.Join(cmds, "\n"))
	}
	for _, c := range cmds {
		args := strings.Fields(c)
		t.Logf("$ %s", c)
		switch {
		case args[0] == "make" && len(args) == 3 && args[1] == "image" && strings.HasPrefix(args[2], "IMAGE="):
			// make image is make build (done: the binary under test) and
			// hack/kilnimage.
			image := strings.TrimPrefix(args[2], "IMAGE=")
			cmd := exec.CommandContext(t.Context(), "go", "run", "./hack/kilnimage", "-binary", kilnBinary(t), image)
			cmd.Dir, cmd.Env = repoRoot(t), append(os.Environ(), "DOCKER_CONFIG="+creds)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c, err, out)
			}
			archive := filepath.Join(t.TempDir(), "kiln.tar")
			kilnImage = "kiln.test/kiln:doc"
			kilnWithConfig(t, creds, "image", "copy", image, "docker-archive:"+archive+":"+kilnImage)
			b.docker.Load(t, archive)
		case args[0] == "kiln" && args[1] == "install":
			if kilnImage == "" {
				t.Fatal("docs/ci.md installs kiln before it makes kiln's image")
			}
			out, errOut, code := b.docker.Run(t, testutil.Pod{Image: kilnImage, Volumes: []string{kilnVol + ":/kiln"}}, args[1:]...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", c, code, out, errOut)
			}
		case args[0] == "/kiln/kiln":
			withCreds := strings.Contains(c, " image copy ") || strings.Contains(c, "--cache-image")
			if strings.Contains(c, " build ") {
				layers = testutil.EmptyDir(t) // each build starts with an empty /layers, as a pod's emptyDir does
			}
			pod := testutil.Pod{Image: b.image, Entrypoint: "/kiln/kiln", Env: []string{"HOME=/cache/home"},
				Volumes: []string{kilnVol + ":/kiln:ro", ws + ":/workspace", layers + ":/layers", cache + ":/cache", shared + ":/shared"}}
			if withCreds {
				pod.Volumes = append(pod.Volumes, creds+":/docker:ro")
				pod.Env = append(pod.Env, "DOCKER_CONFIG=/docker")
			}
			out, errOut, code := b.docker.Run(t, pod, args[1:]...)
			if code != 0 {
				t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", c, code, out, errOut)
			}
			if strings.Contains(c, " build ") {
				checkProbe(t, out, withCreds)
			}
			if id, ok := imageID(out); ok {
				ids = append(ids, id)
			} else if strings.Contains(c, " image copy ") {
				ids = append(ids, strings.TrimPrefix(lastLine(out), "sha256:")[:12])
			}
		default:
			t.Fatalf("docs/ci.md shows a command this test does not know how to run: %s", c)
		}
	}
	// Every build and the copy gave the image the host build gives.
	host := b.hostBuild(t, b.reg.Host+"/app/doc-host:1", app(t, 0, 0))
	want := strings.TrimPrefix(host.Digest, "sha256:")[:12]
	if len(ids) != 3 {
		t.Fatalf("image IDs %v: want one from each build and from the copy", ids)
	}
	for _, id := range ids {
		if id != want {
			t.Errorf("image IDs %v; the host build's is %s", ids, want)
			break
		}
	}
}

// imageID is the ID kiln build prints ("*** Images (ID):").
func imageID(out string) (string, bool) {
	_, rest, ok := strings.Cut(out, "*** Images (")
	if !ok || len(rest) < 12 {
		return "", false
	}
	return rest[:12], true
}

// kilnWithConfig runs kiln on the host with DOCKER_CONFIG=dir.
func kilnWithConfig(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), kilnBinary(t), args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kiln %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkProbe reads what testdata/probe saw in a build: without credentials
// in the step, no trace of them (environment, files, mounts); with them,
// the environment is still clean (kiln scrubs it), but the mounted config
// file is readable, as docs/ci.md says.
func checkProbe(t *testing.T, out string, stepHasCredentials bool) {
	t.Helper()
	if !strings.Contains(out, "probe: files with the registry's secret:") {
		t.Fatalf("the probe buildpack did not run:\n%s", out)
	}
	if strings.Contains(out, registryPassword) {
		t.Errorf("the registry's password is in the build output:\n%s", out)
	}
	if strings.Contains(out, "probe: the environment holds the registry's secret") {
		t.Errorf("a buildpack's environment holds the registry's secret:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "probe: env names: "):
			for _, name := range strings.Fields(strings.TrimPrefix(l, "probe: env names: ")) {
				if name == "DOCKER_CONFIG" || name == "CNB_REGISTRY_AUTH" || strings.Contains(name, "TOKEN") || strings.Contains(name, "PASSWORD") {
					t.Errorf("a buildpack's environment has %s", name)
				}
			}
		case strings.HasPrefix(l, "probe: mounts: ") && !stepHasCredentials:
			if strings.Contains(l, " /docker ") || strings.HasSuffix(l, " /docker") {
				t.Errorf("the build step mounts the credentials: %s", l)
			}
		case strings.HasPrefix(l, "probe: files with the registry's secret:"):
			none := l == "probe: files with the registry's secret: none"
			if !stepHasCredentials && !none {
				t.Errorf("a buildpack can read the registry's secret: %s", l)
			}
			// What docs/ci.md warns of, and proof that the probe finds
			// what is there: in one step, the mounted config is readable.
			if stepHasCredentials && !strings.Contains(l, "/docker/config.json") {
				t.Errorf("with the credentials mounted in the step, the probe should find /docker/config.json: %s", l)
			}
		}
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
