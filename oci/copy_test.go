package oci

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kilnbuild/kiln/internal/testutil"
)

// place makes references of one kind for a test.
type place struct {
	kind string
	ref  func(t *testing.T, tag string) Reference
}

func places(t *testing.T) []place {
	inproc := testutil.NewRegistry(t)
	real := testutil.StartDockerRegistry(t)
	dir := t.TempDir()
	return []place{
		{"layout", func(t *testing.T, tag string) Reference {
			return mustParse(t, "oci:"+filepath.Join(dir, "layout")+":"+tag)
		}},
		{"archive", func(t *testing.T, tag string) Reference {
			return mustParse(t, "docker-archive:"+filepath.Join(dir, tag+".tar")+":kiln/test:"+tag)
		}},
		{"registry", func(t *testing.T, tag string) Reference {
			return mustParse(t, inproc.Host+"/kiln/test:"+tag)
		}},
		{"docker-registry", func(t *testing.T, tag string) Reference {
			return mustParse(t, real.Host+"/kiln/test:"+tag)
		}},
	}
}

func TestCopyMatrix(t *testing.T) {
	ctx := context.Background()
	ps := places(t)
	store, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]func(testing.TB, int) v1.Image{"oci": ociImage, "docker": dockerImage}
	for _, imgKind := range []string{"oci", "docker"} {
		for _, src := range ps {
			for _, dst := range ps {
				t.Run(fmt.Sprintf("%s/%s-to-%s", imgKind, src.kind, dst.kind), func(t *testing.T) {
					srcRef := src.ref(t, imgKind+"-src-"+dst.kind)
					dstRef := dst.ref(t, imgKind+"-dst-"+src.kind)
					want, err := Write(ctx, srcRef, images[imgKind](t, 2))
					if err != nil {
						t.Fatalf("writing the source: %v", err)
					}
					res, err := Copy(ctx, srcRef, dstRef, WithStore(store))
					if err != nil {
						t.Fatal(err)
					}
					if res.Source != want {
						t.Errorf("Source = %s, want %s (the digest Write returned)", res.Source, want)
					}
					got := checkOutput(t, dstRef, WithStore(store))
					if d := mustDigest(t, got); d != res.Digest {
						t.Errorf("Digest = %s, but reading the copy gives %s", res.Digest, d)
					}
					archive := src.kind == "archive" || dst.kind == "archive"
					if !archive && (res.Digest != want || res.DigestChanged) {
						t.Errorf("copy %s -> %s changed the digest %s to %s", src.kind, dst.kind, want, res.Digest)
					}
					if res.DigestChanged != (res.Digest != res.Source) || res.DigestChanged && res.Reason == "" {
						t.Errorf("result %+v is inconsistent", res)
					}
				})
			}
		}
	}
}
