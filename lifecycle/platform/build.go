package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/lifecycle/project"
	"github.com/kilnbuild/kiln/oci"
)

// Container paths of the directories a build mounts, as the lifecycle
// defines them.
const (
	workspacePath  = "/workspace"
	layersPath     = "/layers"
	platformPath   = "/platform"
	buildpacksPath = "/cnb/buildpacks"
	// scratchPath is where buildpacks find the plan files kiln gives them
	// (the lifecycle's are in /tmp too): kiln's own directory, mounted, so
	// that no buildpack can rename it (it is no longer in /layers).
	scratchPath = "/tmp/kiln"
)

// BuildRequest is one build: an app, the buildpacks and stack to build it
// with, and how to shape the image. Fields are inputs the CLI has resolved
// from flags, project.toml and the environment.
type BuildRequest struct {
	// AppDir is the application source. It is copied (Project's
	// include/exclude applied); the build never writes to it.
	AppDir string
	// Builder is the builder.toml; nil when BuilderImage or Buildpacks plus
	// BuildImage and RunImage describe the build.
	Builder *distribution.BuilderConfig
	// BuilderImage is a builder image (made by kiln or by pack): buildpacks,
	// order, run image and the build image itself come from it.
	BuilderImage v1.Image
	// BuildImage overrides the builder's build image reference.
	BuildImage string
	// Buildpacks, when set, replace the order with one group (--buildpack):
	// locators of any form FetchBuildpacks accepts.
	Buildpacks []string
	// Project is the project descriptor, or nil.
	Project *project.Descriptor
	// Env are the platform's environment variables ("K=V"), written to
	// <platform>/env for buildpacks to read (--env, --env-file, project.toml).
	Env []string
	// Volumes are extra bind mounts into the build container (--volume),
	// for instance a wheelhouse or a service binding under
	// /platform/bindings.
	Volumes []Mount
	// RunImage overrides the builder's run image (--run-image).
	RunImage string
	// DefaultProcess is the process type to start by default
	// (--default-process).
	DefaultProcess string
	// PlatformAPI is the Platform API the phases implement; empty:
	// lifecycle.DefaultPlatformAPI.
	PlatformAPI string
	// Created is the image's created time (SOURCE_DATE_EPOCH); zero:
	// oci.Epoch.
	Created time.Time
	// Launcher returns the launcher executable for an architecture.
	Launcher     func(arch string) ([]byte, error)
	LauncherInfo lifecycle.LauncherMetadata
	// Store holds image blobs, unpacked root filesystems and the layers the
	// export writes.
	Store *oci.Store
	// Rootless selects the unpack mode of the build image's root filesystem.
	Rootless bool
	// WorkDir is an empty scratch directory for the build (app copy, layers,
	// platform files, buildpacks) on the store's file system, so that
	// cached layers move in and out by rename (oci.Store.NewWorkDir); the
	// caller disposes of it afterwards.
	WorkDir string
	// PreviousImage is the image this build replaces (--previous-image; the
	// CLI defaults it to the output reference): its layer metadata is
	// restored and its layers reused. "" or an image that cannot be read:
	// none.
	PreviousImage string
	// Cache keeps cache=true layers between builds; nil: no cache.
	// ClearCache ignores what it holds (it is still written afterwards).
	Cache      *lifecycle.Cache
	ClearCache bool
	// SkipLayers restores no layer metadata and no cached layers, only
	// store.toml (the Platform API's -skip-restore, CNB_SKIP_RESTORE).
	SkipLayers bool
	// ProjectMetadata is project-metadata.toml, the app image's
	// io.buildpacks.project.metadata label ({} when nil).
	ProjectMetadata *lifecycle.ProjectMetadata
	// InPlace, when set, builds on the root filesystem kiln runs on, the
	// builder image (see InPlace): Builder, BuilderImage, BuildImage and
	// Buildpacks stay empty, and AppDir is built where it is.
	InPlace *InPlace
	// Out receives phase headers, the detected group, buildpack output and
	// export lines; Verbose adds detect output and timings.
	Out     io.Writer
	Verbose bool
}

// BuildOutput is what a build produced: the image (not yet written) and
// what the phases did.
type BuildOutput struct {
	Image  v1.Image
	Group  lifecycle.Group
	Export lifecycle.ExportReport
	Phases []PhaseTiming
	// RunImage is the reference of the run image the app image is based on.
	RunImage string
	// FailedPhase names the phase that failed when Build returns an error
	// (with the output so far: Phases holds the phases that finished).
	FailedPhase string
}

// PhaseTiming is how long one phase took.
type PhaseTiming struct {
	Phase    string        `json:"phase"`
	Duration time.Duration `json:"duration"`
}

// Build runs detect, build and export for req, with buildpacks in containers
// started by sb, and returns the app image for the caller to write. On
// failure the output so far comes with the error (FailedPhase, Phases), for
// the caller's report.
func Build(ctx context.Context, req BuildRequest, sb Sandbox, opts ...Option) (*BuildOutput, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	b := &building{req: req, o: o, out: req.Out, result: &BuildOutput{}}
	if b.out == nil {
		b.out = io.Discard
	}
	for _, step := range []func(context.Context) error{b.prepare, b.analyze,
		func(ctx context.Context) error { return b.buildInContainer(ctx, sb) }, b.export} {
		if err := step(ctx); err != nil {
			b.result.FailedPhase = b.failedPhase()
			return b.result, err
		}
	}
	b.saveCache(ctx)
	return b.result, nil
}

// buildPhases are the phases Build times, in order.
var buildPhases = []string{"prepare", "analyze", "detect", "restore", "build", "export"}

// failedPhase is the first phase not timed yet: the one that failed.
func (b *building) failedPhase() string {
	if n := len(b.result.Phases); n < len(buildPhases) {
		return buildPhases[n]
	}
	return "export"
}

// building is the state of one Build.
type building struct {
	req    BuildRequest
	o      *options
	out    io.Writer
	result *BuildOutput

	inputs *buildInputs
	dirs   buildDirs
	paths  lifecycle.Paths
	build  v1.Image
	rootfs string
	uid    int
	gid    int
	env    []string // the build container's environment
	run    v1.Image
	runRef string // runImage.reference: the run image by digest
	// lifecycle is the builder image's lifecycle, whose launcher the app
	// image gets; nil: kiln's (BuildRequest.Launcher).
	lifecycle *builderLifecycle
	target    lifecycle.TargetData
	group     lifecycle.DetectResult
	analysis  lifecycle.Analysis
	exporter  *lifecycle.Exporter
	unusable  []v1.Layer // cached layers the restore could not use
	built     lifecycle.BuildResult
	started   time.Time
}

// buildDirs are the host directories of a build, under WorkDir.
type buildDirs struct {
	app, layers, platform, buildpacks, buildConfig, scratch string
}

// prepare resolves the builder, lays out the buildpacks, reads the stack
// images and prepares the directories the build container mounts.
func (b *building) prepare(ctx context.Context) error {
	b.started = time.Now()
	if b.req.WorkDir == "" || b.req.Store == nil || b.req.Launcher == nil {
		return errors.New("building: WorkDir, Store and Launcher are required")
	}
	if err := b.layOutDirs(); err != nil {
		return err
	}
	in, err := b.resolveInputs(ctx)
	if err != nil {
		return err
	}
	b.inputs = in
	if err := b.readStack(ctx); err != nil {
		return err
	}
	if err := b.prepareDirs(ctx); err != nil {
		return err
	}
	b.timing("prepare")
	return nil
}

// layOutDirs decides the build's directories: under WorkDir, or where
// they are when building in place.
func (b *building) layOutDirs() error {
	if b.req.InPlace != nil {
		return b.inPlaceDirs()
	}
	w := b.req.WorkDir
	b.dirs = buildDirs{
		app:         filepath.Join(w, "workspace"),
		layers:      filepath.Join(w, "layers"),
		platform:    filepath.Join(w, "platform"),
		buildpacks:  filepath.Join(w, "buildpacks"),
		buildConfig: filepath.Join(w, "build-config"),
		scratch:     filepath.Join(w, "scratch"),
	}
	for _, d := range []string{b.dirs.layers, filepath.Join(b.dirs.platform, "env"), b.dirs.buildpacks, b.dirs.scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// timing records the time since the last mark as phase.
func (b *building) timing(phase string) {
	now := time.Now()
	d := now.Sub(b.started)
	b.result.Phases = append(b.result.Phases, PhaseTiming{Phase: phase, Duration: d})
	if b.req.Verbose {
		fmt.Fprintf(b.out, "Timer: %s took %s\n", phase, d.Round(time.Millisecond))
	}
	b.started = now
}

// buildInContainer runs detect and build in one build container. Each
// phase ends with every process it started: nothing of detect's runs while
// the host restores, nothing of build's while it exports (the container is
// closed first).
func (b *building) buildInContainer(ctx context.Context, sb Sandbox) (err error) {
	mounts := []Mount{
		{Source: b.dirs.app, Destination: workspacePath},
		{Source: b.dirs.layers, Destination: layersPath},
		{Source: b.dirs.platform, Destination: platformPath, ReadOnly: true},
		{Source: b.dirs.buildpacks, Destination: buildpacksPath, ReadOnly: true},
		{Source: b.dirs.scratch, Destination: scratchPath},
	}
	if b.req.InPlace != nil {
		mounts = b.inPlaceMounts()
	}
	if err := volumeMountpoints(mounts, b.req.Volumes); err != nil {
		return err
	}
	sess, err := sb.Start(ctx, Container{
		Rootfs: b.rootfs,
		UID:    b.uid,
		GID:    b.gid,
		Mounts: append(mounts, b.req.Volumes...),
	})
	if err != nil {
		return fmt.Errorf("starting the build container: %w", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("stopping the build container: %w", cerr)
		}
		if err == nil {
			b.timing("stop") // the container's end, not the export's
		}
	}()
	b.readLifecycleVersion(ctx, sess)
	if err := b.detect(ctx, sess); err != nil {
		return err
	}
	if err := sess.EndPhase(ctx); err != nil {
		return fmt.Errorf("ending the detect phase: %w", err)
	}
	if err := b.restore(ctx); err != nil {
		return err
	}
	return b.runBuild(ctx, sess)
}

// volumeMountpoints creates, on the host side, the mount points of volumes
// that lie inside one of the build's read-only mounts (a binding under
// /platform, say), which the container could not create there.
func volumeMountpoints(base, volumes []Mount) error {
	for _, v := range volumes {
		for _, m := range base {
			if !m.ReadOnly {
				continue // the container makes mount points in writable mounts
			}
			rel, err := filepath.Rel(m.Destination, v.Destination)
			if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
				continue
			}
			p, err := securejoin.SecureJoin(m.Source, rel)
			if err != nil {
				return fmt.Errorf("preparing volume %s: %w", v.Destination, err)
			}
			if fi, err := os.Stat(v.Source); err == nil && !fi.IsDir() {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return fmt.Errorf("preparing volume %s: %w", v.Destination, err)
				}
				f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return fmt.Errorf("preparing volume %s: %w", v.Destination, err)
				}
				f.Close()
				continue
			}
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("preparing volume %s: %w", v.Destination, err)
			}
		}
	}
	return nil
}
