package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// privilegedLayer is a layer an image could use to hand privileges to
// whoever reaches its unpacked tree: a setuid-root shell, a setgid file, a
// world-writable node of the first disk, /dev/null, a hard link to the
// disk, and a setgid directory and a FIFO, which are harmless and stay.
func privilegedLayer(t testing.TB) []byte {
	return tarOfHeaders(t, []tar.Header{
		{Typeflag: tar.TypeDir, Name: "bin", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: "bin/rootshell", Mode: 0o4755},
		{Typeflag: tar.TypeReg, Name: "bin/groupshell", Mode: 0o2755, Gid: 42},
		{Typeflag: tar.TypeDir, Name: "dev", Mode: 0o755},
		{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o666, Devmajor: 8, Devminor: 0},
		{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Typeflag: tar.TypeLink, Name: "disk", Linkname: "dev/sda"},
		{Typeflag: tar.TypeDir, Name: "shared", Mode: 0o2775},
		{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o644},
	})
}

// TestUnpackShared: a shared tree keeps no setuid or setgid file and no
// device node, in either mode; unshared, as root, they are all there (so
// the layer does carry them).
func TestUnpackShared(t *testing.T) {
	b := privilegedLayer(t)
	for _, rootless := range modes() {
		name := map[bool]string{false: "root", true: "rootless"}[rootless]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := unpackTars(dir, UnpackOptions{Rootless: rootless, Shared: true}, b); err != nil {
				t.Fatal(err)
			}
			want := map[string]fs.FileMode{
				"bin": fs.ModeDir | 0o755, "bin/rootshell": 0o755, "bin/groupshell": 0o755,
				"dev": fs.ModeDir | 0o755, "shared": fs.ModeDir | 0o2775&0o777, "fifo": fs.ModeNamedPipe | 0o644,
			}
			if !rootless {
				want["shared"] |= fs.ModeSetgid
			}
			if diff := cmp.Diff(want, modesUnder(t, dir)); diff != "" {
				t.Errorf("shared tree (-want +got):\n%s", diff)
			}
		})
	}
	if testutil.Rootless() {
		return
	}
	dir := t.TempDir()
	if err := unpackTars(dir, UnpackOptions{}, b); err != nil {
		t.Fatal(err)
	}
	got := modesUnder(t, dir)
	for p, want := range map[string]fs.FileMode{
		"bin/rootshell": fs.ModeSetuid | 0o755, "bin/groupshell": fs.ModeSetgid | 0o755,
		"dev/sda": fs.ModeDevice | 0o666, "dev/null": fs.ModeDevice | fs.ModeCharDevice | 0o666,
		"disk": fs.ModeDevice | 0o666,
	} {
		if got[p] != want {
			t.Errorf("unshared root tree: %s is %v, want %v", p, got[p], want)
		}
	}
}

// TestUnpackSharedReplaces: a device node left out still replaces what a
// lower layer had at its name, and a file of a later layer at a name
// skipped earlier can be hard linked.
func TestUnpackSharedReplaces(t *testing.T) {
	lower := tarOf(t, tfile("dev/sda", "lower"), tfile("keep", "k"))
	upper := tarOfHeaders(t, []tar.Header{{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o666, Devmajor: 8}})
	again := tarOf(t, tfile("dev/sda", "upper"), tlink("link", "dev/sda"))
	dir := t.TempDir()
	opts := UnpackOptions{Rootless: testutil.Rootless(), Shared: true}
	if err := unpackTars(dir, opts, lower, upper); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"dev/ rwxr-xr-x", "keep -rw-r--r-- k"}, listTree(t, dir)); diff != "" {
		t.Errorf("after the device layer (-want +got):\n%s", diff)
	}
	if err := unpackTars(dir, opts, again); err != nil {
		t.Fatal(err)
	}
	want := []string{"dev/ rwxr-xr-x", "dev/sda -rw-r--r-- upper", "keep -rw-r--r-- k", "link -rw-r--r-- upper"}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("after the file layer (-want +got):\n%s", diff)
	}
}

// TestUnpackLockedDirs unpacks directories of mode 0000, nested, with
// files in them and a later layer adding to and whiting out of them: as an
// unprivileged user too, the unpack succeeds and ends with the modes of
// the tar.
func TestUnpackLockedDirs(t *testing.T) {
	locked := tdir("locked")
	locked.mode = 0
	inner := tdir("locked/inner")
	inner.mode = 0
	ro := tdir("locked/ro")
	ro.mode = 0o555
	layers := [][]byte{
		tarOf(t, locked, inner, ro, tfile("locked/inner/f", "f"), tfile("locked/g", "g"), tfile("locked/ro/x", "x")),
		tarOf(t, tfile("locked/inner/h", "h"), tfile("locked/.wh.g", ""), tfile("locked/ro/.wh.x", "")),
	}
	want := map[string]fs.FileMode{
		"locked": fs.ModeDir, "locked/inner": fs.ModeDir, "locked/ro": fs.ModeDir | 0o555,
		"locked/inner/f": 0o644, "locked/inner/h": 0o644,
	}
	opts := UnpackOptions{Rootless: testutil.Rootless()}
	t.Run("image", func(t *testing.T) {
		dir := lockedTempDir(t)
		if err := Unpack(context.Background(), imageOfTars(t, layers...), dir, opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, modesUnder(t, dir)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})
	t.Run("layer by layer", func(t *testing.T) {
		// Each UnpackLayer ends with the locked modes applied: the second
		// one has to find its way back in.
		dir := lockedTempDir(t)
		for _, l := range layers {
			if err := UnpackLayer(context.Background(), bytes.NewReader(l), dir, opts); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(want, modesUnder(t, dir)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})
	t.Run("store", func(t *testing.T) {
		s, err := OpenStore(lockedTempDir(t))
		if err != nil {
			t.Fatal(err)
		}
		dir, err := s.Rootfs(context.Background(), imageOfTars(t, layers...), opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, modesUnder(t, dir)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})
}

// lockedTempDir is a t.TempDir whose cleanup first opens directories an
// unprivileged user could not otherwise remove.
func lockedTempDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return dir
}

// modesUnder returns the mode of everything under dir by relative path,
// reading directories it has to open on the way (and closing them again).
func modesUnder(t testing.TB, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	var walk func(rel string)
	walk = func(rel string) {
		p := filepath.Join(dir, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if rel != "." {
			got[filepath.ToSlash(rel)] = fi.Mode()
		}
		if !fi.IsDir() {
			return
		}
		if fi.Mode().Perm()&0o500 != 0o500 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o700); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)); err != nil {
					t.Fatal(err)
				}
			}()
		}
		ents, err := os.ReadDir(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			walk(filepath.Join(rel, e.Name()))
		}
	}
	walk(".")
	return got
}
