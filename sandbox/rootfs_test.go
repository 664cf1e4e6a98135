package sandbox

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildView(t *testing.T) {
	tree := t.TempDir()
	for _, d := range []string{"bin", "etc/ssl", "cnb/buildpacks", "cnb/lifecycle", "usr/lib"} {
		os.MkdirAll(filepath.Join(tree, d), 0o755)
	}
	for _, f := range []string{"etc/passwd", "etc/hosts", "top"} {
		os.WriteFile(filepath.Join(tree, f), nil, 0o644)
	}
	os.Symlink("usr/lib", filepath.Join(tree, "lib"))
	os.Symlink("../run/resolv.conf", filepath.Join(tree, "etc/resolv.conf"))
	os.Symlink("/elsewhere", filepath.Join(tree, "layers")) // shadowed by a directory

	view := filepath.Join(t.TempDir(), "view")
	mounts, err := buildView(tree, view, []destination{
		{"/proc", true}, {"/tmp", true},
		{"/etc/resolv.conf", false}, // a symlink in the tree: /etc is split
		{"/cnb/buildpacks", true},   // in the tree: mounted on top of /cnb
		{"/usr/lib", false},         // a directory in the tree, but the source is a file: /usr is split
		{"/layers/sub", true},       // under a symlink: shadowed by a directory
		{"/workspace", true},        // missing
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mounts {
		rel, _ := filepath.Rel(tree, m.source)
		if "/"+rel != m.dest {
			t.Errorf("bind %s → %s: source and destination differ", m.source, m.dest)
		}
		got = append(got, m.dest)
	}
	sort.Strings(got)
	want := []string{"/bin", "/cnb", "/etc/hosts", "/etc/passwd", "/etc/ssl", "/top"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binds (-want +got):\n%s", diff)
	}
	var entries []string
	filepath.Walk(view, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(view, p)
		kind := "f"
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			kind = "→" + target
		case fi.IsDir():
			kind = "d"
		}
		entries = append(entries, rel+" "+kind)
		return nil
	})
	wantEntries := []string{
		". d", "bin d", "cnb d", "etc d", "etc/hosts f", "etc/passwd f", "etc/resolv.conf f", "etc/ssl d",
		"layers d", "layers/sub d", "lib →usr/lib", "proc d", "tmp d", "top f", "usr d", "usr/lib f", "workspace d",
	}
	if diff := cmp.Diff(wantEntries, entries); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
}

func TestUserNSBlocker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		hard  bool
		want  string // the setting named in the error; "" for none
	}{
		{"allowed", map[string]string{"user/max_user_namespaces": "15000", "kernel/unprivileged_userns_clone": "1"}, true, ""},
		{"max zero", map[string]string{"user/max_user_namespaces": "0"}, true, "user.max_user_namespaces"},
		{"debian clone off", map[string]string{"user/max_user_namespaces": "100", "kernel/unprivileged_userns_clone": "0"}, true, "kernel.unprivileged_userns_clone"},
		{"apparmor, before starting", map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1"}, true, ""},
		{"apparmor, after a failure", map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1"}, false, "kernel.apparmor_restrict_unprivileged_userns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, v := range tc.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
				os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o644)
			}
			err := userNSBlocker(dir, tc.hard)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
