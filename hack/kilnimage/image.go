package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/oci"
)

// binPath is where the image holds kiln.
const binPath = "/usr/local/bin/kiln"

// nonRoot is the image's user: no account of the image, never root.
const nonRoot = "65532:65532"

// image is kiln's image for the binary at path, and its layer (a temp file
// the caller removes: oci.LayerFile).
func image(ctx context.Context, path, version, arch string) (v1.Image, v1.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: os.TempDir()})
	if err != nil {
		return nil, nil, err
	}
	if err := w.Dir("/tmp", fs.ModeDir|fs.ModeSticky|0o777, 0, 0); err != nil {
		w.Abort()
		return nil, nil, err
	}
	for _, d := range []string{"/usr", "/usr/local", "/usr/local/bin"} {
		if err := w.Dir(d, fs.ModeDir|0o755, 0, 0); err != nil {
			w.Abort()
			return nil, nil, err
		}
	}
	if err := w.File(binPath, 0o755, 0, 0, fi.Size(), f); err != nil {
		w.Abort()
		return nil, nil, err
	}
	layer, err := w.Layer()
	if err != nil {
		return nil, nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		OS: "linux", Architecture: arch, Created: v1.Time{Time: oci.Epoch},
		RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{binPath},
			Env:        []string{"PATH=/usr/local/bin"},
			User:       nonRoot,
			WorkingDir: "/",
			Labels: map[string]string{
				"org.opencontainers.image.title":   "kiln",
				"org.opencontainers.image.version": version,
			},
		},
	})
	if err != nil {
		return nil, nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: oci.Epoch}, CreatedBy: "kilnimage: " + binPath}})
	return img, layer, err
}

// write writes kiln's image to the reference ref and returns its digest.
func write(ctx context.Context, binary, version, arch, ref string) (v1.Hash, error) {
	img, layer, err := image(ctx, binary, version, arch)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("making the image of %s: %w", binary, err)
	}
	if p, ok := oci.LayerFile(layer); ok {
		defer os.Remove(p)
	}
	r, err := oci.ParseReference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	return oci.Write(ctx, r, img)
}
