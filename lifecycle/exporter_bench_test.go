package lifecycle

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkExportEmpty exports the walkthrough's empty build (an app of a
// few files) with a 2 MiB launcher into a warm store: the time the export
// adds to a build.
func BenchmarkExportEmpty(b *testing.B) {
	root := b.TempDir()
	layers, app := filepath.Join(root, "layers"), filepath.Join(root, "workspace")
	empty := GroupEntry{ID: "buildpacks/empty", Version: "0.0.1", API: "0.2"}
	res := BuildResult{Buildpacks: []BuildpackOutput{{GroupEntry: empty}}, Metadata: BuildMetadata{Buildpacks: []GroupEntry{empty}}}
	if err := WriteBuildMetadata(filepath.Join(layers, "config", "metadata.toml"), res.Metadata, "0.13"); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"index.js", "package.json", "README.md"} {
		if err := os.MkdirAll(app, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, name), []byte("content of "+name), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// A launcher-like binary: compressible, as executables are.
	launcher := make([]byte, 2<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range launcher {
		launcher[i] = byte(r.IntN(16))
	}
	e := exporterFor(b, fixture{layers: layers, app: app}, testRunImage(b, false), nil)
	e.Launcher = launcher
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		img, _, err := e.Run(ctx, res)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := img.Digest(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportUnchanged7k exports a build whose one launch layer holds
// 7,172 files (the size of the heavy build), unchanged since the
// export before: issue #16 asks that this cost at most 50 ms (fingerprints
// from stat, no file read).
func BenchmarkExportUnchanged7k(b *testing.B) {
	root := b.TempDir()
	layers, app := filepath.Join(root, "layers"), filepath.Join(root, "workspace")
	bp := GroupEntry{ID: "bench/tree", Version: "0.0.1", API: "0.10"}
	tree := filepath.Join(layers, EscapeID(bp.ID), "tree")
	data := make([]byte, 4096)
	for i := range 7172 {
		dir := filepath.Join(tree, "pkg"+strconv.Itoa(i/40))
		if i%40 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)+".js"), data[:i%4096], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "app.sh"), []byte("echo hi\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	res := BuildResult{
		Buildpacks: []BuildpackOutput{{GroupEntry: bp, Layers: []Layer{
			{Name: "tree", Dir: SameDir(filepath.Join(layers, EscapeID(bp.ID))).join("tree"), HasDir: true, Launch: true, Cache: true}}}},
		Metadata: BuildMetadata{Buildpacks: []GroupEntry{bp}, Processes: []Process{{Type: "web", Command: []string{"sh", "app.sh"}, BuildpackID: bp.ID}}},
	}
	if err := WriteBuildMetadata(filepath.Join(layers, "config", "metadata.toml"), res.Metadata, "0.13"); err != nil {
		b.Fatal(err)
	}
	launcher := make([]byte, 2<<20)
	e := exporterFor(b, fixture{layers: layers, app: app}, testRunImage(b, false), nil)
	e.Launcher = launcher
	ctx := context.Background()
	if _, _, err := e.Run(ctx, res); err != nil { // the export before
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		img, r, err := e.Run(ctx, res)
		if err != nil {
			b.Fatal(err)
		}
		if r.CompressedBytes != 0 {
			b.Fatalf("an unchanged export compressed %d bytes", r.CompressedBytes)
		}
		if _, err := img.Digest(); err != nil {
			b.Fatal(err)
		}
	}
}
