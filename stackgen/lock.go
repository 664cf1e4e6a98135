package stackgen

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/atomicfile"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

// Lock pins the Debian packages of a stack's images, as stack.lock does.
type Lock struct {
	Build LockedImage `toml:"build"`
	Run   LockedImage `toml:"run"`
}

// LockedImage is the resolution of one image's packages, with the request it
// answers so that a changed request is noticed.
type LockedImage struct {
	Architecture string          `toml:"architecture,omitempty"`
	Requested    []string        `toml:"requested,omitempty"`
	Exclude      []string        `toml:"exclude,omitempty"`
	Packages     []debian.Locked `toml:"package,omitempty"`
}

const lockHeader = "# stack.lock: the Debian packages of each image, pinned by kiln stack create.\n" +
	"# Commit it next to stack.toml; delete it (or pass --relock) to resolve again.\n\n"

// ReadLock reads a lock file.
func ReadLock(path string) (*Lock, error) {
	var l Lock
	md, err := toml.DecodeFile(path, &l)
	if err != nil {
		return nil, fmt.Errorf("reading lock %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("reading lock %s: unknown key %q: %w", path, und[0].String(), ErrConfig)
	}
	for _, li := range []struct {
		name string
		img  LockedImage
	}{{"build", l.Build}, {"run", l.Run}} {
		for i, p := range li.img.Packages {
			// The SHA256 names the package's file in the store's pool.
			if p.Name == "" || len(p.SHA256) != 64 || strings.Trim(p.SHA256, "0123456789abcdef") != "" || p.Size < 0 {
				return nil, fmt.Errorf("reading lock %s: %s.package[%d] (%q): want a name, a sha256 of 64 lowercase hex digits and a size of at least 0 (delete the lock or pass --relock to resolve again): %w",
					path, li.name, i, p.Name, ErrConfig)
			}
		}
	}
	return &l, nil
}

// WriteFile writes the lock to path atomically.
func (l *Lock) WriteFile(path string) error {
	var buf bytes.Buffer
	buf.WriteString(lockHeader)
	if err := toml.NewEncoder(&buf).Encode(l); err != nil {
		return fmt.Errorf("writing lock %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing lock %s: %w", path, err)
	}
	return nil
}

// current reports whether li answers the request of is for arch.
func (li LockedImage) current(is ImageSpec, arch string) bool {
	if len(is.Packages) == 0 {
		return len(li.Packages) == 0
	}
	return li.Architecture == arch && slices.Equal(li.Requested, sorted(is.Packages)) &&
		slices.Equal(li.Exclude, sorted(is.Exclude))
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Resolve returns the lock for spec's packages: spec.Lock when it still
// answers the requests, else a fresh resolution against the indexes of
// spec.Debian.Sources (which are downloaded into the store unless the pull
// policy is never). An image without packages gets an empty entry.
func Resolve(ctx context.Context, spec Spec, opts ...Option) (*Lock, error) {
	o, err := makeOptions(opts)
	if err == nil {
		err = o.forSpec(spec)
	}
	if err != nil {
		return nil, err
	}
	out := &Lock{}
	var index *debian.Index
	for _, im := range []struct {
		name string
		spec ImageSpec
		prev *LockedImage
		dst  *LockedImage
	}{{"build", spec.Build, lockOf(spec.Lock, true), &out.Build}, {"run", spec.Run, lockOf(spec.Lock, false), &out.Run}} {
		if len(im.spec.Packages) == 0 {
			continue
		}
		arch, err := o.debianArch(ctx, spec, im.spec)
		if err != nil {
			return nil, fmt.Errorf("resolving %s.packages: %w", im.name, err)
		}
		if im.prev != nil && !o.relock && im.prev.current(im.spec, arch) {
			*im.dst = *im.prev
			continue
		}
		if o.policy == oci.PullNever && im.prev != nil {
			return nil, fmt.Errorf("resolving %s.packages: %w (and the pull policy is never)", im.name, ErrStaleLock)
		}
		if index == nil || index.Arch() != arch {
			o.report(im.name, "reading package indexes", arch)
			pool, err := o.pool()
			if err != nil {
				return nil, err
			}
			if index, err = pool.LoadIndex(ctx, spec.Debian.Sources, arch); err != nil {
				return nil, fmt.Errorf("resolving %s.packages: %w", im.name, err)
			}
		}
		installed, err := o.installedInBase(ctx, im.spec.Base, arch)
		if err != nil {
			return nil, fmt.Errorf("resolving %s.packages: %w", im.name, err)
		}
		pkgs, err := index.ResolveOver(im.spec.Packages, im.spec.Exclude, installed)
		if err != nil {
			return nil, fmt.Errorf("resolving %s.packages: %w", im.name, err)
		}
		*im.dst = LockedImage{Architecture: arch, Requested: sorted(im.spec.Packages), Exclude: sorted(im.spec.Exclude)}
		for _, p := range pkgs {
			im.dst.Packages = append(im.dst.Packages, p.Lock())
		}
	}
	return out, nil
}

func lockOf(l *Lock, build bool) *LockedImage {
	switch {
	case l == nil:
		return nil
	case build:
		return &l.Build
	}
	return &l.Run
}

// pool opens the Debian package pool inside the store.
func (o *options) pool() (*debian.Pool, error) {
	if o.store == nil {
		return nil, fmt.Errorf("opening the package pool: %w", ErrNoStore)
	}
	return debian.OpenPool(filepath.Join(o.store.Dir(), "debian"),
		debian.WithHTTPClient(o.client), debian.WithOffline(o.policy == oci.PullNever), debian.WithLogger(o.logger),
		debian.WithSkipped(func(s debian.Source, suite string, err error) {
			o.report("", "skipping apt source", fmt.Sprintf("%s %s: %v", s.URI, suite, err))
		}))
}

// installedInBase lists the packages a base records as installed, so that
// they are not laid out again.
func (o *options) installedInBase(ctx context.Context, base, arch string) (map[string]string, error) {
	if base == "" {
		return nil, nil
	}
	p, err := ociPlatform(arch)
	if err != nil {
		return nil, err
	}
	img, err := o.loadBase(ctx, base, p)
	if err != nil {
		return nil, err
	}
	view, err := scanImage(ctx, img)
	if err != nil {
		return nil, err
	}
	return view.installed(), nil
}
