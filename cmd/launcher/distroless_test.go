package main

import (
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestLauncherDistroless runs the launcher in a root filesystem holding
// nothing but the launcher, metadata.toml and a static busybox as the app:
// no shell, no libc. Direct processes must work there; a shell launch must
// fail with exit code 82 and say why.
func TestLauncherDistroless(t *testing.T) {
	if testutil.Rootless() {
		testutil.Skip(t, "chroot needs root")
	}
	const busybox = "/bin/busybox"
	if f, err := elf.Open(busybox); err != nil {
		testutil.Skip(t, "no static /bin/busybox (Debian: busybox-static)")
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				testutil.Skip(t, "/bin/busybox is not static (Debian: busybox-static)")
			}
		}
		f.Close()
	}

	root := t.TempDir()
	copyFile(t, launcherBinary(t), filepath.Join(root, "cnb", "lifecycle", "launcher"))
	copyFile(t, busybox, filepath.Join(root, "layers", "acme_app", "main", "bin", "busybox"))
	write(t, filepath.Join(root, "layers", "config", "metadata.toml"), `[[buildpacks]]
  id = "acme/app"
  version = "1.0.0"
  api = "0.12"

[[processes]]
  type = "web"
  command = ["busybox", "echo"]
  args = ["distroless", "ok"]
  direct = true
  buildpack-id = "acme/app"
  working-dir = "/layers"
`, 0o644)
	if err := os.MkdirAll(filepath.Join(root, "workspace"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "cnb", "process"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/cnb/lifecycle/launcher", filepath.Join(root, "cnb", "process", "web")); err != nil {
		t.Fatal(err)
	}

	run := func(path string, args ...string) (int, string) {
		cmd := exec.Command(path, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
		cmd.Env = []string{"CNB_PLATFORM_API=0.14", "PATH=/cnb/process:/cnb/lifecycle"}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}

	if code, out := run("/cnb/process/web"); code != 0 || out != "distroless ok\n" {
		t.Errorf("web: exit %d, output %q; want 0, %q", code, out, "distroless ok\n")
	}
	if code, out := run("/cnb/lifecycle/launcher", "--", "busybox", "pwd"); code != 0 || out != "/workspace\n" {
		t.Errorf("direct command: exit %d, output %q; want 0, %q", code, out, "/workspace\n")
	}
	if code, out := run("/cnb/lifecycle/launcher", "echo hi"); code != 82 || !strings.Contains(out, "/bin/bash") {
		t.Errorf("shell launch: exit %d, output %q; want 82 and a word about /bin/bash", code, out)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
