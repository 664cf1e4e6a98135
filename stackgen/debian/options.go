package debian

import (
	"io"
	"log/slog"
	"net/http"
)

// Option configures LoadIndex and Pool.
type Option func(*options)

type options struct {
	client  *http.Client
	offline bool
	logger  *slog.Logger
	skipped func(Source, string, error)
}

func makeOptions(opts []Option) options {
	o := options{client: http.DefaultClient, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithHTTPClient sets the client for http:// and https:// sources
// (default http.DefaultClient).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithOffline forbids downloads: indexes and packages must already be in the
// pool, else the call fails with ErrOffline.
func WithOffline(offline bool) Option { return func(o *options) { o.offline = offline } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithSkipped is called for each suite of an Optional source that could not
// be read, with the error; LoadIndex then goes on without it.
func WithSkipped(f func(src Source, suite string, err error)) Option {
	return func(o *options) { o.skipped = f }
}
