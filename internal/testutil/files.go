package testutil

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile writes content to path (mode 0644), creating its parents, and
// returns path.
func WriteFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Tree describes the tree under dir for comparisons: "rel/" → the
// directory's permissions, "rel -> target" → "" for a symbolic link, and
// "rel" → "<permissions> <content>" for a file.
func Tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			got[rel+"/"] = fi.Mode().Perm().String()
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[rel+" -> "+target] = ""
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = fi.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// BusyboxRootfs lays out a minimal root filesystem in root: busybox-static
// with a link for every applet in /bin, /etc/passwd and /etc/group with
// root only, /etc/os-release (ID=busybox), /tmp (1777) and /root; other
// directories 0755 whatever the umask. It skips (Skip) without busybox-static.
func BusyboxRootfs(t testing.TB, root string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		Skip(t, "busybox-static is not installed (make deps)")
	}
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, d), 0o755)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]struct {
		content string
		mode    fs.FileMode
	}{
		"bin/busybox":    {string(bb), 0o755},
		"etc/passwd":     {"root:x:0:0:root:/root:/bin/sh\n", 0o644},
		"etc/group":      {"root:x:0:\n", 0o644},
		"etc/os-release": {"ID=busybox\nVERSION_ID=1\n", 0o644},
	} {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
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
}
