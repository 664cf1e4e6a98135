package oci

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// Write writes img to ref and returns the digest of the manifest written.
// To a layout, blobs go first and index.json last, replacing what the tag
// named and keeping other tags; to an archive, through a temp file renamed
// into place; to a registry, with ggcr's remote.Write.
func Write(ctx context.Context, ref Reference, img v1.Image, opts ...Option) (v1.Hash, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return v1.Hash{}, err
	}
	switch ref.Kind {
	case KindLayout:
		return writeLayout(ctx, ref, img, o)
	case KindArchive:
		return writeArchive(ref, img, o)
	case KindRegistry:
		if ref.Name == nil {
			return v1.Hash{}, fmt.Errorf("writing to an empty registry reference: %w", ErrInvalidReference)
		}
		h, err := writeRegistry(ctx, o.registryName(ref.Name), img, o)
		if re := o.explainRegistryError(ctx, ref.Name, err); re != err {
			return h, fmt.Errorf("writing %s: %w", ref, re)
		}
		return h, err
	}
	return v1.Hash{}, fmt.Errorf("writing %v: %w", ref, ErrInvalidReference)
}

func writeLayout(ctx context.Context, ref Reference, img v1.Image, o *options) (v1.Hash, error) {
	if err := checkLayoutDestination(ref.Path); err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
	}
	l, err := openLayout(ref.Path, true)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
	}
	// Anyone may have been at an output layout: a blob already there is
	// named only once verified. The store's own layout (the default cache
	// is a tag in it) is kiln's alone and verified on the way in.
	l.verify = o.store == nil || !sameDir(o.store.dir, ref.Path)
	if l.verify {
		l.memo = o.store // nil without a store: every blob hashed
	}
	l.logger = o.logger
	// A blob found in the layout may be pruned before the index names it
	// (the layout is the store's own): setRef notices, and the blobs are
	// put again.
	for attempt := 0; ; attempt++ {
		desc, need, err := putImage(ctx, l, img, ref.String(), o)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
		}
		err = l.setRef(ref.Tag, desc, need...)
		if errors.Is(err, errBlobVanished) && attempt < 2 {
			continue
		}
		if err != nil {
			return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
		}
		if o.store != nil && o.store.isLayout(ref.Path) {
			o.store.use(l.blobPath(desc.Digest)) // a cache in the store: last used now
		}
		return desc.Digest, nil
	}
}

// putImage writes img's layers, config and manifest into l (not its index)
// and returns the manifest's descriptor and the other blobs it needs (the
// config and the layers that are not foreign).
func putImage(ctx context.Context, l *layoutDir, img v1.Image, refStr string, o *options) (v1.Descriptor, []v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	var need []v1.Hash
	for _, layer := range layers {
		if err := ctx.Err(); err != nil {
			return v1.Descriptor{}, nil, err
		}
		h, foreign, err := putLayer(l, layer, refStr, o)
		if err != nil {
			return v1.Descriptor{}, nil, err
		}
		if !foreign {
			need = append(need, h)
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	ch, err := l.putBlobBytes(cfg)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	h, err := l.putBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(raw))}, append(need, ch), nil
}

// putLayer writes layer's blob into l unless l can reuse the one it has,
// and returns its digest; foreign is true for a foreign layer, which stays
// where its URLs point.
func putLayer(l *layoutDir, layer v1.Layer, refStr string, o *options) (h v1.Hash, foreign bool, err error) {
	h, err = layer.Digest()
	if err != nil {
		return h, false, err
	}
	if d, err := partial.Descriptor(layer); err == nil && len(d.URLs) > 0 {
		return h, true, nil
	}
	size, err := layer.Size()
	if err != nil {
		return h, false, err
	}
	if ok, err := l.reusable(h, size); ok || err != nil {
		return h, false, err
	}
	event := Progress{Phase: PhaseWrite, Ref: refStr, Blob: h, Total: size}
	if sl, ok := layer.(*storedLayer); ok {
		if f, ok := sl.verifiedBlob(); ok {
			defer f.Close()
			return h, false, l.copyVerifiedBlob(h, size, f, event, o.progress)
		}
	}
	rc, err := layer.Compressed()
	if err != nil {
		return h, false, fmt.Errorf("reading layer %s: %w", h, err)
	}
	defer rc.Close()
	return h, false, l.writeBlob(h, newProgressReader(rc, event, o.progress), "layer "+h.String())
}

func writeArchive(ref Reference, img v1.Image, o *options) (v1.Hash, error) {
	if err := checkArchiveDestination(ref.Path); err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
	}
	tmp, err := atomicfile.Create(ref.Path, 0o644)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
	}
	defer tmp.Abort() // a no-op once committed
	updates := make(chan v1.Update, 16)
	done := forwardUpdates(updates, Progress{Phase: PhaseWrite, Ref: ref.String()}, o.progress)
	// ggcr takes the RepoTags of an archive from the reference; a nil one
	// writes an untagged image, which docker and podman load without a name.
	tag := ref.Name
	err = tarball.Write(tag, img, tmp, tarball.WithProgress(updates))
	close(updates) // unlike remote.Write, tarball.Write leaves it open
	<-done
	if err == nil {
		err = tmp.Commit()
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing %s: %w", ref, err)
	}
	return archiveDigest(ref)
}

// archiveDigest returns the digest of the manifest a reader of the archive
// sees: docker archives carry no manifest, so it is recomputed on reading.
func archiveDigest(ref Reference) (v1.Hash, error) {
	img, err := readArchive(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	h, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading back %s: %w", ref, err)
	}
	return h, nil
}

func writeRegistry(ctx context.Context, ref name.Reference, img v1.Image, o *options) (v1.Hash, error) {
	exists := func(h v1.Hash) {
		o.progress(Progress{Phase: PhasePush, Ref: ref.String(), Blob: h, Done: true, Present: true})
	}
	ropts, err := o.remoteOptions(ctx, exists)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	updates := make(chan v1.Update, 16)
	done := forwardUpdates(updates, Progress{Phase: PhasePush, Ref: ref.String()}, o.progress)
	err = remote.Write(ref, img, append(ropts, remote.WithProgress(updates))...)
	<-done
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	o.logger.Debug("pushed", "ref", ref.String(), "digest", h.String())
	return h, nil
}

// forwardUpdates turns ggcr's progress updates into Progress events until
// ggcr closes the channel; the returned channel is closed then.
func forwardUpdates(updates <-chan v1.Update, event Progress, fn func(Progress)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			if u.Error != nil {
				continue // the same error is returned by the writer
			}
			event.Complete, event.Total = u.Complete, u.Total
			event.Done = u.Total > 0 && u.Complete >= u.Total
			fn(event)
		}
	}()
	return done
}

// sameDir reports whether a and b are the same directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
