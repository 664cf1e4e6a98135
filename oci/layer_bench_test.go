package oci

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
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

// BenchmarkTreeWalkSmallFiles walks a tree of 20,000 files of 100 bytes
// in 200 directories (a node_modules, say) into a sink that reads every
// file: the cost per entry of the walk itself (directory handles, stat,
// open), which the exporter's fingerprints pay on every layer.
func BenchmarkTreeWalkSmallFiles(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "tree")
	body := bytes.Repeat([]byte("x"), 100)
	for d := range 200 {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%03d", d), "lib")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.js", f)), body, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		var s countingSink
		if err := (&TreeWalker{}).Walk(context.Background(), dir, "/layers/x", 1000, 1000, &s); err != nil {
			b.Fatal(err)
		}
		if s.files != 20000 {
			b.Fatalf("walked %d files, want 20000", s.files)
		}
	}
}

// countingSink reads the files it is given and counts them.
type countingSink struct{ files int }

func (s *countingSink) Dir(string, fs.FileMode, int, int) error { return nil }
func (s *countingSink) File(_ string, _ fs.FileMode, _, _ int, _ int64, r io.Reader) error {
	s.files++
	_, err := io.Copy(io.Discard, r)
	return err
}
func (s *countingSink) Symlink(string, string, int, int) error               { return nil }
func (s *countingSink) Hardlink(string, string, fs.FileMode, int, int) error { return nil }
func (s *countingSink) Device(string, fs.FileMode, int, int, uint64) error   { return nil }
