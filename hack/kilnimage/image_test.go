package main

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/oci"
)

// TestImage writes kiln's image twice from the same binary, in two places:
// the same digest; a valid image holding the binary and nothing of the
// machine's, run as a numeric non-root user.
func TestImage(t *testing.T) {
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "kiln")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho not really kiln\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	ref1 := "oci:" + filepath.Join(t.TempDir(), "a") + ":1.0"
	ref2 := "oci:" + filepath.Join(t.TempDir(), "b") + ":1.0"
	d1, err := write(ctx, bin, "1.0", "amd64", ref1)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := write(ctx, bin, "1.0", "amd64", ref2)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("digests %s and %s for the same binary", d1, d2)
	}
	r, err := oci.ParseReference(ref1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.Read(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != nonRoot || cf.Config.Entrypoint[0] != binPath || !cf.Created.Time.Equal(oci.Epoch) {
		t.Errorf("config: user %q, entrypoint %q, created %s", cf.Config.User, cf.Config.Entrypoint, cf.Created)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(oci.Epoch) {
			t.Errorf("%s: owner %d:%d, mtime %s", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		got = append(got, fmt.Sprintf("%s %o", h.Name, h.Mode))
	}
	want := []string{"/tmp 1777", "/usr 755", "/usr/local 755", "/usr/local/bin 755", "/usr/local/bin/kiln 755"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
