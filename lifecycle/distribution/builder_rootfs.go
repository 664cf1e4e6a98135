package distribution

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuildpacksPath is where a builder lays its buildpacks out.
const BuildpacksPath = "/cnb/buildpacks"

// maxBuilderFile caps what is read of /cnb/order.toml, run.toml and
// stack.toml.
const maxBuilderFile = 4 << 20

// ReadBuilderRootfs reads the builder that the root filesystem root is, as
// the lifecycle reads it from inside the builder image: in a pod root is
// "/", the image kiln runs in (kiln build --builder rootfs:/). It reads
// /cnb/order.toml, /cnb/run.toml (or /cnb/stack.toml), the buildpacks laid
// out under /cnb/buildpacks/<escaped-id>/<version>, and env, the image's
// environment as the container was given it: CNB_USER_ID and CNB_GROUP_ID
// (required, ErrInvalidBuildImage without them) and CNB_STACK_ID. The
// builder has no labels: Metadata is empty and Platform is the running
// one. A root without /cnb/order.toml is ErrNotBuilder.
func ReadBuilderRootfs(ctx context.Context, root string, env []string) (*BuilderImage, *Buildpacks, error) {
	b, bps, err := readBuilderRootfs(ctx, root, env)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the builder at rootfs:%s: %w", root, err)
	}
	return b, bps, nil
}

func readBuilderRootfs(ctx context.Context, root string, env []string) (*BuilderImage, *Buildpacks, error) {
	b := &BuilderImage{Env: env, Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}
	var err error
	if b.UID, b.GID, err = imageCNBUser(env); err != nil {
		return nil, nil, err
	}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "CNB_STACK_ID" {
			b.StackID = v
		}
	}
	files := map[string][]byte{}
	for _, name := range []string{orderPath, runPath, stackPath} {
		data, err := readRootFile(root, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, nil, err
		}
		files[name] = data
	}
	if _, ok := files[orderPath]; !ok {
		return nil, nil, fmt.Errorf("%w: no %s (is this a builder image?)", ErrNotBuilder, orderPath)
	}
	if err := b.parseFiles(files); err != nil {
		return nil, nil, err
	}
	dir, err := securejoin.SecureJoin(root, BuildpacksPath)
	if err != nil {
		return nil, nil, err
	}
	bps := &Buildpacks{Dir: dir}
	if bps.All, err = laidOut(ctx, dir); err != nil {
		return nil, nil, err
	}
	return b, bps, nil
}

// readRootFile reads the regular file name of the root filesystem root.
func readRootFile(root, name string) ([]byte, error) {
	p, err := securejoin.SecureJoin(root, name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxBuilderFile {
		return nil, fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrNotBuilder, name, maxBuilderFile)
	}
	return os.ReadFile(p)
}

// laidOut reads the descriptors of the buildpacks laid out in dir
// (<escaped-id>/<version>/buildpack.toml), sorted by id then version. A
// missing dir holds none.
func laidOut(ctx context.Context, dir string) ([]Descriptor, error) {
	ids, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all []Descriptor
	for _, id := range ids {
		if !id.IsDir() {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(dir, id.Name()))
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if !v.IsDir() {
				continue
			}
			d, err := ReadDescriptor(filepath.Join(dir, id.Name(), v.Name()))
			if err != nil {
				return nil, err
			}
			if EscapeID(d.ID) != id.Name() || d.Version != v.Name() {
				return nil, fmt.Errorf("%w: %s is laid out at %s/%s", ErrInvalidConfig, d.FullName(), id.Name(), v.Name())
			}
			all = append(all, d)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].ID != all[j].ID {
			return all[i].ID < all[j].ID
		}
		return all[i].Version < all[j].Version
	})
	return all, nil
}
