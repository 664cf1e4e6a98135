package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestWriteLayoutVerifiedMemo: with a store, an output layout's blobs are
// hashed once and then recognised by their fstat; a blob changed in place
// since, even to the same size and mtime, is hashed again and repaired.
func TestWriteLayoutVerifiedMemo(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	defer s.Close()
	img := ociImage(t, 2)
	dir := filepath.Join(t.TempDir(), "out")
	ref := mustParse(t, "oci:"+dir+":app")
	for range 2 {
		if _, err := Write(ctx, ref, img, WithStore(s)); err != nil {
			t.Fatal(err)
		}
	}
	records, _ := filepath.Glob(filepath.Join(s.Dir(), "memo", "verified", "*"))
	if len(records) != 4 { // two layers, config, manifest
		t.Errorf("the store remembers %d verified blobs, want 4", len(records))
	}
	layers, _ := img.Layers()
	h, _ := layers[0].Digest()
	p := filepath.Join(dir, "blobs", "sha256", h.Hex)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := openLayout(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if !s.wasVerified(l.dir, h, f) {
		t.Error("an unchanged blob is not recognised")
	}
	f.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, ref, img, WithStore(s)); err != nil {
		t.Fatal(err)
	}
	back := checkOutput(t, ref)
	if err := validate.Image(back); err != nil {
		t.Errorf("a blob changed in place survived the memo: %v", err)
	}
}
