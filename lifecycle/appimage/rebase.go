package appimage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// Labels of run images that a rebase checks and re-copies (CNB contract §5.4).
const (
	LabelStackID       = "io.buildpacks.stack.id"
	LabelStackMixins   = "io.buildpacks.stack.mixins"
	LabelRebasable     = "io.buildpacks.rebasable"
	LabelDistroName    = "io.buildpacks.base.distro.name"
	LabelDistroVersion = "io.buildpacks.base.distro.version"
)

// Rebaser is the rebase phase (CNB contract §6): it puts an app image on a
// new run image by rewriting its manifest and config. The layers the
// buildpacks, the app and the lifecycle added are kept as they are, so
// that a registry or layout that holds the app image receives only the new
// run image's blobs (and none of them when it has those too). Run returns
// the image unwritten; the caller writes it with oci.Write.
type Rebaser struct {
	// App is the app image to rebase. A registry image is best read
	// without a store: its app layers are then never downloaded.
	App v1.Image
	// RunImage names the new run image (a reference oci.ParseReference
	// accepts). Empty: the run image the app image records, preferring a
	// mirror on Registry.
	RunImage string
	// Registry is the app image's registry host, if it lives in one.
	Registry string
	// ReadImage reads the new run image by name.
	ReadImage func(ctx context.Context, ref string) (v1.Image, error)
	// Force turns failed checks (ErrNotRebasable, ErrTargetMismatch,
	// ErrRunImageNotRecorded, ErrStackMismatch, ErrMixinsMissing) into
	// warnings. A run image name the app image did not record then
	// replaces the recorded names.
	Force bool
	// Created is the config's and every history entry's created time;
	// zero keeps the app image's.
	Created time.Time
	// Logger receives debug detail; default: discard.
	Logger *slog.Logger
}

// RebaseReport is what Rebaser.Run did.
type RebaseReport struct {
	// RunImage is the name of the new run image, RunImageReference what
	// runImage.reference now says (its digest, by name for registries).
	RunImage          string `json:"runImage"`
	RunImageReference string `json:"runImageReference"`
	// OldTopLayer and NewTopLayer are runImage.topLayer before and after.
	OldTopLayer string `json:"oldTopLayer"`
	NewTopLayer string `json:"newTopLayer"`
	// BaseLayers is how many run image layers replaced OldBaseLayers;
	// AppLayers is how many layers above them were kept.
	OldBaseLayers int `json:"oldBaseLayers"`
	BaseLayers    int `json:"baseLayers"`
	AppLayers     int `json:"appLayers"`
	// Warnings are the failed checks that Force let through.
	Warnings []string `json:"warnings,omitempty"`
}

// Run rebases the app image and returns the new image and what was done.
// Errors are *RebaseError (exit code 72).
func (r *Rebaser) Run(ctx context.Context) (v1.Image, RebaseReport, error) {
	img, report, err := r.run(ctx)
	if err != nil {
		return nil, RebaseReport{}, &RebaseError{Err: err}
	}
	return img, report, nil
}

func (r *Rebaser) run(ctx context.Context) (v1.Image, RebaseReport, error) {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r.App == nil {
		return nil, RebaseReport{}, fmt.Errorf("no app image")
	}
	appCfg, err := r.App.ConfigFile()
	if err != nil {
		return nil, RebaseReport{}, fmt.Errorf("reading app image config: %w", err)
	}
	meta, ok, err := lifecycle.ParseLifecycleMetadata(appCfg.Config.Labels)
	if err != nil {
		return nil, RebaseReport{}, fmt.Errorf("%w: %v", ErrNoRebaseMetadata, err)
	}
	if !ok || meta.RunImage.TopLayer == "" {
		return nil, RebaseReport{}, fmt.Errorf("%w: no %s runImage.topLayer", ErrNoRebaseMetadata, lifecycle.LabelLifecycleMetadata)
	}
	top := indexOfDiffID(appCfg.RootFS.DiffIDs, meta.RunImage.TopLayer)
	if top < 0 {
		return nil, RebaseReport{}, fmt.Errorf("%w: runImage.topLayer %s is not a layer of the image",
			ErrNoRebaseMetadata, meta.RunImage.TopLayer)
	}
	appAPI := appPlatformAPI(appCfg.Config.Env)

	name := r.RunImage
	if name == "" {
		if name = recordedRunImage(&meta, appCfg.Config.Labels[lifecycle.LabelLocalRunImage], r.Registry); name == "" {
			return nil, RebaseReport{}, ErrNoRunImage
		}
	}
	if r.ReadImage == nil {
		return nil, RebaseReport{}, fmt.Errorf("no image reader for run image %s", name)
	}
	base, err := r.ReadImage(ctx, name)
	if err != nil {
		return nil, RebaseReport{}, fmt.Errorf("reading run image %s: %w", name, err)
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return nil, RebaseReport{}, fmt.Errorf("reading run image %s config: %w", name, err)
	}

	report := RebaseReport{RunImage: name, OldTopLayer: meta.RunImage.TopLayer, OldBaseLayers: top + 1}
	failed := checkRebase(appAPI, appCfg, baseCfg, meta, name)
	recorded := true
	for _, err := range failed {
		if !r.Force {
			return nil, RebaseReport{}, err
		}
		if errors.Is(err, ErrRunImageNotRecorded) {
			recorded = false
		}
		report.Warnings = append(report.Warnings, err.Error())
		log.Debug("rebase check overridden", "error", err)
	}

	b := rebasing{app: r.App, appCfg: appCfg, base: base, baseCfg: baseCfg, top: top, api: appAPI, created: r.Created}
	if b.created.IsZero() {
		b.created = appCfg.Created.Time
	}
	if report.RunImageReference, err = lifecycle.RunImageReference(base, name); err != nil {
		return nil, RebaseReport{}, err
	}
	labelEdit := runImageEdit{reference: report.RunImageReference}
	if !recorded {
		// A registry name goes where other platforms read it; a kiln-local
		// one only in kiln's own label.
		labelEdit.local, labelEdit.setLocal = "", true
		if ref, err := oci.ParseReference(name); err == nil && ref.Kind == oci.KindRegistry {
			labelEdit.name = name
		} else {
			labelEdit.local = name
		}
	}
	img, err := b.image(labelEdit, &report)
	if err != nil {
		return nil, RebaseReport{}, err
	}
	log.Debug("rebased", "runImage", name, "oldTop", report.OldTopLayer, "newTop", report.NewTopLayer,
		"baseLayers", report.BaseLayers, "appLayers", report.AppLayers)
	return img, report, nil
}

// indexOfDiffID returns the position of the first layer with diffID want,
// or -1.
func indexOfDiffID(diffIDs []v1.Hash, want string) int {
	for i, d := range diffIDs {
		if d.String() == want {
			return i
		}
	}
	return -1
}

// appPlatformAPI is the Platform API an app image was exported with, from
// the CNB_PLATFORM_API of its environment; images without one are treated
// as the oldest (0.7), whose checks are the stack ID and mixins.
func appPlatformAPI(env []string) api.Version {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "CNB_PLATFORM_API="); ok {
			if pv, err := api.Parse(v); err == nil {
				return pv
			}
		}
	}
	return api.Version{Major: 0, Minor: 7}
}

// recordedRunImage is the run image the metadata m names: runImage.image (or
// the deprecated stack.runImage.image, or else the kiln-local name local),
// or the first of its mirrors on registry when there is one there.
func recordedRunImage(m *lifecycle.LifecycleMetadata, local, registry string) string {
	image, mirrors := m.RunImage.Image, m.RunImage.Mirrors
	if image == "" && m.Stack != nil {
		image, mirrors = m.Stack.RunImage.Image, m.Stack.RunImage.Mirrors
	}
	if image == "" {
		image = local
	}
	if registry == "" {
		return image
	}
	for _, n := range append([]string{image}, mirrors...) {
		if ref, err := oci.ParseReference(n); err == nil && ref.Kind == oci.KindRegistry &&
			ref.Name.Context().RegistryStr() == registry {
			return n
		}
	}
	return image
}
