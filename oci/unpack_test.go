package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestUnpackLayers(t *testing.T) {
	exe := tfile("bin/tool", "#!/bin/sh\n")
	exe.mode = 0o755
	ro := tdir("ro")
	ro.mode = 0o555
	tests := []struct {
		name   string
		layers [][]tentry
		want   []string
	}{{
		name: "files, dirs, links",
		layers: [][]tentry{{
			tdir("bin"), exe, tsym("bin/sh", "tool"), tlink("bin/hard", "bin/tool"),
			tfile("etc/os-release", "ID=test\n"), // parent created
			ro, tfile("ro/x", "x"),
		}},
		want: []string{
			"bin/ rwxr-xr-x", "bin/hard -rwxr-xr-x #!/bin/sh\n", "bin/sh -> tool", "bin/tool -rwxr-xr-x #!/bin/sh\n",
			"etc/ rwxr-xr-x", "etc/os-release -rw-r--r-- ID=test\n",
			"ro/ r-xr-xr-x", "ro/x -rw-r--r-- x",
		},
	}, {
		name: "plain whiteouts",
		layers: [][]tentry{
			{tfile("a/keep", "1"), tfile("a/gone", "2"), tdir("d"), tfile("d/x", "3")},
			{tfile("a/.wh.gone", ""), tfile(".wh.d", ""), tfile(".wh.never-there", "")},
		},
		want: []string{"a/ rwxr-xr-x", "a/keep -rw-r--r-- 1"},
	}, {
		name: "opaque whiteout keeps what the same layer wrote",
		layers: [][]tentry{
			{tfile("a/old", "1"), tfile("a/sub/old", "2")},
			{tfile("a/new", "3"), tfile("a/.wh..wh..opq", ""), tfile("a/newer", "4")},
		},
		want: []string{"a/ rwxr-xr-x", "a/new -rw-r--r-- 3", "a/newer -rw-r--r-- 4"},
	}, {
		name: "replacements",
		layers: [][]tentry{
			{tdir("dir"), tfile("dir/x", "x"), tfile("file", "f"), tsym("link", "file"), tdir("stays"), tfile("stays/a", "a")},
			{tfile("dir", "now a file"), tdir("file"), tdir("link"), tfile("link/y", "y"), tdir("stays"), tfile("stays/b", "b")},
		},
		want: []string{
			"dir -rw-r--r-- now a file", "file/ rwxr-xr-x", "link/ rwxr-xr-x", "link/y -rw-r--r-- y",
			"stays/ rwxr-xr-x", "stays/a -rw-r--r-- a", "stays/b -rw-r--r-- b",
		},
	}, {
		name:   "absolute and dotted names",
		layers: [][]tentry{{tdir("./"), tfile("/abs", "1"), tfile("./dot/x", "2"), tfile("a/../b", "3")}},
		want:   []string{"abs -rw-r--r-- 1", "b -rw-r--r-- 3", "dot/ rwxr-xr-x", "dot/x -rw-r--r-- 2"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var tars [][]byte
			for _, l := range tc.layers {
				tars = append(tars, tarOf(t, l...))
			}
			if err := unpackTars(dir, UnpackOptions{Rootless: testutil.Rootless()}, tars...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, listTree(t, dir)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			// Read-only directories must not stop the test's cleanup.
			t.Cleanup(func() {
				_ = filepath.Walk(dir, func(p string, fi os.FileInfo, _ error) error { return os.Chmod(p, 0o755) })
			})
		})
	}
}

func TestUnpackMetadata(t *testing.T) {
	suid := tfile("suid", "s")
	suid.mode = 0o4755
	sticky := tdir("tmp")
	sticky.mode = 0o1777
	b := tarOf(t, suid, sticky, tsym("link", "suid"), tfile("tmp/f", "f"))
	for _, rootless := range modes() {
		t.Run(map[bool]string{false: "root", true: "rootless"}[rootless], func(t *testing.T) {
			dir := t.TempDir()
			if err := unpackTars(dir, UnpackOptions{Rootless: rootless}, b); err != nil {
				t.Fatal(err)
			}
			wantSuid, wantTmp := os.FileMode(0o755), os.FileMode(0o777)|os.ModeDir
			if !rootless {
				wantSuid |= os.ModeSetuid
				wantTmp |= os.ModeSticky
			}
			for p, want := range map[string]os.FileMode{"suid": wantSuid, "tmp": wantTmp} {
				fi, err := os.Lstat(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != want {
					t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
				}
			}
			// mtimes are applied, to directories after their children and to
			// symlinks themselves.
			for _, p := range []string{"suid", "tmp", "link", "tmp/f"} {
				fi, err := os.Lstat(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				if !fi.ModTime().Equal(testMtime) {
					t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), testMtime)
				}
			}
		})
	}
}

// modes returns the Rootless settings the test process can exercise: both
// as root, only rootless otherwise (make test runs the package both ways).
func modes() []bool {
	if testutil.Rootless() {
		return []bool{true}
	}
	return []bool{false, true}
}

func TestUnpackOwnership(t *testing.T) {
	hdrs := []tar.Header{
		{Typeflag: tar.TypeDir, Name: "d", Mode: 0o755, Uid: 1000, Gid: 1001},
		{Typeflag: tar.TypeReg, Name: "d/f", Mode: 0o644, Uid: 1002, Gid: 1003},
		{Typeflag: tar.TypeSymlink, Name: "d/l", Linkname: "f", Uid: 1004, Gid: 1005},
		{Typeflag: tar.TypeChar, Name: "null", Mode: 0o666, Devmajor: 1, Devminor: 3},
	}
	b := tarOfHeaders(t, hdrs)
	for _, rootless := range modes() {
		dir := t.TempDir()
		if err := unpackTars(dir, UnpackOptions{Rootless: rootless}, b); err != nil {
			t.Fatal(err)
		}
		for _, h := range hdrs[:3] {
			fi, err := os.Lstat(filepath.Join(dir, h.Name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			want := [2]int{h.Uid, h.Gid}
			if rootless {
				want = [2]int{os.Getuid(), os.Getgid()}
			}
			if got := [2]int{int(st.Uid), int(st.Gid)}; got != want {
				t.Errorf("rootless=%v %s: owner %v, want %v", rootless, h.Name, got, want)
			}
		}
		fi, err := os.Lstat(filepath.Join(dir, "null"))
		switch {
		case rootless && !errors.Is(err, os.ErrNotExist):
			t.Errorf("rootless: device node unpacked (err %v)", err)
		case !rootless && (err != nil || fi.Mode()&os.ModeCharDevice == 0):
			t.Errorf("root: device node missing: %v", err)
		}
	}
}

func tarOfHeaders(t testing.TB, hdrs []tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h.ModTime, h.Format = testMtime, tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUnpackLayerOntoReadOnly applies a layer onto a tree unpacked earlier
// whose directory is read-only, as a later UnpackLayer call does.
func TestUnpackLayerOntoReadOnly(t *testing.T) {
	ro := tdir("ro")
	ro.mode = 0o555
	dir := t.TempDir()
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "ro"), 0o755) })
	opts := UnpackOptions{Rootless: true}
	ctx := context.Background()
	if err := UnpackLayer(ctx, bytes.NewReader(tarOf(t, ro, tfile("ro/a", "a"))), dir, opts); err != nil {
		t.Fatal(err)
	}
	if err := UnpackLayer(ctx, bytes.NewReader(tarOf(t, tfile("ro/b", "b"), tfile("ro/.wh.a", ""))), dir, opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"ro/ r-xr-xr-x", "ro/b -rw-r--r-- b"}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
}
