package oci

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnbuild/kiln/oci/internal/fsutil"
	"github.com/kilnbuild/kiln/oci/internal/treegen"
)

// benchTree generates a mixed tree of mb megabytes once per benchmark.
func benchTree(b *testing.B, mb int64) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "tree")
	if err := treegen.Generate(dir, mb<<20); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkLayerFromDir exports a 50 MB mixed tree as a layer: tar, both
// hashes, parallel gzip and the temp file. hack/bench.d/layer-export.sh
// measures a 200 MB tree against a tar | pigz | sha256sum floor.
func BenchmarkLayerFromDir(b *testing.B) {
	dir := benchTree(b, 50)
	tmp := b.TempDir()
	b.ResetTimer()
	for b.Loop() {
		l, err := LayerFromDir(context.Background(), dir, LayerOptions{TempDir: tmp})
		if err != nil {
			b.Fatal(err)
		}
		size, _ := l.Size()
		b.ReportMetric(float64(size)/(1<<20), "MB-compressed")
		p, _ := LayerFile(l)
		os.Remove(p)
	}
}

// BenchmarkLayerFromDirMemo measures a store hit: the tree is only tarred
// and hashed, nothing is compressed.
func BenchmarkLayerFromDirMemo(b *testing.B) {
	dir := benchTree(b, 50)
	s, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	opts := LayerOptions{Store: s}
	if _, err := LayerFromDir(context.Background(), dir, opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := LayerFromDir(context.Background(), dir, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpack unpacks a layer of a 50 MB mixed tree.
func BenchmarkUnpack(b *testing.B) {
	dir := benchTree(b, 50)
	l, err := LayerFromDir(context.Background(), dir, LayerOptions{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	var tarball bytes.Buffer
	rc, err := l.Uncompressed()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tarball.ReadFrom(rc); err != nil {
		b.Fatal(err)
	}
	rc.Close()
	base := b.TempDir()
	b.SetBytes(int64(tarball.Len()))
	b.ResetTimer()
	for b.Loop() {
		target := filepath.Join(base, "root")
		if err := os.Mkdir(target, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := UnpackLayer(context.Background(), bytes.NewReader(tarball.Bytes()), target, UnpackOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := fsutil.RemoveAll(target); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
