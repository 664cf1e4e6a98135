package distribution

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// anyStack is the stack id that matches every stack.
const anyStack = "*"

// checkComposite refuses a composite buildpack that also declares stacks or
// targets, as pack does.
func checkComposite(d Descriptor) error {
	if d.Composite() && (len(d.Stacks) > 0 || len(d.Targets) > 0) {
		return fmt.Errorf("%w: composite buildpack %s declares an order and also stacks or targets", ErrIncompatible, d.FullName())
	}
	return nil
}

// commonStacks is the intersection of the stacks of the component
// buildpacks in ds, a component without stacks counting as "*" (CNB
// contract §5.3). Composites do not take part; nil means no stack is common.
func commonStacks(ds []Descriptor) []Stack {
	var stacks []Stack
	started := false
	for _, d := range ds {
		if d.Composite() {
			continue
		}
		own := d.Stacks
		if len(own) == 0 {
			own = []Stack{{ID: anyStack}}
		}
		if !started {
			stacks, started = slices.Clone(own), true
			continue
		}
		stacks = mergeStacks(stacks, own)
	}
	return stacks
}

// mergeStacks intersects two stack lists: entries with the same id, or one
// of them "*" (the other's id is kept), with their mixins united.
func mergeStacks(a, b []Stack) []Stack {
	var out []Stack
	for _, x := range a {
		for _, y := range b {
			var id string
			switch {
			case x.ID == y.ID, y.ID == anyStack:
				id = x.ID
			case x.ID == anyStack:
				id = y.ID
			default:
				continue
			}
			mixins := slices.Concat(x.Mixins, y.Mixins)
			slices.Sort(mixins)
			out = append(out, Stack{ID: id, Mixins: slices.Compact(mixins)})
		}
	}
	return out
}

// checkStack checks that the component buildpack d supports the build
// image's stack and that the image has the build mixins d requires (pack's
// rules at builder creation). Buildpacks without stacks, and images without
// a stack id, are not checked.
func checkStack(d Descriptor, stackID string, mixins []string) error {
	if len(d.Stacks) == 0 || stackID == "" {
		return nil
	}
	i := slices.IndexFunc(d.Stacks, func(s Stack) bool { return s.ID == stackID || s.ID == anyStack })
	if i < 0 {
		ids := make([]string, len(d.Stacks))
		for j, s := range d.Stacks {
			ids[j] = s.ID
		}
		return fmt.Errorf("%w: buildpack %s supports stacks %s, not the build image's %s",
			ErrIncompatible, d.FullName(), strings.Join(ids, ", "), stackID)
	}
	var missing []string
	for _, m := range d.Stacks[i].Mixins {
		if strings.HasPrefix(m, "run:") {
			continue
		}
		plain := strings.TrimPrefix(m, "build:")
		if !slices.Contains(mixins, m) && !slices.Contains(mixins, plain) && !slices.Contains(mixins, "build:"+plain) {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: buildpack %s needs mixins %s, which the build image lacks",
			ErrIncompatible, d.FullName(), strings.Join(missing, ", "))
	}
	return nil
}

// checkTarget checks that one of the component buildpack d's targets fits
// the build image's platform and distribution (pack's rule at builder
// creation). Empty fields on either side match anything; a buildpack
// without targets fits every image.
func checkTarget(d Descriptor, p v1.Platform, distro Distro) error {
	if len(d.Targets) == 0 {
		return nil
	}
	for _, t := range d.Targets {
		if matchField(t.OS, p.OS) && matchField(t.Arch, p.Architecture) && matchField(t.Variant, p.Variant) &&
			matchDistro(t.Distros, distro) {
			return nil
		}
	}
	return fmt.Errorf("%w: buildpack %s has no target for the build image's %s (distribution %s %s)",
		ErrIncompatible, d.FullName(), platformString(p), distro.Name, distro.Version)
}

func matchField(a, b string) bool { return a == "" || b == "" || a == b }

func matchDistro(ds []Distro, distro Distro) bool {
	if len(ds) == 0 || distro.Name == "" {
		return true
	}
	return slices.ContainsFunc(ds, func(d Distro) bool {
		return d.Name == distro.Name && matchField(d.Version, distro.Version)
	})
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// checkAPI checks that d's Buildpack API is one the lifecycle supports or
// still accepts (an empty api is 0.2, as the lifecycle reads it).
func checkAPI(d Descriptor, apis APIVersions) error {
	api := d.API
	if api == "" {
		api = "0.2"
	}
	for _, v := range slices.Concat(apis.Supported, apis.Deprecated) {
		if sameAPI(v, api) {
			return nil
		}
	}
	return fmt.Errorf("%w: buildpack %s has Buildpack API %s; the lifecycle supports %s",
		ErrIncompatible, d.FullName(), api, strings.Join(apis.Supported, ", "))
}

// sameAPI compares two "<major>[.<minor>]" versions.
func sameAPI(a, b string) bool {
	am, an, ok1 := parseAPIVersion(a)
	bm, bn, ok2 := parseAPIVersion(b)
	return ok1 && ok2 && am == bm && an == bn
}

func parseAPIVersion(s string) (major, minor int, ok bool) {
	majorText, minorText, hasMinor := strings.Cut(s, ".")
	major, err := strconv.Atoi(majorText)
	if err != nil {
		return 0, 0, false
	}
	if hasMinor {
		if minor, err = strconv.Atoi(minorText); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, true
}

// checkPackageOrders checks a buildpackage's composite orders as pack does:
// every group entry names a version and a buildpack in the package, and
// every buildpack besides main is named by some order.
func checkPackageOrders(main Descriptor, all []Descriptor) error {
	used := map[string]bool{}
	have := map[string]bool{}
	for _, d := range all {
		have[d.FullName()] = true
	}
	for _, d := range all {
		for _, e := range d.Order {
			for _, r := range e.Group {
				if r.Version == "" {
					return fmt.Errorf("%w: buildpack %s must give the version of %s in its order", ErrInvalidConfig, d.FullName(), r.ID)
				}
				if !have[r.String()] {
					return fmt.Errorf("%w: buildpack %s references %s, which the package lacks", ErrInvalidConfig, d.FullName(), r)
				}
				used[r.String()] = true
			}
		}
	}
	for _, d := range all {
		if d.FullName() != main.FullName() && !used[d.FullName()] {
			return fmt.Errorf("%w: buildpack %s is not used by %s", ErrInvalidConfig, d.FullName(), main.FullName())
		}
	}
	return nil
}
