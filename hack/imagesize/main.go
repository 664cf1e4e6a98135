// Command imagesize prints the size of images and what each adds on top of a
// base image, for make demo's closing figures:
//
//	go run ./hack/imagesize oci:stack:run oci:out:empty oci:out:webapp
//
// The first reference is the base (the run image); each other image's layers
// that the base does not have are what the build added. Sizes are the
// compressed layer blobs (what a registry stores and a pull transfers) and
// the uncompressed layer tars (what `docker images` shows as SIZE).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// layerSize is one layer's compressed and uncompressed size.
type layerSize struct {
	diffID             v1.Hash
	compressed, unpack int64
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imagesize BASE [IMAGE...]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "imagesize:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, base string, images []string) error {
	baseLayers, err := sizes(ctx, base)
	if err != nil {
		return err
	}
	inBase := map[v1.Hash]bool{}
	for _, l := range baseLayers {
		inBase[l.diffID] = true
	}
	c, u := total(baseLayers)
	fmt.Printf("%-28s %10s compressed %10s uncompressed (%d layers)\n", base, mib(c), mib(u), len(baseLayers))
	for _, ref := range images {
		layers, err := sizes(ctx, ref)
		if err != nil {
			return err
		}
		var added []layerSize
		for _, l := range layers {
			if !inBase[l.diffID] {
				added = append(added, l)
			}
		}
		c, u := total(layers)
		ac, au := total(added)
		fmt.Printf("%-28s %10s compressed %10s uncompressed; adds %s compressed, %s uncompressed in %d layers\n",
			ref, mib(c), mib(u), mib(ac), mib(au), len(added))
	}
	return nil
}

// sizes reads ref's layers and measures each, decompressing to count.
func sizes(ctx context.Context, ref string) ([]layerSize, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	img, err := oci.Read(ctx, r)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var out []layerSize
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		c, err := l.Size()
		if err != nil {
			return nil, err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %s: %w", d, ref, err)
		}
		out = append(out, layerSize{diffID: d, compressed: c, unpack: n})
	}
	return out, nil
}

func total(ls []layerSize) (compressed, uncompressed int64) {
	for _, l := range ls {
		compressed += l.compressed
		uncompressed += l.unpack
	}
	return compressed, uncompressed
}

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}
