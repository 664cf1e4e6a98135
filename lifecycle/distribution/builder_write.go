package distribution

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Paths in a builder image (CNB contract §5.1).
const (
	lifecycleDir       = "/cnb/lifecycle"
	compatLifecycleDir = "/lifecycle"
	orderPath          = "/cnb/order.toml"
	systemPath         = "/cnb/system.toml"
	stackPath          = "/cnb/stack.toml"
	runPath            = "/cnb/run.toml"
	buildConfigEnvDir  = "/cnb/build-config/env"
	layersDir          = "/layers"
	workspaceDir       = "/workspace"
	// EnvUID and EnvGID are the build image's CNB user and group.
	EnvUID = "CNB_USER_ID"
	EnvGID = "CNB_GROUP_ID"
)

// CreateBuilder makes the builder image builder.toml describes on the build
// image build, with the layers and labels pack writes (CNB contract §5.1):
//
//  1. the directories /workspace and /layers (owned by the build image's
//     CNB_USER_ID:CNB_GROUP_ID), /cnb, /cnb/buildpacks, /cnb/extensions,
//     /platform, /platform/env, /cnb/build-config, /cnb/build-config/env;
//  2. /cnb/lifecycle with the kiln launcher for the build image's
//     architecture (WithLauncher), or with the binaries of the lifecycle
//     archive [lifecycle] uri names (a local file: kiln never downloads
//     one), so that pack can use the builder too; and /lifecycle linking to
//     it;
//  3. one layer per buildpack, sorted by id@version, then one per image
//     extension;
//  4. /cnb/order.toml (versions resolved), /cnb/system.toml, /cnb/stack.toml,
//     /cnb/run.toml and the /cnb/build-config/env files of [[build.env]].
//
// The labels are io.buildpacks.builder.metadata (with the lifecycle's
// version and API lists pack build requires, and createdBy),
// io.buildpacks.buildpack.layers, io.buildpacks.buildpack.order as written,
// io.buildpacks.stack.mixins and, with extensions or [system], their labels;
// the working directory is /layers. The same inputs give the same digest.
//
// Buildpacks are fetched with FetchModules (WithFetchOptions) and checked as
// pack checks them: every order entry must name a buildpack on the builder
// (ErrInvalidConfig), each buildpack's Buildpack API must be the
// lifecycle's, its stacks and targets must fit the build image
// (ErrIncompatible). A build image without CNB_USER_ID or CNB_GROUP_ID, or
// whose stack id differs from builder.toml's, is ErrInvalidBuildImage.
// As with PackageBuildpack, the new layers are files in WithTempDir's
// directory (or blobs of WithLayerStore's store) until the image is written.
func CreateBuilder(ctx context.Context, cfg *BuilderConfig, build v1.Image, opts ...WriteOption) (v1.Image, error) {
	o, err := makeWriteOptions(opts)
	if err != nil {
		return nil, err
	}
	img, err := createBuilder(ctx, cfg, build, o)
	if err != nil {
		return nil, fmt.Errorf("creating builder from %s: %w", cmp.Or(cfg.Path, "builder.toml"), err)
	}
	return img, nil
}

func createBuilder(ctx context.Context, cfg *BuilderConfig, build v1.Image, o *writeOptions) (v1.Image, error) {
	bi, err := inspectBuildImage(build)
	if err != nil {
		return nil, err
	}
	if err := bi.adoptStack(cfg.StackID()); err != nil {
		return nil, err
	}
	runImages := cfg.RunImages()
	if len(runImages) == 0 {
		return nil, fmt.Errorf("%w: no run image ([[run.images]] or [stack] run-image)", ErrInvalidConfig)
	}
	lc, err := builderLifecycle(cfg.Lifecycle, o)
	if err != nil {
		return nil, err
	}
	stage, err := o.stageDir("kiln-builder-")
	if err != nil {
		return nil, err
	}
	defer removeAll(stage)
	mods, err := fetchBuilderModules(ctx, cfg, filepath.Join(stage, "modules"), bi, lc.md, o)
	if err != nil {
		return nil, err
	}
	b := &builderParts{cfg: cfg, bi: bi, lc: lc, mods: mods, runImages: runImages, o: o}
	return b.image(ctx, build)
}

// buildImage is what a builder takes from its build image.
type buildImage struct {
	uid, gid   int
	platform   v1.Platform
	stackID    string
	setStackID bool // the label comes from builder.toml
	mixins     []string
	distro     Distro
}

// inspectBuildImage reads the build image's CNB user and group, platform,
// stack and distribution.
func inspectBuildImage(img v1.Image) (*buildImage, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading build image config: %w", err)
	}
	bi := &buildImage{platform: v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}
	if bi.uid, bi.gid, err = imageCNBUser(cf.Config.Env); err != nil {
		return nil, err
	}
	labels := cf.Config.Labels
	bi.stackID = labels[StackIDLabel]
	bi.distro = Distro{Name: labels[DistroNameLabel], Version: labels[DistroVersionLabel]}
	if raw, ok := labels[MixinsLabel]; ok {
		if err := jsonUnmarshal(raw, &bi.mixins); err != nil {
			return nil, fmt.Errorf("%w: label %s: %v", ErrInvalidBuildImage, MixinsLabel, err)
		}
	}
	return bi, nil
}

// adoptStack checks builder.toml's stack id against the build image's and
// takes it when the image has none.
func (bi *buildImage) adoptStack(id string) error {
	switch {
	case id == "" || id == bi.stackID:
	case bi.stackID == "":
		bi.stackID, bi.setStackID = id, true
	default:
		return fmt.Errorf("%w: builder.toml's stack id %q differs from the build image's %q", ErrInvalidBuildImage, id, bi.stackID)
	}
	return nil
}

// imageCNBUser reads CNB_USER_ID and CNB_GROUP_ID from an image's env.
func imageCNBUser(env []string) (uid, gid int, err error) {
	values := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			values[k] = v
		}
	}
	ids := make([]int, 2)
	for i, k := range []string{EnvUID, EnvGID} {
		v, ok := values[k]
		if !ok {
			return 0, 0, fmt.Errorf("%w: no %s in its env", ErrInvalidBuildImage, k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("%w: %s=%q is not a user or group id", ErrInvalidBuildImage, k, v)
		}
		ids[i] = n
	}
	return ids[0], ids[1], nil
}

// builderLifecycleSource is the lifecycle a builder carries: the kiln
// launcher, or a lifecycle archive.
type builderLifecycleSource struct {
	archive string // "" for the kiln launcher
	md      LifecycleMetadata
}

func builderLifecycle(c LifecycleConfig, o *writeOptions) (builderLifecycleSource, error) {
	if c.URI == "" {
		if o.kiln.version == "" {
			return builderLifecycleSource{}, errors.New("no lifecycle archive in builder.toml and no kiln lifecycle given (WithKilnLifecycle)")
		}
		return builderLifecycleSource{md: kilnLifecycle(o.kiln.version)}, nil
	}
	kind, file := ParseLocator(c.URI, "")
	if kind != LocatorPath {
		return builderLifecycleSource{}, fmt.Errorf("%w: [lifecycle] uri %q: kiln reads a lifecycle archive from a local path only and never downloads one",
			ErrInvalidConfig, c.URI)
	}
	md, err := readLifecycleArchive(file)
	if err != nil {
		return builderLifecycleSource{}, err
	}
	return builderLifecycleSource{archive: file, md: md}, nil
}

// builderModules are the buildpacks and extensions of a builder, with the
// orders resolved against them.
type builderModules struct {
	buildpacks, extensions *Buildpacks
	order, orderExtensions Order
	system                 System
}

// fetchBuilderModules lays out builder.toml's buildpacks and extensions,
// checks them against the build image and the lifecycle, and resolves the
// orders.
func fetchBuilderModules(ctx context.Context, cfg *BuilderConfig, dir string, bi *buildImage, lc LifecycleMetadata, o *writeOptions) (*builderModules, error) {
	fetchOpts := slices.Concat([]Option{WithPlatform(bi.platform)}, o.fetch)
	m := &builderModules{buildpacks: &Buildpacks{}, extensions: &Buildpacks{}}
	var err error
	if len(cfg.Buildpacks) > 0 {
		if m.buildpacks, err = FetchModules(ctx, cfg.Buildpacks, filepath.Join(dir, "buildpacks"), fetchOpts...); err != nil {
			return nil, err
		}
	}
	if len(cfg.Extensions) > 0 {
		extOpts := slices.Concat(fetchOpts, []Option{AsExtensions()})
		if m.extensions, err = FetchModules(ctx, cfg.Extensions, filepath.Join(dir, "extensions"), extOpts...); err != nil {
			return nil, err
		}
	}
	for _, d := range m.buildpacks.All {
		if err := checkBuilderModule(d, bi, lc); err != nil {
			return nil, err
		}
		for _, e := range d.Order {
			for _, r := range e.Group {
				if _, ok := m.buildpacks.Lookup(r.ID, r.Version); !ok {
					return nil, fmt.Errorf("%w: composite buildpack %s names %s, which is not on the builder", ErrInvalidConfig, d.FullName(), r)
				}
			}
		}
	}
	for _, d := range m.extensions.All {
		if err := checkAPI(d, lc.APIs.Buildpack); err != nil {
			return nil, err
		}
	}
	if m.order, err = m.buildpacks.ResolveOrder(cfg.Order); err != nil {
		return nil, err
	}
	if m.orderExtensions, err = m.extensions.ResolveOrder(cfg.OrderExtensions); err != nil {
		return nil, err
	}
	for _, s := range []struct{ in, out *[]ModuleRef }{
		{&cfg.System.Pre.Buildpacks, &m.system.Pre.Buildpacks},
		{&cfg.System.Post.Buildpacks, &m.system.Post.Buildpacks},
	} {
		if len(*s.in) == 0 {
			continue
		}
		if *s.out, err = m.buildpacks.ResolveGroup(*s.in); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkBuilderModule applies pack's checks at builder creation to one
// buildpack.
func checkBuilderModule(d Descriptor, bi *buildImage, lc LifecycleMetadata) error {
	if err := checkAPI(d, lc.APIs.Buildpack); err != nil {
		return err
	}
	if err := checkComposite(d); err != nil {
		return err
	}
	if d.Composite() {
		return nil
	}
	if err := checkStack(d, bi.stackID, bi.mixins); err != nil {
		return err
	}
	return checkTarget(d, bi.platform, bi.distro)
}
