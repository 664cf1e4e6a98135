package treecopy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCopy(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{"a/keep.txt": "k", "a/drop.txt": "d", "b/inner/x.txt": "x", "skipped/y": "y"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "a", "link")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	err := Copy(context.Background(), src, dst, func(rel string, isDir bool) Action {
		switch {
		case rel == "skipped", rel == "a/drop.txt":
			return Skip
		case rel == "b", rel == "b/inner":
			return Enter
		}
		return Take
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dst {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		fi, _ := d.Info()
		got[rel] = fi.Mode().String()
		return nil
	})
	want := map[string]string{
		"a": "drwxr-xr-x", "a/keep.txt": "-rw-r-----", "a/link": "Lrwxrwxrwx",
		"b": "drwxr-xr-x", "b/inner": "drwxr-xr-x", "b/inner/x.txt": "-rw-r-----",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copied tree (-want +got):\n%s", diff)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "a", "link")); target != "/etc/passwd" {
		t.Errorf("link copied as %q", target)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a", "keep.txt")); string(b) != "k" {
		t.Errorf("keep.txt = %q", b)
	}
}

func TestCopyOntoItself(t *testing.T) {
	src := t.TempDir()
	if err := Copy(context.Background(), src, src, nil); !errors.Is(err, ErrDestinationIsSource) {
		t.Errorf("Copy(src, src) = %v, want ErrDestinationIsSource", err)
	}
	// A destination inside the source is not copied into itself.
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(src, "out")
	if err := Copy(context.Background(), src, dst, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "out")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("the destination was copied into itself: %v", err)
	}
}
