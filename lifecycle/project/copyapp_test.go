package project

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// appFixture writes a small app with nested dirs, modes and links.
func appFixture(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"main.go": "package main", "README.md": "readme", "CHANGES.md": "changes",
		"cmd/tool/main.go": "package tool", "docs/guide.md": "guide", "docs/img/logo.png": "png",
		"vendor/lib/lib.go": "package lib", "bin/run.sh": "#!/bin/sh",
	}
	for name, content := range files {
		testutil.WriteFile(t, filepath.Join(src, name), content)
	}
	if err := os.Chmod(filepath.Join(src, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../README.md", filepath.Join(src, "docs/readme-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(src, "etc-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "docs/img"), 0o750); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestCopyApp(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		want             map[string]string
	}{{
		name: "everything",
		want: map[string]string{
			"main.go": "-rw-r--r-- package main", "README.md": "-rw-r--r-- readme", "CHANGES.md": "-rw-r--r-- changes",
			"cmd/": "-rwxr-xr-x", "cmd/tool/": "-rwxr-xr-x", "cmd/tool/main.go": "-rw-r--r-- package tool",
			"docs/": "-rwxr-xr-x", "docs/guide.md": "-rw-r--r-- guide", "docs/img/": "-rwxr-x---",
			"docs/img/logo.png": "-rw-r--r-- png", "docs/readme-link -> ../README.md": "",
			"vendor/": "-rwxr-xr-x", "vendor/lib/": "-rwxr-xr-x", "vendor/lib/lib.go": "-rw-r--r-- package lib",
			"bin/": "-rwxr-xr-x", "bin/run.sh": "-rwxr-xr-x #!/bin/sh", "etc-link -> /etc": "",
		},
	}, {
		name:    "exclude",
		exclude: []string{"*.md", "!README.md", "vendor/", "/bin/run.sh", "etc-link"},
		want: map[string]string{
			"main.go": "-rw-r--r-- package main", "README.md": "-rw-r--r-- readme",
			"cmd/": "-rwxr-xr-x", "cmd/tool/": "-rwxr-xr-x", "cmd/tool/main.go": "-rw-r--r-- package tool",
			"docs/": "-rwxr-xr-x", "docs/img/": "-rwxr-x---",
			"docs/img/logo.png": "-rw-r--r-- png", "docs/readme-link -> ../README.md": "", "bin/": "-rwxr-xr-x",
		},
	}, {
		name:    "include",
		include: []string{"*.go", "docs/img/", "!vendor/lib/lib.go"},
		want: map[string]string{
			"main.go": "-rw-r--r-- package main",
			"cmd/":    "-rwxr-xr-x", "cmd/tool/": "-rwxr-xr-x", "cmd/tool/main.go": "-rw-r--r-- package tool",
			"docs/": "-rwxr-xr-x", "docs/img/": "-rwxr-x---", "docs/img/logo.png": "-rw-r--r-- png",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := appFixture(t)
			dst := filepath.Join(t.TempDir(), "workspace")
			if err := CopyApp(context.Background(), src, dst, tt.include, tt.exclude); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, testutil.Tree(t, dst)); diff != "" {
				t.Errorf("copied tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyAppDetails(t *testing.T) {
	ctx := context.Background()
	t.Run("dst inside src", func(t *testing.T) {
		src := t.TempDir()
		testutil.WriteFile(t, filepath.Join(src, "a"), "a")
		dst := filepath.Join(src, "out", "ws")
		if err := CopyApp(ctx, src, dst, nil, nil); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": "-rw-r--r-- a", "out/": "-rwxr-xr-x"}
		if diff := cmp.Diff(want, testutil.Tree(t, dst)); diff != "" {
			t.Errorf("copied tree (-want +got):\n%s", diff)
		}
	})
	t.Run("dst is src", func(t *testing.T) {
		src := t.TempDir()
		if err := CopyApp(ctx, src, src, nil, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("error %v, want ErrInvalidConfig", err)
		}
	})
	t.Run("include and exclude", func(t *testing.T) {
		if err := CopyApp(ctx, t.TempDir(), t.TempDir(), []string{"a"}, []string{"b"}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("error %v, want ErrInvalidConfig", err)
		}
	})
	t.Run("mtime and read-only dir", func(t *testing.T) {
		src := t.TempDir()
		f := testutil.WriteFile(t, filepath.Join(src, "ro/f"), "x")
		mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(src, "ro"), 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro"), 0o755) })
		dst := t.TempDir()
		t.Cleanup(func() { os.Chmod(filepath.Join(dst, "ro"), 0o755) })
		if err := CopyApp(ctx, src, dst, nil, nil); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dst, "ro/f"))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(mtime) {
			t.Errorf("mtime %v, want %v", fi.ModTime(), mtime)
		}
		if di, err := os.Stat(filepath.Join(dst, "ro")); err != nil || di.Mode().Perm() != 0o555 {
			t.Errorf("dir mode %v, %v", di.Mode(), err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		src := appFixture(t)
		if err := CopyApp(cctx, src, t.TempDir(), nil, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
	t.Run("special files skipped", func(t *testing.T) {
		src := t.TempDir()
		testutil.WriteFile(t, filepath.Join(src, "a"), "a")
		if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		if err := CopyApp(ctx, src, dst, nil, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"a": "-rw-r--r-- a"}, testutil.Tree(t, dst)); diff != "" {
			t.Errorf("copied tree (-want +got):\n%s", diff)
		}
	})
	t.Run("bad pattern", func(t *testing.T) {
		if err := CopyApp(ctx, t.TempDir(), t.TempDir(), nil, []string{"[x"}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("error %v, want ErrBadPattern", err)
		}
	})
}
