package stackgen

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// Option configures Generate and Resolve.
type Option func(*options) error

type options struct {
	store    *oci.Store
	policy   oci.PullPolicy
	ociOpts  []oci.Option
	client   *http.Client
	created  time.Time
	logger   *slog.Logger
	relock   bool
	progress func(Progress)
	platform *v1.Platform // from the spec's Debian architecture: picks a base from an index
}

// forSpec sets what the spec decides about reading bases.
func (o *options) forSpec(spec Spec) error {
	if spec.Debian.Architecture == "" {
		return nil
	}
	p, err := ociPlatform(spec.Debian.Architecture)
	if err != nil {
		return err
	}
	o.platform = &p
	return nil
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		client:  http.DefaultClient,
		created: oci.Epoch,
		logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithStore sets the store that base images are read through, written
// layers land in, and Debian packages and indexes are kept in (under its
// debian/ directory). Generate needs one.
func WithStore(s *oci.Store) Option {
	return func(o *options) error { o.store = s; return nil }
}

// WithPullPolicy sets the pull policy for base images; PullNever also keeps
// Debian indexes and packages from being downloaded.
func WithPullPolicy(p oci.PullPolicy) Option {
	return func(o *options) error { o.policy = p; return nil }
}

// WithOCIOptions adds options for reading base images (registries,
// transport, platform). The store and pull policy are passed on already.
func WithOCIOptions(opts ...oci.Option) Option {
	return func(o *options) error { o.ociOpts = append(o.ociOpts, opts...); return nil }
}

// WithHTTPClient sets the client Debian repositories are fetched with.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error { o.client = c; return nil }
}

// WithCreated sets the time recorded in the images' configs and new history
// entries, and the mtime of the files kiln writes (default oci.Epoch). The
// CLI passes SOURCE_DATE_EPOCH here.
func WithCreated(t time.Time) Option {
	return func(o *options) error { o.created = t.UTC(); return nil }
}

// WithRelock makes Resolve ignore the spec's lock and resolve again.
func WithRelock(relock bool) Option {
	return func(o *options) error { o.relock = relock; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithProgress receives a Progress for each step.
func WithProgress(f func(Progress)) Option {
	return func(o *options) error { o.progress = f; return nil }
}

// Progress reports one step of Generate or Resolve.
type Progress struct {
	Image string // "build", "run", or "" for a step about both
	Step  string // e.g. "reading base", "fetching package", "writing layer"
	Name  string // what the step is about: a reference, a package
	// For "fetching package": the package's place (Index of Count, from 1)
	// and its size; for "laid out packages": Count packages of Size bytes
	// in all.
	Index, Count int
	Size         int64
}

func (o *options) report(image, step, name string) {
	if o.progress != nil {
		o.progress(Progress{Image: image, Step: step, Name: name})
	}
}
