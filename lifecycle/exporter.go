package lifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// Default container paths of the layers and app directories.
const (
	DefaultLayersDir = "/layers"
	DefaultAppDir    = "/workspace"
)

// Layer IDs the lifecycle prints for the layers it makes itself.
const (
	sbomLayerID         = "buildpacksio/lifecycle:launch.sbom"
	launcherLayerID     = "buildpacksio/lifecycle:launcher"
	configLayerID       = "buildpacksio/lifecycle:config"
	processTypesLayerID = "buildpacksio/lifecycle:process-types"
)

// History created_by strings (CNB contract §3, Platform API ≥0.12).
const (
	sbomCreatedBy         = "Software Bill-of-Materials"
	appLayerCreatedBy     = "Application Layer"
	launcherCreatedBy     = "Buildpacks Application Launcher"
	configCreatedBy       = "Buildpacks Launcher Config"
	processTypesCreatedBy = "Buildpacks Process Types"
)

// Paths of the launcher inside the app image.
const (
	cnbDir       = "/cnb"
	lifecycleDir = "/cnb/lifecycle"
	launcherPath = "/cnb/lifecycle/launcher"
)

// ProcessDir is where an app image has one link to the launcher per
// process type: the entrypoint /cnb/process/<type> starts that process.
const ProcessDir = "/cnb/process"

// Exporter is the export phase: it appends the build's output to the run
// image the way the reference lifecycle does (CNB contract §3) and returns
// the app image without writing it anywhere; the caller writes it with
// oci.Write, whose blobs are already in Store.
//
// Same inputs give the same image digest on any machine, as root or
// rootless: entries carry container paths, Epoch mtimes and the CNB user as
// owner; the owners of files on the host never reach the image. Modes do:
// they are taken from disk, except that the layers and app directories
// themselves are always recorded 0755, as a build container has them (a
// pod's volume may be 0777).
type Exporter struct {
	// RunImage is the base. All of its layers, config and labels are kept.
	RunImage v1.Image
	// RunImageRef is recorded as runImage.reference: the run image by
	// digest ("registry/run@sha256:…", see RunImageReference). Empty: the
	// manifest digest.
	RunImageRef string
	// RunImageName and RunImageMirrors are the run image as run.toml (or
	// stack.toml) names it: registry names only.
	RunImageName    string
	RunImageMirrors []string
	// LocalRunImage is the run image's kiln-local name when it has no
	// registry name, recorded in LabelLocalRunImage for kiln rebase.
	LocalRunImage string

	// Layers and App are the layers and app directories: Host is where
	// kiln reads them, Container the path they have in the image (default
	// /layers and /workspace).
	Layers, App Dir
	// UID and GID are the CNB user and group: the owner of every entry in
	// the layers and app directories.
	UID, GID int
	// PlatformAPI is the Platform API version (default DefaultPlatformAPI).
	PlatformAPI string

	// Launcher is the launcher executable for the image's platform, placed
	// at /cnb/lifecycle/launcher; LauncherInfo describes it in the build
	// label.
	Launcher     []byte
	LauncherInfo LauncherMetadata

	// DefaultProcess is the process type the user asked for as default
	// (--default-process, CNB_PROCESS_TYPE); it must be one of the build's
	// processes. Empty: the buildpacks' default, if any.
	DefaultProcess string
	// Project becomes the io.buildpacks.project.metadata label.
	Project ProjectMetadata
	// Created is the config's and every history entry's created time
	// (SOURCE_DATE_EPOCH when the caller has one); zero means oci.Epoch.
	// Tar entries always carry oci.Epoch.
	Created time.Time

	// Store receives the layers as blobs (and their diffID memo); nil
	// writes them as temp files under the system temp dir.
	Store *oci.Store
	// Previous is the image this build replaces, if any: launch layers
	// without a directory are reused from it by the diffID its
	// io.buildpacks.lifecycle.metadata label records, and layers whose
	// diffID it already has are reported as reused.
	Previous v1.Image
	// Reuse are other images whose layers the exporter may take by diffID
	// instead of writing them again (the cache), when the store no longer
	// holds a blob it remembers.
	Reuse []v1.Image

	// Logger receives debug detail; default: discard.
	Logger *slog.Logger
	// Progress, when set, hears how far each new layer's tar and compression
	// is (oci.PhaseLayer events), for a long layer to show it is moving.
	Progress func(oci.Progress)
	// Out receives pack-like progress lines ("Adding layer '…'"); nil
	// discards them.
	Out io.Writer

	last *exporting // the last Run, for CacheLayers
}

// exporting is the state of one Exporter.Run.
type exporting struct {
	e         *Exporter
	api       api.Version
	log       *slog.Logger
	out       io.Writer
	layers    Dir
	app       Dir
	created   time.Time
	layerType types.MediaType
	prev      *LifecycleMetadata
	adds      []oci.Append
	meta      LifecycleMetadata
	report    ExportReport
	made      map[string]v1.Layer // buildpack layers by container path
}

// Run exports the result of a build and returns the app image and what was
// done. Errors are *ExportError (exit code 62).
func (e *Exporter) Run(ctx context.Context, res BuildResult) (v1.Image, ExportReport, error) {
	img, report, err := e.run(ctx, res)
	if err != nil {
		return nil, ExportReport{}, &ExportError{Err: err}
	}
	return img, report, nil
}

func (e *Exporter) run(ctx context.Context, res BuildResult) (v1.Image, ExportReport, error) {
	x, err := e.start()
	if err != nil {
		return nil, ExportReport{}, err
	}
	m := res.Metadata
	defaultType, err := x.defaultProcess(m)
	if err != nil {
		return nil, ExportReport{}, err
	}
	if err := x.runImage(); err != nil {
		return nil, ExportReport{}, err
	}
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return x.buildpackLayers(ctx, res.Buildpacks) },
		x.sbomLayer,
		func(ctx context.Context) error { return x.appLayers(ctx, m.Slices) },
		x.launcherLayer,
		x.configLayer,
		func(ctx context.Context) error { return x.processTypesLayer(ctx, m.Processes) },
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, ExportReport{}, err
		}
	}
	img, err := x.image(m, defaultType)
	if err != nil {
		return nil, ExportReport{}, err
	}
	e.last = x
	return img, x.report, nil
}

// start checks the inputs and fills in the defaults.
func (e *Exporter) start() (*exporting, error) {
	if e.RunImage == nil {
		return nil, fmt.Errorf("no run image")
	}
	platformAPI, err := api.Parse(orDefault(e.PlatformAPI, DefaultPlatformAPI))
	if err != nil {
		return nil, err
	}
	if e.Layers.Host == "" || e.App.Host == "" {
		return nil, fmt.Errorf("the layers and app directories are required")
	}
	mt, err := e.RunImage.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading run image manifest type: %w", err)
	}
	x := &exporting{
		e: e, api: platformAPI, log: loggerOr(e.Logger), out: writerOr(e.Out),
		layers:  Dir{Host: e.Layers.Host, Container: orDefault(e.Layers.Container, DefaultLayersDir)},
		app:     Dir{Host: e.App.Host, Container: orDefault(e.App.Container, DefaultAppDir)},
		created: e.Created, layerType: types.OCILayer, made: map[string]v1.Layer{},
	}
	if !path.IsAbs(x.layers.Container) || !path.IsAbs(x.app.Container) {
		return nil, fmt.Errorf("the container paths of the layers and app directories must be absolute: %q, %q",
			x.layers.Container, x.app.Container)
	}
	if x.created.IsZero() {
		x.created = oci.Epoch
	}
	x.created = x.created.UTC()
	if mt == types.DockerManifestSchema2 {
		x.layerType = types.DockerLayer
	}
	if e.Previous != nil {
		cf, err := e.Previous.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading previous image config: %w", err)
		}
		prev, ok, err := ParseLifecycleMetadata(cf.Config.Labels)
		if err != nil {
			return nil, fmt.Errorf("reading previous image: %w", err)
		}
		if ok {
			x.prev = &prev
		}
	}
	return x, nil
}

// runImage records the run image in the lifecycle label.
func (x *exporting) runImage() error {
	e := x.e
	layers, err := e.RunImage.Layers()
	if err != nil {
		return fmt.Errorf("reading run image layers: %w", err)
	}
	r := &x.meta.RunImage
	if len(layers) > 0 {
		top, err := layers[len(layers)-1].DiffID()
		if err != nil {
			return fmt.Errorf("reading run image top layer: %w", err)
		}
		r.TopLayer = top.String()
	}
	r.Reference = e.RunImageRef
	if r.Reference == "" {
		d, err := e.RunImage.Digest()
		if err != nil {
			return fmt.Errorf("reading run image digest: %w", err)
		}
		r.Reference = d.String()
	}
	if x.api.AtLeast("0.12") {
		r.Image, r.Mirrors = e.RunImageName, e.RunImageMirrors
	}
	x.meta.Stack = &StackRunImageLabel{RunImage: RunImageName{Image: e.RunImageName, Mirrors: e.RunImageMirrors}}
	return nil
}

// add appends a layer, reports it and prints the pack-like line. reused
// says the previous image already had the layer's diffID in this role.
func (x *exporting) add(id, createdBy string, l v1.Layer, reused bool) (LayerReport, error) {
	r := LayerReport{ID: id, CreatedBy: createdBy, Reused: reused}
	var err error
	if r.DiffID, err = l.DiffID(); err != nil {
		return LayerReport{}, fmt.Errorf("reading layer %s: %w", id, err)
	}
	if r.Digest, err = l.Digest(); err != nil {
		return LayerReport{}, fmt.Errorf("reading layer %s: %w", id, err)
	}
	if r.Size, err = l.Size(); err != nil {
		return LayerReport{}, fmt.Errorf("reading layer %s: %w", id, err)
	}
	h := v1.History{Created: v1.Time{Time: x.created}}
	if x.api.AtLeast("0.12") {
		h.CreatedBy = createdBy
	}
	x.adds = append(x.adds, oci.Append{Layer: l, History: h})
	x.report.Layers = append(x.report.Layers, r)
	x.log.Debug("layer", "id", id, "diffID", r.DiffID, "digest", r.Digest, "reused", reused)
	return r, nil
}

// addNamed adds one of the lifecycle's own or a buildpack's layer and
// prints "Adding layer" or "Reusing layer" as pack does.
func (x *exporting) addNamed(id, createdBy string, l v1.Layer, prevSHA string) (string, error) {
	d, err := l.DiffID()
	if err != nil {
		return "", fmt.Errorf("reading layer %s: %w", id, err)
	}
	reused := prevSHA != "" && d.String() == prevSHA
	verb := "Adding"
	if reused {
		verb = "Reusing"
	}
	fmt.Fprintf(x.out, "%s layer '%s'\n", verb, id)
	r, err := x.add(id, createdBy, l, reused)
	if err != nil {
		return "", err
	}
	return r.DiffID.String(), nil
}
