package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Builder is the build phase: it runs bin/build of each buildpack of Group
// in order, with its share of Plan, reads what it left in its layers dir,
// and writes <layers>/config/metadata.toml.
type Builder struct {
	Paths  Paths
	Runner Runner
	Group  Group
	Plan   Plan
	// Target fills the CNB_TARGET_* variables (Buildpack API ≥0.10).
	Target TargetData
	// Env is the platform's environment ("K=V"); only the allowlisted
	// variables reach buildpacks.
	Env         []string
	PlatformAPI string // default DefaultPlatformAPI
	ExecEnv     string // CNB_EXEC_ENV for Buildpack API ≥0.12; empty: unset
	Logger      *slog.Logger
	// Stdout and Stderr receive the buildpacks' output live (nil discards).
	Stdout, Stderr io.Writer
	// Owner, when set, owns what the phase creates for buildpacks to write:
	// <layers>/<escaped-id>/ and the plan files.
	Owner *Owner
}

// building is the state of one Builder.Run.
type building struct {
	b       *Builder
	api     api.Version
	log     *slog.Logger
	store   buildpackStore
	env     env // the allowlist plus earlier buildpacks' build layers
	x       execEnv
	plan    Plan
	procs   processes
	bom     legacyBOM
	result  BuildResult
	scratch Dir
}

// Run builds.
func (b *Builder) Run(ctx context.Context) (BuildResult, error) {
	platformAPI, err := api.Parse(orDefault(b.PlatformAPI, DefaultPlatformAPI))
	if err != nil {
		return BuildResult{}, phaseError("build", err)
	}
	if b.Runner == nil {
		return BuildResult{}, phaseError("build", errors.New("building: no Runner"))
	}
	s := &building{
		b: b, api: platformAPI, log: loggerOr(b.Logger), store: buildpackStore{dir: b.Paths.Buildpacks},
		env: newEnv(b.Env), x: execEnv{paths: b.Paths, target: b.Target, execEnvName: b.ExecEnv},
		plan: b.Plan,
	}
	if s.scratch, err = b.Paths.scratchFor("build"); err != nil {
		return BuildResult{}, phaseError("build", err)
	}
	err = s.run(ctx)
	if rerr := removeScratch(b.Paths, s.scratch); err == nil && rerr != nil {
		err = fmt.Errorf("removing build scratch files: %w", rerr)
	}
	if err != nil {
		return BuildResult{}, phaseError("build", err)
	}
	return s.result, nil
}

// run builds every buildpack and writes the metadata.
func (s *building) run(ctx context.Context) error {
	layers := s.b.Paths.Layers.Host
	if err := os.RemoveAll(filepath.Join(layers, "sbom")); err != nil {
		return fmt.Errorf("removing old SBOM files: %w", err)
	}
	if err := os.MkdirAll(s.scratch.Host, 0o755); err != nil {
		return err
	}
	for _, entry := range s.b.Group.Group {
		if err := s.buildpack(ctx, entry); err != nil {
			return err
		}
	}
	m := &s.result.Metadata
	m.DefaultProcessType = s.procs.defaultType
	for _, t := range sortedKeys(s.procs.byType) {
		p := s.procs.byType[t]
		p.Default = false
		m.Processes = append(m.Processes, p)
	}
	s.result.Unmet = s.plan
	if s.api.AtLeast("0.9") {
		if err := s.bom.write(s.b.Paths.Layers); err != nil {
			return err
		}
	} else {
		m.BOM = append(s.bom.launch, s.bom.build...)
	}
	for _, kind := range []struct {
		name string
		dst  *string
	}{{"launch", &s.result.SBOMDirs.Launch}, {"build", &s.result.SBOMDirs.Build}, {"cache", &s.result.SBOMDirs.Cache}} {
		if d := filepath.Join(layers, "sbom", kind.name); isDir(d) {
			*kind.dst = d
		}
	}
	mdPath, err := s.b.Paths.Layers.scopedJoin("config/metadata.toml")
	if err != nil {
		return err
	}
	return WriteBuildMetadata(mdPath.Host, *m, s.api.String())
}

// buildpack builds one group entry and folds its output into the result.
func (s *building) buildpack(ctx context.Context, entry GroupEntry) error {
	bp, err := s.store.lookup(entry.ID, entry.Version)
	if err != nil {
		return err
	}
	if bp.IsComposite() {
		return fmt.Errorf("building %s: a composite buildpack cannot be in a group", entry)
	}
	bpPlan := s.plan.find(bp.Info.ID)
	// Resolved inside the layers dir: an earlier buildpack may have left a
	// symlink in its place.
	bpDir, err := s.b.Paths.Layers.scopedJoin(EscapeID(bp.Info.ID))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(bpDir.Host, 0o755); err != nil {
		return err
	}
	if err := s.b.Owner.chown(bpDir.Host); err != nil {
		return err
	}
	planFile, err := s.writePlan(bp, bpPlan)
	if err != nil {
		return err
	}
	if err := s.exec(ctx, bp, bpDir, planFile); err != nil {
		return err
	}
	met, err := s.met(bp, bpPlan, planFile)
	if err != nil {
		return err
	}
	s.plan = s.plan.withoutMet(met)
	return s.collect(bp, entry, bpDir)
}

// writePlan writes the buildpack plan file into the scratch dir. Buildpack
// API 0.2 also gets metadata.version as a top-level version.
func (s *building) writePlan(bp *Buildpack, p BuildpackPlan) (Dir, error) {
	if bp.api.Compare(api.MustParse("0.2")) == 0 {
		for i, r := range p.Entries {
			if v, ok := r.Metadata["version"]; ok {
				p.Entries[i].Version = fmt.Sprint(v)
			}
		}
	}
	f, err := s.scratch.scopedJoin(EscapeID(bp.Info.ID) + "/plan.toml")
	if err != nil {
		return Dir{}, err
	}
	if err := writeTOML(f.Host, p); err != nil {
		return Dir{}, fmt.Errorf("writing buildpack plan %s: %w", f.Host, err)
	}
	return f, s.b.Owner.chown(filepath.Dir(f.Host), f.Host)
}

// exec runs bin/build <layers>/<escaped-id> <platform> <plan> in the app dir.
func (s *building) exec(ctx context.Context, bp *Buildpack, bpDir, planFile Dir) error {
	p := s.b.Paths
	envList, err := s.x.forBuildpack(s.env, bp, "CNB_LAYERS_DIR="+bpDir.Container,
		"CNB_PLATFORM_DIR="+p.Platform.Container, "CNB_BP_PLAN_PATH="+planFile.Container)
	if err != nil {
		return err
	}
	code, err := s.b.Runner.Run(ctx, Cmd{
		Args:   []string{path.Join(bp.Dir.Container, "bin", "build"), bpDir.Container, p.Platform.Container, planFile.Container},
		Env:    envList,
		Dir:    p.App.Container,
		Stdout: writerOr(s.b.Stdout), Stderr: writerOr(s.b.Stderr),
	})
	if err == nil && code == 0 {
		return nil
	}
	if err == nil {
		err = ctx.Err() // a cancelled build is not the buildpack's failure
		if err != nil {
			return err
		}
	}
	return &BuildpackError{ID: bp.Info.ID, Version: bp.Info.Version, Phase: "build", Code: code, Err: err}
}

// met returns the names of the plan entries the buildpack met: below API
// 0.5 whatever it left in its plan file, from 0.5 everything not listed in
// build.toml's [[unmet]] (which must name entries of its plan).
func (s *building) met(bp *Buildpack, p BuildpackPlan, planFile Dir) ([]string, error) {
	if bp.api.LessThan("0.5") {
		var left BuildpackPlan
		planFile, err := s.scratch.scopedJoin(EscapeID(bp.Info.ID) + "/plan.toml")
		if err != nil {
			return nil, err
		}
		if _, _, err := decodeOptional(planFile.Host, &left); err != nil {
			return nil, fmt.Errorf("reading buildpack plan of %s: %w", bp.Info.ID, err)
		}
		return left.names(), s.bom.add(true, bp, left.Entries)
	}
	var f buildFile
	path, err := s.b.Paths.Layers.scopedJoin(EscapeID(bp.Info.ID) + "/build.toml")
	if err != nil {
		return nil, err
	}
	if _, _, err := decodeOptional(path.Host, &f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path.Host, err)
	}
	if err := s.bom.add(false, bp, f.BOM); err != nil {
		return nil, err
	}
	unmet := map[string]bool{}
	names := p.names()
	for _, u := range f.Unmet {
		if i := sort.SearchStrings(names, u.Name); i == len(names) || names[i] != u.Name {
			return nil, fmt.Errorf("reading %s: unmet name %q is not in the buildpack plan", path.Host, u.Name)
		}
		unmet[u.Name] = true
	}
	var met []string
	for _, n := range names {
		if !unmet[n] {
			met = append(met, n)
		}
	}
	return met, nil
}

// collect reads the layers, SBOM files, launch.toml and store.toml the
// buildpack left, records them and adds its build layers to the env of
// later buildpacks.
func (s *building) collect(bp *Buildpack, entry GroupEntry, bpDir Dir) error {
	layers, err := readLayers(bpDir, bp.api, s.log)
	if err != nil {
		return err
	}
	sboms, err := collectSBOM(bpDir, bp, layers, s.log)
	if err != nil {
		return err
	}
	if s.api.AtLeast("0.8") {
		if err := copySBOM(s.b.Paths.Layers, bp.Info.ID, sboms); err != nil {
			return err
		}
	}
	launch, err := readLaunch(bpDir, bp, s.log)
	if err != nil {
		return err
	}
	if err := s.bom.add(true, bp, launch.BOM); err != nil {
		return err
	}
	var store storeFile
	storePath, err := bpDir.scopedJoin("store.toml")
	if err != nil {
		return err
	}
	if _, _, err := decodeOptional(storePath.Host, &store); err != nil {
		return fmt.Errorf("reading %s: %w", storePath.Host, err)
	}
	entry.API, entry.Homepage, entry.Optional = bp.API, bp.Info.Homepage, false
	s.result.Buildpacks = append(s.result.Buildpacks, BuildpackOutput{GroupEntry: entry, Layers: layers, Store: store.Metadata})
	m := &s.result.Metadata
	m.Buildpacks = append(m.Buildpacks, entry)
	m.Labels = mergeLabels(m.Labels, launch.Labels)
	m.Slices = append(m.Slices, launch.Slices...)
	s.procs.add(launch.Processes, s.log)
	return s.addBuildLayers(bp, bpDir, layers)
}

// addBuildLayers adds the build=true layers to the env, by ascending name:
// root dirs first, then env/ and env.build/.
func (s *building) addBuildLayers(bp *Buildpack, bpDir Dir, layers []Layer) error {
	for _, l := range layers {
		if !l.Build || !l.HasDir {
			continue
		}
		s.env.addRootDir(l.Dir)
		for _, sub := range []string{"env", "env.build"} {
			if err := s.env.addEnvDir(bpDir, l.Name+"/"+sub, defaultAction(bp.api)); err != nil {
				return err
			}
		}
	}
	return nil
}
