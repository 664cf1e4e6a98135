package oci

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestOpenStorePrivate: a store is mode 0700 whether kiln creates it or
// tightens a directory it may change; other directories are refused and
// left as they were.
func TestOpenStorePrivate(t *testing.T) {
	base := t.TempDir()
	mkdir := func(name string, mode fs.FileMode, files ...string) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			writeFile(t, filepath.Join(p, f), "x", 0o644)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldStore := mkdir("old-store", 0o755)
	if _, err := OpenStore(oldStore); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(oldStore, 0o755); err != nil { // a store of an earlier kiln
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{name: "new, with new parents", dir: filepath.Join(base, "new/parent/store")},
		{name: "an empty directory of ours", dir: mkdir("empty", 0o755)},
		{name: "a store of an earlier kiln", dir: oldStore},
		{name: "already private", dir: mkdir("private", 0o700, "something")},
		{name: "a directory of ours holding other things", dir: mkdir("home", 0o755, "notes.txt"), wantErr: true},
		{name: "a sticky directory like /tmp", dir: mkdir("tmp", fs.ModeSticky|0o777), wantErr: true},
		{name: "group-writable, holding other things", dir: mkdir("group", 0o770, "f"), wantErr: true},
	}
	if !testutil.Rootless() {
		theirs := mkdir("theirs", 0o755)
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name    string
			dir     string
			wantErr bool
		}{name: "someone else's empty directory", dir: theirs, wantErr: true})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.Stat(tc.dir)
			_, err := OpenStore(tc.dir)
			fi, serr := os.Stat(tc.dir)
			if serr != nil {
				t.Fatal(serr)
			}
			if tc.wantErr {
				var me *StoreModeError
				if !errors.Is(err, ErrStoreNotPrivate) || !errors.As(err, &me) || me.Dir != tc.dir {
					t.Fatalf("err = %v, want a StoreModeError for %s", err, tc.dir)
				}
				if fi.Mode() != before.Mode() {
					t.Errorf("mode changed from %v to %v", before.Mode(), fi.Mode())
				}
				if _, err := os.Stat(filepath.Join(tc.dir, layoutFile)); err == nil {
					t.Error("a layout was created in a refused directory")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode(); got != fs.ModeDir|0o700 {
				t.Errorf("store mode %v, want drwx------", got)
			}
		})
	}
}

// TestStoreRootfsShared: the store's trees hold no setuid or setgid file
// and no device node, live under a private rootfs/ and replace the root
// trees of earlier kilns (rootfs/<hex>, which kept them).
func TestStoreRootfsShared(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	img := imageOfTars(t, privilegedLayer(t))
	legacy := filepath.Join(s.Dir(), "rootfs", mustDigest(t, img).Hex)
	writeFile(t, filepath.Join(legacy, "bin/rootshell"), "old", 0o755)
	if err := os.Chmod(filepath.Join(legacy, "bin/rootshell"), 0o4755); err != nil {
		t.Fatal(err)
	}
	dir, err := s.Rootfs(ctx, img, UnpackOptions{Rootless: testutil.Rootless()})
	if err != nil {
		t.Fatal(err)
	}
	for p, m := range modesUnder(t, dir) {
		if m&(fs.ModeSetuid|fs.ModeDevice|fs.ModeCharDevice) != 0 || (m&fs.ModeSetgid != 0 && !m.IsDir()) {
			t.Errorf("%s: %v in a shared tree", p, m)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "bin/rootshell")); err != nil {
		t.Errorf("the file itself should stay: %v", err)
	}
	if !testutil.Rootless() {
		if _, err := os.Lstat(legacy); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the tree of an earlier kiln is still there: %v", err)
		}
	}
	for _, p := range []string{s.Dir(), filepath.Join(s.Dir(), "rootfs")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", p, fi.Mode())
		}
	}
}
