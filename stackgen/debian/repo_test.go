package debian_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kilnbuild/kiln/stackgen/debian"
	"github.com/kilnbuild/kiln/stackgen/internal/debtest"
)

func writeTestRepo(t *testing.T) debtest.Repo {
	return debtest.WriteRepo(t, filepath.Join(t.TempDir(), "repo"), "amd64", []debtest.Deb{
		{Name: "hello", Version: "1.0-1", Arch: "amd64", Depends: "libhello (>= 1)", Files: []debtest.File{
			{Name: "./usr/", Dir: true, Mode: 0o755}, {Name: "./usr/bin/", Dir: true, Mode: 0o755},
			{Name: "./usr/bin/hello", Mode: 0o755, Content: "#!/bin/sh\necho hello\n"},
		}},
		{Name: "libhello", Version: "1.2", Arch: "all", Files: []debtest.File{
			{Name: "./usr/lib/libhello.so.1", Mode: 0o644, Content: "ELF"},
			{Name: "./usr/lib/libhello.so", Link: "libhello.so.1"},
		}},
	})
}

func TestPoolFromSignedRepo(t *testing.T) {
	ctx := context.Background()
	repo := writeTestRepo(t)
	src := []debian.Source{{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}}
	poolDir := t.TempDir()
	pool, err := debian.OpenPool(poolDir)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := pool.LoadIndex(ctx, src, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ix.Resolve([]string{"hello"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].Name != "hello" || pkgs[1].Name != "libhello" {
		t.Fatalf("Resolve = %v", pkgs)
	}
	path, err := pool.Fetch(ctx, pkgs[0].DownloadURL(), pkgs[0].SHA256, pkgs[0].Size)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	deb, err := debian.ReadDeb(f, func(h *tar.Header, r io.Reader) error {
		b, _ := io.ReadAll(r)
		got = append(got, h.Name+"="+string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"usr=", "usr/bin=", "usr/bin/hello=#!/bin/sh\necho hello\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("data.tar entries (-want +got):\n%s", diff)
	}
	if v := debian.ControlField(deb.Control, "Version"); v != "1.0-1" {
		t.Errorf("control Version = %q", v)
	}

	// Offline, the cached InRelease and Packages suffice; a .deb never fetched does not.
	offline, _ := debian.OpenPool(poolDir, debian.WithOffline(true))
	if err := os.RemoveAll(repo.Dir); err != nil {
		t.Fatal(err)
	}
	ix, err = offline.LoadIndex(ctx, src, "amd64")
	if err != nil {
		t.Fatalf("offline LoadIndex: %v", err)
	}
	if _, err := offline.Fetch(ctx, pkgs[0].DownloadURL(), pkgs[0].SHA256, 0); err != nil {
		t.Errorf("offline Fetch of a pooled package: %v", err)
	}
	if _, err := offline.Fetch(ctx, pkgs[1].DownloadURL(), pkgs[1].SHA256, 0); !errors.Is(err, debian.ErrOffline) {
		t.Errorf("offline Fetch of a missing package = %v, want ErrOffline", err)
	}
}

func TestPoolRejects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mangle func(t *testing.T, repo debtest.Repo, src *debian.Source)
		want   error
	}{
		{"no keyring", func(t *testing.T, repo debtest.Repo, src *debian.Source) { src.SignedBy = "" }, debian.ErrSignature},
		{"another key", func(t *testing.T, repo debtest.Repo, src *debian.Source) {
			other := debtest.WriteRepo(t, filepath.Join(t.TempDir(), "other"), "amd64", nil)
			src.SignedBy = other.Keyring
		}, debian.ErrSignature},
		{"tampered InRelease", func(t *testing.T, repo debtest.Repo, src *debian.Source) {
			p := filepath.Join(repo.Dir, "dists", "stable", "InRelease")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "Suite: stable", "Suite: stab1e", 1)), 0o644)
		}, debian.ErrSignature},
		{"tampered Packages", func(t *testing.T, repo debtest.Repo, src *debian.Source) {
			p := filepath.Join(repo.Dir, "dists", "stable", "main", "binary-amd64", "Packages.gz")
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
		}, debian.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := writeTestRepo(t)
			src := debian.Source{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}
			tt.mangle(t, repo, &src)
			pool, _ := debian.OpenPool(t.TempDir())
			_, err := pool.LoadIndex(ctx, []debian.Source{src}, "amd64")
			if !errors.Is(err, tt.want) {
				t.Errorf("LoadIndex = %v, want %v", err, tt.want)
			}
		})
	}
	// A trusted source needs no signature.
	repo := writeTestRepo(t)
	pool, _ := debian.OpenPool(t.TempDir())
	if _, err := pool.LoadIndex(ctx, []debian.Source{{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, Trusted: true}}, "amd64"); err != nil {
		t.Errorf("trusted source: %v", err)
	}
}

func TestReadDebRejects(t *testing.T) {
	for _, in := range []string{"", "!<arch>\n", "not a deb", "!<arch>\ndebian-binary   0           0     0     100644  4         `\n3.0\n"} {
		if _, err := debian.ReadDeb(strings.NewReader(in), nil); !errors.Is(err, debian.ErrNotDeb) {
			t.Errorf("ReadDeb(%q) = %v, want ErrNotDeb", in, err)
		}
	}
}

func TestOptionalSourceSkipped(t *testing.T) {
	repo := writeTestRepo(t)
	good := debian.Source{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}
	gone := debian.Source{URI: "file:" + filepath.Join(t.TempDir(), "nothing"), Suites: []string{"stable"}, Components: []string{"main"}, Trusted: true}
	var skipped []string
	pool, _ := debian.OpenPool(t.TempDir(), debian.WithSkipped(func(s debian.Source, suite string, err error) {
		skipped = append(skipped, s.URI+" "+suite)
	}))
	if _, err := pool.LoadIndex(context.Background(), []debian.Source{good, gone}, "amd64"); err == nil {
		t.Error("a source that cannot be read must fail LoadIndex unless it is optional")
	}
	gone.Optional = true
	ix, err := pool.LoadIndex(context.Background(), []debian.Source{good, gone}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 || len(skipped) != 1 || skipped[0] != gone.URI+" stable" {
		t.Errorf("index of %d packages, skipped %v", ix.Len(), skipped)
	}
}

// A SHA256 read from a lock or an index names a file of the pool only: a
// string that is not 64 lowercase hex digits names nothing, even when a
// file sits where it would lead as a path.
func TestPoolNamesOnlySHA256(t *testing.T) {
	dir := t.TempDir()
	pool, err := debian.OpenPool(dir, debian.WithOffline(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outside"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{"../outside", "", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
		if pool.Has(sha) {
			t.Errorf("Has(%q) = true", sha)
		}
		if p, err := pool.Fetch(context.Background(), "http://127.0.0.1:9/x.deb", sha, 0); err == nil || errors.Is(err, debian.ErrOffline) {
			t.Errorf("Fetch(%q) = %q, %v; want an error about the SHA256", sha, p, err)
		}
	}
}
