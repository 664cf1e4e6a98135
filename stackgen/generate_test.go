package stackgen_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen"
)

func TestGenerateFromRootfs(t *testing.T) {
	ctx := context.Background()
	root := busyboxRootfs(t, basePasswd, baseGroup)
	spec := stackgen.Spec{
		ID:    "io.kiln.test.busybox",
		Build: stackgen.ImageSpec{Base: "rootfs:" + root},
		Run:   stackgen.ImageSpec{Base: "rootfs:" + root, Labels: map[string]string{"org.example": "x"}},
	}
	build, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, build)
	checkImage(t, run)

	cf, err := build.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "1000:1000" {
		t.Errorf("build User = %q, want 1000:1000", cf.Config.User)
	}
	wantEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CNB_USER_ID=1000", "CNB_GROUP_ID=1000", "CNB_STACK_ID=io.kiln.test.busybox"}
	if diff := cmp.Diff(wantEnv, cf.Config.Env); diff != "" {
		t.Errorf("build Env (-want +got):\n%s", diff)
	}
	wantLabels := map[string]string{
		"io.buildpacks.stack.id": "io.kiln.test.busybox", "io.buildpacks.base.distro.name": "testlinux",
		"io.buildpacks.base.distro.version": "12",
	}
	if diff := cmp.Diff(wantLabels, cf.Config.Labels); diff != "" {
		t.Errorf("build labels (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture == "" || !cf.Created.Time.Equal(oci.Epoch) {
		t.Errorf("build config os/arch/created = %s/%s/%v", cf.OS, cf.Architecture, cf.Created)
	}
	fs := files(t, build)
	if got, want := fs["etc/passwd"].content, basePasswd+"\ncnb:x:1000:1000::/home/cnb:/bin/sh\n"; got != want {
		t.Errorf("/etc/passwd = %q, want %q", got, want)
	}
	if got, want := fs["etc/group"].content, baseGroup+"cnb:x:1000:\n"; got != want {
		t.Errorf("/etc/group = %q, want %q", got, want)
	}
	if h := fs["home/cnb"].hdr; h == nil || h.Uid != 1000 || h.Gid != 1000 || h.Mode&0o777 != 0o755 {
		t.Errorf("home/cnb = %+v, want a 0755 directory owned by 1000:1000", h)
	}
	if fs["bin/busybox"].hdr == nil {
		t.Error("bin/busybox missing from the build image")
	}
	layers, _ := build.Layers()
	if len(layers) != 2 {
		t.Errorf("build image has %d layers, want the base's and one more", len(layers))
	}

	// The run image runs as the CNB user by default (issue #14): the
	// base's layer and the accounts layer.
	rcf, _ := run.ConfigFile()
	if rcf.Config.User != "1000:1000" || rcf.Config.Labels["io.buildpacks.rebasable"] != "true" || rcf.Config.Labels["org.example"] != "x" ||
		rcf.Config.Labels["io.buildpacks.stack.id"] != spec.ID {
		t.Errorf("run config: user %q labels %v", rcf.Config.User, rcf.Config.Labels)
	}
	if rl, _ := run.Layers(); len(rl) != 2 {
		t.Errorf("run image has %d layers, want the base's and the accounts'", len(rl))
	}
	if got := files(t, run)["etc/passwd"].content; !strings.Contains(got, "cnb:x:1000:1000:") {
		t.Errorf("run /etc/passwd = %q, want the CNB user", got)
	}
	// AsRoot keeps the base as it is: root, the base's layer only.
	asRoot := spec
	asRoot.Run.AsRoot = true
	_, rootRun, err := stackgen.Generate(ctx, asRoot, stackgen.WithStore(openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := rootRun.ConfigFile(); cf.Config.User != "" {
		t.Errorf("AsRoot run user %q, want none", cf.Config.User)
	}
	if rl, _ := rootRun.Layers(); len(rl) != 1 {
		t.Errorf("AsRoot run image has %d layers, want the base's only", len(rl))
	}

	// Same inputs, a fresh store: same digests.
	build2, run2, err := stackgen.Generate(ctx, spec, stackgen.WithStore(openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, build) != digest(t, build2) || digest(t, run) != digest(t, run2) {
		t.Errorf("digests differ between two runs: build %s %s, run %s %s", digest(t, build), digest(t, build2), digest(t, run), digest(t, run2))
	}
}

func TestGenerateFromImage(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	root := busyboxRootfs(t, basePasswd+"\nbuilder:x:2000:2000::/home/builder:/bin/sh\n", baseGroup+"builder:x:2000:\n")
	// Make an oci: base image of the root filesystem, as a tar (owners kept).
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	_, base, err := stackgen.Generate(ctx, stackgen.Spec{ID: "x", Build: stackgen.ImageSpec{Base: "rootfs:" + tarball}, Run: stackgen.ImageSpec{Base: "rootfs:" + tarball, AsRoot: true}},
		stackgen.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	layout := "oci:" + filepath.Join(t.TempDir(), "base") + ":bb"
	ref, _ := oci.ParseReference(layout)
	if _, err := oci.Write(ctx, ref, base); err != nil {
		t.Fatal(err)
	}
	// The same base as a docker archive and in a registry.
	archive := "docker-archive:" + filepath.Join(t.TempDir(), "base.tar") + ":kiln/base:1"
	registry := testutil.NewRegistry(t).Host + "/kiln/base:1"
	for _, r := range []string{archive, registry} {
		ref, _ := oci.ParseReference(r)
		if _, err := oci.Write(ctx, ref, base); err != nil {
			t.Fatal(err)
		}
	}
	baseLayers, _ := base.Layers()
	baseDigest, _ := baseLayers[0].Digest()
	for _, r := range []string{archive, registry} {
		b, _, err := stackgen.Generate(ctx, stackgen.Spec{ID: "x", UID: 2000, GID: 2000, Build: stackgen.ImageSpec{Base: r}, Run: stackgen.ImageSpec{Base: r}},
			stackgen.WithStore(store), stackgen.WithOCIOptions(oci.WithInsecureRegistries(strings.Split(registry, "/")[0])))
		if err != nil {
			t.Fatalf("base %s: %v", r, err)
		}
		checkImage(t, b)
		if ls, _ := b.Layers(); len(ls) != 2 {
			t.Errorf("base %s: %d layers, want 2", r, len(ls))
		} else if d, _ := ls[0].DiffID(); d != mustDiffID(t, baseLayers[0]) {
			t.Errorf("base %s: the base layer changed (%s)", r, baseDigest)
		}
	}

	spec := stackgen.Spec{ID: "io.kiln.test", UID: 2000, GID: 2000, Build: stackgen.ImageSpec{Base: layout}, Run: stackgen.ImageSpec{Base: layout, User: true}}
	build, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if bl, _ := build.Layers(); len(bl) != 2 {
		t.Errorf("build image has %d layers, want 2", len(bl))
	} else if d, _ := bl[0].Digest(); d != baseDigest {
		t.Errorf("the base layer of an oci: base changed: %s, want %s", d, baseDigest)
	}
	checkImage(t, build)
	checkImage(t, run)
	fs := files(t, run)
	if !strings.HasSuffix(fs["etc/passwd"].content, "builder:x:2000:2000::/home/builder:/bin/sh\n") || strings.Contains(fs["etc/passwd"].content, "cnb") {
		t.Errorf("an existing user with the UID must be reused: /etc/passwd = %q", fs["etc/passwd"].content)
	}
	rcf, _ := run.ConfigFile()
	if rcf.Config.User != "2000:2000" {
		t.Errorf("run User = %q, want 2000:2000 (user = true)", rcf.Config.User)
	}
	if h := fs["home/builder"].hdr; h == nil || h.Uid != 2000 {
		t.Errorf("home/builder = %+v", h)
	}
}

func TestGenerateErrors(t *testing.T) {
	ctx := context.Background()
	noPasswd := busyboxRootfs(t, "", "")
	withPasswd := busyboxRootfs(t, basePasswd+"\nalice:x:1000:1000::/home/alice:/bin/sh\n", baseGroup+"alice:x:1000:\n")
	tests := []struct {
		name string
		spec stackgen.Spec
		want error
		msg  string
	}{
		{"no passwd", stackgen.Spec{ID: "x", Build: stackgen.ImageSpec{Base: "rootfs:" + noPasswd}, Run: stackgen.ImageSpec{Base: "rootfs:" + noPasswd}},
			stackgen.ErrNoPasswd, "no /etc/passwd"},
		{"uid clash", stackgen.Spec{ID: "x", UserName: "bob", Build: stackgen.ImageSpec{Base: "rootfs:" + withPasswd}, Run: stackgen.ImageSpec{Base: "rootfs:" + withPasswd}},
			stackgen.ErrUserClash, `UID 1000 is already user "alice"`},
		{"name clash", stackgen.Spec{ID: "x", UID: 1001, GID: 1000, UserName: "alice", Build: stackgen.ImageSpec{Base: "rootfs:" + withPasswd}, Run: stackgen.ImageSpec{Base: "rootfs:" + withPasswd}},
			stackgen.ErrUserClash, "the name already has UID 1000"},
		{"no id", stackgen.Spec{Build: stackgen.ImageSpec{Base: "rootfs:" + withPasswd}}, stackgen.ErrConfig, "no stack ID"},
		{"missing rootfs", stackgen.Spec{ID: "x", Build: stackgen.ImageSpec{Base: "rootfs:/nonexistent"}}, os.ErrNotExist, "/nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := stackgen.Generate(ctx, tt.spec, stackgen.WithStore(openStore(t)))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Generate = %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func mustDiffID(t *testing.T, l interface{ DiffID() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRootfsTarballs reads a root filesystem tar plain, gzip- and
// zstd-compressed, to the same image.
func TestRootfsTarballs(t *testing.T) {
	ctx := context.Background()
	root := busyboxRootfs(t, basePasswd, baseGroup)
	dir := t.TempDir()
	plain := filepath.Join(dir, "rootfs.tar")
	if out, err := exec.Command("tar", "--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(b)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(b)
	zw.Close()
	write(t, plain+".gz", gz.String(), 0o644)
	write(t, plain+".zst", zs.String(), 0o644)
	var digests []string
	for _, p := range []string{plain, plain + ".gz", plain + ".zst"} {
		_, run, err := stackgen.Generate(ctx, stackgen.Spec{ID: "x", Build: stackgen.ImageSpec{Base: "rootfs:" + p}, Run: stackgen.ImageSpec{Base: "rootfs:" + p}},
			stackgen.WithStore(openStore(t)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		digests = append(digests, digest(t, run).String())
		if fs := files(t, run); fs["bin/busybox"].hdr == nil || fs["bin/sh"].hdr.Linkname != "busybox" {
			t.Errorf("%s: busybox or its sh link missing", p)
		}
	}
	if digests[0] != digests[1] || digests[0] != digests[2] {
		t.Errorf("digests differ by compression: %v", digests)
	}
}
