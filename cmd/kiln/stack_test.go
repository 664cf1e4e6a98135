package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// stackRootfs is a busybox root filesystem with accounts and os-release.
func stackRootfs(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testutil.Skip(t, "busybox-static is not installed: "+err.Error())
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	files := map[string]string{
		"bin/busybox":    string(bb),
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":      "root:x:0:\n",
		"etc/os-release": "ID=testlinux\nVERSION_ID=1\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestStackCreate(t *testing.T) {
	root := stackRootfs(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	config := filepath.Join(dir, "stack.toml")
	if err := os.WriteFile(config, []byte("id = \"io.kiln.test\"\nuser-name = \"builder\"\n[build]\nbase = \"rootfs:"+root+"\"\n[run]\nbase = \"rootfs:"+root+"\"\nuser = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := "oci:" + filepath.Join(dir, "out") + ":build"
	run := "oci:" + filepath.Join(dir, "out") + ":run"

	out1, errOut, code := kilnImage(t, "--store", store, "stack", "create", "--config", config, "--build-output", build, "--run-output", run)
	if code != 0 {
		t.Fatalf("stack create from the config: exit %d\n%s", code, errOut)
	}
	// The same stack from flags gives the same images.
	out2, errOut, code := kilnImage(t, "--store", store, "stack", "create", "--id", "io.kiln.test", "--user-name", "builder", "--run-user",
		"--build-base", "rootfs:"+root, "--run-base", "rootfs:"+root, "--build-output", build, "--run-output", run)
	if code != 0 {
		t.Fatalf("stack create from flags: exit %d\n%s", code, errOut)
	}
	if out1 != out2 || !strings.HasPrefix(out1, "build "+build+" sha256:") {
		t.Errorf("stdout differs between config and flags, or is malformed:\n%s\n%s", out1, out2)
	}
	for _, r := range []string{build, run} {
		ref, _ := oci.ParseReference(r)
		img, err := oci.Read(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: %v", r, err)
		}
		cf, _ := img.ConfigFile()
		if cf.Config.User != "1000:1000" || cf.Config.Labels["io.buildpacks.stack.id"] != "io.kiln.test" {
			t.Errorf("%s: user %q labels %v", r, cf.Config.User, cf.Config.Labels)
		}
	}

	// SOURCE_DATE_EPOCH changes the created time, hence the digests.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out3, errOut, code := kilnImage(t, "--store", store, "stack", "create", "--config", config, "--build-output", build, "--run-output", run)
	if code != 0 || out3 == out1 {
		t.Errorf("with SOURCE_DATE_EPOCH: exit %d, stdout %q (want other digests than %q)\n%s", code, out3, out1, errOut)
	}
}

func TestStackCreateErrors(t *testing.T) {
	root := stackRootfs(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("id = \"x\"\n[build]\nbase = \"rootfs:/x\"\nbsae = \"typo\"\n[run]\nbase = \"rootfs:/x\"\n"), 0o644)
	out := "oci:" + filepath.Join(dir, "out")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--config", bad, "--build-output", out, "--run-output", out}, "bad.toml: unknown key build.bsae"},
		{[]string{"--id", "x", "--build-base", "rootfs:" + root, "--run-base", "rootfs:" + root}, "--build-output and --run-output are required"},
		{[]string{"--build-base", "rootfs:" + root, "--run-base", "rootfs:" + root, "--build-output", out, "--run-output", out}, "a stack ID is required"},
		{[]string{"--id", "x", "--uid", "0", "--build-base", "rootfs:" + root, "--run-base", "rootfs:" + root, "--build-output", out, "--run-output", out}, "may not be root"},
	}
	for _, tt := range tests {
		_, errOut, code := kilnImage(t, append([]string{"--store", filepath.Join(dir, "store"), "stack", "create"}, tt.args...)...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("kiln stack create %v: exit %d, stderr %q, want it to contain %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestStackBuildImageRuns runs a process in the build image with kiln run:
// by default as the CNB user, who owns its home (kiln run's root file system
// is read-only, so the test looks at the owner rather than writing).
func TestStackBuildImageRuns(t *testing.T) {
	root := stackRootfs(t)
	dir := t.TempDir()
	build := "oci:" + filepath.Join(dir, "out") + ":build"
	run := "oci:" + filepath.Join(dir, "out") + ":run"
	_, errOut, code := kilnImage(t, "--store", filepath.Join(dir, "store"), "stack", "create", "--id", "io.kiln.test",
		"--build-base", "rootfs:"+root, "--run-base", "rootfs:"+root, "--build-output", build, "--run-output", run)
	if code != 0 {
		t.Fatalf("stack create: exit %d\n%s", code, errOut)
	}
	script := `busybox id -u; busybox id -g; busybox id -un; echo $HOME $CNB_USER_ID $CNB_GROUP_ID $CNB_STACK_ID; busybox stat -c %u:%g $HOME`
	want := "1000\n1000\ncnb\n/home/cnb 1000 1000 io.kiln.test\n1000:1000\n"
	if testutil.Rootless() {
		// Unpacked without root, the files keep the unpacking user as owner.
		script = strings.TrimSuffix(script, "; busybox stat -c %u:%g $HOME")
		want = strings.TrimSuffix(want, "1000:1000\n")
	}
	for _, args := range [][]string{
		{"--entrypoint", "/bin/sh", build, "-c", script},
		{"--user", "cnb", "--entrypoint", "/bin/sh", build, "-c", script},
	} {
		out, errOut, code := kilnRun(t, "", args...)
		if code != 0 || out != want {
			t.Errorf("kiln run %v: exit %d, stdout %q, want %q; stderr:\n%s", args, code, out, want, errOut)
		}
	}
}
