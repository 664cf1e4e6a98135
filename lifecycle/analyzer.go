package lifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Analyzer is the analyze phase (Platform API ≥0.7: before detection): it
// reads what the previous image and the cache know about earlier builds.
// Neither is required: a missing, unreadable or invalid one counts as
// empty, with a warning, and the build goes on cold.
type Analyzer struct {
	// Previous is the image this build replaces (--previous-image, by
	// default the output image), nil when there is none; PreviousName
	// names it in messages.
	Previous     v1.Image
	PreviousName string
	// Cache is where cache=true layers are kept between builds; nil: no
	// cache. SkipCache ignores its content (--clear-cache).
	Cache     *Cache
	SkipCache bool

	// Logger receives debug detail; default: discard.
	Logger *slog.Logger
	// Out receives pack-like lines and warnings; nil discards them.
	Out io.Writer
}

// Analysis is what the analyzer found.
type Analysis struct {
	// Previous is the previous image, nil when there is none or its
	// metadata cannot be read; Metadata is its lifecycle label.
	Previous v1.Image
	Metadata *LifecycleMetadata
	// Cache is the cache image, nil when there is none; CacheMetadata
	// lists its layers.
	Cache         v1.Image
	CacheMetadata CacheMetadata
}

// Run reads the previous image's io.buildpacks.lifecycle.metadata label
// and the cache's metadata.
func (a *Analyzer) Run(ctx context.Context) (Analysis, error) {
	out, log := writerOr(a.Out), loggerOr(a.Logger)
	var res Analysis
	if a.Previous == nil {
		fmt.Fprintf(out, "Previous image with name %q not found\n", a.PreviousName)
	} else if md, err := previousMetadata(a.Previous); err != nil {
		fmt.Fprintf(out, "Warning: ignoring the previous image %s: %v\n", a.PreviousName, err)
	} else if md != nil {
		res.Previous, res.Metadata = a.Previous, md
		log.Debug("previous image", "name", a.PreviousName, "buildpacks", len(md.Buildpacks))
	} else {
		fmt.Fprintf(out, "Previous image %s has no buildpack metadata\n", a.PreviousName)
	}
	if a.Cache == nil {
		return res, nil
	}
	if a.SkipCache {
		fmt.Fprintf(out, "Clearing the cache %s\n", a.Cache)
		return res, nil
	}
	img, m, err := a.Cache.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Analysis{}, ctx.Err()
		}
		fmt.Fprintf(out, "Warning: ignoring the cache: %v\n", err)
		return res, nil
	}
	res.Cache, res.CacheMetadata = img, m
	if img == nil {
		log.Debug("no cache yet", "cache", a.Cache.String())
	}
	return res, nil
}

// previousMetadata reads the lifecycle label of img; nil when it has none.
func previousMetadata(img v1.Image) (*LifecycleMetadata, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading its config: %w", err)
	}
	md, ok, err := ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil || !ok {
		return nil, err
	}
	return &md, nil
}
