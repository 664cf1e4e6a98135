package lifecycle

import (
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
