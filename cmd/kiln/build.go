package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/lifecycle/project"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/sandbox"
)

func init() { subcommandFactories = append(subcommandFactories, newBuildCmd) }

// buildFlags are `kiln build`'s flags.
type buildFlags struct {
	output         string
	builder        string
	path           string
	buildpacks     []string
	env            []string
	envFiles       []string
	defaultProcess string
	network        string
	sandbox        string
	descriptor     string
	runImage       string
	report         string
	volumes        []string
	previousImage  string
	cacheDir       string
	cacheImage     string
	clearCache     bool
	layersDir      string
	tags           []string
	creationTime   string
	sbomDir        string
	packCheck      func(*cobra.Command) error
}

func newBuildCmd(g *globalFlags) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [REF] --builder BUILDER [flags]",
		Short: "Build an app image with Cloud Native Buildpacks",
		Long: `Build the app in --path with the buildpacks of BUILDER (a builder.toml file,
or a builder image made by kiln or pack, of any reference kind) and write the
image to REF (oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG] or a
registry reference, pushed directly). Buildpacks run in kiln's rootless
sandbox as the build image's CNB user; no daemon and no root are needed.

--builder rootfs:/ builds in place, with kiln running inside the builder
image (a CI pod): the builder is the root filesystem, the app is built where
--path is (use /workspace), layers go to /layers (a writable volume) or
--layers-dir, and nothing needs root or a writable root filesystem.`,
		Example: `  kiln build oci:./out:app --builder builder.toml
  kiln build --output registry.example/app:1 --builder builder.toml --path ./src
  kiln build oci:./out --builder builder.toml --buildpack ./buildpacks/python
  kiln build registry.example/app:1 --builder rootfs:/ --path /workspace`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if f.output != "" && f.output != args[0] {
					return fmt.Errorf("the output is given twice: %s and --output %s", args[0], f.output)
				}
				f.output = args[0]
			}
			if err := f.packCheck(cmd); err != nil {
				return err
			}
			return runBuild(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "where to write the image (or give it as the first argument)")
	fl.StringVarP(&f.builder, "builder", "B", "", "builder.toml file, builder image reference, or rootfs:/ (build in place, inside the builder image); default: project.toml's [io.buildpacks] builder, then kiln config default-builder")
	fl.StringVar(&f.layersDir, "layers-dir", "", "with --builder rootfs:/: the layers directory (default /layers, which must be writable)")
	fl.StringVarP(&f.path, "path", "p", ".", "the app's source directory, or a .zip or .jar of it")
	fl.StringSliceVarP(&f.buildpacks, "buildpack", "b", nil, "use this buildpack (directory, .cnb file or image) instead of the builder's order (repeatable, or comma-separated)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "build-time environment variable K=V, or K to copy it from kiln's environment (repeatable)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "file of K=V lines for the build environment (repeatable)")
	fl.StringVarP(&f.defaultProcess, "default-process", "D", "", "the process type the image starts by default")
	fl.StringVar(&f.network, "network", "host", "network for buildpacks: host or none (see kiln run --help); default host, but none for buildpacks that would run as root on this machine")
	fl.StringVar(&f.sandbox, "sandbox", "auto", sandboxFlagUsage)
	fl.StringVarP(&f.descriptor, "descriptor", "d", "", "project descriptor (default <path>/project.toml when present)")
	fl.StringVar(&f.runImage, "run-image", "", "run image to base the app image on, instead of the builder's")
	fl.StringArrayVar(&f.volumes, "volume", nil, "bind mount HOST_PATH:CONTAINER_PATH[:ro|:rw] into the build container, read-only by default (repeatable)")
	fl.StringVar(&f.previousImage, "previous-image", "", "image whose layers and metadata this build reuses (default: the output, when it exists)")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "keep the build cache in this directory (an OCI layout) instead of kiln's store")
	fl.StringVar(&f.cacheImage, "cache-image", "", "keep the build cache in this registry image, to share it between machines")
	fl.BoolVar(&f.clearCache, "clear-cache", false, "ignore the cache's content for this build (it is written again afterwards)")
	fl.StringVar(&f.report, "report", "", "write a JSON report (phase durations, layers, digest; on failure the phase, exit code and error) to this file")
	fl.StringSliceVarP(&f.tags, "tag", "t", nil, "also write the image to this reference (repeatable, or comma-separated): one digest everywhere")
	fl.StringVar(&f.creationTime, "creation-time", "", "the image's created time: now, or Unix seconds (default SOURCE_DATE_EPOCH, else 1980-01-01)")
	fl.StringVar(&f.sbomDir, "sbom-output-dir", "", "copy the image's SBOM files (layers/sbom/...) into this directory")
	fl.Bool("publish", false, "accepted for pack's sake: a registry REF is always pushed directly")
	f.packCheck = addPackFlags(cmd, "build")
	return cmd
}

// runBuild is `kiln build`: flags and environment to a platform.BuildRequest,
// one platform.Build, then the image written to the output and the tags.
func runBuild(cmd *cobra.Command, g *globalFlags, f *buildFlags) (err error) {
	ctx, out, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	var res *platform.BuildOutput
	stage := "setup"
	if f.report != "" {
		// The report is written on failure too: CI reads what failed.
		defer func() {
			if err != nil {
				if rerr := writeFailureReport(f.report, f.output, stage, res, err); rerr != nil {
					err = errors.Join(err, rerr)
				}
			}
		}()
	}
	if f.output == "" {
		return errors.New("no output: give REF or --output REF (oci:DIR[:TAG], docker-archive:FILE or a registry reference)")
	}
	outRef, err := parseImageArg("the output", f.output, refOutput)
	if err != nil {
		return err
	}
	if publish, _ := cmd.Flags().GetBool("publish"); publish && outRef.Kind != oci.KindRegistry {
		return fmt.Errorf("--publish pushes to a registry, but the output %s is not a registry reference: drop --publish, or give a registry REF", f.output)
	}
	tagRefs, err := parseTags(f.tags)
	if err != nil {
		return err
	}
	for _, in := range []struct {
		flag string
		v    *string
	}{{"--run-image", &f.runImage}, {"--previous-image", &f.previousImage}} {
		if *in.v == "" {
			continue
		}
		if *in.v, err = checkImageArg(in.flag, *in.v); err != nil {
			return err
		}
	}
	network, err := parseNetwork(f.network)
	if err != nil {
		return err
	}
	if err := checkBuildpackArgs(f.buildpacks); err != nil {
		return err
	}
	level, err := sandbox.ParseLevel(f.sandbox)
	if err != nil {
		return fmt.Errorf("--sandbox: %w", err)
	}
	if err := checkSBOMDir(f.sbomDir); err != nil {
		return err
	}
	if _, err := pruneOptions(g.storeMaxSize, g.storeMaxAge, "--store-max-size", "--store-max-age"); err != nil {
		return err
	}
	opts, err := g.ociOptions(stderr)
	if err != nil {
		return err
	}
	store, err := g.openStore()
	if err != nil {
		return err
	}
	// Work directories that earlier kilns retired or left behind when
	// killed are removed while this build runs; the wait at the end is for
	// at most one file. This build's own is retired by one rename when the
	// store closes, after the image is written.
	reclaimCtx, stopReclaim := context.WithCancel(ctx)
	reclaimed := make(chan struct{})
	go func() {
		defer close(reclaimed)
		if err := store.Reclaim(reclaimCtx); err != nil && reclaimCtx.Err() == nil {
			g.logger(stderr).Debug("reclaiming work directories", "err", err)
		}
	}()
	defer func() { stopReclaim(); <-reclaimed }()
	work, err := store.NewWorkDir("build-")
	if err != nil {
		return err
	}
	if f.path, err = appSource(ctx, f.path, filepath.Join(work, "source")); err != nil {
		return err
	}
	req, err := buildRequest(ctx, g, f, outRef, store, opts, stderr)
	if err != nil {
		return err
	}
	req.Out = out
	if g.quiet {
		req.Out = io.Discard
	}
	for _, w := range projectWarnings(req.Project) {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	req.WorkDir = work
	state, err := stateDir()
	if err != nil {
		return err
	}
	sb := &buildSandbox{level: level, network: network, defaultNetwork: !cmd.Flags().Changed("network"),
		stateDir: state, logger: g.logger(stderr), out: out}
	stage = "build"
	res, err = platform.Build(ctx, req, sb,
		platform.WithImageReader(buildImageReader(g, req.PreviousImage, opts, stderr)),
		platform.WithLogger(g.logger(stderr)),
		platform.WithProgress(g.progressFor(stderr, "build image")))
	if err != nil {
		return err
	}
	res.FailedPhase, stage = "", "write"
	warnRootUser(stderr, res.Image)
	if err := writeBuilt(ctx, out, outRef, tagRefs, res, f.report, sb.iso, opts); err != nil {
		return err
	}
	if f.sbomDir != "" {
		if err := writeSBOM(ctx, stderr, res.Image, f.sbomDir); err != nil {
			return err
		}
	}
	stopReclaim()
	<-reclaimed
	g.autoPrune(ctx, stderr)
	return nil
}

// buildRequest turns the flags and environment into a BuildRequest.
func buildRequest(ctx context.Context, g *globalFlags, f *buildFlags, outRef oci.Reference, store *oci.Store, opts []oci.Option, stderr io.Writer) (platform.BuildRequest, error) {
	var req platform.BuildRequest
	env, err := buildEnv(f.env, f.envFiles)
	if err != nil {
		return req, err
	}
	volumes, err := buildVolumes(f.volumes)
	if err != nil {
		return req, err
	}
	created, err := creationTime(f.creationTime)
	if err != nil {
		return req, err
	}
	req = platform.BuildRequest{
		AppDir:         f.path,
		Env:            env,
		Buildpacks:     f.buildpacks,
		RunImage:       f.runImage,
		Volumes:        volumes,
		DefaultProcess: f.defaultProcess,
		Created:        created,
		Launcher:       launcherBinary,
		LauncherInfo:   lifecycle.LauncherMetadata{Version: version},
		Store:          store,
		Rootless:       sandbox.Rootless(),
		PreviousImage:  f.previousImage,
		ClearCache:     f.clearCache,
		Verbose:        g.verbose,
	}
	if req.PreviousImage == "" {
		req.PreviousImage = outRef.String()
	}
	if req.Project, err = project.Load(f.path, f.descriptor); err != nil {
		return req, err
	}
	builder, from := f.builder, "--builder"
	if builder == "" && req.Project != nil && req.Project.Builder != "" {
		builder, from = req.Project.Builder, "project.toml's [io.buildpacks] builder"
	}
	if builder == "" && g.defaultBuilder != "" {
		builder, from = g.defaultBuilder, "the default builder ("+g.settings["default-builder"].source+")"
	}
	if builder == "" && len(f.buildpacks) == 0 {
		return req, errors.New("no builder: give --builder BUILDER (a builder.toml or a builder image), set [io.buildpacks] builder in project.toml, or kiln config default-builder BUILDER")
	}
	if from != "--builder" && builder != "" {
		fmt.Fprintf(stderr, "Using builder %s from %s\n", builder, from)
	}
	if req.Cache, err = buildCache(f, outRef, store, opts, g.pull); err != nil {
		return req, err
	}
	if f.layersDir != "" && builder != inPlaceBuilder {
		return req, fmt.Errorf("--layers-dir is for building in place (--builder %s)", inPlaceBuilder)
	}
	if builder == inPlaceBuilder {
		// The running image is the builder: its environment is kiln's own.
		req.InPlace = &platform.InPlace{Env: os.Environ(), LayersDir: f.layersDir}
		if req.Cache != nil {
			req.Cache.Trees = "" // the layers are on another volume than the store: no renames
		}
	} else if strings.HasPrefix(builder, "rootfs:") {
		return req, fmt.Errorf("%s %s: only %s (the root filesystem kiln runs on) builds in place; give a builder image otherwise", from, builder, inPlaceBuilder)
	} else if builder != "" {
		if err := resolveBuilder(ctx, &req, builder, from, append(opts[:len(opts):len(opts)], oci.WithProgress(g.progressFor(stderr, "builder")))); err != nil {
			return req, err
		}
	}
	return req, nil
}

// inPlaceBuilder is --builder for a build in place: the builder is the root
// filesystem kiln runs on (kiln inside the builder image, in a pod).
const inPlaceBuilder = "rootfs:/"

// projectWarnings are what reading project.toml had to say.
func projectWarnings(p *project.Descriptor) []string {
	if p == nil {
		return nil
	}
	return p.Warnings
}

// buildImageReader reads the build's images through the store, except a
// previous image in a registry, which is read as it is there now without
// fetching layers the build may only reuse by digest.
func buildImageReader(g *globalFlags, previous string, opts []oci.Option, stderr io.Writer) distribution.ImageReader {
	remoteOpts := g.registryOptions(stderr)
	return func(ctx context.Context, ref string) (v1.Image, error) {
		r, err := oci.ParseReference(ref)
		if err != nil {
			return nil, err
		}
		if ref == previous && r.Kind == oci.KindRegistry {
			return oci.Read(ctx, r, remoteOpts...)
		}
		return oci.Read(ctx, r, opts...)
	}
}

// writeBuilt writes the built image to outRef and the tags, prints pack's
// closing lines and the --report file.
func writeBuilt(ctx context.Context, out io.Writer, outRef oci.Reference, tags []oci.Reference, res *platform.BuildOutput, report string, iso *sandbox.Isolation, opts []oci.Option) error {
	start := time.Now()
	fmt.Fprintf(out, "Saving %s...\n", outRef)
	digest, err := oci.Write(ctx, outRef, res.Image, opts...)
	if err != nil {
		return &lifecycle.ExportError{Err: fmt.Errorf("writing %s: %w", outRef, err)}
	}
	for _, t := range tags {
		h, err := oci.Write(ctx, t, res.Image, opts...)
		if err != nil {
			return &lifecycle.ExportError{Err: fmt.Errorf("writing --tag %s: %w", t, err)}
		}
		if h != digest {
			fmt.Fprintf(out, "note: %s has digest %s: a docker archive stores no manifest\n", t, h)
		}
	}
	res.Phases = append(res.Phases, platform.PhaseTiming{Phase: "write", Duration: time.Since(start)})
	fmt.Fprintf(out, "*** Images (%s):\n      %s\n", imageID(digest), outRef)
	for _, t := range tags {
		fmt.Fprintf(out, "      %s\n", t)
	}
	fmt.Fprintf(out, "Successfully built image %s\n", outRef)
	if report != "" {
		return writeBuildReport(report, outRef.String(), digest, res, iso)
	}
	return nil
}

// the same output share one cache and its blobs are the store's.
func buildCache(f *buildFlags, out oci.Reference, store *oci.Store, opts []oci.Option, pull string) (*lifecycle.Cache, error) {
	if f.cacheImage != "" && f.cacheDir != "" {
		return nil, errors.New("give --cache-image or --cache-dir, not both")
	}
	// A cache is read as it is now, never from a stale copy in the store.
	if pull != "never" {
		opts = append(opts[:len(opts):len(opts)], oci.WithPullPolicy(oci.PullAlways))
	}
	// Every cache also keeps its layers unpacked in the store, next to the
	// build directories, by diffID: a rebuild moves a tree that is still
	// as it was kept back into place instead of unpacking its blob, also
	// when the cache itself is a directory or an image elsewhere.
	trees := func(key string) string {
		return filepath.Join(store.Dir(), filepath.FromSlash(storeTrees), fmt.Sprintf("%x", sha256.Sum256([]byte(key)))[:16])
	}
	switch {
	case f.cacheImage != "":
		ref, err := parseImageArg("--cache-image", f.cacheImage, refOutput)
		if err != nil {
			return nil, err
		}
		return &lifecycle.Cache{Ref: ref, Options: opts, Trees: trees("kiln.cache-image/" + ref.String()), Discard: store.Discard}, nil
	case f.cacheDir != "":
		abs, err := filepath.Abs(f.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("--cache-dir: %w", err)
		}
		return &lifecycle.Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: f.cacheDir, Tag: "cache"}, Options: opts, Prune: true,
			Trees: trees("kiln.cache-dir/" + abs), Discard: store.Discard}, nil
	}
	key := cacheTagPrefix + out.String()
	return &lifecycle.Cache{
		Ref:     oci.Reference{Kind: oci.KindLayout, Path: store.Dir(), Tag: key},
		Options: opts,
		Trees:   trees(key),
		Discard: store.Discard,
	}, nil
}

// resolveBuilder reads --builder: a builder.toml when it is a file (other
// than an archive) or ends in .toml, otherwise a builder image (oci:,
// docker-archive:, an image on disk, or a registry reference).
func resolveBuilder(ctx context.Context, req *platform.BuildRequest, builder, from string, opts []oci.Option) error {
	if !hasRefPrefix(builder) {
		fi, err := os.Stat(builder)
		switch {
		case err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(builder, ".tar") && !strings.HasSuffix(builder, ".cnb"):
			cfg, err := distribution.ReadBuilderConfig(builder)
			if err == nil {
				err = cfg.CheckPaths()
			}
			req.Builder = cfg
			return err
		case err != nil && strings.HasSuffix(builder, ".toml"):
			return fmt.Errorf("%s %s: no such file (a builder.toml file, or a builder image: %s)", from, builder, refSyntax)
		}
	}
	ref, err := parseImageArg(from, builder, refInput)
	if err != nil {
		return err
	}
	img, err := oci.Read(ctx, ref, opts...)
	if err != nil {
		return fmt.Errorf("reading builder image %s: %w", builder, err)
	}
	req.BuilderImage = img
	return nil
}
