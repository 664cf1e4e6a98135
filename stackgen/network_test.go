package stackgen_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

// machineDebianSources reads the machine's Debian sources, as the CLI does;
// the test may, the library never does.
func machineDebianSources(t *testing.T) []debian.Source {
	t.Helper()
	const path = "/etc/apt/sources.list.d/debian.sources"
	f, err := os.Open(path)
	if err != nil {
		testutil.Skip(t, "no Debian apt sources on this machine: "+err.Error())
	}
	defer f.Close()
	srcs, err := debian.ParseSources(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

// failingTransport fails every request: proof that nothing is downloaded.
type failingTransport struct{}

func (failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, errors.New("network disabled by the test: " + r.URL.String())
}

// TestDistrolessFromDebian makes a small distroless-style run image (libc,
// CA certificates, time zones; no shell) from the machine's Debian mirror,
// then again with the network cut off, from the lock and the store alone.
// KILN_TEST_CACHE, when set, keeps the store and the lock between runs.
func TestDistrolessFromDebian(t *testing.T) {
	ctx := context.Background()
	srcs := machineDebianSources(t)
	cache := os.Getenv("KILN_TEST_CACHE")
	if cache == "" {
		cache = t.TempDir()
	}
	storeDir := filepath.Join(cache, "stackgen-store")
	lockFile := filepath.Join(cache, "stackgen-distroless.lock")
	store, err := oci.OpenStore(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	root := busyboxRootfs(t, basePasswd, baseGroup)
	spec := stackgen.Spec{
		ID:    "io.kiln.test.distroless",
		Build: stackgen.ImageSpec{Base: "rootfs:" + root},
		Run: stackgen.ImageSpec{Packages: []string{"libc6", "ca-certificates", "tzdata"},
			Exclude: []string{"debconf", "debconf-2.0", "openssl"}},
		Debian: stackgen.DebianSpec{Architecture: "amd64", Sources: srcs},
	}
	if l, err := stackgen.ReadLock(lockFile); err == nil {
		spec.Lock = l
	}
	lock, err := stackgen.Resolve(ctx, spec, stackgen.WithStore(store))
	if err != nil {
		if strings.Contains(err.Error(), "fetching") {
			testutil.Skip(t, "the Debian mirror is unreachable: "+err.Error())
		}
		t.Fatal(err)
	}
	if err := lock.WriteFile(lockFile); err != nil {
		t.Fatal(err)
	}
	spec.Lock = lock
	_, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, run)
	fs := files(t, run)
	for _, name := range []string{"usr/share/zoneinfo/UTC", "var/lib/dpkg/status.d/libc6", "var/lib/dpkg/status.d/tzdata", "usr/lib/x86_64-linux-gnu/libc.so.6"} {
		if fs[name].hdr == nil {
			t.Errorf("%s missing from the run image", name)
		}
	}
	if fs["usr/bin/sh"].hdr != nil || fs["var/lib/dpkg/status.d/debconf"].hdr != nil {
		t.Error("the run image has a shell or debconf")
	}
	if got := fs["etc/ssl/certs/ca-certificates.crt"].content; strings.Count(got, "BEGIN CERTIFICATE") < 100 {
		t.Errorf("CA bundle has %d certificates", strings.Count(got, "BEGIN CERTIFICATE"))
	}
	// The loader path compiled into every amd64 binary resolves.
	if l := fs["lib64"].hdr; l == nil || l.Linkname != "usr/lib64" {
		t.Errorf("lib64 = %+v, want a symlink to usr/lib64", l)
	}
	ld := fs["usr/lib64/ld-linux-x86-64.so.2"].hdr
	if ld == nil {
		t.Fatal("usr/lib64/ld-linux-x86-64.so.2 missing")
	}
	if target := strings.TrimPrefix(ld.Linkname, "/"); fs[strings.Replace(target, "lib/", "usr/lib/", 1)].hdr == nil && fs[target].hdr == nil {
		t.Errorf("the loader link points at %s, which the image lacks", ld.Linkname)
	}

	// No network: the lock and the store suffice, and give the same digest.
	offline := spec
	offline.Debian.Sources = []debian.Source{{URI: "http://127.0.0.1:9/debian", Suites: []string{"bookworm"}, Components: []string{"main"}}}
	_, run2, err := stackgen.Generate(ctx, offline, stackgen.WithStore(store), stackgen.WithPullPolicy(oci.PullNever),
		stackgen.WithHTTPClient(&http.Client{Transport: failingTransport{}}))
	if err != nil {
		t.Fatalf("Generate from the lock and the store, offline: %v", err)
	}
	if digest(t, run) != digest(t, run2) {
		t.Errorf("run image digest %s offline, %s online", digest(t, run2), digest(t, run))
	}
}
