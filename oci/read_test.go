package oci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestReadArchive(t *testing.T) {
	dir := t.TempDir()
	one, two := dockerImage(t, 1), dockerImage(t, 1)
	multi := filepath.Join(dir, "multi.tar")
	refs := map[name.Reference]v1.Image{}
	for tag, img := range map[string]v1.Image{"kiln/one:1": one, "kiln/two:1": two} {
		n, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[n] = img
	}
	f, err := os.Create(multi)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.MultiRefWrite(refs, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single.tar")
	if _, err := Write(context.Background(), mustParse(t, "docker-archive:"+single), one); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref  string
		want v1.Image
		err  error
	}{
		{ref: "docker-archive:" + multi + ":kiln/two:1", want: two},
		{ref: "docker-archive:" + multi + ":index.docker.io/kiln/one:1", want: one},
		{ref: "docker-archive:" + multi, err: ErrAmbiguous},
		{ref: "docker-archive:" + multi + ":kiln/three:1", err: ErrNotFound},
		{ref: "docker-archive:" + single, want: one},
		{ref: "docker-archive:" + filepath.Join(dir, "absent.tar"), err: os.ErrNotExist},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			img, err := Read(context.Background(), mustParse(t, tc.ref))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Read = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Both images are Docker-typed, so the digest survives the archive.
			if got, want := mustDigest(t, img), mustDigest(t, tc.want); got != want {
				t.Errorf("read %s, want %s", got, want)
			}
		})
	}
}

func TestReadLayoutErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	if _, err := Write(context.Background(), mustParse(t, "oci:"+dir+":a"), ociImage(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), mustParse(t, "oci:"+dir+":b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent tag: %v, want ErrNotFound", err)
	}
	if _, err := Read(context.Background(), mustParse(t, "oci:"+dir+"-absent:a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent layout: %v, want ErrNotExist", err)
	}
}

func TestInsecureRegistries(t *testing.T) {
	o, err := makeOptions([]Option{WithInsecureRegistries("plain.example", "other.example:5000")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref, scheme string
	}{
		{"plain.example/a:1", "http"},
		{"plain.example:8080/a:1", "http"},
		{"other.example:5000/a:1", "http"},
		{"other.example/a:1", "https"},
		{"secure.example/a:1", "https"},
		{"localhost:5000/a:1", "http"},
		{"127.0.0.1:5000/a:1", "http"},
		{"[::1]:5000/a:1", "http"},
	} {
		r := mustParse(t, tc.ref)
		if got := o.registryName(r.Name).Context().Scheme(); got != tc.scheme {
			t.Errorf("%s: scheme %s, want %s", tc.ref, got, tc.scheme)
		}
	}
}

// TestReadExplicitPlatform: a platform asked for with WithPlatform that a
// single image does not have is ErrNoPlatform naming both platforms, from a
// layout and from a registry; without WithPlatform the image is read as it is.
func TestReadExplicitPlatform(t *testing.T) {
	ctx := context.Background()
	img := ociImage(t, 1) // linux/GOARCH
	other := v1.Platform{OS: "linux", Architecture: "s390x"}
	reg := testutil.NewRegistry(t)
	for _, ref := range []Reference{
		mustParse(t, "oci:"+filepath.Join(t.TempDir(), "layout")+":one"),
		mustParse(t, reg.Host+"/kiln/one:1"),
	} {
		if _, err := Write(ctx, ref, img); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(ctx, ref); err != nil {
			t.Errorf("%s without WithPlatform: %v", ref, err)
		}
		if _, err := Read(ctx, ref, WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})); err != nil {
			t.Errorf("%s with its own platform: %v", ref, err)
		}
		_, err := Read(ctx, ref, WithPlatform(other))
		if !errors.Is(err, ErrNoPlatform) || !strings.Contains(err.Error(), "linux/s390x") || !strings.Contains(err.Error(), "linux/"+runtime.GOARCH) {
			t.Errorf("%s as %s: %v, want ErrNoPlatform naming both platforms", ref, other, err)
		}
	}
}
