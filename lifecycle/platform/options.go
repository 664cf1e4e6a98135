package platform

import (
	"errors"
	"log/slog"

	"github.com/kilnbuild/kiln/lifecycle/dist"
	"github.com/kilnbuild/kiln/oci"
)

// BuildOption configures Build.
type BuildOption func(*buildOptions) error

type buildOptions struct {
	reader   dist.ImageReader
	logger   *slog.Logger
	progress func(oci.Progress)
}

func makeBuildOptions(opts []BuildOption) (*buildOptions, error) {
	o := &buildOptions{reader: dist.ReadImage, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithBuildImageReader sets how the build reads the images it names: the
// builder's build and run images, buildpackage images, the previous image.
// The default is oci.Read of oci.ParseReference(ref), without a store.
func WithBuildImageReader(r dist.ImageReader) BuildOption {
	return func(o *buildOptions) error {
		if r == nil {
			return errors.New("nil image reader")
		}
		o.reader = r
		return nil
	}
}

// WithBuildLogger sets the logger for debug messages (default: discard).
func WithBuildLogger(l *slog.Logger) BuildOption {
	return func(o *buildOptions) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithBuildProgress receives oci.PhaseUnpack events while Build unpacks the
// build image's root filesystem into the store (nothing when it is cached).
func WithBuildProgress(f func(oci.Progress)) BuildOption {
	return func(o *buildOptions) error {
		o.progress = f
		return nil
	}
}
