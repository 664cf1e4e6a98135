package sandbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/sandbox"
)

// TestMain runs the sandbox's re-exec hook first: the test binary is the
// program whose copy runs inside the containers.
func TestMain(m *testing.M) {
	sandbox.Init()
	if spec := os.Getenv("KILN_TEST_CTTY"); spec != "" {
		os.Exit(ttyHelperMain(spec))
	}
	if os.Getenv("KILN_TEST_EXE_PROBE") != "" {
		os.Exit(exeProbeMain())
	}
	if spec := os.Getenv("KILN_TEST_KILLEE"); spec != "" {
		helperMain(spec)
	}
	if spec := os.Getenv("KILN_TEST_POD"); spec != "" {
		os.Exit(podMain(spec))
	}
	os.Exit(m.Run())
}

// busyboxApplets are the commands the tests' root filesystem provides.
var busyboxApplets = []string{
	"sh", "id", "cat", "echo", "ls", "touch", "sleep", "kill", "ps", "stat", "grep",
	"wc", "seq", "true", "false", "mkdir", "nc", "hostname", "env", "pwd", "test", "tty", "wget", "unshare", "mount", "stty", "head",
}

// busyboxRootfs assembles a root filesystem from the host's static busybox
// in a directory readable by every user, the way an unpacked image looks.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	bb, err := filepath.EvalSymlinks("/bin/busybox")
	if err != nil {
		testutil.Skip(t, "busybox-static is not installed (make deps)")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, d := range []string{"bin", "etc", "home/cnb", "usr/bin", "workspace"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1000:cnb:/home/cnb:/bin/sh\n",
		"etc/group":  "root:x:0:\ncnb:x:1000:\n",
		"secret":     "image content\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// userNSMode reports whether the sandbox runs in its user namespace mode:
// kiln is not root, or is root only inside a user namespace.
func userNSMode() bool {
	if os.Geteuid() != 0 {
		return true
	}
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295"
}

// stateDir is a private state directory for one test.
func stateDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "state")
}
