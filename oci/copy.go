package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CopyResult says what Copy wrote.
type CopyResult struct {
	// Source is the digest of the manifest read from the source: for an
	// index, the manifest of the platform's image.
	Source v1.Hash
	// Digest is the digest of the manifest at the destination.
	Digest v1.Hash
	// DigestChanged is set when Digest differs from Source, and Reason says
	// why (a docker archive stores no manifest, so one is made anew).
	DigestChanged bool
	Reason        string
}

// Copy copies the image src names to dst. Between layouts and registries the
// manifest is copied byte for byte, so its digest is kept; a docker archive
// holds no manifest, so copying into or out of one yields a new digest, which
// the result reports. From an archive into a layout, the image is given OCI
// media types. Registry sources are read through the store when one is
// given (WithStore), so the copy also fills the store.
func Copy(ctx context.Context, src, dst Reference, opts ...Option) (CopyResult, error) {
	img, err := Read(ctx, src, opts...)
	if err != nil {
		return CopyResult{}, fmt.Errorf("copying %s: %w", src, err)
	}
	srcDigest, err := img.Digest()
	if err != nil {
		return CopyResult{}, fmt.Errorf("copying %s: %w", src, err)
	}
	if dst.Kind == KindArchive && dst.Name == nil {
		// docker load names the image after the source when it has a tag.
		if t, ok := src.Name.(name.Tag); ok {
			dst.Name = t
		}
	}
	if src.Kind == KindArchive && dst.Kind == KindLayout {
		// The digest changes anyway; OCI media types make the layout readable
		// by every OCI tool (skopeo and umoci skip Docker-typed manifests).
		if img, err = toOCI(img); err != nil {
			return CopyResult{}, fmt.Errorf("copying %s: converting to OCI media types: %w", src, err)
		}
	}
	h, err := Write(ctx, dst, img, opts...)
	if err != nil {
		return CopyResult{}, fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	res := CopyResult{Source: srcDigest, Digest: h, DigestChanged: h != srcDigest}
	if res.DigestChanged {
		res.Reason = changeReason(src, dst)
	}
	return res, nil
}

func changeReason(src, dst Reference) string {
	switch {
	case dst.Kind == KindArchive:
		return "a docker archive stores no manifest; the manifest is recomputed (Docker media types) when the archive is read"
	case src.Kind == KindArchive && dst.Kind == KindLayout:
		return "a docker archive stores no manifest; the one written was made from the archive's config and layers, with OCI media types"
	case src.Kind == KindArchive:
		return "a docker archive stores no manifest; the one written was made from the archive's config and layers"
	}
	return "the destination rewrote the manifest"
}
