package platform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// Labels of stack images the build reads (CNB contract §5.4).
const (
	labelDistroName    = "io.buildpacks.base.distro.name"
	labelDistroVersion = "io.buildpacks.base.distro.version"
	labelBaseID        = "io.buildpacks.base.id"
)

// readStack reads the build image (its CNB user, environment and root
// filesystem) and the run image (its target).
func (b *building) readStack(ctx context.Context) error {
	if b.req.InPlace != nil {
		if err := b.inPlaceStack(); err != nil {
			return err
		}
		return b.readRunImage(ctx)
	}
	build := b.req.BuilderImage
	if b.inputs.buildImage != "" {
		img, err := b.o.reader(ctx, b.inputs.buildImage)
		if err != nil {
			return fmt.Errorf("reading build image %s: %w", b.inputs.buildImage, err)
		}
		build = img
	}
	cfg, err := build.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the build image's config: %w", err)
	}
	if b.uid, b.gid, err = cnbUser(cfg.Config.Env); err != nil {
		return fmt.Errorf("build image %s: %w", b.inputs.buildImage, err)
	}
	b.rootfs, err = b.req.Store.Rootfs(ctx, build, oci.UnpackOptions{Rootless: b.req.Rootless, Progress: b.o.progress})
	if err != nil {
		return fmt.Errorf("unpacking the build image: %w", err)
	}
	b.build = build
	b.env = withHome(cfg.Config.Env, b.rootfs, b.uid)
	if b.req.BuilderImage != nil && len(b.inputs.buildEnv) == 0 {
		if b.inputs.buildEnv, err = builderEnvFiles(b.rootfs); err != nil {
			return err
		}
	}
	if b.req.BuilderImage != nil && b.inputs.builderMeta != nil {
		if err := b.useBuilderLifecycle(*b.inputs.builderMeta); err != nil {
			return err
		}
	}
	return b.readRunImage(ctx)
}

// readRunImage reads the run image and the build's target from it.
func (b *building) readRunImage(ctx context.Context) error {
	runRef := b.inputs.runImageRef()
	run, err := b.o.reader(ctx, runRef)
	if err != nil {
		return fmt.Errorf("reading run image %s: %w", runRef, err)
	}
	b.run, b.result.RunImage = run, runRef
	if b.runRef, err = lifecycle.RunImageReference(run, runRef); err != nil {
		return err
	}
	b.target, err = targetData(run, b.rootfs)
	return err
}

// builderEnvFiles reads a builder image's operator env, the files pack and
// kiln write to /cnb/build-config/env from builder.toml's [[build.env]].
func builderEnvFiles(rootfs string) (map[string]string, error) {
	dir, err := securejoin.SecureJoin(rootfs, "/cnb/build-config/env")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the builder's build-config env: %w", err)
	}
	files := map[string]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading the builder's build-config env: %w", err)
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

// cnbUser reads CNB_USER_ID and CNB_GROUP_ID from a build image's
// environment; pack refuses build images without them, and so does kiln.
func cnbUser(env []string) (uid, gid int, err error) {
	get := func(k string) (int, error) {
		v, ok := lookupEnv(env, k)
		if !ok {
			return 0, fmt.Errorf("the build image does not set %s", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("the build image's %s=%q is not a user or group id", k, v)
		}
		return n, nil
	}
	if uid, err = get("CNB_USER_ID"); err != nil {
		return 0, 0, err
	}
	gid, err = get("CNB_GROUP_ID")
	return uid, gid, err
}

// lookupEnv finds key in a "K=V" list; the last setting wins.
func lookupEnv(env []string, key string) (string, bool) {
	v, found := "", false
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v, found = val, true
		}
	}
	return v, found
}

// withHome adds HOME, as a container runtime would for the user uid, from
// the root filesystem's /etc/passwd when the image's env has none.
func withHome(env []string, rootfs string, uid int) []string {
	if _, ok := lookupEnv(env, "HOME"); ok {
		return env
	}
	home := "/"
	if p, err := securejoin.SecureJoin(rootfs, "/etc/passwd"); err == nil {
		if h, ok := passwdHome(p, uid); ok {
			home = h
		}
	}
	return append(append([]string{}, env...), "HOME="+home)
}

// passwdHome returns the home directory of uid in a passwd file.
func passwdHome(path string, uid int) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) >= 6 && fields[2] == strconv.Itoa(uid) && fields[5] != "" {
			return fields[5], true
		}
	}
	return "", false
}

// targetData is the run image's target (CNB contract §1.2): os, arch and
// variant from its config, the distro from its labels, or, when those are
// missing, from the build image's /etc/os-release as the lifecycle does.
func targetData(run v1.Image, buildRootfs string) (lifecycle.TargetData, error) {
	cfg, err := run.ConfigFile()
	if err != nil {
		return lifecycle.TargetData{}, fmt.Errorf("reading the run image's config: %w", err)
	}
	t := lifecycle.TargetData{OS: cfg.OS, Arch: cfg.Architecture, ArchVariant: cfg.Variant}
	labels := cfg.Config.Labels
	t.ID = labels[labelBaseID]
	if name := labels[labelDistroName]; name != "" {
		t.Distro = &lifecycle.Distro{Name: name, Version: labels[labelDistroVersion]}
		return t, nil
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		full, err := securejoin.SecureJoin(buildRootfs, p)
		if err != nil {
			continue
		}
		if id, version, ok := osRelease(full); ok {
			t.Distro = &lifecycle.Distro{Name: id, Version: version}
			break
		}
	}
	return t, nil
}

// osRelease reads ID and VERSION_ID from an os-release file.
func osRelease(path string) (id, version string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, found := strings.Cut(strings.TrimSpace(s.Text()), "=")
		if !found {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version, id != ""
}
