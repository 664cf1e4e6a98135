package lifecycle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/oci"
)

// sboms gives back the SBOM files of the layers whose metadata was
// restored, as <layers>/<bp>/<layer>.sbom.<ext> (CNB contract §2.2): from
// the previous image's launch SBOM layer and the cache's SBOM layer, both
// unpacked into a staging directory that is removed afterwards. A buildpack
// that keeps a layer thus keeps its SBOM, and the image stays the same.
// SBOMs are not essential: anything unreadable is a warning.
func (s *restoring) sboms(ctx context.Context) {
	if len(s.restored) == 0 {
		return
	}
	var layers []v1.Layer
	if m := s.r.Analysis.Metadata; m != nil && m.SBOM != nil && m.SBOM.SHA != "" {
		if l, ok := s.previousLayer(m.SBOM.SHA); ok {
			layers = append(layers, l)
		}
	}
	if m := s.r.Analysis.CacheMetadata.SBOM; m != nil && m.SHA != "" && s.r.Analysis.Cache != nil {
		if h, err := v1.NewHash(m.SHA); err == nil {
			if l, err := s.r.Analysis.Cache.LayerByDiffID(h); err == nil {
				layers = append(layers, l)
			}
		}
	}
	if len(layers) == 0 {
		return
	}
	stagingName, err := s.layers.MkdirTemp(".restore-sbom-")
	if err != nil {
		fmt.Fprintf(s.out, "Warning: not restoring SBOM files: %v\n", err)
		return
	}
	defer s.layers.RemoveAll(stagingName)
	staging, err := s.layers.OpenDir(stagingName)
	if err != nil {
		fmt.Fprintf(s.out, "Warning: not restoring SBOM files: %v\n", err)
		return
	}
	defer staging.Close()
	for _, l := range layers {
		if err := unpackVerified(ctx, l, staging.HandlePath(), s.r.Unpack); err != nil {
			fmt.Fprintf(s.out, "Warning: not restoring SBOM files: %v\n", err)
			return
		}
	}
	for _, key := range sortedKeys(s.restored) {
		bp, layer, _ := strings.Cut(key, "/")
		bpDir, err := s.layers.OpenDir(bp)
		if err != nil {
			fmt.Fprintf(s.out, "Warning: not restoring the SBOM of %s/%s: %v\n", bp, layer, err)
			continue
		}
		for _, kind := range []string{"launch", "cache"} {
			rel := strings.TrimPrefix(path.Join(s.r.Layers.Container, "sbom", kind, bp, layer), "/")
			if err := s.copySBOMs(staging, rel, bpDir, layer); err != nil {
				fmt.Fprintf(s.out, "Warning: not restoring the SBOM of %s/%s: %v\n", bp, layer, err)
			}
		}
		bpDir.Close()
	}
}

// copySBOMs copies the sbom.<ext> files of the directory rel below staging
// to <layer>.sbom.<ext> in the buildpack's layers dir bpDir.
func (s *restoring) copySBOMs(staging *beneath.Dir, rel string, bpDir *beneath.Dir, layer string) error {
	src, err := staging.OpenDir(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer src.Close()
	names, err := src.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if ok, _ := path.Match("sbom.*.json", n); !ok {
			continue
		}
		ext := strings.TrimPrefix(n, "sbom.")
		if err := copyFileAt(src, n, bpDir, layer+".sbom."+ext, s.r.Owner); err != nil {
			return err
		}
	}
	return nil
}

// previousLayer returns the layer with diffID sha from the store, else the
// previous image.
func (s *restoring) previousLayer(sha string) (v1.Layer, bool) {
	h, err := v1.NewHash(sha)
	if err != nil {
		return nil, false
	}
	if s.r.Store != nil {
		if l, ok := s.r.Store.LayerByDiffID(h); ok {
			return l, true
		}
	}
	if s.r.Analysis.Previous == nil {
		return nil, false
	}
	l, err := s.r.Analysis.Previous.LayerByDiffID(h)
	return l, err == nil
}

// unpackVerified unpacks l into dir and checks its content against its
// diffID.
func unpackVerified(ctx context.Context, l v1.Layer, dir string, opts oci.UnpackOptions) error {
	want, err := l.DiffID()
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("reading layer %s: %w", want, err)
	}
	digest := sha256.New()
	tee := io.TeeReader(rc, digest)
	err = oci.UnpackLayer(ctx, tee, dir, opts)
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the end of the stream verifies the blob
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpacking layer %s: %w", want, err)
	}
	if got := fmt.Sprintf("sha256:%x", digest.Sum(nil)); got != want.String() {
		return fmt.Errorf("layer %s: the content's diffID is %s", want, got)
	}
	return nil
}
