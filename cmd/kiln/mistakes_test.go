package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mistake is a command a user gets wrong, and what kiln must answer: a
// non-zero exit and a message that names what was wrong, where (the flag,
// file or host) and what to do instead. Every part of want must appear in
// the output.
type mistake struct {
	name string
	args []string
	env  map[string]string // set for the case only
	want []string
	// network: the case names a registry, so it may dial (loopback only:
	// the tests' registries); every other case may dial nothing at all.
	network bool
}

// mistakeEnv is the working directory the mistakes run in: a busybox stack
// (oci:stack:build, oci:stack:run), a builder.toml, an app, a layout image
// and a few stray files.
type mistakeEnv struct {
	buildEnvDir
	builder string
}

func newMistakeEnv(t *testing.T) mistakeEnv {
	t.Helper()
	e := mistakeEnv{buildEnvDir: newBuildEnv(t)}
	e.builder = writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	for name, content := range map[string]string{
		"notes.txt":         "not an image\n",
		"plain/README":      "a directory that is not a layout\n",
		"bad.toml":          "[[buildpacks]\n",
		"unknown-key.toml":  "[[buildpacks]]\nuri = \"x\"\nsurprise = 1\n",
		"bp-missing.toml":   "[[buildpacks]]\nuri = \"no-such-buildpack\"\n[[order]]\n[[order.group]]\nid = \"x\"\n[stack]\nid = \"io.github.future-architect.samples.debian\"\nbuild-image = \"oci:stack:build\"\nrun-image = \"oci:stack:run\"\n",
		"pkg-missing.toml":  "[buildpack]\nuri = \"no-such-dir\"\n",
		"envs/bad.env":      "=novalue\n",
		"project/README":    "app\n",
		"project/app.zip":   "not a zip\n",
		"sbom-file":         "a file, not a directory\n",
		"cfg/kiln/bad.toml": "",
	} {
		p := filepath.Join(e.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestMistakes runs the table of common mistakes (issue #14). No case
// touches the network unless it names a registry: the default transport and
// resolver fail the test on any dial that is not to a loopback address.
func TestMistakes(t *testing.T) {
	e := newMistakeEnv(t)
	guard := guardNetwork(t)
	cases := pathMistakes(e)
	if len(cases) < 10 {
		t.Fatalf("only %d mistakes in the table", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("two cases named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			guard.begin(t, tc.network)
			out, errOut, code := e.kiln(t, tc.args...)
			dials := guard.end()
			t.Logf("kiln %s: exit %d\n%s", strings.Join(tc.args, " "), code, errOut)
			if code == 0 {
				t.Errorf("kiln %s: exit 0, want an error\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("kiln %s: the message does not say %q:\n%s", strings.Join(tc.args, " "), w, errOut)
				}
			}
			if len(dials) > 0 {
				t.Errorf("kiln %s dialled %v; a case that names no registry may not touch the network", strings.Join(tc.args, " "), dials)
			}
		})
	}
	t.Logf("%d mistakes, each answered with what, where and what to do", len(cases))
}

// pathMistakes: paths are paths, and image names are checked before use.
func pathMistakes(e mistakeEnv) []mistake {
	return []mistake{
		{name: "builder toml missing", args: []string{"build", "oci:out", "--builder", "./nope.toml"},
			want: []string{"--builder ./nope.toml", "no such file", "builder.toml file, or a builder image"}},
		{name: "builder toml missing without ./", args: []string{"build", "oci:out", "--builder", "nope.toml"},
			want: []string{"--builder nope.toml", "no such file"}},
		{name: "builder is a plain directory", args: []string{"build", "oci:out", "--builder", "plain"},
			want: []string{"--builder plain", "not an OCI image layout", "oci:DIR"}},
		{name: "builder tar missing", args: []string{"build", "oci:out", "--builder", "builder.tar"},
			want: []string{"--builder builder.tar", "no such file", "docker-archive:FILE"}},
		{name: "copy to a bare tar", args: []string{"image", "copy", "oci:stack:run", "./out.tar"},
			want: []string{"DST ./out.tar", "is a path", "docker-archive:./out.tar"}},
		{name: "copy to a bare directory", args: []string{"image", "copy", "oci:stack:run", "./outdir"},
			want: []string{"DST ./outdir", "is a path", "oci:./outdir"}},
		{name: "copy from a missing tar", args: []string{"image", "copy", "./missing.tar", "oci:x"},
			want: []string{"SRC ./missing.tar", "no such file", "docker-archive:FILE"}},
		{name: "copy from a text file", args: []string{"image", "copy", "bad.toml", "oci:x"},
			want: []string{"SRC bad.toml", "TOML file, not an image", "oci:DIR"}},
		{name: "copy from home path", args: []string{"image", "copy", "~/nothing-here", "oci:x"},
			want: []string{"SRC ~/nothing-here", "no such file"}},
		{name: "layout tag with a space", args: []string{"image", "copy", "oci:stack:run", "oci:out:a b"},
			want: []string{`"a b" is not a tag`, "oci:out:a b:latest"}},
		{name: "layout tag starting with a dash", args: []string{"image", "copy", "oci:stack:run", "oci:out:-x"},
			want: []string{`"-x" is not a tag`, "DST"}},
		{name: "archive name without tag", args: []string{"image", "copy", "oci:stack:run", "docker-archive:x.tar:app"},
			want: []string{`"app" is not NAME:TAG`, "app:latest"}},
		{name: "platform the image lacks", args: []string{"image", "copy", "--platform", "linux/s390x", "oci:stack:run", "oci:out"},
			want: []string{"oci:stack:run", "not linux/s390x", "hint: the image has no such platform: leave --platform out"}},
		{name: "platform malformed", args: []string{"image", "copy", "--platform", "linux/amd64/v1/x", "oci:stack:run", "oci:out"},
			want: []string{"--platform", "linux/amd64/v1/x"}},
		{name: "buildpack package to a tgz", args: []string{"buildpack", "package", "x.tgz", "--config", "pkg-missing.toml"},
			want: []string{"OUT x.tgz", "is a path", ".cnb"}},
		{name: "package uri missing", args: []string{"buildpack", "package", "x.cnb", "--config", "pkg-missing.toml"},
			want: []string{"pkg-missing.toml", "buildpack.uri \"no-such-dir\"", "no such file", "docker://IMAGE"}},
		{name: "buildpack directory missing", args: []string{"build", "oci:out", "--builder", e.builder, "--buildpack", "./missing-bp"},
			want: []string{"--buildpack ./missing-bp", "no such file", "docker://REF"}},
		{name: "buildpack bare word missing", args: []string{"build", "oci:out", "--builder", e.builder, "--buildpack", "missing-bp"},
			want: []string{"--buildpack missing-bp", "no such file", "docker://REF"}},
		{name: "builder.toml buildpack uri missing", args: []string{"build", "oci:out", "--builder", "bp-missing.toml"},
			want: []string{"bp-missing.toml", "buildpacks[0].uri \"no-such-buildpack\"", "no such file"}},
		{name: "builder create with a missing buildpack", args: []string{"builder", "create", "oci:b", "--config", "bp-missing.toml"},
			want: []string{"bp-missing.toml", "buildpacks[0].uri", "no such file"}},
		{name: "inspect a plain directory", args: []string{"inspect", "plain"},
			want: []string{"REF plain", "not an OCI image layout"}},
		{name: "run a missing path", args: []string{"run", "./nope"},
			want: []string{"IMAGE ./nope", "no such file"}},
		{name: "rebase a missing archive", args: []string{"rebase", "app.tar"},
			want: []string{"REF app.tar", "no such file"}},
		{name: "build output is a bare directory", args: []string{"build", "./out", "--builder", e.builder},
			want: []string{"the output ./out", "is a path", "oci:./out"}},
		{name: "stack output is a bare directory", args: []string{"stack", "create", "--id", "x", "--build-base", "oci:stack:build", "--run-base", "oci:stack:run", "--build-output", "./b", "--run-output", "oci:r"},
			want: []string{"--build-output ./b", "is a path", "oci:./b"}},
		{name: "run image path missing", args: []string{"build", "oci:out", "--builder", e.builder, "--run-image", "./run"},
			want: []string{"--run-image ./run", "no such file"}},
		{name: "cache image is a path", args: []string{"build", "oci:out", "--builder", e.builder, "--cache-image", "./cache"},
			want: []string{"--cache-image ./cache", "is a path", "oci:./cache"}},
		{name: "previous image is a text file", args: []string{"build", "oci:out", "--builder", e.builder, "--previous-image", "bad.toml"},
			want: []string{"--previous-image bad.toml", "TOML file"}},
	}
}

// netGuard fails the running case on any dial that is not allowed: a
// registry-naming case may dial loopback addresses only, others nothing.
type netGuard struct {
	mu      sync.Mutex
	allowed bool
	dials   []string
}

func guardNetwork(t *testing.T) *netGuard {
	g := &netGuard{}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := g.check(addr); err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, addr)
	}
	oldTransport, oldResolver := http.DefaultTransport, net.DefaultResolver
	http.DefaultTransport = tr
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
		g.record("DNS via " + addr)
		return nil, errors.New("name resolution is not allowed in this test")
	}}
	t.Cleanup(func() { http.DefaultTransport, net.DefaultResolver = oldTransport, oldResolver })
	return g
}

func (g *netGuard) begin(_ *testing.T, allowed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allowed, g.dials = allowed, nil
}

func (g *netGuard) end() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dials
}

func (g *netGuard) record(what string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dials = append(g.dials, what)
}

// check allows loopback addresses for registry-naming cases only.
func (g *netGuard) check(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	g.mu.Lock()
	allowed := g.allowed
	g.mu.Unlock()
	if ip := net.ParseIP(host); allowed && ip != nil && ip.IsLoopback() {
		return nil
	}
	g.record(addr)
	return fmt.Errorf("dialling %s is not allowed in this test", addr)
}
