package lifecycle

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
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
