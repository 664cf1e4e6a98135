package distribution

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/BurntSushi/toml"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuilderImage is what a platform needs to know of a builder image, made by
// kiln or by pack, to build with it.
type BuilderImage struct {
	// Metadata is the io.buildpacks.builder.metadata label.
	Metadata BuilderMetadata
	// Order is the builder's order with every version filled in: the
	// io.buildpacks.buildpack.order label resolved against Buildpacks, or
	// /cnb/order.toml when the label is absent.
	Order Order
	// OrderExtensions is the image extensions' order, resolved likewise.
	OrderExtensions Order
	// System holds the [system] buildpacks (Platform API 0.15).
	System SystemMetadata
	// RunImages are the run images and their mirrors, the default first:
	// the metadata's images (or stack.runImage), else /cnb/run.toml (or
	// /cnb/stack.toml).
	RunImages []RunImage
	// LocalRunImage is the default run image when it has only a kiln-local
	// name (LocalRunImageLabel), which RunImages never holds; "" otherwise.
	LocalRunImage string
	// StackID and Mixins are the deprecated stack labels (empty when absent).
	StackID string
	Mixins  []string
	// UID and GID are the CNB user and group (CNB_USER_ID, CNB_GROUP_ID).
	UID, GID int
	// Env is the image's environment, User its user.
	Env  []string
	User string
	// Platform is the image's os/architecture/variant; Distro its
	// io.buildpacks.base.distro.* labels.
	Platform v1.Platform
	Distro   Distro
	// Buildpacks and Extensions are the io.buildpacks.buildpack.layers and
	// io.buildpacks.extension.layers labels: id → version → layer. Lay the
	// buildpacks out from the image's layers with ExtractBuildpacks.
	Buildpacks LayersMetadata
	Extensions LayersMetadata
}

// ReadBuilderImage reads a builder image's labels and, where labels are
// missing, its /cnb/order.toml, /cnb/run.toml and /cnb/stack.toml (read
// from the top layer down, stopping once found; a builder whose labels are
// complete has no layer read). An image without the builder metadata label
// is ErrNotBuilder; one without CNB_USER_ID or CNB_GROUP_ID is
// ErrInvalidBuildImage; an order label naming a buildpack the layers label
// does not resolve, with no /cnb/order.toml to fall back on, is
// ErrInvalidConfig.
func ReadBuilderImage(ctx context.Context, img v1.Image) (*BuilderImage, error) {
	b, err := readBuilderImage(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("reading builder image: %w", err)
	}
	return b, nil
}

func readBuilderImage(ctx context.Context, img v1.Image) (*BuilderImage, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	labels := cf.Config.Labels
	b := &BuilderImage{
		StackID:       labels[StackIDLabel],
		LocalRunImage: labels[LocalRunImageLabel],
		Env:           cf.Config.Env,
		User:          cf.Config.User,
		Platform:      v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
		Distro:        Distro{Name: labels[DistroNameLabel], Version: labels[DistroVersionLabel]},
	}
	raw, ok := labels[BuilderMetadataLabel]
	if !ok {
		return nil, fmt.Errorf("%w: no %s label", ErrNotBuilder, BuilderMetadataLabel)
	}
	if err := json.Unmarshal([]byte(raw), &b.Metadata); err != nil {
		return nil, fmt.Errorf("%w: label %s: %v", ErrNotBuilder, BuilderMetadataLabel, err)
	}
	var orderLabel, orderExtLabel Order
	for _, l := range []struct {
		key string
		v   any
	}{
		{BuildpackLayersLabel, &b.Buildpacks}, {ExtensionLayersLabel, &b.Extensions},
		{BuildpackOrderLabel, &orderLabel}, {OrderExtensionsLabel, &orderExtLabel},
		{SystemLabel, &b.System}, {MixinsLabel, &b.Mixins},
	} {
		if raw, ok := labels[l.key]; ok {
			if err := json.Unmarshal([]byte(raw), l.v); err != nil {
				return nil, fmt.Errorf("%w: label %s: %v", ErrNotBuilder, l.key, err)
			}
		}
	}
	if b.UID, b.GID, err = imageCNBUser(cf.Config.Env); err != nil {
		return nil, err
	}
	_, useLabel := labels[BuildpackOrderLabel]
	labelErr := b.resolveFromLabels(orderLabel, orderExtLabel)
	if labelErr != nil {
		useLabel = false // /cnb/order.toml has the versions resolved
	}
	if !useLabel || len(b.RunImages) == 0 {
		if err := b.readFiles(ctx, img, !useLabel); err != nil {
			return nil, err
		}
	}
	if labelErr != nil && b.Order == nil {
		return nil, labelErr
	}
	return b, nil
}

// resolveFromLabels fills Order, OrderExtensions and RunImages from the
// labels.
func (b *BuilderImage) resolveFromLabels(order, orderExt Order) error {
	switch {
	case len(b.Metadata.Images) > 0:
		b.RunImages = b.Metadata.Images
	case b.Metadata.Stack.RunImage.Image != "":
		b.RunImages = []RunImage{b.Metadata.Stack.RunImage}
	}
	var err error
	if b.Order, err = resolveLabelOrder(order, b.Buildpacks); err != nil {
		b.Order = nil
		return err
	}
	if b.OrderExtensions, err = resolveLabelOrder(orderExt, b.Extensions); err != nil {
		b.Order, b.OrderExtensions = nil, nil
		return err
	}
	return nil
}

// resolveLabelOrder fills in the versions an order label leaves out (there
// must be exactly one on the builder) and checks that every entry is on it.
func resolveLabelOrder(o Order, layers LayersMetadata) (Order, error) {
	var out Order
	for _, e := range o {
		group := make([]ModuleRef, len(e.Group))
		for i, r := range e.Group {
			versions := layers[r.ID]
			if r.Version == "" && len(versions) == 1 {
				for v := range versions {
					r.Version = v
				}
			}
			if _, ok := versions[r.Version]; !ok {
				return nil, fmt.Errorf("%w: the builder's order names %s, which its layers label does not resolve to one buildpack",
					ErrInvalidConfig, r)
			}
			group[i] = r
		}
		out = append(out, OrderEntry{Group: group})
	}
	return out, nil
}

// readFiles reads /cnb/order.toml (when wantOrder) and the run image files
// for what the labels did not give.
func (b *BuilderImage) readFiles(ctx context.Context, img v1.Image, wantOrder bool) error {
	want := []string{}
	if wantOrder {
		want = append(want, orderPath)
	}
	if len(b.RunImages) == 0 {
		want = append(want, runPath, stackPath)
	}
	files, err := readImageFiles(ctx, img, want)
	if err != nil {
		return err
	}
	return b.parseFiles(files)
}

// parseFiles fills Order, OrderExtensions and RunImages from the builder's
// files that files holds (path → content): /cnb/order.toml, /cnb/run.toml,
// and /cnb/stack.toml when run.toml names no run image.
func (b *BuilderImage) parseFiles(files map[string][]byte) error {
	if data, ok := files[orderPath]; ok {
		var f struct {
			Order           Order `toml:"order"`
			OrderExtensions Order `toml:"order-extensions"`
		}
		if err := toml.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotBuilder, orderPath, err)
		}
		b.Order, b.OrderExtensions = f.Order, f.OrderExtensions
	}
	if data, ok := files[runPath]; ok {
		var f struct {
			Images []RunImage `toml:"images"`
		}
		if err := toml.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotBuilder, runPath, err)
		}
		for i, r := range f.Images {
			if r.Image == "" {
				return fmt.Errorf("%w: %s: images[%d] has no image", ErrNotBuilder, runPath, i)
			}
		}
		if len(f.Images) > 0 {
			b.RunImages = f.Images
		}
	}
	if data, ok := files[stackPath]; ok && len(b.RunImages) == 0 {
		var f struct {
			RunImage RunImage `toml:"run-image"`
		}
		if err := toml.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotBuilder, stackPath, err)
		}
		if f.RunImage.Image != "" {
			b.RunImages = []RunImage{f.RunImage}
		}
	}
	return nil
}

// DefaultRunImage is the first run image, and false when the builder names
// none (pack build refuses such a builder unless given a run image).
func (b *BuilderImage) DefaultRunImage() (RunImage, bool) {
	if len(b.RunImages) == 0 {
		return RunImage{}, false
	}
	return b.RunImages[0], true
}
