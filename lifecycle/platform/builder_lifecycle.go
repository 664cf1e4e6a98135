package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// Where a builder image keeps its lifecycle (CNB contract §5.1).
const (
	builderLauncherPath  = "/cnb/lifecycle/launcher"
	builderLifecyclePath = "/cnb/lifecycle/lifecycle"
	// referenceRepository is the source repository the reference lifecycle
	// records in the build label's launcher metadata.
	referenceRepository = "github.com/buildpacks/lifecycle"
	maxLauncherSize     = 256 << 20
)

// builderLifecycle is the lifecycle a builder image carries, when the build
// uses the builder's launcher rather than kiln's.
type builderLifecycle struct {
	launcher []byte
	info     lifecycle.LauncherMetadata
	// foreign is a lifecycle that is not kiln's (the reference lifecycle of
	// a pack builder): its version is read from its own binary.
	foreign bool
}

// kilnLifecycle reports whether the builder metadata describes kiln's own
// lifecycle: made by kiln, with kiln's version as the lifecycle's (a
// lifecycle archive brings its own version).
func kilnLifecycle(md distribution.BuilderMetadata) bool {
	return md.CreatedBy.Name == "kiln" && md.Lifecycle.Version == md.CreatedBy.Version
}

// useBuilderLifecycle makes the build put the builder image's own launcher
// into the app image, as its lifecycle would (pack does the same): the
// image is then the one a build inside that builder gives. For a lifecycle
// that is not kiln's, the Platform API is the highest both implement and
// the launcher metadata is that lifecycle's. A builder without a launcher
// leaves kiln's.
func (b *building) useBuilderLifecycle(md distribution.BuilderMetadata) error {
	launcher, err := readRootfsFile(b.rootfs, builderLauncherPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the builder's launcher: %w", err)
	}
	bl := &builderLifecycle{launcher: launcher, info: b.req.LauncherInfo}
	if !kilnLifecycle(md) {
		bl.foreign = true
		bl.info = lifecycle.LauncherMetadata{Version: md.Lifecycle.Version,
			Source: lifecycle.LauncherSource{Git: lifecycle.GitMetadata{Repository: referenceRepository}}}
		if b.req.PlatformAPI == "" {
			v, err := commonPlatformAPI(md.Lifecycle.APIs.Platform)
			if err != nil {
				return err
			}
			b.req.PlatformAPI = v
		}
	}
	b.lifecycle = bl
	return nil
}

// commonPlatformAPI is the highest Platform API both kiln and the builder's
// lifecycle implement, as pack picks it.
func commonPlatformAPI(v distribution.APIVersions) (string, error) {
	var best *api.Version
	for _, s := range append(append([]string{}, v.Deprecated...), v.Supported...) {
		pv, err := api.Parse(s)
		if err != nil || !api.Platform.Contains(pv) {
			continue
		}
		if best == nil || pv.Compare(*best) > 0 {
			best = &pv
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: the builder's lifecycle implements Platform API %v, kiln %s: none in common",
			distribution.ErrIncompatible, v.Supported, api.Platform)
	}
	return best.String(), nil
}

// readLifecycleVersion asks a foreign lifecycle for its version and commit
// (`lifecycle -version` prints VERSION+COMMIT), which its exporter records;
// without an answer the metadata's version stands and the commit is empty.
func (b *building) readLifecycleVersion(ctx context.Context, r lifecycle.Runner) {
	if b.lifecycle == nil || !b.lifecycle.foreign {
		return
	}
	var out bytes.Buffer
	code, err := r.Run(ctx, lifecycle.Cmd{Args: []string{builderLifecyclePath, "-version"}, Env: b.env, Dir: "/",
		Stdout: &out, Stderr: io.Discard})
	if err != nil || code != 0 {
		b.o.logger.Debug("the builder's lifecycle gave no version", "exit", code, "err", err)
		return
	}
	v, commit, _ := strings.Cut(strings.TrimSpace(out.String()), "+")
	if v != "" && !strings.ContainsAny(v, " \n") {
		b.lifecycle.info.Version, b.lifecycle.info.Source.Git.Commit = v, commit
	}
}

// readRootfsFile reads a regular file of an unpacked image, never
// following a link out of it nor at the last component.
func readRootfsFile(root, name string) ([]byte, error) {
	p, err := securejoin.SecureJoin(root, name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxLauncherSize {
		return nil, fmt.Errorf("%s is not a regular file of at most %d bytes", name, maxLauncherSize)
	}
	return io.ReadAll(io.LimitReader(f, maxLauncherSize))
}
