package stackgen

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/kilnbuild/kiln/oci"
)

const rootfsPrefix = "rootfs:"

// readImage reads an image reference through the store.
func (o *options) readImage(ctx context.Context, ref string) (v1.Image, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	opts := append([]oci.Option{oci.WithPullPolicy(o.policy)}, o.ociOpts...)
	if o.store != nil {
		opts = append(opts, oci.WithStore(o.store))
	}
	if o.platform != nil {
		opts = append(opts, oci.WithPlatform(*o.platform))
	}
	img, err := oci.Read(ctx, r, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading base %s: %w", ref, err)
	}
	return img, nil
}

// scratch is an empty OCI image for platform p.
func scratch(p v1.Platform) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.RootFS.Type = "layers"
	return mutate.ConfigFile(img, cf)
}

// loadBase returns the base of an image: the image a reference names, an
// image of one layer made from a root filesystem, or an empty image when
// base is "" (platform p then sets os/arch).
func (o *options) loadBase(ctx context.Context, base string, p v1.Platform) (v1.Image, error) {
	if base == "" {
		return scratch(p)
	}
	if !strings.HasPrefix(base, rootfsPrefix) {
		img, err := o.readImage(ctx, base)
		if err != nil {
			return nil, err
		}
		return ociTyped(img)
	}
	path := strings.TrimPrefix(base, rootfsPrefix)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading root filesystem %s: %w", path, err)
	}
	var layer v1.Layer
	if fi.IsDir() {
		// A directory's ownership is normalised to root: a root filesystem
		// with other owners should come as a tar, which keeps them.
		layer, err = oci.LayerFromDir(ctx, path, oci.LayerOptions{Store: o.store, ModTime: o.created})
	} else {
		layer, err = o.layerFromTar(ctx, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading root filesystem %s: %w", path, err)
	}
	img, err := scratch(p)
	if err != nil {
		return nil, err
	}
	return oci.Mutate(img, oci.Mutation{
		Layers:  []oci.Append{{Layer: layer, History: v1.History{CreatedBy: "kiln stack: root filesystem", Comment: "rootfs"}}},
		Created: &o.created,
	})
}

// layerFromTar rewrites a root filesystem tarball (plain, gzip or zstd) as a
// deterministic layer: entries in the tarball's order with their modes and
// owners, mtimes set, names and link targets kept; device nodes and FIFOs
// are left out (the runtime provides /dev).
func (o *options) layerFromTar(ctx context.Context, path string) (v1.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, closeFn, err := decompressAny(f)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	w, err := oci.NewLayerWriter(oci.LayerOptions{Store: o.store, ModTime: o.created})
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			w.Abort()
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
		name := cleanName(h.Name)
		if name == "" {
			continue
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			err = w.Dir(name, mode, h.Uid, h.Gid)
		case tar.TypeReg, tar.TypeRegA:
			err = w.File(name, mode, h.Uid, h.Gid, h.Size, tr)
		case tar.TypeSymlink:
			err = w.Symlink(name, h.Linkname, h.Uid, h.Gid)
		case tar.TypeLink:
			err = w.Hardlink(name, cleanName(h.Linkname), mode&fs.ModePerm, h.Uid, h.Gid)
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w.Layer()
}

// decompressAny sniffs gzip and zstd magic numbers.
func decompressAny(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return gz, func() { gz.Close() }, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		z, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return br, func() {}, nil
}

// ociTyped gives an image with Docker media types OCI ones, so that stack
// images are OCI images whatever their base (umoci and skopeo skip
// Docker-typed manifests in a layout). The layers' bytes and digests stay
// the same; only the manifest that names them changes.
func ociTyped(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil || mt == types.OCIManifestSchema1 {
		return img, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("converting to OCI media types: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("converting to OCI media types: %w", err)
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		if lmt, err := l.MediaType(); err != nil || lmt != types.DockerLayer {
			return img, err // foreign or uncompressed layers: left as they are
		}
		adds[i] = mutate.Addendum{Layer: ociLayer{l}, MediaType: types.OCILayer}
	}
	if out, err = mutate.Append(out, adds...); err != nil {
		return nil, fmt.Errorf("converting to OCI media types: %w", err)
	}
	return mutate.ConfigFile(out, cf.DeepCopy())
}

// ociLayer reports a Docker gzip layer as an OCI gzip layer, which has the
// same bytes.
type ociLayer struct{ v1.Layer }

func (ociLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
