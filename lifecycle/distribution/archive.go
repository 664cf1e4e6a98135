package distribution

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/klauspost/compress/gzip"

	"github.com/kilnbuild/kiln/oci"
)

// archiveKind is what a file locator holds.
type archiveKind int

const (
	archiveBuildpack archiveKind = iota // a tar or tgz of a buildpack directory
	archiveLayout                       // a tar of an OCI image layout (.cnb)
)

// fromFile lays out a buildpack archive or a .cnb file; source names it in
// errors.
func (f *fetcher) fromFile(ctx context.Context, file, source string) (Fetched, error) {
	kind, err := sniffArchive(file, f.o.kind.descriptor)
	if err != nil {
		return Fetched{}, err
	}
	stage, err := f.stageDir()
	if err != nil {
		return Fetched{}, err
	}
	root := filepath.Join(stage, "x")
	if err := os.Mkdir(root, 0o755); err != nil {
		return Fetched{}, err
	}
	if err := unpackArchive(ctx, file, root); err != nil {
		return Fetched{}, err
	}
	if kind == archiveLayout {
		img, err := layoutImage(root, f.o.platform)
		if err != nil {
			return Fetched{}, fmt.Errorf("reading %s as an OCI layout: %w", source, err)
		}
		fetched, err := f.fromImage(ctx, img, source)
		// The extracted layout goes with the staging directory.
		fetched.Main.Layer = nil
		for i := range fetched.Buildpacks {
			fetched.Buildpacks[i].Layer = nil
		}
		return fetched, err
	}
	dir, err := archiveRoot(root, f.o.kind.descriptor)
	if err != nil {
		return Fetched{}, fmt.Errorf("%s: %w", source, err)
	}
	d, err := readDescriptor(dir, f.o.kind)
	if err != nil {
		return Fetched{}, err
	}
	return f.installOne(dir, d.ID, d.Version)
}

// openArchive opens file as a tar stream, gunzipping it when it is gzipped.
// An uncompressed file is returned as itself, so that the tar reader can
// seek over entry bodies.
func openArchive(file string) (io.Reader, io.Closer, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	magic := make([]byte, 2)
	if n, _ := fh.ReadAt(magic, 0); n < 2 || !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return fh, fh, nil
	}
	zr, err := gzip.NewReader(bufio.NewReader(fh))
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return zr, fh, nil
}

// sniffArchive tells a .cnb (an OCI layout: oci-layout at the root) from a
// buildpack archive by the names of its entries.
func sniffArchive(file, descriptor string) (archiveKind, error) {
	r, c, err := openArchive(file)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return archiveBuildpack, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading %s as a tar archive: %w", file, err)
		}
		switch path.Clean("/" + hdr.Name) {
		case "/oci-layout":
			return archiveLayout, nil
		case "/" + descriptor:
			return archiveBuildpack, nil
		}
	}
}

// unpackArchive extracts a tar or tgz into dir with the oci unpacker: every
// name is resolved inside dir, absolute names (pack's .cnb files have them)
// are taken relative to it, and nothing is chowned.
func unpackArchive(ctx context.Context, file, dir string) error {
	r, c, err := openArchive(file)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := oci.UnpackLayer(ctx, r, dir, oci.UnpackOptions{Rootless: true}); err != nil {
		return fmt.Errorf("extracting %s: %w", file, err)
	}
	return nil
}

// archiveRoot finds the buildpack directory of an extracted archive:
// the root, or its only directory.
func archiveRoot(root, descriptor string) (string, error) {
	if _, err := os.Lstat(filepath.Join(root, descriptor)); err == nil {
		return root, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		dir := filepath.Join(root, entries[0].Name())
		if _, err := os.Lstat(filepath.Join(dir, descriptor)); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: no %s in the archive", ErrNoDescriptor, descriptor)
}

// layoutImage opens the OCI layout in dir and picks its image: the only
// one, or the one for platform p.
func layoutImage(dir string, p v1.Platform) (v1.Image, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	return pickImage(idx, p)
}

func pickImage(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var chosen *v1.Descriptor
	for i, d := range im.Manifests {
		if len(im.Manifests) == 1 || (d.Platform != nil && d.Platform.OS == p.OS &&
			d.Platform.Architecture == p.Architecture && (p.Variant == "" || d.Platform.Variant == p.Variant)) {
			chosen = &im.Manifests[i]
			break
		}
	}
	if chosen == nil {
		return nil, fmt.Errorf("no image for %s/%s among %d manifests", p.OS, p.Architecture, len(im.Manifests))
	}
	if chosen.MediaType.IsIndex() {
		child, err := idx.ImageIndex(chosen.Digest)
		if err != nil {
			return nil, err
		}
		return pickImage(child, p)
	}
	return idx.Image(chosen.Digest)
}
