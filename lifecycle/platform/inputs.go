package platform

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/lifecycle/project"
)

// ErrNoBuilder is returned when a build has neither a builder nor a build
// image and run image to work with.
var ErrNoBuilder = errors.New("no builder: give a builder.toml or builder image, or a build image, a run image and buildpacks")

// buildInputs are the builder's answers, whichever form it came in: the
// stack images, the buildpacks laid out, and the order to detect.
type buildInputs struct {
	buildImage string
	// runImages are the run images as the builder names them, the default
	// first; localRun is the default's kiln-local name (oci:…,
	// docker-archive:…) when it has one, which is read instead and recorded
	// only in kiln's own label.
	runImages []distribution.RunImage
	localRun  string
	// resolve maps a name builder.toml gives to the reference read (a
	// relative layout path is taken relative to the file); nil: as given.
	resolve    func(string) string
	stackID    string
	buildpacks *distribution.Buildpacks
	// builderMeta is a builder image's metadata; nil for builder.toml.
	builderMeta *distribution.BuilderMetadata
	order       lifecycle.Order
	buildEnv    map[string]string // builder.toml [[build.env]] → /cnb/build-config/env
}

// resolveInputs reads the builder (file or image), fetches its buildpacks and
// those the request names, and decides the order.
func (b *building) resolveInputs(ctx context.Context) (*buildInputs, error) {
	if b.req.InPlace != nil {
		return b.inPlaceInputs(ctx)
	}
	in := &buildInputs{}
	fetchOpts := []distribution.Option{distribution.WithImageReader(b.o.reader), distribution.WithLogger(b.o.logger)}
	var builderOrder distribution.Order
	switch {
	case b.req.BuilderImage != nil:
		bi, err := distribution.ReadBuilderImage(ctx, b.req.BuilderImage)
		if err != nil {
			return nil, err
		}
		in.builderMeta = &bi.Metadata
		// The builder's buildpacks come from its own layers: nothing is
		// downloaded again.
		descs, err := distribution.ExtractBuildpacks(ctx, b.req.BuilderImage, b.dirs.buildpacks, fetchOpts...)
		if err != nil {
			return nil, err
		}
		in.buildpacks = &distribution.Buildpacks{Dir: b.dirs.buildpacks, All: descs}
		builderOrder, in.runImages, in.stackID = bi.Order, bi.RunImages, bi.StackID
		// Builders of older kiln versions record local names as names.
		in.localRun = cmp.Or(bi.LocalRunImage, distribution.LocalRunImage(bi.RunImages))
	case b.req.Builder != nil:
		c := b.req.Builder
		bps, err := distribution.FetchModules(ctx, c.Buildpacks, b.dirs.buildpacks, fetchOpts...)
		if err != nil {
			return nil, err
		}
		env, err := c.BuildEnvFiles()
		if err != nil {
			return nil, err
		}
		in.buildpacks, builderOrder, in.buildEnv = bps, c.Order, env
		in.buildImage, in.runImages, in.stackID = c.ResolveImage(c.BuildImage()), c.RunImages(), c.StackID()
		in.localRun, in.resolve = distribution.LocalRunImage(in.runImages), c.ResolveImage
	}
	if b.req.BuildImage != "" {
		in.buildImage = b.req.BuildImage
	}
	if b.req.RunImage != "" {
		in.runImages = []distribution.RunImage{{Image: b.req.RunImage}}
		in.localRun, in.resolve = distribution.LocalRunImage(in.runImages), nil
	}
	if (in.buildImage == "" && b.req.BuilderImage == nil) || (len(in.runImages) == 0 && in.localRun == "") {
		return nil, ErrNoBuilder
	}
	order, err := b.order(ctx, in, builderOrder, fetchOpts)
	if err != nil {
		return nil, err
	}
	in.order = order
	return in, nil
}

// order is the order to detect: the --buildpack group, else project.toml's
// group, else the builder's order wrapped in project.toml's pre and post
// groups.
func (b *building) order(ctx context.Context, in *buildInputs, builderOrder distribution.Order, fetchOpts []distribution.Option) (lifecycle.Order, error) {
	group := func(locators []string) (distribution.Order, error) {
		bps, err := distribution.FetchBuildpacks(ctx, locators, b.dirs.buildpacks, fetchOpts...)
		if err != nil {
			return nil, err
		}
		in.buildpacks = bps
		return distribution.Order{{Group: bps.Group()}}, nil
	}
	p := b.req.Project
	switch {
	case len(b.req.Buildpacks) > 0:
		o, err := group(b.req.Buildpacks)
		if err != nil {
			return nil, err
		}
		return toLifecycleOrder(o), nil
	case p != nil && len(p.Group) > 0:
		locs, err := project.Locators(p.Group, b.dirs.buildpacks, in.stackID)
		if err != nil {
			return nil, err
		}
		o, err := group(locs)
		if err != nil {
			return nil, err
		}
		return toLifecycleOrder(o), nil
	}
	if in.buildpacks == nil || len(builderOrder) == 0 {
		return nil, fmt.Errorf("%w (the builder has no order)", ErrNoBuilder)
	}
	resolved, err := in.buildpacks.ResolveOrder(builderOrder)
	if err != nil {
		return nil, err
	}
	if p != nil && (len(p.Pre) > 0 || len(p.Post) > 0) {
		if resolved, err = b.wrap(ctx, in, resolved, p, fetchOpts); err != nil {
			return nil, err
		}
	}
	return toLifecycleOrder(resolved), nil
}

// wrap adds project.toml's pre and post buildpacks around every group.
func (b *building) wrap(ctx context.Context, in *buildInputs, o distribution.Order, p *project.Descriptor, fetchOpts []distribution.Option) (distribution.Order, error) {
	fetch := func(refs []project.Buildpack) ([]distribution.ModuleRef, error) {
		if len(refs) == 0 {
			return nil, nil
		}
		locs, err := project.Locators(refs, b.dirs.buildpacks, in.stackID)
		if err != nil {
			return nil, err
		}
		bps, err := distribution.FetchBuildpacks(ctx, locs, b.dirs.buildpacks, fetchOpts...)
		if err != nil {
			return nil, err
		}
		return bps.Group(), nil
	}
	pre, err := fetch(p.Pre)
	if err != nil {
		return nil, err
	}
	post, err := fetch(p.Post)
	if err != nil {
		return nil, err
	}
	out := make(distribution.Order, 0, len(o))
	for _, g := range o {
		group := append(append(append([]distribution.ModuleRef{}, pre...), g.Group...), post...)
		out = append(out, distribution.OrderEntry{Group: group})
	}
	return out, nil
}

// toLifecycleOrder converts a resolved order (every version known) to the
// phases' type.
func toLifecycleOrder(o distribution.Order) lifecycle.Order {
	out := make(lifecycle.Order, 0, len(o))
	for _, g := range o {
		var lg lifecycle.OrderGroup
		for _, r := range g.Group {
			lg.Group = append(lg.Group, lifecycle.GroupEntry{ID: r.ID, Version: r.Version, Optional: r.Optional})
		}
		out = append(out, lg)
	}
	return out
}

// runImageName is the default run image's name as given (analyzed.toml's
// run-image.image).
func (in *buildInputs) runImageName() string {
	if in.localRun != "" {
		return in.localRun
	}
	return in.runImages[0].Image
}

// runImageRef is the reference the run image is read by: the default run
// image's kiln-local name when it has one, else its registry name.
func (in *buildInputs) runImageRef() string {
	ref := in.localRun
	if ref == "" {
		ref = in.runImages[0].Image
	}
	if in.resolve == nil {
		return ref
	}
	return in.resolve(ref)
}

// recordedRunImage is the run image as the app image records it for other
// platforms: registry names only (empty when there is none).
func (in *buildInputs) recordedRunImage() distribution.RunImage {
	if r := distribution.RegistryRunImages(in.runImages); len(r) > 0 {
		return r[0]
	}
	return distribution.RunImage{}
}
