package oci

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// unpackEvent is the whole-image PhaseUnpack event of img, before any layer.
func unpackEvent(img v1.Image) (Progress, error) {
	d, err := img.Digest()
	if err != nil {
		return Progress{}, err
	}
	return Progress{Phase: PhaseUnpack, Ref: d.String()}, nil
}

// unpackLayerReporting is unpackLayer with progress: it reads the layer's
// compressed stream through a progressReader, so that Complete and Total
// count the bytes a layer weighs in the store, decompressing it the way
// ggcr does (gzip, zstd or none, by peeking). It returns the compressed bytes read.
func (u *unpacker) unpackLayerReporting(ctx context.Context, l v1.Layer, image Progress) (int64, error) {
	d, err := l.Digest()
	if err != nil {
		return 0, fmt.Errorf("unpacking layer: %w", err)
	}
	size, err := l.Size()
	if err != nil {
		return 0, fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	event := Progress{Phase: PhaseUnpack, Ref: image.Ref, Blob: d, Total: size}
	cl := &countedLayer{CompressedLayer: l, event: event, fn: u.opts.Progress}
	// cl is not a v1.Layer, so CompressedToLayer wraps it rather than
	// handing l back, and Uncompressed reads through cl.Compressed.
	ul, err := partial.CompressedToLayer(cl)
	if err != nil {
		return 0, fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	rc, err := ul.Uncompressed()
	if err != nil {
		return 0, fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	err = u.unpackTar(ctx, rc)
	if err == nil {
		// The tar ends before its padding and the compressed stream
		// before its trailer: read them so the count reaches the size.
		_, err = io.Copy(io.Discard, rc)
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("unpacking layer %s: %w", d, err)
	}
	if cl.r == nil {
		return 0, nil
	}
	if !cl.r.event.Done {
		cl.r.event.Done = true
		u.opts.Progress(cl.r.event)
	}
	return cl.r.event.Complete, nil
}

// countedLayer hands out its layer's compressed stream through a
// progressReader.
type countedLayer struct {
	partial.CompressedLayer
	event Progress
	fn    func(Progress)
	r     *progressReader
}

func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.CompressedLayer.Compressed()
	if err != nil {
		return nil, err
	}
	c.r = newProgressReader(rc, c.event, c.fn)
	return struct {
		io.Reader
		io.Closer
	}{c.r, rc}, nil
}
