package distribution

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/internal/atomicfile"
	"github.com/kilnbuild/kiln/oci"
)

// cnbBlob is one blob of a .cnb: its digest, size and contents.
type cnbBlob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

// WriteCNB writes img to path as a .cnb file, the way pack writes one (CNB
// contract §5.3): an uncompressed tar of an OCI image layout holding img
// alone, with a root "/" entry and absolute names (/blobs/sha256/<hex>,
// /index.json, /oci-layout), root-owned, mode 0755 for directories and 0644
// for files, Epoch mtimes. Blobs are streamed from img; the file is written
// next to path and renamed into place, so the same image gives the same
// bytes.
func WriteCNB(ctx context.Context, img v1.Image, path string) (err error) {
	blobs, index, err := cnbContents(img)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer tmp.Abort() // a no-op once committed
	bw := bufio.NewWriterSize(tmp, 256<<10)
	err = writeCNBTar(ctx, bw, blobs, index)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Commit()
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// cnbContents lists img's blobs sorted by digest, and the index.json that
// names its manifest.
func cnbContents(img v1.Image) ([]cnbBlob, []byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, err
	}
	var blobs []cnbBlob
	for _, l := range layers {
		h, err := l.Digest()
		if err != nil {
			return nil, nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, nil, err
		}
		blobs = append(blobs, cnbBlob{digest: h, size: size, open: l.Compressed})
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, nil, err
	}
	manifestDigest, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return nil, nil, err
	}
	for _, b := range [][]byte{cfg, manifest} {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		blobs = append(blobs, cnbBlob{digest: h, size: int64(len(b)), open: bytesOpener(b)})
	}
	slices.SortFunc(blobs, func(a, b cnbBlob) int { return strings.Compare(a.digest.Hex, b.digest.Hex) })
	blobs = slices.CompactFunc(blobs, func(a, b cnbBlob) bool { return a.digest == b.digest })
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{{MediaType: mt, Size: int64(len(manifest)), Digest: manifestDigest}},
	})
	if err != nil {
		return nil, nil, err
	}
	return blobs, index, nil
}

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// writeCNBTar writes the layout's entries in the order of a sorted walk.
func writeCNBTar(ctx context.Context, w io.Writer, blobs []cnbBlob, index []byte) error {
	tw := tar.NewWriter(w)
	for _, d := range []string{"/", "/blobs", "/blobs/sha256"} {
		if err := tw.WriteHeader(cnbHeader(d, tar.TypeDir, 0)); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeCNBBlob(tw, b); err != nil {
			return fmt.Errorf("writing blob %s: %w", b.digest, err)
		}
	}
	files := []struct {
		name    string
		content []byte
	}{{"/index.json", index}, {"/oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
	for _, f := range files {
		if err := tw.WriteHeader(cnbHeader(f.name, tar.TypeReg, int64(len(f.content)))); err != nil {
			return err
		}
		if _, err := tw.Write(f.content); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeCNBBlob(tw *tar.Writer, b cnbBlob) error {
	rc, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(cnbHeader("/blobs/sha256/"+b.digest.Hex, tar.TypeReg, b.size)); err != nil {
		return err
	}
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != b.size {
		return fmt.Errorf("%w: %d bytes, expected %d", oci.ErrDigestMismatch, n, b.size)
	}
	return nil
}

func cnbHeader(name string, typ byte, size int64) *tar.Header {
	mode := fs.FileMode(0o644)
	if typ == tar.TypeDir {
		mode = 0o755
	}
	return &tar.Header{Name: name, Typeflag: typ, Mode: int64(mode), Size: size, ModTime: oci.Epoch, Format: tar.FormatPAX}
}
