package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/project"
	"github.com/kilnbuild/kiln/oci"
)

// prepareDirs copies the app, writes the platform and build-config env files
// and hands the writable directories to the CNB user.
func (b *building) prepareDirs(ctx context.Context) error {
	if b.req.InPlace != nil {
		return b.prepareInPlace()
	}
	var include, exclude []string
	if p := b.req.Project; p != nil {
		include, exclude = p.Include, p.Exclude
	}
	env := b.projectEnv()
	if err := project.CopyApp(ctx, b.req.AppDir, b.dirs.app, include, exclude); err != nil {
		return fmt.Errorf("copying the app from %s: %w", b.req.AppDir, err)
	}
	// The exporter records the on-disk modes of /workspace and /layers; a
	// build container has them 0755 whatever the source directory had.
	for _, d := range []string{b.dirs.app, b.dirs.layers} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	if err := writeEnvFiles(filepath.Join(b.dirs.platform, "env"), append(env, b.req.Env...)); err != nil {
		return err
	}
	b.paths = lifecycle.Paths{
		Layers:     lifecycle.Dir{Host: b.dirs.layers, Container: layersPath},
		App:        lifecycle.Dir{Host: b.dirs.app, Container: workspacePath},
		Platform:   lifecycle.Dir{Host: b.dirs.platform, Container: platformPath},
		Buildpacks: lifecycle.Dir{Host: b.dirs.buildpacks, Container: buildpacksPath},
		Scratch:    lifecycle.Dir{Host: b.dirs.scratch, Container: scratchPath},
	}
	if err := b.writeBuildConfig(); err != nil {
		return err
	}
	if b.req.Rootless {
		// The sandbox maps the invoking user to the CNB user: what this
		// process owns, buildpacks own.
		return nil
	}
	return chownTree(b.uid, b.gid, b.dirs.app, b.dirs.layers)
}

// projectEnv is project.toml's build env as K=V.
func (b *building) projectEnv() []string {
	var env []string
	if p := b.req.Project; p != nil {
		for _, e := range p.Env {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return env
}

// writeBuildConfig writes the builder's operator env (builder.toml's
// [[build.env]]) as <build-config>/env files, read by the phases only.
func (b *building) writeBuildConfig() error {
	if len(b.inputs.buildEnv) == 0 {
		return nil
	}
	dir := filepath.Join(b.dirs.buildConfig, "env")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, v := range b.inputs.buildEnv {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			return err
		}
	}
	b.paths.BuildConfig = b.dirs.buildConfig
	return nil
}

// writeEnvFiles writes "K=V" settings as <dir>/K files holding V, the way
// buildpacks read platform env. A later setting of the same name wins.
func writeEnvFiles(dir string, env []string) error {
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, "/\x00") || k == "." || k == ".." {
			return fmt.Errorf("writing platform env: %q is not NAME=VALUE", kv)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			return fmt.Errorf("writing platform env %s: %w", k, err)
		}
	}
	return nil
}

// chownTree gives every file below the roots to uid:gid, without following
// symbolic links.
func chownTree(uid, gid int, roots ...string) error {
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("handing %s to %d:%d: %w", root, uid, gid, err)
		}
	}
	return nil
}

// owner is who owns what the phases create for buildpacks: the CNB user as
// root, nobody in particular rootless (the invoking user is the CNB user).
func (b *building) owner() *lifecycle.Owner {
	if b.req.Rootless || b.req.InPlace != nil {
		return nil
	}
	return &lifecycle.Owner{UID: b.uid, GID: b.gid}
}

// detect runs the detect phase and prints the group like pack does.
func (b *building) detect(ctx context.Context, r lifecycle.Runner) error {
	fmt.Fprintln(b.out, "===> DETECTING")
	d := &lifecycle.Detector{
		Paths:       b.paths,
		Runner:      r,
		Order:       b.inputs.order,
		Target:      b.target,
		Env:         b.env,
		PlatformAPI: b.req.PlatformAPI,
		Logger:      b.o.logger,
		Owner:       b.owner(),
	}
	if b.req.Verbose {
		d.Output = b.out
	}
	res, err := d.Run(ctx)
	if err != nil {
		return err
	}
	b.group, b.result.Group = res, res.Group
	fmt.Fprintf(b.out, "%d of %d buildpacks participating\n", len(res.Group.Group), countBuildpacks(b.inputs.order))
	tw := tabwriter.NewWriter(b.out, 0, 0, 1, ' ', 0)
	for _, e := range res.Group.Group {
		fmt.Fprintf(tw, "%s\t%s\n", e.ID, e.Version)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.timing("detect")
	return nil
}

// countBuildpacks counts the distinct buildpacks an order names.
func countBuildpacks(o lifecycle.Order) int {
	seen := map[string]bool{}
	for _, g := range o {
		for _, e := range g.Group {
			seen[e.String()] = true
		}
	}
	return len(seen)
}

// runBuild runs the build phase with the buildpacks' output streamed live.
func (b *building) runBuild(ctx context.Context, r lifecycle.Runner) error {
	fmt.Fprintln(b.out, "===> BUILDING")
	bd := &lifecycle.Builder{
		Paths:       b.paths,
		Runner:      r,
		Group:       b.group.Group,
		Plan:        b.group.Plan,
		Target:      b.target,
		Env:         b.env,
		PlatformAPI: b.req.PlatformAPI,
		Logger:      b.o.logger,
		Stdout:      b.out,
		Stderr:      b.out,
		Owner:       b.owner(),
	}
	res, err := bd.Run(ctx)
	if err != nil {
		return err
	}
	b.built = res
	b.timing("build")
	return nil
}

// export appends the build to the run image.
func (b *building) export(ctx context.Context) error {
	fmt.Fprintln(b.out, "===> EXPORTING")
	cfg, err := b.run.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the run image's config: %w", err)
	}
	arch := cfg.Architecture
	launcher, info := []byte(nil), b.req.LauncherInfo
	if b.lifecycle != nil {
		launcher, info = b.lifecycle.launcher, b.lifecycle.info
	} else if launcher, err = b.req.Launcher(arch); err != nil {
		return err
	}
	run := b.inputs.recordedRunImage()
	e := &lifecycle.Exporter{
		RunImage:        b.run,
		RunImageRef:     b.runRef,
		RunImageName:    run.Image,
		RunImageMirrors: run.Mirrors,
		LocalRunImage:   b.inputs.localRun,
		Layers:          b.paths.Layers,
		App:             b.paths.App,
		UID:             b.uid,
		GID:             b.gid,
		PlatformAPI:     b.req.PlatformAPI,
		Launcher:        launcher,
		LauncherInfo:    info,
		DefaultProcess:  b.req.DefaultProcess,
		Created:         b.req.Created,
		Store:           b.req.Store,
		Previous:        b.analysis.Previous,
		Reuse:           []v1.Image{b.analysis.Cache},
		Logger:          b.o.logger,
		Out:             b.out,
		Progress:        b.o.progress,
	}
	if b.req.ProjectMetadata != nil {
		e.Project = *b.req.ProjectMetadata
	}
	b.exporter = e
	img, report, err := e.Run(ctx, b.built)
	if err != nil {
		return err
	}
	b.result.Image, b.result.Export = img, report
	if b.req.Verbose {
		fmt.Fprintf(b.out, "Compressed %d bytes of layer content\n", report.CompressedBytes)
	}
	b.timing("export")
	return nil
}

// analyze reads the previous image's metadata and the cache's (Platform API
// ≥0.7: before detection). Neither is required.
func (b *building) analyze(ctx context.Context) error {
	fmt.Fprintln(b.out, "===> ANALYZING")
	a := &lifecycle.Analyzer{
		PreviousName: b.req.PreviousImage,
		Cache:        b.req.Cache,
		SkipCache:    b.req.ClearCache,
		Logger:       b.o.logger,
		Out:          b.out,
	}
	if b.req.PreviousImage != "" {
		img, err := b.o.reader(ctx, b.req.PreviousImage)
		switch {
		case err == nil:
			a.Previous = img
		case ctx.Err() != nil:
			return ctx.Err()
		case !previousMissing(b.req.PreviousImage, err):
			fmt.Fprintf(b.out, "Warning: ignoring the previous image %s: %v\n", b.req.PreviousImage, err)
		}
	}
	res, err := a.Run(ctx)
	if err != nil {
		return err
	}
	b.analysis = res
	b.timing("analyze")
	return nil
}

// previousMissing tells "there is no previous image yet" (no such tag, no
// such layout or archive) from one that exists but cannot be read.
func previousMissing(ref string, err error) bool {
	if errors.Is(err, oci.ErrNotFound) {
		return true
	}
	// A registry answers a tag it does not have with 404 (MANIFEST_UNKNOWN,
	// NAME_UNKNOWN): the first build pushing there.
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	r, perr := oci.ParseReference(ref)
	if perr != nil || r.Kind == oci.KindRegistry {
		return true
	}
	_, serr := os.Stat(r.Path)
	return serr != nil
}

// restore gives the buildpacks the layer metadata, store.toml files and
// cached layers of earlier builds.
func (b *building) restore(ctx context.Context) error {
	fmt.Fprintln(b.out, "===> RESTORING")
	r := &lifecycle.Restorer{
		Layers:      b.paths.Layers,
		Group:       b.group.Group,
		Analysis:    b.analysis,
		Store:       b.req.Store,
		PlatformAPI: b.req.PlatformAPI,
		SkipLayers:  b.req.SkipLayers,
		Unpack:      oci.UnpackOptions{Rootless: b.req.Rootless},
		Owner:       b.owner(),
		Logger:      b.o.logger,
		Out:         b.out,
	}
	if b.req.Cache != nil {
		r.Trees, r.Discard = b.req.Cache.Trees, b.req.Cache.Discard
	}
	res, err := r.Run(ctx)
	if err != nil {
		return err
	}
	b.unusable = res.Unusable
	b.timing("restore")
	return nil
}

// saveCache writes the cache=true layers to the cache. A cache that cannot
// be written is a warning: the image is fine without it.
func (b *building) saveCache(ctx context.Context) {
	c := b.req.Cache
	if c == nil || b.exporter == nil {
		return
	}
	m, layers, err := b.exporter.CacheLayers(ctx, b.built)
	if err == nil {
		for _, bp := range m.Buildpacks {
			had := b.analysis.CacheMetadata.ForBuildpack(bp.ID)
			for _, name := range sortedNames(bp.Layers) {
				verb := "Adding"
				if !b.req.ClearCache && had.Layers[name].SHA == bp.Layers[name].SHA {
					verb = "Reusing"
				}
				fmt.Fprintf(b.out, "%s cache layer '%s:%s'\n", verb, bp.ID, name)
			}
		}
		err = c.Drop(b.unusable)
	}
	if err == nil {
		err = c.Write(ctx, m, layers)
	}
	if err == nil {
		err = c.KeepTrees(b.paths.Layers, m)
	}
	if err != nil {
		fmt.Fprintf(b.out, "Warning: saving the cache: %v\n", err)
	}
	b.timing("cache")
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
