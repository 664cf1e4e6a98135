package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

// Phase is one phase of a build run on its own, as the Platform API's
// analyzer, detector, restorer, builder and exporter run in separate
// processes (pack's untrusted flow, kpack) and hand each other the files of
// PhaseFiles through the layers directory.
type Phase string

// The phases, in the Platform API ≥0.7 order.
const (
	PhaseAnalyze Phase = "analyze" // previous image, cache, run image → analyzed.toml
	PhaseDetect  Phase = "detect"  // order, analyzed.toml's target → group.toml, plan.toml
	PhaseRestore Phase = "restore" // group.toml, previous image, cache → layer metadata and cached layers
	PhaseBuild   Phase = "build"   // group.toml, plan.toml → the layers, config/metadata.toml
	PhaseExport  Phase = "export"  // the layers, analyzed.toml's run image → the image, then the cache
)

// PhaseFiles are the platform files the phases exchange (CNB contract §2.3);
// "" is the default, <layers>/analyzed.toml, group.toml or plan.toml.
type PhaseFiles struct {
	Analyzed, Group, Plan string
}

// ErrPhaseInput is returned when a phase lacks the output of an earlier
// one (analyzed.toml, group.toml, plan.toml, the build's metadata).
var ErrPhaseInput = errors.New("reading the output of an earlier phase")

// RunPhase runs one phase of req, which builds in place (req.InPlace: the
// phase runs inside the builder image, as the lifecycle's binaries do).
// Only the analyzer, restorer and exporter read images, the previous image
// and the cache: the detector and the builder take the run image's target
// from analyzed.toml and need no registry access, so registry credentials
// can be kept from the phases that run buildpacks. The export phase returns
// the image for the caller to write, and saves the cache after it; the
// others return a BuildOutput without one.
func RunPhase(ctx context.Context, req BuildRequest, phase Phase, files PhaseFiles, sb Sandbox, opts ...Option) (*BuildOutput, error) {
	if req.InPlace == nil {
		return nil, fmt.Errorf("%w: a phase runs in the builder image only", ErrInPlace)
	}
	if req.WorkDir == "" || req.Store == nil {
		return nil, errors.New("running a phase: WorkDir and Store are required")
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	b := &building{req: req, o: o, out: req.Out, result: &BuildOutput{}, started: time.Now()}
	if b.out == nil {
		b.out = io.Discard
	}
	if err := b.layOutDirs(); err != nil {
		return nil, err
	}
	if b.inputs, err = b.resolveInputs(ctx); err != nil {
		return nil, err
	}
	if err := b.inPlaceStack(); err != nil {
		return nil, err
	}
	p := &phasing{building: b, files: files.withDefaults(b.dirs.layers)}
	switch phase {
	case PhaseAnalyze:
		err = p.analyzePhase(ctx)
	case PhaseDetect:
		err = p.inContainer(ctx, sb, p.detectPhase)
	case PhaseRestore:
		err = p.restorePhase(ctx)
	case PhaseBuild:
		err = p.inContainer(ctx, sb, p.buildPhase)
	case PhaseExport:
		err = p.exportPhase(ctx)
	default:
		err = fmt.Errorf("no phase %q", phase)
	}
	if err != nil {
		return nil, err
	}
	return b.result, nil
}

func (f PhaseFiles) withDefaults(layers string) PhaseFiles {
	def := func(p *string, name string) {
		if *p == "" {
			*p = filepath.Join(layers, name)
		}
	}
	def(&f.Analyzed, "analyzed.toml")
	def(&f.Group, "group.toml")
	def(&f.Plan, "plan.toml")
	return f
}

// phasing is one phase of a build: the build's state and the files it
// exchanges.
type phasing struct {
	*building
	files PhaseFiles
}

// analyzePhase reads the run image (its target), the previous image and
// the cache, and writes analyzed.toml.
func (p *phasing) analyzePhase(ctx context.Context) error {
	if err := p.readRunImage(ctx); err != nil {
		return err
	}
	if err := p.analyze(ctx); err != nil {
		return err
	}
	runRef, err := analyzedRef(p.run, p.result.RunImage)
	if err != nil {
		return err
	}
	a := lifecycle.Analyzed{RunImage: &lifecycle.AnalyzedRunImage{
		Reference: runRef, Image: p.inputs.runImageName(), Target: lifecycle.NewAnalyzedTarget(p.target)}}
	if prev := p.analysis.Previous; prev != nil {
		ref, err := analyzedRef(prev, p.req.PreviousImage)
		if err != nil {
			return err
		}
		a.Image.Reference = ref
	}
	return lifecycle.WriteAnalyzed(p.files.Analyzed, a)
}

// analyzedRef is how analyzed.toml names an image that later phases read
// again: name@digest in a registry; an OCI layout or archive has no digest
// reference, so by the kiln reference read (the image label still records
// the run image by digest alone, lifecycle.RunImageReference).
func analyzedRef(img v1.Image, ref string) (string, error) {
	if r, err := oci.ParseReference(ref); err == nil && r.Kind != oci.KindRegistry {
		return ref, nil
	}
	return lifecycle.RunImageReference(img, ref)
}

// readAnalyzed reads analyzed.toml: the run image and its target, the
// previous image by digest.
func (p *phasing) readAnalyzed() (lifecycle.Analyzed, error) {
	a, err := lifecycle.ReadAnalyzed(p.files.Analyzed)
	if err != nil {
		return a, fmt.Errorf("%w (run the analyzer first): %v", ErrPhaseInput, err)
	}
	if a.RunImage == nil || a.RunImage.Reference == "" {
		return a, fmt.Errorf("%w: %s names no run image", ErrPhaseInput, p.files.Analyzed)
	}
	p.target = a.RunImage.TargetData()
	if a.Image.Reference != "" {
		p.req.PreviousImage = a.Image.Reference
	} else {
		p.req.PreviousImage = ""
	}
	return a, nil
}

// readGroup reads group.toml (and plan.toml when plan is set).
func (p *phasing) readGroup(plan bool) error {
	g, err := lifecycle.ReadGroup(p.files.Group)
	if err != nil {
		return fmt.Errorf("%w (run the detector first): %v", ErrPhaseInput, err)
	}
	p.group.Group, p.result.Group = g, g
	if plan {
		if p.group.Plan, err = lifecycle.ReadPlan(p.files.Plan); err != nil {
			return fmt.Errorf("%w (run the detector first): %v", ErrPhaseInput, err)
		}
	}
	return nil
}

// inContainer runs a phase that runs buildpacks in the build container.
func (p *phasing) inContainer(ctx context.Context, sb Sandbox, run func(context.Context, lifecycle.Runner) error) (err error) {
	if _, err := p.readAnalyzed(); err != nil {
		return err
	}
	if err := p.prepareInPlace(); err != nil {
		return err
	}
	sess, err := sb.Start(ctx, Container{Rootfs: p.rootfs, UID: p.uid, GID: p.gid, Mounts: p.inPlaceMounts()})
	if err != nil {
		return fmt.Errorf("starting the build container: %w", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("stopping the build container: %w", cerr)
		}
	}()
	return run(ctx, sess)
}

// detectPhase detects and writes group.toml and plan.toml where asked (the
// detector writes them to the layers directory).
func (p *phasing) detectPhase(ctx context.Context, r lifecycle.Runner) error {
	if err := p.detect(ctx, r); err != nil {
		return err
	}
	if err := lifecycle.WriteGroup(p.files.Group, p.group.Group); err != nil {
		return err
	}
	return lifecycle.WritePlan(p.files.Plan, p.group.Plan)
}

// buildPhase runs the group's builds: the layers and config/metadata.toml.
func (p *phasing) buildPhase(ctx context.Context, r lifecycle.Runner) error {
	if err := p.readGroup(true); err != nil {
		return err
	}
	return p.runBuild(ctx, r)
}

// restorePhase restores layer metadata and cached layers for the group.
func (p *phasing) restorePhase(ctx context.Context) error {
	if err := p.readGroup(false); err != nil {
		return err
	}
	if _, err := p.readAnalyzed(); err != nil {
		return err
	}
	if err := p.quietAnalyze(ctx); err != nil {
		return err
	}
	// The restorer writes below the layers directory's handle: it needs
	// the directory itself, not a path relative to the working directory.
	p.paths = lifecycle.Paths{Layers: lifecycle.SameDir(p.dirs.layers), App: lifecycle.SameDir(p.dirs.app)}
	return p.restore(ctx)
}

// exportPhase writes the image on analyzed.toml's run image from what the
// builder left in the layers directory, then saves the cache.
func (p *phasing) exportPhase(ctx context.Context) error {
	if err := p.readGroup(false); err != nil {
		return err
	}
	a, err := p.readAnalyzed()
	if err != nil {
		return err
	}
	if name := a.RunImage.Image; name != "" && name != p.inputs.runImageName() {
		// The analyzer was given another run image than run.toml's.
		p.inputs.runImages = []distribution.RunImage{{Image: name}}
		p.inputs.localRun = distribution.LocalRunImage(p.inputs.runImages)
	}
	run, err := p.o.reader(ctx, a.RunImage.Reference)
	if err != nil {
		return fmt.Errorf("reading run image %s: %w", a.RunImage.Reference, err)
	}
	p.run, p.result.RunImage = run, a.RunImage.Reference
	if p.runRef, err = lifecycle.RunImageReference(run, a.RunImage.Reference); err != nil {
		return err
	}
	if err := p.quietAnalyze(ctx); err != nil {
		return err
	}
	if p.built, err = lifecycle.ReadBuildResult(lifecycle.SameDir(p.dirs.layers), p.group.Group, p.o.logger); err != nil {
		return fmt.Errorf("%w (run the builder first): %v", ErrPhaseInput, err)
	}
	p.paths = lifecycle.Paths{Layers: lifecycle.SameDir(p.dirs.layers), App: lifecycle.SameDir(p.dirs.app)}
	if err := p.export(ctx); err != nil {
		return err
	}
	p.saveCache(ctx)
	return nil
}

// quietAnalyze reads the previous image and the cache again, for the
// restorer and the exporter, without the analyzer's output.
func (p *phasing) quietAnalyze(ctx context.Context) error {
	out := p.out
	p.out = io.Discard
	defer func() { p.out = out }()
	return p.analyze(ctx)
}
