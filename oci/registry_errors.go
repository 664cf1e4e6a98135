package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinels of registry errors, which a *RegistryError unwraps to.
var (
	// ErrAuthRequired: the registry wants credentials and none were found
	// for it in the keychain.
	ErrAuthRequired = errors.New("authentication required")
	// ErrAuthFailed: the registry refused the credentials found for it.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrPlainHTTP: the registry answered an HTTPS request in plain HTTP.
	ErrPlainHTTP = errors.New("the registry speaks plain HTTP, not HTTPS")
	// ErrTLSVerify: the registry's certificate could not be verified.
	ErrTLSVerify = errors.New("the registry's TLS certificate could not be verified")
)

// RegistryError is a registry error kiln can explain: Err is one of the
// sentinels above, Cause what the registry or the TLS stack said (for a
// TLS error, that error alone, without the HTTP fallback's).
type RegistryError struct {
	Host  string
	Err   error
	Cause error
}

// Error says "HOST: <what>: <cause>".
func (e *RegistryError) Error() string {
	return fmt.Sprintf("%v for %s: %v", e.Err, e.Host, e.Cause)
}

// Unwrap returns the sentinel and the cause.
func (e *RegistryError) Unwrap() []error { return []error{e.Err, e.Cause} }

// explainRegistryError turns a registry failure of ref into a
// *RegistryError when it is one of the kinds callers can act on.
func (o *options) explainRegistryError(ctx context.Context, ref name.Reference, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	host := ref.Context().RegistryStr()
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var he x509.HostnameError
	var cie x509.CertificateInvalidError
	switch {
	case errors.As(err, &cve):
		return &RegistryError{Host: host, Err: ErrTLSVerify, Cause: cve}
	case errors.As(err, &uae):
		return &RegistryError{Host: host, Err: ErrTLSVerify, Cause: uae}
	case errors.As(err, &he):
		return &RegistryError{Host: host, Err: ErrTLSVerify, Cause: he}
	case errors.As(err, &cie):
		return &RegistryError{Host: host, Err: ErrTLSVerify, Cause: cie}
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &RegistryError{Host: host, Err: ErrPlainHTTP, Cause: err}
	}
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		sentinel := ErrAuthFailed
		if auth, kerr := authn.Resolve(ctx, o.keychain, ref.Context()); kerr == nil && auth == authn.Anonymous {
			sentinel = ErrAuthRequired
		}
		return &RegistryError{Host: host, Err: sentinel, Cause: err}
	}
	return err
}
