package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// image returns the image the store holds for ref, or an error wrapping
// ErrNotInStore (the reference was never pulled, or blobs are missing).
func (s *Store) image(ref name.Reference, platform v1.Platform) (v1.Image, error) {
	desc, ok, err := s.layout.findRef(ref.Name())
	if err != nil {
		return nil, err
	}
	if !ok {
		if d, isDigest := ref.(name.Digest); isDigest {
			// Pulled under another name: a manifest is found by its digest.
			h, err := v1.NewHash(d.DigestStr())
			if err == nil && s.layout.hasBlob(h) {
				if img, err := s.imageByDigest(h, platform); err == nil {
					return img, nil
				}
			}
		}
		return nil, fmt.Errorf("reading %s from store %s: %w", ref, s.dir, ErrNotInStore)
	}
	img, err := s.layout.image(desc, platform)
	var missing *missingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("reading %s from store %s: %v: %w", ref, s.dir, err, ErrNotInStore)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from store %s: %w", ref, s.dir, err)
	}
	if !s.useImage(desc.Digest, img) {
		return nil, fmt.Errorf("reading %s from store %s: blobs were pruned meanwhile: %w", ref, s.dir, ErrNotInStore)
	}
	return img, nil
}

// useImage marks the blobs of an image read from the store as used (see
// use): top is the digest the index names (the image's, or its index's).
func (s *Store) useImage(top v1.Hash, img v1.Image) bool {
	m, err := img.Manifest()
	if err != nil {
		return false
	}
	d, err := img.Digest()
	if err != nil {
		return false
	}
	paths := []string{s.layout.blobPath(top), s.layout.blobPath(d), s.layout.blobPath(m.Config.Digest)}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 {
			paths = append(paths, s.layout.blobPath(l.Digest))
		}
	}
	return s.use(paths...)
}

// imageByDigest reads a manifest or index blob to learn its media type.
func (s *Store) imageByDigest(h v1.Hash, platform v1.Platform) (v1.Image, error) {
	raw, err := s.layout.readBlob(h)
	if err != nil {
		return nil, err
	}
	mt, err := sniffMediaType(raw)
	if err != nil {
		return nil, err
	}
	return s.layout.image(v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(raw))}, platform)
}

// pull asks the registry what ref names, fetches into the store the blobs it
// lacks (the index, the manifest of the platform's image, its config and its
// layers), records ref in the index and returns the image read from the store.
func (s *Store) pull(ctx context.Context, ref name.Reference, o *options) (v1.Image, error) {
	ropts, err := o.remoteOptions(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	top, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	manifest, desc := top.Manifest, top.Descriptor
	if top.MediaType.IsIndex() {
		child, err := pickPlatform(top.Manifest, o.platform)
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
		got, err := remote.Get(ref.Context().Digest(child.Digest.String()), ropts...)
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
		manifest, desc = got.Manifest, got.Descriptor
	}
	m, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		return nil, fmt.Errorf("pulling %s: parsing manifest %s: %w", ref, desc.Digest, err)
	}
	var missing []v1.Descriptor
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		// Foreign layers are not ours to copy; blobs already here are marked
		// used so that Prune keeps them until the index names them.
		if len(d.URLs) == 0 && !s.use(s.layout.blobPath(d.Digest)) {
			missing = append(missing, d)
		}
	}
	if err := s.fetchBlobs(ctx, ref, missing, o); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	// Manifests after the blobs they name, the index entry last.
	if err := s.layout.writeBlob(desc.Digest, bytes.NewReader(manifest), ref.String()); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	if top.MediaType.IsIndex() {
		if err := s.layout.writeBlob(top.Digest, bytes.NewReader(top.Manifest), ref.String()); err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
	}
	need := []v1.Hash{desc.Digest, m.Config.Digest}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 {
			need = append(need, l.Digest)
		}
	}
	if err := s.layout.setRef(ref.Name(), top.Descriptor, need...); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	o.logger.Debug("pulled", "ref", ref.Name(), "digest", top.Digest.String())
	return s.image(ref, o.platform)
}

// pullConcurrency is how many blobs of one image are fetched at once.
const pullConcurrency = 3

// fetchBlobs downloads blobs of ref's repository into the store, a few at a
// time; the first error cancels the others.
func (s *Store) fetchBlobs(ctx context.Context, ref name.Reference, blobs []v1.Descriptor, o *options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ropts, err := o.remoteOptions(ctx, nil)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, pullConcurrency)
	errs := make(chan error, len(blobs))
	for _, d := range blobs {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			err := ctx.Err()
			if err == nil {
				err = s.fetchBlob(ref, d, o, ropts)
			}
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range blobs {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// fetchBlob downloads blob d of ref's repository into the store, verified.
func (s *Store) fetchBlob(ref name.Reference, d v1.Descriptor, o *options, ropts []remote.Option) error {
	l, err := remote.Layer(ref.Context().Digest(d.Digest.String()), ropts...)
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	event := Progress{Phase: PhasePull, Ref: ref.String(), Blob: d.Digest, Total: d.Size}
	source := ref.Context().String() + "@" + d.Digest.String()
	return s.layout.writeBlob(d.Digest, newProgressReader(rc, event, o.progress), source)
}

// remoteOptions turns options into ggcr remote options for reads (through
// the mirrors) or, with exists, for a push that reports the blobs the
// registry already has.
func (o *options) remoteOptions(ctx context.Context, exists func(v1.Hash)) ([]remote.Option, error) {
	tr, err := o.transportFor(exists == nil, exists)
	if err != nil {
		return nil, err
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(tr),
		remote.WithPlatform(o.platform),
		remote.WithUserAgent("kiln"),
	}, nil
}

// registryName returns ref re-parsed with name.Insecure when its registry is
// one the options allow over plain HTTP. Loopback registries already are.
func (o *options) registryName(ref name.Reference) name.Reference {
	host := ref.Context().RegistryStr()
	if h, _, err := net.SplitHostPort(host); err == nil && o.insecure[h] {
		host = h
	}
	if !o.insecure[host] {
		return ref
	}
	n, err := name.ParseReference(ref.String(), name.Insecure)
	if err != nil {
		return ref
	}
	return n
}
