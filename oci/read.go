package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Read returns the image ref names. A layout is read by its tag; an archive
// by its NAME:TAG, or its only image when the reference names none; a
// registry image through the store (WithStore) according to the pull policy,
// or straight from the registry without a store. From an index, the image of
// the platform (WithPlatform) is picked. Blobs read from a layout or the store
// are verified against their digests.
func Read(ctx context.Context, ref Reference, opts ...Option) (v1.Image, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	switch ref.Kind {
	case KindLayout:
		img, err = readLayout(ref, o)
	case KindArchive:
		img, err = readArchive(ref)
	case KindRegistry:
		if ref.Name == nil {
			return nil, fmt.Errorf("reading an empty registry reference: %w", ErrInvalidReference)
		}
		img, err = readRegistry(ctx, o.registryName(ref.Name), o)
		if re := o.explainRegistryError(ctx, ref.Name, err); re != err {
			return nil, fmt.Errorf("reading %s: %w", ref, re)
		}
	default:
		return nil, fmt.Errorf("reading %v: %w", ref, ErrInvalidReference)
	}
	if err == nil && o.platformSet {
		if err = checkPlatform(img, o.platform); err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
	}
	return img, err
}

// checkPlatform returns ErrNoPlatform when img's config names a platform
// that does not satisfy want.
func checkPlatform(img v1.Image, want v1.Platform) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	got := cf.Platform()
	if got == nil || got.OS == "" || got.Satisfies(want) {
		return nil
	}
	return fmt.Errorf("the image is %s, not %s: %w", got, want, ErrNoPlatform)
}

func readLayout(ref Reference, o *options) (v1.Image, error) {
	l, err := openLayout(ref.Path, false)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	desc, ok, err := l.findRef(ref.Tag)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if !ok {
		return nil, fmt.Errorf("reading %s: no manifest tagged %q: %w", ref, ref.Tag, ErrNotFound)
	}
	img, err := l.image(desc, o.platform)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	// An image of the store's own layout (kiln's build caches) is marked
	// used, as images pulled into it are.
	if o.store != nil && o.store.isLayout(ref.Path) && !o.store.useImage(desc.Digest, img) {
		return nil, fmt.Errorf("reading %s: blobs were pruned meanwhile: %w", ref, ErrNotFound)
	}
	return img, nil
}

func readArchive(ref Reference) (v1.Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(ref.Path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	var tag *name.Tag
	if t, ok := ref.Name.(name.Tag); ok {
		tag = &t
	}
	if err := findInArchive(m, tag); err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return img, nil
}

// findInArchive checks that the archive's manifest.json holds the image
// tag names, or exactly one image when tag is nil, so that callers can tell
// "absent" and "ambiguous" apart.
func findInArchive(m tarball.Manifest, tag *name.Tag) error {
	if tag == nil {
		if len(m) != 1 {
			return fmt.Errorf("%d images: %w", len(m), ErrAmbiguous)
		}
		return nil
	}
	for _, d := range m {
		for _, s := range d.RepoTags {
			if t, err := name.NewTag(s); err == nil && t.Name() == tag.Name() {
				return nil
			}
		}
	}
	return fmt.Errorf("no image tagged %s: %w", tag, ErrNotFound)
}

func readRegistry(ctx context.Context, ref name.Reference, o *options) (v1.Image, error) {
	if o.store == nil {
		if o.policy == PullNever {
			return nil, fmt.Errorf("reading %s without a store: %w", ref, ErrNotInStore)
		}
		ropts, err := o.remoteOptions(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
		img, err := remote.Image(ref, ropts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
		return img, nil
	}
	if o.policy != PullAlways {
		img, err := o.store.image(ref, o.platform)
		if err == nil || o.policy == PullNever || !errors.Is(err, ErrNotInStore) {
			return img, err
		}
	}
	return o.store.pull(ctx, ref, o)
}

// sniffMediaType returns the media type of a raw manifest or index, also when
// the document does not declare one (the field is optional in OCI).
func sniffMediaType(raw []byte) (types.MediaType, error) {
	var doc struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("parsing manifest: %w", err)
	}
	switch {
	case doc.MediaType != "":
		return doc.MediaType, nil
	case doc.Manifests != nil:
		return types.OCIImageIndex, nil
	}
	return types.OCIManifestSchema1, nil
}
