package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Detector is the detect phase: it tries the groups of Order in turn, runs
// bin/detect of their buildpacks and resolves the build plan. The first
// group that passes wins; Run writes it to <layers>/group.toml and the plan
// to <layers>/plan.toml.
type Detector struct {
	Paths  Paths
	Runner Runner
	Order  Order
	// Target is the run image's target: buildpacks whose targets do not
	// match it do not take part (Platform API ≥0.12), and it fills the
	// CNB_TARGET_* variables (Buildpack API ≥0.10).
	Target TargetData
	// Env is the platform's environment ("K=V"); only the allowlisted
	// variables (PATH, HOME, proxies, …) reach buildpacks.
	Env         []string
	PlatformAPI string // default DefaultPlatformAPI
	ExecEnv     string // CNB_EXEC_ENV for Buildpack API ≥0.12; empty: unset
	Parallel    int    // detections run at once; default runtime.NumCPU()
	Logger      *slog.Logger
	// Output receives each buildpack's detect output once it ran (verbose
	// mode). Output of errored detections is also kept in the error.
	Output io.Writer
	// Owner, when set, owns the plan files buildpacks write.
	Owner *Owner
}

// DetectResult is the group that passed and its build plan.
type DetectResult struct {
	Group Group
	Plan  Plan
}

// detection is the state of one Detector.Run.
type detection struct {
	d       *Detector
	api     api.Version
	store   buildpackStore
	base    env
	x       execEnv
	scratch *scratch
	log     *slog.Logger
	sem     chan struct{}

	depth int // nesting of composite orders being expanded

	mu       sync.Mutex
	runs     map[string]*detectRun
	reported map[string]bool
	errored  []*BuildpackError
	groups   []string // each group tried: "fail: a@1, pass: b@2", for the error
}

// Run detects the group and plan.
func (d *Detector) Run(ctx context.Context) (DetectResult, error) {
	s, err := d.start()
	if err != nil {
		return DetectResult{}, phaseError("detect", err)
	}
	group, plan, err := s.detectOrder(ctx, d.Order, nil, nil, false)
	s.wait()
	if rerr := s.scratch.close(); err == nil && rerr != nil {
		err = fmt.Errorf("removing detect scratch files: %w", rerr)
	}
	if err == nil {
		err = ctx.Err()
	}
	switch {
	case errors.Is(err, ErrNoGroupPassed), errors.Is(err, ErrBuildpackErrored):
		return DetectResult{}, &DetectError{Err: err, Buildpacks: s.errored, Groups: s.groups}
	case err != nil:
		return DetectResult{}, phaseError("detect", err)
	}
	if err := writeDetected(d.Paths.Layers, group, plan); err != nil {
		return DetectResult{}, phaseError("detect", err)
	}
	return DetectResult{Group: group, Plan: plan}, nil
}

// start validates the inputs and sets up the state of a run.
func (d *Detector) start() (*detection, error) {
	platformAPI, err := api.Parse(orDefault(d.PlatformAPI, DefaultPlatformAPI))
	if err != nil {
		return nil, err
	}
	if d.Runner == nil {
		return nil, errors.New("detecting: no Runner")
	}
	n := d.Parallel
	if n <= 0 {
		n = runtime.NumCPU()
	}
	s := &detection{
		d: d, api: platformAPI, store: buildpackStore{dir: d.Paths.Buildpacks},
		base: newEnv(d.Env), x: execEnv{paths: d.Paths, target: d.Target, execEnvName: d.ExecEnv, log: loggerOr(d.Logger)},
		log: loggerOr(d.Logger),
		sem: make(chan struct{}, n), runs: map[string]*detectRun{}, reported: map[string]bool{},
	}
	if s.scratch, err = d.Paths.openScratch("detect"); err != nil {
		return nil, fmt.Errorf("creating the detect scratch dir: %w", err)
	}
	return s, nil
}

// writeDetected writes <layers>/group.toml and plan.toml.
func writeDetected(layers Dir, group Group, plan Plan) error {
	dir, err := openTree(layers)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := writeTOMLAt(dir, "group.toml", group, nil); err != nil {
		return fmt.Errorf("writing group: %w", err)
	}
	if err := writeTOMLAt(dir, "plan.toml", plan, nil); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}

// maxOrderDepth bounds the nesting of composite buildpacks, so that a cycle
// of composites fails instead of recursing forever.
const maxOrderDepth = 32

// detectOrder tries each group of order followed by next; when the order
// is an optional composite, next alone is tried last.
func (s *detection) detectOrder(ctx context.Context, order Order, done, next []GroupEntry, optional bool) (Group, Plan, error) {
	if s.depth++; s.depth > maxOrderDepth {
		return Group{}, Plan{}, errors.New("expanding the order: composite buildpacks nest too deep (a cycle?)")
	}
	defer func() { s.depth-- }()
	errored := false
	for _, g := range order {
		group, plan, err := s.detectGroup(ctx, append(slices.Clip(g.Group), next...), done)
		switch {
		case errors.Is(err, ErrBuildpackErrored):
			errored = true
		case errors.Is(err, ErrNoGroupPassed):
		default:
			return group, plan, err
		}
	}
	if optional {
		return s.detectGroup(ctx, next, done)
	}
	if errored {
		return Group{}, Plan{}, ErrBuildpackErrored
	}
	return Group{}, Plan{}, ErrNoGroupPassed
}

// detectGroup expands group (composites depth-first, duplicate IDs
// skipped), runs the detections it needs and resolves the result.
func (s *detection) detectGroup(ctx context.Context, group, done []GroupEntry) (Group, Plan, error) {
	for i, el := range group {
		if slices.ContainsFunc(done, func(e GroupEntry) bool { return e.ID == el.ID }) {
			continue
		}
		bp, err := s.store.lookup(el.ID, el.Version)
		if err != nil {
			return Group{}, Plan{}, err
		}
		if bp.IsComposite() {
			return s.detectOrder(ctx, bp.Order, done, group[i+1:], el.Optional)
		}
		el.API, el.Homepage = bp.API, bp.Info.Homepage
		if s.api.AtLeast("0.15") && s.d.ExecEnv != "" && !execEnvMatch(bp, s.d.ExecEnv) {
			s.log.Debug("skipping buildpack for this execution environment", "buildpack", el.String())
			continue
		}
		done = append(slices.Clip(done), el)
		if s.api.AtLeast("0.12") && !el.Optional && !targetMatch(bp, s.d.Target) {
			s.record(el, &detectRun{code: -1, err: fmt.Errorf("no target of the buildpack matches the run image (%s/%s)", s.d.Target.OS, s.d.Target.Arch)})
			continue
		}
		s.launch(ctx, el, bp)
	}
	return s.resolve(ctx, done)
}

// execEnvMatch reports whether bp runs in the execution environment name.
func execEnvMatch(bp *Buildpack, name string) bool {
	envs := bp.ExecEnv()
	return bp.api.LessThan("0.12") || len(envs) == 0 || slices.Contains(envs, "*") || slices.Contains(envs, name)
}

// resolve waits for the detections of done and resolves the group: every
// required buildpack must pass, at least one must pass, and a plan must
// resolve.
func (s *detection) resolve(ctx context.Context, done []GroupEntry) (Group, Plan, error) {
	var passed []GroupEntry
	var plans []BuildPlan
	var results bytes.Buffer
	detected, errored := true, false
	for _, el := range done {
		s.mu.Lock()
		r := s.runs[el.String()]
		s.mu.Unlock()
		<-r.done
		if err := ctx.Err(); err != nil {
			return Group{}, Plan{}, err
		}
		s.report(el, r)
		switch {
		case r.code == 0:
			passed, plans = append(passed, el), append(plans, r.plan)
			fmt.Fprintf(&results, "pass: %s\n", el)
		case r.code == 100 && el.Optional:
			fmt.Fprintf(&results, "skip: %s\n", el)
		case r.code == 100:
			detected = false
			fmt.Fprintf(&results, "fail: %s\n", el)
		default:
			errored = true
			detected = detected && el.Optional
			fmt.Fprintf(&results, "err:  %s (%d)\n", el, r.code)
		}
	}
	if s.d.Output != nil {
		fmt.Fprintf(s.d.Output, "======== Results ========\n%s", results.Bytes())
	}
	summary := strings.ReplaceAll(strings.TrimSpace(results.String()), "\n", ", ")
	if summary == "" {
		summary = "no buildpack to run"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !detected && errored:
		s.groups = append(s.groups, summary)
		return Group{}, Plan{}, ErrBuildpackErrored
	case !detected || len(passed) == 0:
		s.groups = append(s.groups, summary)
		return Group{}, Plan{}, ErrNoGroupPassed
	}
	group, plan, ok := resolvePlan(passed, plans)
	if !ok {
		s.groups = append(s.groups, summary+" (no build plan resolves: a requirement has no provider before it)")
		s.log.Debug("no build plan resolves; providers must come before the buildpacks that require them", "group", fmt.Sprint(done))
		return Group{}, Plan{}, ErrNoGroupPassed
	}
	return group, plan, nil
}

// report writes a run's output to the Output writer and remembers errored
// runs for the error report, once per run.
func (s *detection) report(el GroupEntry, r *detectRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reported[el.String()] {
		return
	}
	s.reported[el.String()] = true
	s.log.Debug("detected", "buildpack", el.String(), "code", r.code)
	if s.d.Output != nil && len(r.output) > 0 {
		fmt.Fprintf(s.d.Output, "======== Output: %s ========\n%s", el, r.output)
	}
	if r.code != 0 && r.code != 100 {
		s.errored = append(s.errored, &BuildpackError{ID: el.ID, Version: el.Version, Phase: "detect", Code: r.code, Output: r.output, Err: r.err})
	}
}
