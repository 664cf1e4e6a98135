package stackgen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen"
	"github.com/kilnbuild/kiln/stackgen/debian"
	"github.com/kilnbuild/kiln/stackgen/internal/debtest"
)

// testRepo is a signed repository shaped like Debian's: base-files with
// os-release, a libc whose loader lives under /lib64, a busybox, CA
// certificates, and a package that pulls in something to exclude.
func testRepo(t *testing.T) debtest.Repo {
	t.Helper()
	bb, err := os.ReadFile(busybox)
	if err != nil {
		testutil.Skip(t, "busybox-static is not installed: "+err.Error())
	}
	return debtest.WriteRepo(t, filepath.Join(t.TempDir(), "repo"), "amd64", []debtest.Deb{
		{Name: "base-files", Version: "12.4+deb12u1", Arch: "amd64", Files: []debtest.File{
			{Name: "./etc/", Dir: true, Mode: 0o755},
			{Name: "./etc/os-release", Link: "../usr/lib/os-release"},
			{Name: "./usr/lib/os-release", Mode: 0o644, Content: "ID=debian\nVERSION_ID=\"12\"\n"},
		}},
		{Name: "libc6", Version: "2.36-9", Arch: "amd64", PreDepends: "libgcc-s1", Files: []debtest.File{
			{Name: "./lib/", Dir: true, Mode: 0o755},
			{Name: "./lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Mode: 0o755, Content: "ld"},
			{Name: "./lib64/ld-linux-x86-64.so.2", Link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
			{Name: "./usr/bin/su", Mode: 0o4755, Content: "su"},
		}},
		{Name: "libgcc-s1", Version: "12.2", Arch: "amd64", Files: []debtest.File{{Name: "./usr/lib/libgcc_s.so.1", Mode: 0o644, Content: "gcc"}}},
		{Name: "busybox", Version: "1:1.35.0-4", Arch: "amd64", Depends: "libc6 (>= 2.34)", Files: []debtest.File{
			{Name: "./bin/", Dir: true, Mode: 0o755},
			{Name: "./bin/busybox", Mode: 0o755, Content: string(bb)},
			{Name: "./bin/sh", Link: "busybox"},
		}},
		{Name: "ca-certificates", Version: "20230311", Arch: "all", Depends: "openssl, debconf (>= 0.5) | debconf-2.0", Files: []debtest.File{
			{Name: "./usr/share/ca-certificates/mozilla/B.crt", Mode: 0o644, Content: "-----B-----"},
			{Name: "./usr/share/ca-certificates/mozilla/A.crt", Mode: 0o644, Content: "-----A-----\n"},
		}},
		{Name: "openssl", Version: "3.0", Arch: "amd64", Depends: "libc6"},
		{Name: "debconf", Version: "1.5", Arch: "all", Depends: "perl-base"},
		{Name: "perl-base", Version: "5.36", Arch: "amd64"},
	})
}

func TestGenerateFromPackages(t *testing.T) {
	ctx := context.Background()
	repo := testRepo(t)
	root := busyboxRootfs(t, basePasswd, baseGroup)
	spec := stackgen.Spec{
		ID:    "io.kiln.test.debs",
		Build: stackgen.ImageSpec{Base: "rootfs:" + root, Packages: []string{"openssl"}},
		Run:   stackgen.ImageSpec{Packages: []string{"base-files", "busybox", "ca-certificates"}, Exclude: []string{"debconf"}, AsRoot: true},
		Debian: stackgen.DebianSpec{Architecture: "amd64", Sources: []debian.Source{
			{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}}},
	}
	storeDir := filepath.Join(t.TempDir(), "store")
	store, err := oci.OpenStore(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := stackgen.Resolve(ctx, spec, stackgen.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	var runPkgs []string
	var runBytes int64
	for _, p := range lock.Run.Packages {
		runPkgs = append(runPkgs, p.Name)
		runBytes += p.Size
	}
	if diff := cmp.Diff([]string{"base-files", "busybox", "ca-certificates", "libc6", "libgcc-s1", "openssl"}, runPkgs); diff != "" {
		t.Errorf("locked run packages (-want +got):\n%s", diff)
	}
	lockFile := filepath.Join(t.TempDir(), "stack.lock")
	if err := lock.WriteFile(lockFile); err != nil {
		t.Fatal(err)
	}
	spec.Lock, err = stackgen.ReadLock(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lock, spec.Lock); diff != "" {
		t.Errorf("lock after a round trip (-want +got):\n%s", diff)
	}

	var laidOut []stackgen.Progress
	build, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(store), stackgen.WithProgress(func(p stackgen.Progress) {
		if p.Step == "laid out packages" {
			laidOut = append(laidOut, p)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	// Progress gives each image's package count and byte total.
	if len(laidOut) != 2 || laidOut[1].Image != "run" || laidOut[1].Count != len(runPkgs) || laidOut[1].Size != runBytes || runBytes == 0 {
		t.Errorf("laid out packages events %+v, want the run image's %d packages of %d bytes last", laidOut, len(runPkgs), runBytes)
	}
	checkImage(t, build)
	checkImage(t, run)

	fs := files(t, run)
	for name, want := range map[string]string{
		"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64",
		"usr/lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/bin/sh": "busybox",
		"etc/ssl/certs/A.pem": "/usr/share/ca-certificates/mozilla/A.crt",
	} {
		if got := fs[name].hdr; got == nil || got.Linkname != want {
			t.Errorf("%s: got %+v, want a symlink to %s", name, got, want)
		}
	}
	if got := fs["usr/bin/su"].hdr; got == nil || got.Mode != 0o4755 || got.Uid != 0 {
		t.Errorf("usr/bin/su = %+v, want mode 04755 owned by root", got)
	}
	if got := fs["etc/ssl/certs/ca-certificates.crt"].content; got != "-----A-----\n-----B-----\n" {
		t.Errorf("CA bundle = %q", got)
	}
	if got := fs["var/lib/dpkg/status.d/busybox"].content; !strings.Contains(got, "Package: busybox\nVersion: 1:1.35.0-4\n") {
		t.Errorf("status.d/busybox = %q", got)
	}
	if fs["var/lib/dpkg/status.d/debconf"].hdr != nil || fs["bin/busybox"].hdr != nil {
		t.Error("excluded debconf is in the image, or /bin is a directory")
	}
	if got := fs["etc/passwd"].content; !strings.HasPrefix(got, "root:x:0:0:") || strings.Contains(got, "cnb") {
		t.Errorf("run /etc/passwd = %q, want the skeleton without the CNB user", got)
	}
	if h := fs["tmp"].hdr; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp = %+v, want mode 01777", h)
	}
	cf, _ := run.ConfigFile()
	if cf.Config.Labels["io.buildpacks.base.distro.name"] != "debian" || cf.Config.Labels["io.buildpacks.base.distro.version"] != "12" || cf.Architecture != "amd64" {
		t.Errorf("run config: arch %s labels %v", cf.Architecture, cf.Config.Labels)
	}
	bfs := files(t, build)
	if bfs["var/lib/dpkg/status.d/openssl"].hdr == nil || bfs["bin/busybox"].hdr == nil || bfs["usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"].hdr != nil {
		t.Error("build image: want openssl's closure laid out on the unmerged base, /lib kept as a directory")
	}
	if bfs["lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"].hdr == nil {
		t.Error("build image: libc6's loader missing under /lib (base without merged /usr)")
	}

	// With the lock and the store, the repository is not needed any more.
	if err := os.RemoveAll(repo.Dir); err != nil {
		t.Fatal(err)
	}
	store2, _ := oci.OpenStore(storeDir)
	build2, run2, err := stackgen.Generate(ctx, spec, stackgen.WithStore(store2), stackgen.WithPullPolicy(oci.PullNever))
	if err != nil {
		t.Fatalf("Generate from the lock with pull never: %v", err)
	}
	if digest(t, build) != digest(t, build2) || digest(t, run) != digest(t, run2) {
		t.Errorf("digests differ when generated again from the lock")
	}

	// A request the lock does not answer cannot be resolved offline.
	spec.Run.Packages = append(spec.Run.Packages, "perl-base")
	_, _, err = stackgen.Generate(ctx, spec, stackgen.WithStore(store2), stackgen.WithPullPolicy(oci.PullNever))
	if !errors.Is(err, stackgen.ErrStaleLock) {
		t.Errorf("Generate with a stale lock and pull never = %v, want ErrStaleLock", err)
	}
}

func TestResolveErrorsNamePackages(t *testing.T) {
	ctx := context.Background()
	repo := testRepo(t)
	src := []debian.Source{{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}}
	for _, tt := range []struct {
		pkgs []string
		want error
		msg  string
	}{
		{[]string{"nosuch"}, debian.ErrUnknownPackage, "resolving run.packages: nosuch: no such package"},
		{[]string{"busybox", "libc6 (>= 3)"}, debian.ErrUnresolvable, "libc6 (>= 3): no version satisfies it"},
	} {
		spec := stackgen.Spec{ID: "x", Run: stackgen.ImageSpec{Packages: tt.pkgs}, Debian: stackgen.DebianSpec{Architecture: "amd64", Sources: src}}
		_, err := stackgen.Resolve(ctx, spec, stackgen.WithStore(openStore(t)))
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Resolve(%v) = %v, want %v containing %q", tt.pkgs, err, tt.want, tt.msg)
		}
	}
}

// TestResolveOverBase leaves out packages the base's dpkg database already
// has at a suitable version.
func TestResolveOverBase(t *testing.T) {
	ctx := context.Background()
	repo := testRepo(t)
	root := busyboxRootfs(t, basePasswd, baseGroup)
	write(t, filepath.Join(root, "var/lib/dpkg/status"), "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n"+
		"Package: openssl\nStatus: deinstall ok config-files\nVersion: 3.0\n", 0o644)
	spec := stackgen.Spec{
		ID:    "x",
		Build: stackgen.ImageSpec{Base: "rootfs:" + root, Packages: []string{"busybox", "openssl"}},
		Run:   stackgen.ImageSpec{Base: "rootfs:" + root},
		Debian: stackgen.DebianSpec{Architecture: "amd64", Sources: []debian.Source{
			{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}}},
	}
	lock, err := stackgen.Resolve(ctx, spec, stackgen.WithStore(openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range lock.Build.Packages {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"busybox", "openssl"}, got); diff != "" {
		t.Errorf("packages over a base with libc6 installed (-want +got):\n%s", diff)
	}
}

// TestHostilePackage lays out a package whose entries try to climb out of
// the staging directory, by name, through symlinks and by hard link: every
// write stays inside, and no host file enters the image.
func TestHostilePackage(t *testing.T) {
	ctx := context.Background()
	outside := t.TempDir()
	repo := debtest.WriteRepo(t, filepath.Join(t.TempDir(), "repo"), "amd64", []debtest.Deb{{
		Name: "evil", Version: "1", Arch: "amd64", Files: []debtest.File{
			{Name: "../../../../../../" + outside + "/byname", Mode: 0o644, Content: "x"},
			{Name: "./abs", Link: outside},
			{Name: "./abs/viaabs", Mode: 0o644, Content: "x"},
			{Name: "./rel", Link: "../../../../../../../../" + outside},
			{Name: "./rel/viarel", Mode: 0o644, Content: "x"},
			{Name: "./etc/", Dir: true, Mode: 0o755},
			{Name: "./etc/hostname", Mode: 0o644, Content: "evil\n"},
			{Name: "./hl", Hard: "../../../../../../etc/hostname"},
		},
	}})
	spec := stackgen.Spec{
		ID:    "x",
		Run:   stackgen.ImageSpec{Packages: []string{"evil"}},
		Build: stackgen.ImageSpec{Packages: []string{"evil"}},
		Debian: stackgen.DebianSpec{Architecture: "amd64", Sources: []debian.Source{
			{URI: repo.URI(), Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: repo.Keyring}}},
	}
	_, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(openStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the package wrote outside the staging directory: %v", entries)
	}
	fs := files(t, run)
	if h := fs["hl"].hdr; h == nil || h.Linkname != "etc/hostname" {
		t.Errorf("hard link to ../../etc/hostname = %+v, want a link to the package's own etc/hostname", h)
	}
	for _, name := range []string{strings.TrimPrefix(outside, "/") + "/byname", strings.TrimPrefix(outside, "/") + "/viaabs"} {
		if fs[name].hdr == nil {
			t.Errorf("%s: want the entry kept inside the image", name)
		}
	}
}
