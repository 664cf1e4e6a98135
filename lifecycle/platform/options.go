package platform

import (
	"errors"
	"log/slog"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

// Option configures Build.
type Option func(*options) error

type options struct {
	reader   distribution.ImageReader
	logger   *slog.Logger
	progress func(oci.Progress)
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{reader: distribution.ReadImage, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithImageReader sets how the build reads the images it names: the
// builder's build and run images, buildpackage images, the previous image.
// The default is oci.Read of oci.ParseReference(ref), without a store.
func WithImageReader(r distribution.ImageReader) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("nil image reader")
		}
		o.reader = r
		return nil
	}
}

// WithLogger sets the logger for debug messages (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithProgress receives oci.PhaseUnpack events while Build unpacks the
// build image's root filesystem into the store (nothing when it is cached),
// and oci.PhaseLayer events while the export writes new layers.
func WithProgress(f func(oci.Progress)) Option {
	return func(o *options) error {
		o.progress = f
		return nil
	}
}
