package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kilnbuild/kiln/oci"
)

// testRegistries are registries that fail the ways users meet: one with a
// self-signed CA (on 127.0.0.2, which go-containerregistry reaches over
// HTTPS only), one answering HTTPS requests in plain HTTP, one asking for
// credentials. Each holds the image kiln/app:1.
type testRegistries struct {
	tlsHost, caFile string // 127.0.0.2:PORT, serving TLS with a certificate caFile signed
	plainHost       string // 127.0.0.2:PORT, plain HTTP
	authHost        string // 127.0.0.1:PORT, basic auth user kiln, password secret
}

func newTestRegistries(t *testing.T, dir string) testRegistries {
	t.Helper()
	var r testRegistries
	caPEM, cert := selfSignedCA(t)
	r.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(r.caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	handler := func() http.Handler { return registry.New(registry.Logger(log.New(io.Discard, "", 0))) }
	listen := func(ip string) net.Listener {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatalf("listening on %s (loopback): %v", ip, err)
		}
		return l
	}
	tlsSrv := httptest.NewUnstartedServer(handler())
	tlsSrv.Listener = listen("127.0.0.2")
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	r.tlsHost = tlsSrv.Listener.Addr().String()

	plain := httptest.NewUnstartedServer(handler())
	plain.Listener = listen("127.0.0.2")
	plain.Start()
	t.Cleanup(plain.Close)
	r.plainHost = plain.Listener.Addr().String()

	inner := handler()
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != "kiln" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="kiln test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(auth.Close)
	r.authHost = strings.TrimPrefix(auth.URL, "http://")

	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	write := func(host string, opts ...oci.Option) {
		ref, err := oci.ParseReference(host + "/kiln/app:1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Write(ctx, ref, img, opts...); err != nil {
			t.Fatalf("seeding %s: %v", host, err)
		}
	}
	write(r.tlsHost, oci.WithCACerts(r.caFile))
	write(r.plainHost, oci.WithInsecureRegistries(r.plainHost))
	creds := authConfig(t, dir, r.authHost, "secret")
	t.Setenv("DOCKER_CONFIG", creds)
	write(r.authHost)
	return r
}

// authConfig writes a docker config.json with credentials for host into a
// directory of dir and returns the directory.
func authConfig(t *testing.T, dir, host, password string) string {
	t.Helper()
	d, err := os.MkdirTemp(dir, "docker-")
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("kiln:" + password))
	cfg := `{"auths":{"` + host + `":{"auth":"` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(d, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// selfSignedCA returns a CA certificate (PEM) and a server certificate it
// signed for 127.0.0.2.
func selfSignedCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kiln test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.2"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.2")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// registryMistakes: registries that want credentials, speak plain HTTP or
// have a certificate kiln cannot verify. These cases name a registry, so
// they may dial loopback.
func registryMistakes(e mistakeEnv, r testRegistries) []mistake {
	noCreds := map[string]string{"DOCKER_CONFIG": filepath.Join(e.dir, "no-docker-config"), "HOME": e.dir}
	wrong := map[string]string{"DOCKER_CONFIG": e.wrongCreds, "HOME": e.dir}
	return []mistake{
		{name: "registry wants credentials", network: true, env: noCreds,
			args: []string{"image", "copy", r.authHost + "/kiln/app:1", "oci:copy"},
			want: []string{"authentication required for " + r.authHost, "kiln looked for credentials for " + r.authHost,
				filepath.Join(e.dir, ".docker", "config.json") + " (absent)", "docker login " + r.authHost}},
		{name: "registry refuses credentials", network: true, env: wrong,
			args: []string{"image", "copy", r.authHost + "/kiln/app:1", "oci:copy"},
			want: []string{"authentication failed for " + r.authHost, filepath.Join(e.wrongCreds, "config.json") + " ($DOCKER_CONFIG)"}},
		{name: "registry push wants credentials", network: true, env: noCreds,
			args: []string{"image", "copy", "oci:stack:run", r.authHost + "/kiln/run:1"},
			want: []string{"authentication required for " + r.authHost, "podman login " + r.authHost}},
		{name: "registry speaks plain HTTP", network: true,
			args: []string{"image", "copy", r.plainHost + "/kiln/app:1", "oci:copy"},
			want: []string{"plain HTTP, not HTTPS for " + r.plainHost, "--insecure-registry " + r.plainHost}},
		{name: "registry certificate unknown", network: true,
			args: []string{"image", "copy", r.tlsHost + "/kiln/app:1", "oci:copy"},
			want: []string{"TLS certificate could not be verified for " + r.tlsHost, "x509", "--ca-cert FILE",
				"/etc/containers/certs.d/" + r.tlsHost + "/", "--tls-skip-verify " + r.tlsHost}},
		{name: "CA file missing", network: true,
			args: []string{"--ca-cert", "missing-ca.pem", "image", "copy", r.tlsHost + "/kiln/app:1", "oci:copy"},
			want: []string{"reading CA certificate", "missing-ca.pem", "no such file"}},
		{name: "CA file not PEM", network: true,
			args: []string{"--ca-cert", "notes.txt", "image", "copy", r.tlsHost + "/kiln/app:1", "oci:copy"},
			want: []string{"reading CA certificate notes.txt", "no PEM certificate"}},
	}
}

// TestRegistryTLS: a registry with a self-signed CA is reached through
// --ca-cert, KILN_CA_CERT, the configuration file, a certs.d directory,
// SSL_CERT_FILE (in a separate process: Go reads it once) and an explicit
// --tls-skip-verify; without any of them kiln says how, with no HTTP
// fallback noise. A plain HTTP registry works once allowed, and a second
// push says the blobs were already there.
func TestRegistryTLS(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	r := newTestRegistries(t, dir)
	store := filepath.Join(dir, "store")
	src := r.tlsHost + "/kiln/app:1"
	copyOK := func(t *testing.T, env map[string]string, args ...string) string {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		out, errOut, code := kilnImage(t, append(append([]string{"--store", t.TempDir()}, args...), "image", "copy", src, "oci:"+t.TempDir())...)
		if code != 0 || !strings.HasPrefix(out, "sha256:") {
			t.Fatalf("kiln %v: exit %d\n%s", args, code, errOut)
		}
		return errOut
	}
	t.Run("no CA", func(t *testing.T) {
		_, errOut, code := kilnImage(t, "--store", store, "image", "copy", src, "oci:x")
		if code == 0 || !strings.Contains(errOut, "certificate signed by unknown authority") {
			t.Fatalf("exit %d:\n%s", code, errOut)
		}
		for _, noise := range []string{"HTTP response", "http://", "; Get"} {
			if strings.Contains(errOut, noise) {
				t.Errorf("the TLS error carries HTTP fallback noise %q:\n%s", noise, errOut)
			}
		}
	})
	t.Run("--ca-cert", func(t *testing.T) { copyOK(t, nil, "--ca-cert", r.caFile) })
	t.Run("KILN_CA_CERT", func(t *testing.T) { copyOK(t, map[string]string{"KILN_CA_CERT": r.caFile}) })
	t.Run("config file", func(t *testing.T) {
		cfg := filepath.Join(dir, "ca-config.toml")
		if err := os.WriteFile(cfg, []byte("ca-certs = [\""+r.caFile+"\"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		copyOK(t, map[string]string{"KILN_CONFIG": cfg})
	})
	t.Run("certs.d", func(t *testing.T) {
		d := filepath.Join(dir, "cfg", "containers", "certs.d", r.tlsHost)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		ca, _ := os.ReadFile(r.caFile)
		if err := os.WriteFile(filepath.Join(d, "ca.crt"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(d)
		copyOK(t, nil)
	})
	t.Run("--tls-skip-verify", func(t *testing.T) { copyOK(t, nil, "--tls-skip-verify", r.tlsHost) })
	t.Run("SSL_CERT_FILE", func(t *testing.T) {
		t.Setenv("SSL_CERT_FILE", r.caFile)
		out, errOut, code := kilnProcess(t, dir, "--store", t.TempDir(), "image", "copy", src, "oci:"+t.TempDir())
		if code != 0 || !strings.HasPrefix(out, "sha256:") {
			t.Fatalf("SSL_CERT_FILE: exit %d\n%s", code, errOut)
		}
	})
	t.Run("plain HTTP allowed", func(t *testing.T) {
		out, errOut, code := kilnImage(t, "--store", store, "--insecure-registry", r.plainHost, "image", "copy", r.plainHost+"/kiln/app:1", "oci:plain")
		if code != 0 || !strings.HasPrefix(out, "sha256:") {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
	})
	t.Run("push already present", func(t *testing.T) {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Write(context.Background(), oci.Reference{Kind: oci.KindLayout, Path: "fresh", Tag: "latest"}, img); err != nil {
			t.Fatal(err)
		}
		one, two := r.plainHost+"/kiln/again:1", r.plainHost+"/kiln/again:2"
		for i, tc := range []struct{ dst, want string }{
			{one, "pushed " + one},
			{two, "already present in " + two + " sha256:"},     // the blobs, under a new tag
			{one, "already present in " + one + " (the image)"}, // the manifest
		} {
			dst, want := tc.dst, tc.want
			_, errOut, code := kilnImage(t, "--store", store, "--insecure-registry", r.plainHost, "image", "copy", "oci:fresh", dst)
			if code != 0 || !strings.Contains(errOut, want) {
				t.Fatalf("push %d: exit %d, want %q in:\n%s", i+1, code, want, errOut)
			}
		}
	})
}
