package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// rebaser runs /cnb/lifecycle/rebaser in this process (it needs no
// builder: it reads the app image and the run image) with environ and
// the Platform API 0.13, its layers directory layers.
func rebaser(t *testing.T, layers string, environ []string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	env := append([]string{"CNB_PLATFORM_API=0.13", "CNB_LAYERS_DIR=" + layers}, environ...)
	code, _ := lifecycleMain(append([]string{"/cnb/lifecycle/rebaser"}, args...), &out, &out, env)
	return out.String(), code
}

func digestOf(t *testing.T, ref string, opts ...oci.Option) v1.Hash {
	t.Helper()
	d, err := readImageWith(t, ref, opts...).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func copyTo(t *testing.T, img v1.Image, ref string, opts ...oci.Option) {
	t.Helper()
	r, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), r, img, opts...); err != nil {
		t.Fatal(err)
	}
}

// The rebaser's flags and CNB_* variables: the run image (-run-image, the
// deprecated -image, CNB_RUN_IMAGE), the image rebased (-previous-image,
// CNB_PREVIOUS_IMAGE), -force (CNB_FORCE_REBASE) over the checks, with
// their exit code 72, and -daemon refused.
func TestLifecycleRebaser(t *testing.T) {
	e := newRebaseEnv(t)
	reg := testutil.NewRegistry(t).Host
	app, run := reg+"/app:1", reg+"/run:2"
	copyTo(t, e.appImg, app)
	copyTo(t, e.newRun, run)
	layers := t.TempDir()
	appDigest := digestOf(t, app)

	// The app records kiln's local run image: another is refused unless forced.
	if out, code := rebaser(t, layers, nil, "-run-image", run, "-previous-image", app, reg+"/app:refused"); code != 72 || !strings.Contains(out, "is not among") {
		t.Errorf("onto an unrecorded run image: exit %d, want 72\n%s", code, out)
	}
	if out, code := rebaser(t, layers, nil, "-run-image", run, "-force", "-previous-image", app, reg+"/app:prev"); code != 0 {
		t.Fatalf("-force -previous-image: exit %d\n%s", code, out)
	}
	checkRebased(t, readImage(t, reg+"/app:prev"), e.appImg, e.oldRun, e.newRun, true)
	if got := digestOf(t, app); got != appDigest {
		t.Errorf("-previous-image %s was changed (%s, was %s)", app, got, appDigest)
	}
	want := digestOf(t, reg+"/app:prev")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"-image", nil, []string{"-image", run, "-force", "-previous-image", app}},
		{"CNB_* variables", []string{"CNB_RUN_IMAGE=" + run, "CNB_FORCE_REBASE=true", "CNB_PREVIOUS_IMAGE=" + app}, nil},
		{"flags over CNB_*", []string{"CNB_RUN_IMAGE=" + reg + "/missing:1", "CNB_FORCE_REBASE=false", "CNB_PREVIOUS_IMAGE=" + reg + "/missing:2"},
			[]string{"-run-image", run, "-force", "-previous-image", app}},
	} {
		out, code := rebaser(t, layers, tc.env, append(tc.args, reg+"/app:other")...)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", tc.name, code, out)
		} else if got := digestOf(t, reg+"/app:other"); got != want {
			t.Errorf("%s: digest %s, want %s", tc.name, got, want)
		}
	}
	// Without -previous-image, the image rebased is the output.
	if out, code := rebaser(t, layers, nil, "-run-image", run, "-force", app); code != 0 {
		t.Fatalf("rebase in place: exit %d\n%s", code, out)
	}
	if got := digestOf(t, app); got != want {
		t.Errorf("rebased in place: digest %s, want %s", got, want)
	}
	if out, code := rebaser(t, layers, nil, "-daemon", app); code != 3 || !strings.Contains(out, "no daemon export") {
		t.Errorf("-daemon: exit %d, want 3\n%s", code, out)
	}
}

// The rebaser's registry access: a registry on 127.0.0.2 over plain HTTP
// only when named insecure (-insecure-registry, CNB_INSECURE_REGISTRIES),
// and CNB_REGISTRY_AUTH's credentials before the docker config's.
func TestLifecycleRebaserRegistries(t *testing.T) {
	e := newRebaseEnv(t)
	regs := newTestRegistries(t, e.dir)
	layers := t.TempDir()
	insecure := oci.WithInsecureRegistries(regs.plainHost)
	for ref, img := range map[string]v1.Image{regs.plainHost + "/app:1": e.appImg, regs.plainHost + "/run:2": e.newRun,
		regs.authHost + "/app:1": e.appImg, regs.authHost + "/run:2": e.newRun} {
		copyTo(t, img, ref, insecure)
	}
	plainArgs := []string{"-run-image", regs.plainHost + "/run:2", "-force", regs.plainHost + "/app:1"}
	if out, code := rebaser(t, layers, nil, plainArgs...); code != 72 || !strings.Contains(out, regs.plainHost) {
		t.Errorf("a plain HTTP registry not named insecure: exit %d, want 72\n%s", code, out)
	}
	if out, code := rebaser(t, layers, nil, append([]string{"-insecure-registry", regs.plainHost}, plainArgs...)...); code != 0 {
		t.Errorf("-insecure-registry: exit %d\n%s", code, out)
	}
	if out, code := rebaser(t, layers, []string{"CNB_INSECURE_REGISTRIES=example.com," + regs.plainHost}, plainArgs...); code != 0 {
		t.Errorf("CNB_INSECURE_REGISTRIES: exit %d\n%s", code, out)
	}
	checkRebased(t, readImageWith(t, regs.plainHost+"/app:1", insecure), e.appImg, e.oldRun, e.newRun, true)

	// The docker config has the wrong password from here on.
	t.Setenv("DOCKER_CONFIG", authConfig(t, e.dir, regs.authHost, "wrong"))
	authArgs := []string{"-run-image", regs.authHost + "/run:2", "-force", regs.authHost + "/app:1"}
	if out, code := rebaser(t, layers, nil, authArgs...); code != 72 || !strings.Contains(out, "401") && !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("wrong docker config credentials: exit %d, want 72 unauthorized\n%s", code, out)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("kiln:secret"))
	auth := `CNB_REGISTRY_AUTH={"` + regs.authHost + `":"` + basic + `"}`
	if out, code := rebaser(t, layers, []string{auth}, authArgs...); code != 0 {
		t.Errorf("CNB_REGISTRY_AUTH: exit %d\n%s", code, out)
	}
	if out, code := rebaser(t, layers, []string{"CNB_REGISTRY_AUTH={not json"}, authArgs...); code != 72 || !strings.Contains(out, "CNB_REGISTRY_AUTH") {
		t.Errorf("malformed CNB_REGISTRY_AUTH: exit %d, want 72 naming it\n%s", code, out)
	}
	// A bearer token is sent as one.
	a, err := registryAuth{regs.authHost: "Bearer tok"}.Resolve(mustRegistry(t, regs.authHost))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := a.Authorization(); err != nil || cfg.RegistryToken != "tok" {
		t.Errorf("Bearer: %+v, %v", cfg, err)
	}
}

// readImageWith reads the image at ref with opts, unvalidated (readImage
// validates).
func readImageWith(t *testing.T, ref string, opts ...oci.Option) v1.Image {
	t.Helper()
	r, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.Read(context.Background(), r, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustRegistry(t *testing.T, host string) authn.Resource {
	t.Helper()
	r, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The rebaser as root hands the layers directory to -uid:-gid and becomes
// them (report.toml is theirs); not as root it runs as the user it is. It
// runs as its own process, the built kiln under the rebaser's name.
func TestLifecycleRebaserUser(t *testing.T) {
	e := newRebaseEnv(t)
	reg := testutil.NewRegistry(t).Host
	copyTo(t, e.appImg, reg+"/app:1")
	copyTo(t, e.newRun, reg+"/run:2")
	kiln, err := kilnExecutable()
	if err != nil {
		t.Fatal(err)
	}
	// A directory every user can reach (t.TempDir's parents are 0700).
	layers, err := os.MkdirTemp("", "kiln-rebaser-layers-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(layers) })
	if err := os.Chmod(layers, 0o755); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4242, 4343
	cmd := &exec.Cmd{Path: kiln, Args: []string{"/cnb/lifecycle/rebaser", "-uid=4242", "-gid=4343",
		"-run-image", reg + "/run:2", "-force", reg + "/app:1"},
		Env: []string{"CNB_PLATFORM_API=0.13", "CNB_LAYERS_DIR=" + layers, "PATH=/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=" + os.TempDir()}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rebaser: %v\n%s", err, out)
	}
	wantUID, wantGID := os.Getuid(), os.Getgid()
	if wantUID == 0 {
		wantUID, wantGID = uid, gid
	}
	for _, p := range []string{layers, filepath.Join(layers, "report.toml")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != wantUID || int(st.Gid) != wantGID {
			t.Errorf("%s is %d:%d, want %d:%d", p, st.Uid, st.Gid, wantUID, wantGID)
		}
	}
	checkRebased(t, readImage(t, reg+"/app:1"), e.appImg, e.oldRun, e.newRun, true)
}
