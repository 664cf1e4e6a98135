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
	builder    string
	wrongCreds string // a DOCKER_CONFIG directory with a wrong password for the auth registry
}

func newMistakeEnv(t *testing.T) mistakeEnv {
	t.Helper()
	e := mistakeEnv{buildEnvDir: newBuildEnv(t)}
	e.builder = writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	for name, content := range map[string]string{
		"notes.txt":             "not an image\n",
		"plain/README":          "a directory that is not a layout\n",
		"bad.toml":              "[[buildpacks]\n",
		"unknown-key.toml":      "[[buildpacks]]\nuri = \"x\"\nsurprise = 1\n",
		"bp-missing.toml":       "[[buildpacks]]\nuri = \"no-such-buildpack\"\n[[order]]\n[[order.group]]\nid = \"x\"\n[stack]\nid = \"io.github.future-architect.samples.debian\"\nbuild-image = \"oci:stack:build\"\nrun-image = \"oci:stack:run\"\n",
		"pkg-missing.toml":      "[buildpack]\nuri = \"no-such-dir\"\n",
		"envs/bad.env":          "=novalue\n",
		"project/README":        "app\n",
		"project/app.zip":       "not a zip\n",
		"sbom-file":             "a file, not a directory\n",
		"cfg/kiln/broken.toml":  "pull-policy = \n",
		"cfg/kiln/unknown.toml": "pul-policy = \"never\"\n",
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
	r := newTestRegistries(t, e.dir)
	e.wrongCreds = authConfig(t, e.dir, r.authHost, "wrong")
	guard := guardNetwork(t)
	cases := append(append(pathMistakes(e), flagMistakes(e)...), registryMistakes(e, r)...)
	if len(cases) < 60 {
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

// flagMistakes: flags, pack's flags, settings and the configuration file.
func flagMistakes(e mistakeEnv) []mistake {
	cfgDir := filepath.Join(e.dir, "cfg")
	badCfg := map[string]string{"XDG_CONFIG_HOME": cfgDir, "KILN_CONFIG": filepath.Join(cfgDir, "kiln", "broken.toml")}
	return []mistake{
		{name: "pull policy unknown", args: []string{"--pull", "sometimes", "inspect", "oci:stack:run"},
			want: []string{"--pull", `"sometimes"`, "always, if-missing (pack: if-not-present) or never"}},
		{name: "pull-policy unknown", args: []string{"--pull-policy", "sometimes", "inspect", "oci:stack:run"},
			want: []string{`"sometimes"`, "always, if-missing (pack: if-not-present) or never"}},
		{name: "pull and pull-policy disagree", args: []string{"--pull", "never", "--pull-policy", "always", "inspect", "oci:stack:run"},
			want: []string{"--pull never", "--pull-policy always", "give one of them"}},
		{name: "KILN_PULL unknown", args: []string{"inspect", "oci:stack:run"}, env: map[string]string{"KILN_PULL": "sometimes"},
			want: []string{"KILN_PULL", `"sometimes"`, "always, if-missing"}},
		{name: "KILN_QUIET not a boolean", args: []string{"inspect", "oci:stack:run"}, env: map[string]string{"KILN_QUIET": "yes"},
			want: []string{"KILN_QUIET", `"yes"`, "want true or false"}},
		{name: "registry mirror malformed", args: []string{"--registry-mirror", "mirror.example", "inspect", "oci:stack:run"},
			want: []string{"--registry-mirror", `"mirror.example"`, "REGISTRY=MIRROR"}},
		{name: "config file unknown key", args: []string{"inspect", "oci:stack:run"},
			env:  map[string]string{"KILN_CONFIG": filepath.Join(cfgDir, "kiln", "unknown.toml")},
			want: []string{"unknown.toml", `unknown key "pul-policy"`, "known keys: store, pull-policy"}},
		{name: "config file broken", args: []string{"inspect", "oci:stack:run"}, env: badCfg,
			want: []string{"broken.toml", "line 1", "fix it"}},
		{name: "config set unknown key", args: []string{"config", "set", "colour", "red"},
			want: []string{`unknown setting "colour"`, "known: store"}},
		{name: "config set bad pull policy", args: []string{"config", "set", "pull-policy", "sometimes"},
			want: []string{"kiln config pull-policy", "always, if-missing"}},
		{name: "config add to a single value", args: []string{"config", "add", "store", "/x"},
			want: []string{"store takes one value", "kiln config set store VALUE"}},
		{name: "config remove absent value", args: []string{"config", "remove", "insecure-registries", "r.example"},
			env:  map[string]string{"XDG_CONFIG_HOME": cfgDir},
			want: []string{"insecure-registries", `no "r.example"`}},
		{name: "creation time not a number", args: []string{"build", "oci:out", "--builder", e.builder, "--creation-time", "yesterday"},
			want: []string{"--creation-time", `"yesterday"`, "now or a number of seconds"}},
		{name: "publish to a layout", args: []string{"build", "oci:out", "--builder", e.builder, "--publish"},
			want: []string{"--publish", "oci:out", "not a registry reference", "drop --publish"}},
		{name: "tag is a path", args: []string{"build", "oci:out", "--builder", e.builder, "-t", "./other"},
			want: []string{"--tag ./other", "is a path", "oci:./other"}},
		{name: "pack extension flag", args: []string{"build", "oci:out", "--builder", e.builder, "--extension", "x"},
			want: []string{"--extension", "not applicable to kiln build", "image extensions"}},
		{name: "pack buildpack registry flag", args: []string{"build", "oci:out", "--builder", e.builder, "-r", "default"},
			want: []string{"--buildpack-registry", "not applicable", "directories, files, URLs or images"}},
		{name: "pack uid flag", args: []string{"build", "oci:out", "--builder", e.builder, "--uid", "1001"},
			want: []string{"--uid", "not applicable", "kiln stack create --uid"}},
		{name: "pack platform flag", args: []string{"build", "oci:out", "--builder", e.builder, "--platform", "linux/arm64"},
			want: []string{"--platform", "not applicable", "kiln builder create --platform"}},
		{name: "pack flatten flag", args: []string{"buildpack", "package", "x.cnb", "--flatten"},
			want: []string{"--flatten", "not applicable to kiln buildpack package", "one layer per buildpack"}},
		{name: "inspect output format unknown", args: []string{"inspect", "-o", "xml", "oci:stack:run"},
			want: []string{"--output", `"xml"`, "human-readable, json, yaml or toml"}},
		{name: "inspect bom", args: []string{"inspect", "--bom", "oci:stack:run"},
			want: []string{"--bom", "not applicable", "kiln sbom download"}},
		{name: "builder inspect of a builder.toml", args: []string{"builder", "inspect", "builder.toml"},
			want: []string{"BUILDER builder.toml", "kiln builder create REF --config builder.toml"}},
		{name: "builder inspect without a builder", args: []string{"builder", "inspect"},
			want: []string{"no builder", "kiln config default-builder"}},
		{name: "build without a builder", args: []string{"build", "oci:out"},
			want: []string{"no builder", "--builder BUILDER", "[io.buildpacks] builder", "kiln config default-builder"}},
		{name: "build without an output", args: []string{"build", "--builder", e.builder},
			want: []string{"no output", "REF or --output REF"}},
		{name: "path is a text file", args: []string{"build", "oci:out", "--builder", e.builder, "--path", "notes.txt"},
			want: []string{"--path notes.txt", "not a directory, .zip or .jar"}},
		{name: "path zip is not a zip", args: []string{"build", "oci:out", "--builder", e.builder, "--path", "project/app.zip"},
			want: []string{"project/app.zip", "zip", "want a zip or jar file"}},
		{name: "path missing", args: []string{"build", "oci:out", "--builder", e.builder, "--path", "nowhere"},
			want: []string{"--path nowhere", "no such file", "source directory"}},
		{name: "sbom dir is a file", args: []string{"build", "oci:out", "--builder", e.builder, "--sbom-output-dir", "sbom-file"},
			want: []string{"--sbom-output-dir sbom-file", "is a file", "give a directory"}},
		{name: "sbom download of an image without one", args: []string{"sbom", "download", "oci:stack:run", "-o", "sboms"},
			want: []string{"oci:stack:run", "no SBOM layer", "a buildpack writes"}},
		{name: "package without config or buildpack", args: []string{"buildpack", "package", "x.cnb", "--path", "plain"},
			want: []string{"no buildpack.toml in plain", "--config package.toml", "--path"}},
		{name: "package with config and path", args: []string{"buildpack", "package", "x.cnb", "--path", "plain", "--config", "pkg-missing.toml"},
			want: []string{"--config or --path, not both"}},
		{name: "package tag with a file", args: []string{"buildpack", "package", "x.cnb", "--tag", "oci:t", "--config", "pkg-missing.toml"},
			want: []string{"--tag", "--format file", "drop --tag"}},
		{name: "builder create with a missing config", args: []string{"builder", "create", "oci:b", "--config", "missing.toml"},
			want: []string{"--config missing.toml", "no such file", "the builder.toml that describes the builder"}},
		{name: "rebase previous image and output", args: []string{"rebase", "oci:out:app2", "--previous-image", "oci:out:app", "--output", "oci:x"},
			want: []string{"--previous-image", "--output, not both"}},
		{name: "network unknown", args: []string{"build", "oci:out", "--builder", e.builder, "--network", "bridge"},
			want: []string{"--network", "bridge", "host", "none"}},
		{name: "env file missing", args: []string{"build", "oci:out", "--builder", e.builder, "--env-file", "missing.env"},
			want: []string{"--env-file", "missing.env", "no such file"}},
		{name: "env file bad line", args: []string{"build", "oci:out", "--builder", e.builder, "--env-file", "envs/bad.env"},
			want: []string{"envs/bad.env:1", "no variable name"}},
		{name: "volume without a target", args: []string{"build", "oci:out", "--builder", e.builder, "--volume", "/tmp"},
			want: []string{"--volume", `"/tmp"`, "HOST_PATH:CONTAINER_PATH[:ro|:rw]"}},
		{name: "SOURCE_DATE_EPOCH not a number", args: []string{"build", "oci:out", "--builder", e.builder}, env: map[string]string{"SOURCE_DATE_EPOCH": "soon"},
			want: []string{"SOURCE_DATE_EPOCH", `"soon"`, "number of seconds"}},
		{name: "builder.toml unknown key", args: []string{"build", "oci:out", "--builder", "unknown-key.toml"},
			want: []string{"unknown-key.toml", `unknown keys`, `"buildpacks.surprise"`}},
		{name: "builder.toml broken", args: []string{"build", "oci:out", "--builder", "bad.toml"},
			want: []string{"bad.toml", "line 2", "expected end of table array name"}},
		{name: "no buildpack detects the app", args: []string{"build", "oci:out", "--builder", e.builder, "--path", "plain"},
			want: []string{"no buildpack group passed detection", "group 1: fail: example/hello@0.0.1", "hint: run kiln build with -v"}},
		{name: "stack create without an id", args: []string{"stack", "create", "--build-base", "oci:stack:build", "--run-base", "oci:stack:run", "--build-output", "oci:b", "--run-output", "oci:r"},
			want: []string{"stack ID is required", "--id"}},
		{name: "stack create uid 0", args: []string{"stack", "create", "--id", "x", "--uid", "0", "--build-base", "oci:stack:build", "--run-base", "oci:stack:run", "--build-output", "oci:b", "--run-output", "oci:r"},
			want: []string{"--uid 0", "may not be root"}},
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
