//go:build unix

package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixture makes a tree and a host file outside it that nothing may reach:
//
//	root/a/b/file   "inside"
//	root/link       -> ../outside (a dir outside)
//	root/a/abs      -> <outside>/secret
//	root/a/fifo     a named pipe
//	outside/secret  "secret"
func fixture(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "a", "b"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "a", "b", "file"), "inside")
	write(t, filepath.Join(outside, "secret"), "secret")
	if err := os.Symlink("../outside", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "a", "abs")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "a", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, p string) *Dir {
	t.Helper()
	d, err := Open(p, "/layers")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// eachResolver runs f with openat2 and with the component walk.
func eachResolver(t *testing.T, f func(t *testing.T)) {
	for _, walk := range []bool{false, true} {
		name := "openat2"
		if walk {
			name = "components"
		}
		t.Run(name, func(t *testing.T) {
			was := noOpenat2.Load()
			noOpenat2.Store(walk)
			defer noOpenat2.Store(was)
			f(t)
		})
	}
}

func TestReadFile(t *testing.T) {
	eachResolver(t, func(t *testing.T) {
		root, _ := fixture(t)
		d := open(t, root)
		if b, err := d.ReadFile("a/b/file", 100); err != nil || string(b) != "inside" {
			t.Errorf("ReadFile(a/b/file) = %q, %v", b, err)
		}
		for _, tc := range []struct {
			name string
			want error
		}{
			{"a/abs", ErrSymlink},
			{"link/secret", ErrSymlink},
			{"../outside/secret", ErrUnsafeName},
			{"a/../../outside/secret", ErrUnsafeName},
			{"/etc/passwd", ErrUnsafeName},
			{"a/fifo", ErrNotRegular},
			{"a/b", ErrNotRegular},
			{"a/b/file/x", ErrNotDir},
			{"a/missing", fs.ErrNotExist},
		} {
			done := make(chan struct{})
			go func() {
				defer close(done)
				b, err := d.ReadFile(tc.name, 100)
				if !errors.Is(err, tc.want) {
					t.Errorf("ReadFile(%s) = %q, %v; want %v", tc.name, b, err, tc.want)
				}
				if err != nil && !strings.Contains(err.Error(), "/layers/") {
					t.Errorf("ReadFile(%s): the error %q does not name the file by the display name", tc.name, err)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadFile(%s) hangs", tc.name)
			}
		}
		if _, err := d.ReadFile("a/b/file", 5); !errors.Is(err, ErrTooLarge) {
			t.Errorf("ReadFile over the limit: %v, want ErrTooLarge", err)
		}
	})
}

func TestOpenDir(t *testing.T) {
	eachResolver(t, func(t *testing.T) {
		root, _ := fixture(t)
		d := open(t, root)
		if _, err := d.OpenDir("link"); !errors.Is(err, ErrSymlink) {
			t.Errorf("OpenDir(link) = %v, want ErrSymlink", err)
		}
		a, err := d.OpenDir("a")
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if a.Name() != "/layers/a" || a.Path("b/file") != "/layers/a/b/file" {
			t.Errorf("names: %q, %q", a.Name(), a.Path("b/file"))
		}
		names, err := a.Names()
		if diff := cmp.Diff([]string{"abs", "b", "fifo"}, names); err != nil || diff != "" {
			t.Errorf("Names: %v (-want +got):\n%s", err, diff)
		}
		// A renamed directory stays the handle's directory.
		if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, "moved")); err != nil {
			t.Fatal(err)
		}
		if b, err := a.ReadFile("b/file", 100); err != nil || string(b) != "inside" {
			t.Errorf("ReadFile after the rename = %q, %v", b, err)
		}
		fi, err := a.Lstat("abs")
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(abs) = %v, %v; want the link itself", fi, err)
		}
		if target, err := a.Readlink("abs"); err != nil || !strings.HasSuffix(target, "/outside/secret") {
			t.Errorf("Readlink(abs) = %q, %v", target, err)
		}
	})
}

// TestOpenFollowsRoot: the root is the caller's trusted path, symlinks
// and all; only what is below it is resolved without following.
func TestOpenFollowsRoot(t *testing.T) {
	root, _ := fixture(t)
	d := open(t, filepath.Join(root, "link"))
	if b, err := d.ReadFile("secret", 100); err != nil || string(b) != "secret" {
		t.Errorf("ReadFile below a symlinked root = %q, %v", b, err)
	}
}

func TestWrites(t *testing.T) {
	eachResolver(t, func(t *testing.T) {
		root, outside := fixture(t)
		d := open(t, root)
		before := tree(t, outside)

		if _, err := d.MkdirAll("link/x", 0o755); !errors.Is(err, ErrSymlink) {
			t.Errorf("MkdirAll(link/x) = %v, want ErrSymlink", err)
		}
		if err := d.WriteFile("link/secret", []byte("pwned"), 0o644); !errors.Is(err, ErrSymlink) {
			t.Errorf("WriteFile(link/secret) = %v, want ErrSymlink", err)
		}
		// A symlink or FIFO at the name is replaced, not followed.
		for _, name := range []string{"a/abs", "a/fifo"} {
			if err := d.WriteFile(name, []byte("new"), 0o640); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(root, name))
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o640 {
				t.Errorf("after WriteFile(%s): %v, %v", name, fi.Mode(), err)
			}
		}
		c, err := d.MkdirAll("new/deep/dir", 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile("f", []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if b, err := os.ReadFile(filepath.Join(root, "new/deep/dir/f")); err != nil || string(b) != "x" {
			t.Errorf("the file written below MkdirAll's dir: %q, %v", b, err)
		}
		if err := d.Rename("new/deep", d, "link/deep"); !errors.Is(err, ErrSymlink) {
			t.Errorf("Rename into a symlinked dir = %v, want ErrSymlink", err)
		}
		if err := d.Rename("new/deep", d, "a/deep"); err != nil {
			t.Fatal(err)
		}
		tmp, err := d.MkdirTemp(".restore-")
		if err != nil || !strings.HasPrefix(tmp, ".restore-") {
			t.Fatalf("MkdirTemp = %q, %v", tmp, err)
		}
		if err := os.Symlink(outside, filepath.Join(root, tmp, "out")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(root, tmp, "locked"), 0); err != nil {
			t.Fatal(err)
		}
		if err := d.RemoveAll("link/secret"); !errors.Is(err, ErrSymlink) {
			t.Errorf("RemoveAll(link/secret) = %v, want ErrSymlink", err)
		}
		for _, name := range []string{tmp, "link", "a", "missing"} {
			if err := d.RemoveAll(name); err != nil {
				t.Errorf("RemoveAll(%s): %v", name, err)
			}
		}
		names, _ := d.Names()
		if diff := cmp.Diff([]string{"new"}, names); diff != "" {
			t.Errorf("left after RemoveAll (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(before, tree(t, outside)); diff != "" {
			t.Errorf("the writes reached outside the tree (-before +after):\n%s", diff)
		}
	})
}

// TestLchown changes the owner of a link, never of its target: a dangling
// link can be chowned (following it would fail), and as root the target
// keeps its owner.
func TestLchown(t *testing.T) {
	eachResolver(t, func(t *testing.T) {
		root, outside := fixture(t)
		d := open(t, root)
		if err := os.Symlink(filepath.Join(outside, "missing"), filepath.Join(root, "a", "dangling")); err != nil {
			t.Fatal(err)
		}
		uid, gid := os.Getuid(), os.Getgid()
		if os.Geteuid() == 0 {
			uid, gid = 1234, 1234
		}
		for _, name := range []string{"a/dangling", "a/abs"} {
			if err := d.Lchown(name, uid, gid); err != nil {
				t.Errorf("Lchown(%s): %v", name, err)
			}
			fi, err := os.Lstat(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid {
				t.Errorf("%s is owned by %d:%d, want %d:%d", name, st.Uid, st.Gid, uid, gid)
			}
		}
		if os.Geteuid() == 0 {
			fi, err := os.Stat(filepath.Join(outside, "secret"))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid == 1234 {
				t.Error("Lchown followed the link")
			}
		}
		if err := d.Lchown("link/secret", uid, gid); !errors.Is(err, ErrSymlink) {
			t.Errorf("Lchown(link/secret) = %v, want ErrSymlink", err)
		}
	})
}

// TestSwapRace swaps a directory of the tree with a symlink to a host
// directory as fast as it can while files are read and written through
// it: nothing may ever reach the host directory.
func TestSwapRace(t *testing.T) {
	eachResolver(t, func(t *testing.T) {
		root, outside := fixture(t)
		d := open(t, root)
		write(t, filepath.Join(outside, "file"), "secret")
		if err := os.Symlink(outside, filepath.Join(root, "evil")); err != nil {
			t.Fatal(err)
		}
		before := tree(t, outside)
		stop := make(chan struct{})
		swapped := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					swapped <- n
					return
				default:
				}
				syscall.Rename(filepath.Join(root, "a", "b"), filepath.Join(root, "tmp"))
				syscall.Rename(filepath.Join(root, "evil"), filepath.Join(root, "a", "b"))
				syscall.Rename(filepath.Join(root, "a", "b"), filepath.Join(root, "evil"))
				syscall.Rename(filepath.Join(root, "tmp"), filepath.Join(root, "a", "b"))
				n++
			}
		}()
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			if b, err := d.ReadFile("a/b/file", 100); err == nil && string(b) != "inside" {
				t.Fatalf("read %q through a swapped directory", b)
			}
			d.WriteFile("a/b/file", []byte("inside"), 0o644)
		}
		close(stop)
		if n := <-swapped; n == 0 {
			t.Fatal("the swapper never ran")
		}
		if diff := cmp.Diff(before, tree(t, outside)); diff != "" {
			t.Errorf("a write reached the host directory (-before +after):\n%s", diff)
		}
	})
}

// tree maps the names below dir to their contents (directories: "dir").
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := e.Info()
		if e.IsDir() {
			m[p] = "dir " + fi.Mode().String()
			return nil
		}
		b, _ := os.ReadFile(p)
		m[p] = fi.Mode().String() + " " + string(b)
		return nil
	})
	return m
}
