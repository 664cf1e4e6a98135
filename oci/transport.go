package oci

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WithRegistryMirrors reads images of a registry from a mirror instead, as
// pack's registry-mirrors do: registry host → mirror host[:port]. Writes go
// to the registry named. "docker.io" stands for Docker Hub. The store
// records images under the names asked for.
func WithRegistryMirrors(mirrors map[string]string) Option {
	return func(o *options) error {
		for reg, m := range mirrors {
			r, err := name.NewRegistry(reg)
			if err != nil {
				return fmt.Errorf("registry mirror %s=%s: %w", reg, m, err)
			}
			if _, err := name.NewRegistry(m); err != nil || m == "" {
				return fmt.Errorf("registry mirror %s=%s: the mirror is not a HOST[:PORT]", reg, m)
			}
			if o.mirrors == nil {
				o.mirrors = map[string]string{}
			}
			o.mirrors[r.RegistryStr()] = m
		}
		return nil
	}
}

// WithCACerts trusts the certificate authorities in these PEM files for
// registries, besides the system's (which honour SSL_CERT_FILE and
// SSL_CERT_DIR, as Go's crypto/x509 does).
func WithCACerts(files ...string) Option {
	return func(o *options) error { o.tls.caFiles = append(o.tls.caFiles, files...); return nil }
}

// WithCertsDirs reads per-registry TLS material from these directories, as
// containers-certs.d(5) and Docker's certs.d lay it out: DIR/HOST[:PORT]/
// holds *.crt CA files and *.cert/*.key client certificate pairs. Missing
// directories are skipped.
func WithCertsDirs(dirs ...string) Option {
	return func(o *options) error { o.tls.certsDirs = append(o.tls.certsDirs, dirs...); return nil }
}

// WithTLSSkipVerify does not verify the certificates of these registry
// hosts (HOST or HOST:PORT). It is unsafe, and meant for test registries.
func WithTLSSkipVerify(hosts ...string) Option {
	return func(o *options) error { o.tls.skipVerify = append(o.tls.skipVerify, hosts...); return nil }
}

// tlsOptions are the TLS settings of registry connections.
type tlsOptions struct {
	caFiles, certsDirs, skipVerify []string
}

func (t tlsOptions) empty() bool {
	return len(t.caFiles)+len(t.certsDirs)+len(t.skipVerify) == 0
}

// registryTransport is the transport registry requests go through: it
// sends reads of mirrored registries to their mirrors, gives each host its
// TLS configuration, and tells which blobs a push found present.
type registryTransport struct {
	base    http.RoundTripper
	mirrors map[string]string
	o       *options
	exists  func(v1.Hash) // a HEAD of a blob answered 200 (pushes only)

	mu      sync.Mutex
	roots   *x509.CertPool
	perHost map[string]http.RoundTripper
}

// transportFor returns the transport for reads (with mirrors) or writes.
func (o *options) transportFor(read bool, exists func(v1.Hash)) (http.RoundTripper, error) {
	t := &registryTransport{base: o.transport, o: o, exists: exists, perHost: map[string]http.RoundTripper{}}
	if read {
		t.mirrors = o.mirrors
	}
	if !o.tls.empty() {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, f := range o.tls.caFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading CA certificate: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("reading CA certificate %s: no PEM certificate in it", f)
			}
		}
		t.roots = pool
	}
	return t, nil
}

var blobHead = regexp.MustCompile(`^/v2/.+/(blobs|manifests)/([^/]+)$`)

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if m, ok := t.mirrors[req.URL.Host]; ok {
		req = req.Clone(req.Context())
		req.URL.Host, req.Host = m, m
		req.URL.Scheme = "https"
		if t.o.plainHTTP(m) {
			req.URL.Scheme = "http"
		}
	}
	rt, err := t.forHost(req.URL.Host)
	if err != nil {
		return nil, err
	}
	resp, err := rt.RoundTrip(req)
	if err == nil && t.exists != nil && req.Method == http.MethodHead && resp.StatusCode == http.StatusOK {
		// A manifest found is the whole image (ggcr then sends nothing).
		if m := blobHead.FindStringSubmatch(req.URL.Path); m != nil && m[1] == "blobs" {
			if h, herr := v1.NewHash(m[2]); herr == nil {
				t.exists(h)
			}
		} else if m != nil {
			t.exists(v1.Hash{})
		}
	}
	return resp, err
}

// forHost returns the transport with host's TLS configuration.
func (t *registryTransport) forHost(host string) (http.RoundTripper, error) {
	if t.roots == nil && len(t.o.tls.certsDirs) == 0 && len(t.o.tls.skipVerify) == 0 {
		return t.base, nil
	}
	base, ok := t.base.(*http.Transport)
	if !ok {
		return t.base, nil // a caller's own transport keeps its TLS
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.perHost[host]; ok {
		return rt, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base.TLSClientConfig != nil {
		cfg = base.TLSClientConfig.Clone()
	}
	cfg.RootCAs = t.roots
	if err := t.o.tls.addCertsDirs(cfg, host); err != nil {
		return nil, err
	}
	h, _, _ := net.SplitHostPort(host)
	for _, s := range t.o.tls.skipVerify {
		if s == host || s == h {
			cfg.InsecureSkipVerify = true
		}
	}
	tr := base.Clone()
	tr.TLSClientConfig = cfg
	t.perHost[host] = tr
	return tr, nil
}

// addCertsDirs adds DIR/HOST's CA files and client certificates to cfg.
func (t tlsOptions) addCertsDirs(cfg *tls.Config, host string) error {
	for _, dir := range t.certsDirs {
		d := filepath.Join(dir, host)
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading certificates for %s: %w", host, err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(d, n)
			switch {
			case strings.HasSuffix(n, ".crt"):
				pem, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("reading certificates for %s: %w", host, err)
				}
				if cfg.RootCAs == nil {
					if cfg.RootCAs, err = x509.SystemCertPool(); err != nil || cfg.RootCAs == nil {
						cfg.RootCAs = x509.NewCertPool()
					}
				} else {
					cfg.RootCAs = cfg.RootCAs.Clone()
				}
				if !cfg.RootCAs.AppendCertsFromPEM(pem) {
					return fmt.Errorf("reading certificates for %s: %s has no PEM certificate", host, p)
				}
			case strings.HasSuffix(n, ".cert"):
				key := strings.TrimSuffix(p, ".cert") + ".key"
				pair, err := tls.LoadX509KeyPair(p, key)
				if err != nil {
					return fmt.Errorf("reading client certificate for %s: %w", host, err)
				}
				cfg.Certificates = append(cfg.Certificates, pair)
			}
		}
	}
	return nil
}

// plainHTTP reports whether host is reached over plain HTTP: loopback, or
// allowed with WithInsecureRegistries.
func (o *options) plainHTTP(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if o.insecure[host] || o.insecure[h] || h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
