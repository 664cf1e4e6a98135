package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// InPlace builds on the root filesystem kiln runs on, inside the builder
// image, the way the reference lifecycle runs in a pod (kiln build
// --builder rootfs:/): the builder is read from /cnb (distribution.
// ReadBuilderRootfs), nothing is unpacked, copied, mounted or chowned, and
// buildpacks see every directory at its real path. The app is built where
// it is (BuildRequest.AppDir, e.g. /workspace); project.toml's include and
// exclude do not apply, as they do not for the lifecycle. Nothing needs
// root or a writable root filesystem: kiln writes only to the layers
// directory, the platform directory and WorkDir.
//
// The image is the one a build from the same builder image gives on a host
// when the paths agree: build the app at /workspace with layers at /layers
// (the directory names a build container gives them). Buildpacks come from
// the builder only: BuildRequest.Buildpacks and project.toml groups are
// refused, and so are Volumes (mount them where buildpacks expect them).
type InPlace struct {
	// Env is the builder image's environment as the container was started
	// with it (the CLI passes its own): CNB_USER_ID, CNB_GROUP_ID,
	// CNB_STACK_ID, PATH. Of the rest only the lifecycle's allowlist
	// reaches buildpacks; HOME and HOSTNAME are not taken from it (HOME is
	// the CNB user's, from /etc/passwd, as in a build container).
	Env []string
	// LayersDir is the layers directory, writable (created when missing).
	// "": /layers, which must then be a writable directory (a volume
	// mounted there). The image records this path (CNB_LAYERS_DIR, the
	// layers' entries), so it is never a temporary name.
	LayersDir string
	// PlatformDir is the platform directory buildpacks read (env/,
	// bindings/). "": WorkDir/platform, where Env files are written; a
	// given one is used as it is, and BuildRequest.Env must then be empty.
	PlatformDir string
	// OrderPath is the order to detect with (the Platform API's -order,
	// e.g. <layers>/order.toml); "": the builder's /cnb/order.toml.
	OrderPath string
}

// Well-known directories of an in-place build.
const (
	inPlaceRoot      = "/"
	buildConfigPath  = "/cnb/build-config"
	defaultInPlaceLD = "/layers"
)

// ErrInPlace is returned for a request that cannot be built in place.
var ErrInPlace = errors.New("building in place")

// inPlaceDirs lays out the directories of an in-place build.
func (b *building) inPlaceDirs() error {
	ip, w := b.req.InPlace, b.req.WorkDir
	switch {
	case len(b.req.Buildpacks) > 0:
		return fmt.Errorf("%w: the buildpacks are the builder's own (/cnb/buildpacks); give a builder image to build with others", ErrInPlace)
	case b.req.Project != nil && (len(b.req.Project.Group) > 0 || len(b.req.Project.Pre) > 0 || len(b.req.Project.Post) > 0):
		return fmt.Errorf("%w: project.toml names buildpacks; the builder's own (/cnb/buildpacks) are all there is in place", ErrInPlace)
	case len(b.req.Volumes) > 0:
		return fmt.Errorf("%w: nothing is mounted: mount %s where buildpacks expect it instead of --volume", ErrInPlace, b.req.Volumes[0].Destination)
	case ip.PlatformDir != "" && len(b.req.Env) > 0:
		return fmt.Errorf("%w: the platform directory %s is given: put the env in its env/ rather than passing it", ErrInPlace, ip.PlatformDir)
	case b.req.BuilderImage != nil || b.req.Builder != nil:
		return fmt.Errorf("%w: the builder is the root filesystem; a builder image or builder.toml cannot also be given", ErrInPlace)
	}
	app, err := existingDir(b.req.AppDir, "the app")
	if err != nil {
		return err
	}
	layers := ip.LayersDir
	if layers == "" {
		if !writableDir(defaultInPlaceLD) {
			return fmt.Errorf("%w: %s is not a writable directory: mount a volume there (an emptyDir), or give a layers directory (--layers-dir)",
				ErrInPlace, defaultInPlaceLD)
		}
		layers = defaultInPlaceLD
	}
	if layers, err = filepath.Abs(layers); err != nil {
		return err
	}
	platform := ip.PlatformDir
	if platform == "" {
		platform = filepath.Join(w, "platform")
		if err := os.MkdirAll(filepath.Join(platform, "env"), 0o755); err != nil {
			return err
		}
	} else if platform, err = existingDir(platform, "the platform directory"); err != nil {
		return err
	}
	if err := os.MkdirAll(layers, 0o755); err != nil {
		return fmt.Errorf("%w: the layers directory: %v", ErrInPlace, err)
	}
	if !writableDir(layers) {
		return fmt.Errorf("%w: the layers directory %s is not writable (mount a volume there, or give another)", ErrInPlace, layers)
	}
	if within(layers, app) || within(app, layers) {
		return fmt.Errorf("%w: the app %s and the layers directory %s must not contain one another", ErrInPlace, app, layers)
	}
	b.dirs = buildDirs{app: app, layers: layers, platform: platform,
		buildpacks: distribution.BuildpacksPath, buildConfig: filepath.Join(w, "build-config"),
		scratch: filepath.Join(w, "scratch")}
	return os.MkdirAll(b.dirs.scratch, 0o755)
}

// inPlaceInputs reads the builder from the root filesystem.
func (b *building) inPlaceInputs(ctx context.Context) (*buildInputs, error) {
	bi, bps, err := distribution.ReadBuilderRootfs(ctx, inPlaceRoot, b.req.InPlace.Env)
	if err != nil {
		return nil, err
	}
	in := &buildInputs{buildpacks: bps, runImages: bi.RunImages, stackID: bi.StackID}
	if b.req.RunImage != "" {
		in.runImages = []distribution.RunImage{{Image: b.req.RunImage}}
	}
	in.localRun = distribution.LocalRunImage(in.runImages)
	if len(in.runImages) == 0 {
		return nil, fmt.Errorf("%w (the builder's /cnb/run.toml and /cnb/stack.toml name no run image: give one)", ErrNoBuilder)
	}
	if p := b.req.InPlace.OrderPath; p != "" {
		var f struct {
			Order distribution.Order `toml:"order"`
		}
		if _, err := toml.DecodeFile(p, &f); err != nil {
			return nil, fmt.Errorf("reading order %s: %w", p, err)
		}
		bi.Order = f.Order
	}
	if len(bi.Order) == 0 {
		return nil, fmt.Errorf("%w (the builder has no order)", ErrNoBuilder)
	}
	order, err := bps.ResolveOrder(bi.Order)
	if err != nil {
		return nil, err
	}
	in.order = toLifecycleOrder(order)
	b.uid, b.gid = bi.UID, bi.GID
	return in, nil
}

// inPlaceStack reads what a build image's config would give: the
// environment, and the build-config env files in /cnb/build-config.
func (b *building) inPlaceStack() error {
	var env []string
	for _, kv := range b.req.InPlace.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "HOSTNAME" { // the container runtime's, not the image's
			env = append(env, kv)
		}
	}
	b.rootfs = inPlaceRoot
	b.env = withHome(env, inPlaceRoot, b.uid)
	var err error
	b.inputs.buildEnv, err = builderEnvFiles(inPlaceRoot)
	return err
}

// prepareInPlace writes the platform env (into kiln's own platform
// directory) and the build-config env; every directory is seen by
// buildpacks where it is.
func (b *building) prepareInPlace() error {
	b.paths = lifecycle.Paths{
		Layers:     lifecycle.SameDir(b.dirs.layers),
		App:        lifecycle.SameDir(b.dirs.app),
		Platform:   lifecycle.SameDir(b.dirs.platform),
		Buildpacks: lifecycle.SameDir(b.dirs.buildpacks),
		Scratch:    lifecycle.SameDir(b.dirs.scratch),
	}
	env := append(b.projectEnv(), b.req.Env...)
	if b.req.InPlace.PlatformDir != "" && len(env) > 0 {
		return fmt.Errorf("%w: the platform directory %s is given: put project.toml's env in its env/ instead", ErrInPlace, b.dirs.platform)
	}
	if b.req.InPlace.PlatformDir == "" {
		if err := writeEnvFiles(filepath.Join(b.dirs.platform, "env"), env); err != nil {
			return err
		}
	}
	return b.writeBuildConfig()
}

// inPlaceMounts are the directories the build container must see at their
// own paths: nothing to mount at the none level, binds onto themselves in
// a namespaces container whose root is "/".
func (b *building) inPlaceMounts() []Mount {
	return []Mount{
		{Source: b.dirs.app, Destination: b.dirs.app},
		{Source: b.dirs.layers, Destination: b.dirs.layers},
		{Source: b.dirs.platform, Destination: b.dirs.platform, ReadOnly: true},
		{Source: b.dirs.scratch, Destination: b.dirs.scratch},
	}
}

// existingDir is dir, absolute, when it is a directory.
func existingDir(dir, what string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInPlace, what, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: %s %s is not a directory", ErrInPlace, what, abs)
	}
	return abs, nil
}

// writableDir reports whether dir is a directory this process may create
// files in.
func writableDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir() && unix.Access(dir, unix.W_OK|unix.X_OK) == nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
