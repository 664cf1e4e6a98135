package testutil

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a registry a test can push to and pull from on 127.0.0.1,
// which clients reach over plain HTTP like any loopback registry.
type Registry struct {
	// Host is HOST:PORT, the registry part of references, e.g.
	// Host + "/app:1".
	Host  string
	close func()
	once  sync.Once

	mu       sync.Mutex
	requests []string // "METHOD PATH" of each request (in-process only)
}

// blobPath matches the path of a blob GET.
var blobPath = regexp.MustCompile(`^/v2/.+/blobs/sha256:[0-9a-f]{64}$`)

// NewRegistry starts ggcr's in-process registry behind httptest on 127.0.0.1
// and stops it when the test ends. It records the requests it serves, so a
// test can prove what was (not) fetched.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r := &Registry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	r.close = srv.Close
	t.Cleanup(r.Close)
	return r
}

// Requests returns "METHOD PATH" for every request served so far.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// BlobFetches counts the GET requests for blobs served so far.
func (r *Registry) BlobFetches() int {
	n := 0
	for _, req := range r.Requests() {
		if path, ok := strings.CutPrefix(req, "GET "); ok && blobPath.MatchString(path) {
			n++
		}
	}
	return n
}

// Close stops the registry; later requests fail to connect. It is safe to
// call more than once and is also called when the test ends.
func (r *Registry) Close() { r.once.Do(r.close) }

// dockerRegistryBin is Debian's docker-registry (the distribution project's
// registry), installed by hack/deps.sh.
const dockerRegistryBin = "/usr/bin/docker-registry"

// registryConfig is a minimal configuration: filesystem storage, no auth, no
// redis, no notifications, no debug server.
const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
  secret: kiln-test-secret
`

// StartDockerRegistry starts a real registry server, Debian's
// docker-registry, on 127.0.0.1 with a free port and a temporary storage
// directory, waits until it answers /v2/, and stops it when the test ends.
// It skips (testutil.Skip) when the binary is not installed.
func StartDockerRegistry(t testing.TB) *Registry { return startRegistry(t, "") }

// StartDockerRegistryAuth is StartDockerRegistry with basic authentication:
// only user with password may pull or push (htpasswd, bcrypt).
func StartDockerRegistryAuth(t testing.TB, user, password string) *Registry {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startRegistry(t, fmt.Sprintf(registryAuth, htpasswd))
}

// registryAuth is the htpasswd section of the registry's configuration.
const registryAuth = `auth:
  htpasswd:
    realm: kiln-test
    path: %s
`

func startRegistry(t testing.TB, auth string) *Registry {
	t.Helper()
	if _, err := os.Stat(dockerRegistryBin); err != nil {
		Skip(t, "docker-registry is not installed (hack/deps.sh installs it)")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := startDockerRegistry(t, auth)
		if err == nil {
			return r
		}
		lastErr = err // most likely the port was taken between probe and start
	}
	t.Fatalf("starting docker-registry: %v", lastErr)
	return nil
}

func startDockerRegistry(t testing.TB, auth string) (*Registry, error) {
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, append(fmt.Appendf(nil, registryConfig, filepath.Join(dir, "storage"), addr), auth...), 0o644); err != nil {
		return nil, err
	}
	var logs strings.Builder
	cmd := exec.Command(dockerRegistryBin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || (auth != "" && resp.StatusCode == http.StatusUnauthorized) {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("docker-registry exited (%v): %s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("docker-registry did not answer on %s: %s", addr, logs.String())
		}
	}
	r := &Registry{Host: addr, close: stop}
	t.Cleanup(r.Close)
	return r, nil
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
