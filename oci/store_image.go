package oci

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refNameAnnotation names a manifest in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// findRef returns the descriptor index.json names refName, if any.
func (l *layoutDir) findRef(refName string) (v1.Descriptor, bool, error) {
	idx, err := l.readIndex()
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	for _, d := range idx.Manifests {
		if d.Annotations[refNameAnnotation] == refName {
			return d, true, nil
		}
	}
	return v1.Descriptor{}, false, nil
}

// setRef points refName at desc in index.json, replacing what it named.
// desc's blob and the blobs in need must exist: they are checked under the
// index lock, which Prune holds while it removes blobs, so that the index
// never names a blob removed meanwhile (the error is then
// errBlobVanished).
func (l *layoutDir) setRef(refName string, desc v1.Descriptor, need ...v1.Hash) error {
	desc.Annotations = map[string]string{refNameAnnotation: refName}
	desc.Platform = nil
	return l.updateIndex(func(idx *v1.IndexManifest) error {
		for _, h := range append(need, desc.Digest) {
			if !l.hasBlob(h) {
				return fmt.Errorf("naming %s: blob %s: %w", refName, h, errBlobVanished)
			}
		}
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Annotations[refNameAnnotation] != refName {
				kept = append(kept, d)
			}
		}
		idx.Manifests = append(kept, desc)
		return nil
	})
}

// image returns the image desc names, picking platform from an index. Every
// blob it reads is verified against its digest. It fails with a
// *missingError when a blob the image needs is absent.
func (l *layoutDir) image(desc v1.Descriptor, platform v1.Platform) (v1.Image, error) {
	if desc.MediaType.IsIndex() {
		raw, err := l.readRequired(desc.Digest)
		if err != nil {
			return nil, err
		}
		child, err := pickPlatform(raw, platform)
		if err != nil {
			return nil, err
		}
		desc = child
	}
	raw, err := l.readRequired(desc.Digest)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", desc.Digest, err)
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !l.hasBlob(d.Digest) && len(d.URLs) == 0 {
			return nil, &missingError{digest: d.Digest}
		}
	}
	mt := desc.MediaType
	if m.MediaType != "" {
		mt = m.MediaType
	}
	return partial.CompressedToImage(&layoutImage{l: l, raw: raw, manifest: m, mediaType: mt})
}

func (l *layoutDir) readRequired(h v1.Hash) ([]byte, error) {
	if !l.hasBlob(h) {
		return nil, &missingError{digest: h}
	}
	return l.readBlob(h)
}

// errBlobVanished is setRef's error for a blob removed (pruned) after it
// was written or found.
var errBlobVanished = errors.New("the blob was removed meanwhile")

// missingError says a blob an image needs is not in the layout.
type missingError struct{ digest v1.Hash }

func (e *missingError) Error() string { return fmt.Sprintf("blob %s is missing", e.digest) }

// pickPlatform returns the descriptor in the raw index that matches want.
func pickPlatform(rawIndex []byte, want v1.Platform) (v1.Descriptor, error) {
	var idx v1.IndexManifest
	if err := json.Unmarshal(rawIndex, &idx); err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing index: %w", err)
	}
	for _, d := range idx.Manifests {
		if d.MediaType.IsImage() && d.Platform != nil && d.Platform.Satisfies(want) {
			return d, nil
		}
	}
	// An index with one image and no platform annotations has only one answer.
	if len(idx.Manifests) == 1 && idx.Manifests[0].Platform == nil && idx.Manifests[0].MediaType.IsImage() {
		return idx.Manifests[0], nil
	}
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform != nil {
			have = append(have, d.Platform.String())
		}
	}
	return v1.Descriptor{}, fmt.Errorf("picking %s from an index of %s: %w", want.String(), cmp.Or(strings.Join(have, ", "), "images without platforms"), ErrNoPlatform)
}

// layoutImage is an image whose blobs live in a layoutDir.
type layoutImage struct {
	l         *layoutDir
	raw       []byte
	manifest  *v1.Manifest
	mediaType types.MediaType
}

var _ partial.CompressedImageCore = (*layoutImage)(nil)

func (i *layoutImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *layoutImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *layoutImage) RawConfigFile() ([]byte, error) {
	return i.l.readBlob(i.manifest.Config.Digest)
}

func (i *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == i.manifest.Config.Digest {
		return &layoutBlob{l: i.l, desc: i.manifest.Config}, nil
	}
	for _, d := range i.manifest.Layers {
		if d.Digest == h {
			return &layoutBlob{l: i.l, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("finding layer %s in manifest: %w", h, ErrNotFound)
}

// layoutBlob is a layer (or config) blob in a layoutDir.
type layoutBlob struct {
	l    *layoutDir
	desc v1.Descriptor
}

func (b *layoutBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *layoutBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *layoutBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *layoutBlob) Compressed() (io.ReadCloser, error)  { return b.l.openBlob(b.desc.Digest) }

// Descriptor lets partial.Descriptor (and remote.Write) keep the manifest's
// descriptor, URLs and annotations included.
func (b *layoutBlob) Descriptor() (*v1.Descriptor, error) { d := b.desc; return &d, nil }
