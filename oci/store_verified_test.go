package oci

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
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
	flipInPlace(t, p)
	if _, err := Write(ctx, ref, img, WithStore(s)); err != nil {
		t.Fatal(err)
	}
	back := checkOutput(t, ref)
	if err := validate.Image(back); err != nil {
		t.Errorf("a blob changed in place survived the memo: %v", err)
	}
}

// TestWriteLayoutCopiesStoreBlob: a layer a LayerWriter put in the store is
// remembered as hashed (also when the store had its blob already), so writing it to an output layout copies the blob
// by the kernel without hashing it again (progress comes per chunk, not
// per read). A store blob changed in place since is hashed on the way out
// and refused, never copied on the record's word.
func TestWriteLayoutCopiesStoreBlob(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	defer s.Close()
	content := make([]byte, copyChunk+copyChunk/2) // two chunks
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	// Written twice: the second LayerWriter's file replaces the blob the
	// first left, and is the one remembered.
	var layer v1.Layer
	for range 2 {
		w, err := NewLayerWriter(LayerOptions{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.File("blob", 0o644, 0, 0, int64(len(content)), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if layer, err = w.Layer(); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := layer.Digest()
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	count := func(p Progress) {
		if p.Phase == PhaseWrite && p.Blob == h {
			events++
		}
	}
	ref := mustParse(t, "oci:"+filepath.Join(t.TempDir(), "out")+":app")
	if _, err := Write(ctx, ref, img, WithStore(s), WithProgress(count)); err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(checkOutput(t, ref)); err != nil {
		t.Fatal(err)
	}
	// Start, two chunks, done; a hashed copy reports every 256 KiB.
	if events != 4 {
		t.Errorf("writing the store's blob reported %d progress events, want 4 (copied by chunk, unhashed)", events)
	}

	flipInPlace(t, s.layout.blobPath(h))
	ref = mustParse(t, "oci:"+filepath.Join(t.TempDir(), "out2")+":app")
	_, err = Write(ctx, ref, img, WithStore(s))
	var de *DigestError
	if !errors.As(err, &de) || de.Got == h {
		t.Fatalf("writing a store blob changed in place gave %v, want a digest mismatch", err)
	}
}

// flipInPlace changes a byte in the middle of the file at p, in place, and
// sets its times back: the same size and mtime, another ctime.
func flipInPlace(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
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
}
