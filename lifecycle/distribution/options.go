package distribution

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// ImageReader reads the image a reference names. FetchBuildpacks uses one
// for image locators (docker://REF or a bare reference); the CLI's reads
// through its store with its pull policy and credentials.
type ImageReader func(ctx context.Context, ref string) (v1.Image, error)

// Option configures FetchBuildpacks, FetchModules and ExtractBuildpacks.
type Option func(*options) error

type options struct {
	reader   ImageReader
	logger   *slog.Logger
	baseDir  string
	client   *http.Client
	platform v1.Platform
	kind     moduleKind
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		reader:   ReadImage,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		client:   http.DefaultClient,
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		kind:     buildpackKind,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// ReadImage is the default ImageReader: oci.Read of the parsed reference,
// without a store.
func ReadImage(ctx context.Context, ref string) (v1.Image, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return oci.Read(ctx, r)
}

// WithImageReader sets how image locators are read. The default is oci.Read
// of oci.ParseReference(ref), without a store.
func WithImageReader(r ImageReader) Option {
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

// WithBaseDir resolves relative path locators against dir instead of the
// working directory (see ParseLocator).
func WithBaseDir(dir string) Option {
	return func(o *options) error {
		o.baseDir = dir
		return nil
	}
}

// WithHTTPClient sets the client for http(s) locators (default
// http.DefaultClient).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil http client")
		}
		o.client = c
		return nil
	}
}

// WithPlatform picks the image of a .cnb file that holds an index of
// several (default linux/runtime.GOARCH).
func WithPlatform(p v1.Platform) Option {
	return func(o *options) error {
		o.platform = p
		return nil
	}
}

// AsExtensions fetches image extensions instead of buildpacks: extension.toml
// descriptors, laid out as /cnb/extensions is in a builder, from extension
// packages (io.buildpacks.extension.metadata and
// io.buildpacks.extension.layers labels).
func AsExtensions() Option {
	return func(o *options) error {
		o.kind = extensionKind
		return nil
	}
}
