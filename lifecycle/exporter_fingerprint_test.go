package lifecycle

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestExportReusesUnchangedLayers: a second export into the same store
// finds every layer again by its fingerprint, compresses nothing and gives
// the same image as an export into an empty store; a file changed in place
// (same size, same mtime) is seen.
func TestExportReusesUnchangedLayers(t *testing.T) {
	f := newFixture(t)
	// Big enough for the tree's stat snapshot to be remembered: the change
	// below must be seen through it.
	put(t, filepath.Join(f.layers, "acme_node", "node", "lib", "big"), strings.Repeat("x", minSnapshotBytes), 0o644)
	run := testRunImage(t, false)
	e := exporterFor(t, f, run, io.Discard)
	first, rep := export(t, e, f)
	if rep.CompressedBytes == 0 {
		t.Error("the first export compressed nothing")
	}
	again, rep := export(t, e, f)
	if rep.CompressedBytes != 0 {
		t.Errorf("an unchanged export compressed %d bytes", rep.CompressedBytes)
	}
	if snaps, _ := filepath.Glob(filepath.Join(e.Store.Dir(), "lifecycle", "snapshots", "*")); len(snaps) != 1 {
		t.Errorf("remembered snapshots %v, want the node layer's", snaps)
	}
	if d1, d2 := imageDigestOf(t, first), imageDigestOf(t, again); d1 != d2 {
		t.Errorf("unchanged export: %s, first %s", d2, d1)
	}
	fresh, _ := export(t, exporterFor(t, f, run, io.Discard), f)
	if d1, d2 := imageDigestOf(t, first), imageDigestOf(t, fresh); d1 != d2 {
		t.Errorf("export into an empty store: %s, with reuse %s", d2, d1)
	}

	node := filepath.Join(f.layers, "acme_node", "node", "bin", "node")
	fi, err := os.Stat(node)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a ctime the kernel's clock can tell apart
	if err := os.WriteFile(node, []byte("#!/bin/sh\necho NODE\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(node, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	changed, rep := export(t, e, f)
	if rep.CompressedBytes == 0 {
		t.Error("a changed layer was not written again")
	}
	fresh, _ = export(t, exporterFor(t, f, run, io.Discard), f)
	if d1, d2 := imageDigestOf(t, changed), imageDigestOf(t, fresh); d1 != d2 || d1 == imageDigestOf(t, first) {
		t.Errorf("after a change: %s, into an empty store %s, before %s", d1, d2, imageDigestOf(t, first))
	}
}

func imageDigestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExportTeeFingerprints: a first export (no previous image) writes and
// fingerprints each layer in one pass; its fingerprints must be exactly
// those of the fingerprint-first pass, so that the next export (with a
// previous image) finds every layer again and compresses nothing, with a
// large tree of hard links, symlinks and files of every size.
func TestExportTeeFingerprints(t *testing.T) {
	f := newFixture(t)
	big := filepath.Join(f.layers, "acme_node", "modules", "big")
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for i := range 8 { // over minSnapshotBytes: the stat snapshot is recorded too
		put(t, filepath.Join(big, fmt.Sprintf("f%d", i)), string(data[:len(data)-i*1000]), 0o644)
	}
	if err := os.Link(filepath.Join(big, "f0"), filepath.Join(big, "f0.link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f1", filepath.Join(big, "f1.sym")); err != nil {
		t.Fatal(err)
	}
	run := testRunImage(t, false)
	first := exporterFor(t, f, run, nil)
	prev, rep := export(t, first, f)
	if rep.CompressedBytes == 0 {
		t.Fatal("the first export compressed nothing")
	}
	// The stat snapshots the tee recorded go: the second export must walk
	// and read the trees, and find each layer by a fingerprint computed
	// the fingerprint-first way.
	snaps, err := filepath.Glob(filepath.Join(first.Store.Dir(), "lifecycle", "snapshots", "*"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("the first export recorded no stat snapshot (%v): the tee did not run", err)
	}
	for _, p := range snaps {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	again := exporterFor(t, f, run, nil)
	again.Store = first.Store
	again.Previous = prev
	img, rep2 := export(t, again, f)
	if rep2.CompressedBytes != 0 {
		t.Errorf("the second export compressed %d bytes: the one-pass fingerprints differ from the fingerprint-first ones", rep2.CompressedBytes)
	}
	if got, want := imageDigest(t, img), imageDigest(t, prev); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	// And the same image as a store that never saw the tee.
	plain := exporterFor(t, f, run, nil)
	plain.Previous = prev // fingerprint first, then write
	img3, _ := export(t, plain, f)
	if got, want := imageDigest(t, img3), imageDigest(t, prev); got != want {
		t.Errorf("fingerprint-first export: digest %s, want %s", got, want)
	}
}
