package distribution

import (
	"context"
	"fmt"
)

// FetchModules fetches builder.toml [[buildpacks]] entries with
// FetchBuildpacks and checks that each entry's id and version, when given,
// are those of the buildpack its locator yielded. An entry without a
// locator is an error: kiln has no buildpack registry to find it in.
func FetchModules(ctx context.Context, modules []ModuleConfig, dst string, opts ...Option) (*Buildpacks, error) {
	locators := make([]string, len(modules))
	for i, m := range modules {
		if locators[i] = m.Locator(); locators[i] == "" {
			return nil, fmt.Errorf("fetching buildpack %s: %w: no uri", m.ID, ErrInvalidConfig)
		}
	}
	bps, err := FetchBuildpacks(ctx, locators, dst, opts...)
	if err != nil {
		return nil, err
	}
	for i, m := range modules {
		got := bps.Fetched[i].Main
		if (m.ID != "" && m.ID != got.ID) || (m.Version != "" && m.Version != got.Version) {
			return nil, fmt.Errorf("fetching buildpack %s: %w: expected %s@%s, found %s",
				locators[i], ErrInvalidConfig, m.ID, m.Version, got.FullName())
		}
	}
	return bps, nil
}

// ResolveOrder checks that every buildpack an order names is laid out, and
// fills in versions left out (allowed when only one version is there). The
// orders of composite buildpacks it names are checked the same way, all the
// way down; a composite that includes itself is an error.
func (b *Buildpacks) ResolveOrder(o Order) (Order, error) {
	out := make(Order, len(o))
	for i, e := range o {
		group, err := b.ResolveGroup(e.Group)
		if err != nil {
			return nil, err
		}
		out[i] = OrderEntry{Group: group}
	}
	return out, nil
}

// ResolveGroup is ResolveOrder for one group (or a [system] pre/post list).
func (b *Buildpacks) ResolveGroup(group []ModuleRef) ([]ModuleRef, error) {
	out := make([]ModuleRef, len(group))
	for i, r := range group {
		d, err := b.resolve(r, nil)
		if err != nil {
			return nil, err
		}
		r.Version = d.Version
		out[i] = r
	}
	return out, nil
}

// resolve finds r and checks a composite's order below it; path holds the
// composites above, to catch cycles.
func (b *Buildpacks) resolve(r ModuleRef, path []string) (Descriptor, error) {
	d, ok := b.Lookup(r.ID, r.Version)
	if !ok {
		name := r.ID
		if r.Version != "" {
			name += "@" + r.Version
		}
		how := "no buildpack provides it"
		if r.Version == "" && b.versions(r.ID) > 1 {
			how = "several versions are there and it names none"
		}
		return Descriptor{}, fmt.Errorf("%w: the order names %s, but %s", ErrInvalidConfig, name, how)
	}
	for _, p := range path {
		if p == d.FullName() {
			return Descriptor{}, fmt.Errorf("%w: composite buildpack %s includes itself", ErrInvalidConfig, p)
		}
	}
	for _, e := range d.Order {
		for _, sub := range e.Group {
			if _, err := b.resolve(sub, append(path, d.FullName())); err != nil {
				return Descriptor{}, fmt.Errorf("in %s: %w", d.FullName(), err)
			}
		}
	}
	return d, nil
}

func (b *Buildpacks) versions(id string) int {
	n := 0
	for _, d := range b.All {
		if d.ID == id {
			n++
		}
	}
	return n
}
