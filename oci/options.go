package oci

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PullPolicy says when Read may reach a registry.
type PullPolicy int

const (
	// PullIfMissing uses what the store holds for a reference and fetches
	// only what is missing. It is the default.
	PullIfMissing PullPolicy = iota
	// PullAlways asks the registry what the reference names now; blobs the
	// store holds are still not fetched again.
	PullAlways
	// PullNever reads from the store only and never touches the network.
	PullNever
)

// ParsePullPolicy parses "always", "if-missing" or "never"; pack's
// "if-not-present" is "if-missing".
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch s {
	case "always":
		return PullAlways, nil
	case "if-missing", "if-not-present", "":
		return PullIfMissing, nil
	case "never":
		return PullNever, nil
	}
	return 0, fmt.Errorf("parsing pull policy %q: want always, if-missing (pack: if-not-present) or never", s)
}

// String returns the policy as ParsePullPolicy accepts it.
func (p PullPolicy) String() string {
	switch p {
	case PullAlways:
		return "always"
	case PullNever:
		return "never"
	}
	return "if-missing"
}

// Option configures Read, Write and Copy.
type Option func(*options) error

type options struct {
	store     *Store
	policy    PullPolicy
	insecure  map[string]bool
	keychain  authn.Keychain
	transport http.RoundTripper
	platform  v1.Platform
	// platformSet: WithPlatform was given, so an image of another platform
	// is an error (ErrNoPlatform), not the default's best effort.
	platformSet bool
	mirrors     map[string]string // registry host → mirror (reads)
	tls         tlsOptions
	progress    func(Progress)
	logger      *slog.Logger
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		policy:    PullIfMissing,
		insecure:  map[string]bool{},
		keychain:  authn.DefaultKeychain,
		transport: http.DefaultTransport,
		platform:  v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		progress:  func(Progress) {},
		logger:    slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithStore reads registry images through s: blobs are fetched into it once
// and read from it, verified, afterwards. Without a store, registry images
// are read straight from the registry.
func WithStore(s *Store) Option {
	return func(o *options) error { o.store = s; return nil }
}

// WithPullPolicy sets when a registry may be reached (default PullIfMissing).
func WithPullPolicy(p PullPolicy) Option {
	return func(o *options) error {
		if p < PullIfMissing || p > PullNever {
			return fmt.Errorf("invalid pull policy %d", p)
		}
		o.policy = p
		return nil
	}
}

// WithInsecureRegistries allows plain HTTP to the given registry hosts
// (host or host:port). Loopback registries need no such permission.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			o.insecure[h] = true
		}
		return nil
	}
}

// WithKeychain sets where registry credentials come from (default
// authn.DefaultKeychain: ~/.docker/config.json and credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error { o.keychain = k; return nil }
}

// WithTransport sets the HTTP transport for registries.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error { o.transport = t; return nil }
}

// WithPlatform sets the platform picked from an index (default
// linux/runtime.GOARCH). Given explicitly, it is also checked against a
// single image's config: an image of another platform is ErrNoPlatform
// rather than returned as it is.
func WithPlatform(p v1.Platform) Option {
	return func(o *options) error { o.platform, o.platformSet = p, true; return nil }
}

// WithProgress receives progress of blob transfers. It is called from the
// goroutines doing the transfers, possibly several at once, so it must be
// safe for concurrent use and must not block for long.
func WithProgress(f func(Progress)) Option {
	return func(o *options) error {
		if f != nil {
			o.progress = f
		}
		return nil
	}
}

// WithLogger sets the logger for debug output (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.logger = l
		}
		return nil
	}
}
