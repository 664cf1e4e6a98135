package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/kilnbuild/kiln/internal/testutil"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreFetchesOnce(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	ref := mustParse(t, reg.Host+"/kiln/once:1")
	want, err := Write(ctx, ref, ociImage(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	read := func(policy PullPolicy) v1.Image {
		t.Helper()
		img, err := Read(ctx, ref, WithStore(store), WithPullPolicy(policy))
		if err != nil {
			t.Fatalf("Read with pull %s: %v", policy, err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("validating the image read with pull %s: %v", policy, err)
		}
		if got := mustDigest(t, img); got != want {
			t.Fatalf("Read with pull %s: digest %s, want %s", policy, got, want)
		}
		return img
	}

	before := reg.BlobFetches()
	read(PullIfMissing)
	if n := reg.BlobFetches() - before; n != 3 {
		t.Errorf("the first pull fetched %d blobs, want 3 (config and 2 layers)", n)
	}
	requests := len(reg.Requests())
	read(PullIfMissing)
	if n := len(reg.Requests()) - requests; n != 0 {
		t.Errorf("a second Read with if-missing sent %d requests, want none: %v", n, reg.Requests()[requests:])
	}
	before = reg.BlobFetches()
	read(PullAlways)
	if n := reg.BlobFetches() - before; n != 0 {
		t.Errorf("Read with always fetched %d blobs again, want 0", n)
	}

	reg.Close()
	read(PullNever)
	read(PullIfMissing)
	if _, err := Read(ctx, ref, WithStore(store), WithPullPolicy(PullAlways)); err == nil {
		t.Error("Read with always succeeded with the registry down")
	}
}

func TestStorePullNeverAbsent(t *testing.T) {
	ref := mustParse(t, "registry.invalid/kiln/absent:1")
	// A transport that fails the test proves no request is even attempted.
	_, err := Read(context.Background(), ref, WithStore(openStore(t)), WithPullPolicy(PullNever),
		WithTransport(failTransport{t}))
	if !errors.Is(err, ErrNotInStore) || !strings.Contains(err.Error(), "registry.invalid/kiln/absent:1") {
		t.Fatalf("Read = %v, want ErrNotInStore naming the reference", err)
	}
}

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", req.Method, req.URL)
	return nil, errors.New("no network in this test")
}

func TestStorePicksPlatform(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	amd, arm := ociImage(t, 1), ociImage(t, 1)
	// Each image's config says its platform, as in real indexes.
	for arch, img := range map[string]*v1.Image{"amd64": &amd, "arm64": &arm} {
		cf, err := (*img).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Architecture = arch
		if *img, err = mutate.ConfigFile(*img, cf); err != nil {
			t.Fatal(err)
		}
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := mustParse(t, reg.Host+"/kiln/multi:1")
	if err := remote.WriteIndex(ref.Name, idx); err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	for _, tc := range []struct {
		arch string
		want v1.Image
	}{{"arm64", arm}, {"amd64", amd}} {
		p := WithPlatform(v1.Platform{OS: "linux", Architecture: tc.arch})
		if _, err := Read(ctx, ref, WithStore(store), p, WithPullPolicy(PullNever)); !errors.Is(err, ErrNotInStore) {
			t.Errorf("%s before pulling: %v, want ErrNotInStore", tc.arch, err)
		}
		img, err := Read(ctx, ref, WithStore(store), p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mustDigest(t, img), mustDigest(t, tc.want); got != want {
			t.Errorf("%s: got %s, want %s", tc.arch, got, want)
		}
		if _, err := Read(ctx, ref, WithStore(store), p, WithPullPolicy(PullNever)); err != nil {
			t.Errorf("%s after pulling, with never: %v", tc.arch, err)
		}
	}
	_, err := Read(ctx, ref, WithStore(store), WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"}))
	if !errors.Is(err, ErrNoPlatform) {
		t.Errorf("s390x: %v, want ErrNoPlatform", err)
	}
}

func TestStoreDigestMismatch(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	ref := mustParse(t, reg.Host+"/kiln/corrupt:1")
	img := ociImage(t, 1)
	if _, err := Write(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	if _, err := Read(ctx, ref, WithStore(store)); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(store.Dir(), "blobs", "sha256", digest.Hex)
	if err := os.WriteFile(blob, []byte("not the layer"), 0o644); err != nil {
		t.Fatal(err)
	}

	stored, err := Read(ctx, ref, WithStore(store), WithPullPolicy(PullNever))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := stored.LayerByDigest(digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := sl.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	checkMismatch(t, err, digest, blob)

	dst := filepath.Join(t.TempDir(), "layout")
	_, err = Copy(ctx, ref, mustParse(t, "oci:"+dst+":copy"), WithStore(store), WithPullPolicy(PullNever))
	checkMismatch(t, err, digest, blob)
	entries, err := os.ReadDir(filepath.Join(dst, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == digest.Hex || strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("the failed copy left %s in the destination", e.Name())
		}
	}
	if _, err := Read(ctx, mustParse(t, "oci:"+dst+":copy")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the failed copy is readable from the destination: %v", err)
	}
}

func checkMismatch(t *testing.T, err error, digest v1.Hash, source string) {
	t.Helper()
	var de *DigestError
	if !errors.Is(err, ErrDigestMismatch) || !errors.As(err, &de) {
		t.Fatalf("got %v, want a digest mismatch", err)
	}
	if de.Want != digest || de.Source != source {
		t.Errorf("the mismatch names %s from %s, want %s from %s", de.Want, de.Source, digest, source)
	}
	if !strings.Contains(err.Error(), digest.String()) || !strings.Contains(err.Error(), source) {
		t.Errorf("the message %q names neither the digest nor the source", err)
	}
}
