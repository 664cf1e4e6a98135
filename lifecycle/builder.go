package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"path/filepath"
	"sort"

	"github.com/kilnbuild/kiln/internal/beneath"
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
	scratch *scratch
	layers  *beneath.Dir // the layers dir
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
	log := loggerOr(b.Logger)
	s := &building{
		b: b, api: platformAPI, log: log, store: buildpackStore{dir: b.Paths.Buildpacks},
		env: newEnv(b.Env), x: execEnv{paths: b.Paths, target: b.Target, execEnvName: b.ExecEnv, log: log},
		plan: b.Plan,
	}
	if s.layers, err = openTree(b.Paths.Layers); err != nil {
		return BuildResult{}, phaseError("build", err)
	}
	defer s.layers.Close()
	if s.scratch, err = b.Paths.openScratch("build"); err != nil {
		return BuildResult{}, phaseError("build", fmt.Errorf("creating the build scratch dir: %w", err))
	}
	err = s.run(ctx)
	if rerr := s.scratch.close(); err == nil && rerr != nil {
		err = fmt.Errorf("removing build scratch files: %w", rerr)
	}
	if err != nil {
		return BuildResult{}, phaseError("build", err)
	}
	return s.result, nil
}

// run builds every buildpack and writes the metadata.
func (s *building) run(ctx context.Context) error {
	if err := s.layers.RemoveAll("sbom"); err != nil {
		return fmt.Errorf("removing old SBOM files: %w", err)
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
		if err := s.bom.write(s.layers); err != nil {
			return err
		}
	} else {
		m.BOM = append(s.bom.launch, s.bom.build...)
	}
	for _, kind := range []struct {
		name string
		dst  *string
	}{{"launch", &s.result.SBOMDirs.Launch}, {"build", &s.result.SBOMDirs.Build}, {"cache", &s.result.SBOMDirs.Cache}} {
		if rel := "sbom/" + kind.name; isDirAt(s.layers, rel) {
			*kind.dst = filepath.Join(s.b.Paths.Layers.Host, filepath.FromSlash(rel))
		}
	}
	config, err := s.layers.MkdirAll("config", 0o755)
	if err != nil {
		return fmt.Errorf("writing build metadata: %w", err)
	}
	defer config.Close()
	if err := writeTOMLAt(config, "metadata.toml", metadataFileOf(*m, s.api), nil); err != nil {
		return fmt.Errorf("writing build metadata: %w", err)
	}
	return nil
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
	// Made through the handle: an earlier buildpack may have left a
	// symlink in its place, which is an error, never followed.
	name := EscapeID(bp.Info.ID)
	bpDir := s.b.Paths.Layers.join(name)
	dir, err := mkdirFor(s.layers, name, s.b.Owner)
	if err != nil {
		return fmt.Errorf("preparing the layers dir of %s: %w", bp.Info.ID, err)
	}
	dir.Close()
	plan, planFile, err := s.writePlan(bp, bpPlan)
	if err != nil {
		return err
	}
	defer plan.Close()
	if err := s.exec(ctx, bp, bpDir, planFile); err != nil {
		return err
	}
	// What the buildpack left is read from the directory now at its name
	// (the one the exporter will read), refused if it is not a directory.
	if dir, err = s.layers.OpenDir(name); err != nil {
		return fmt.Errorf("reading the output of buildpack %s: %w", bp.Info.ID, err)
	}
	defer dir.Close()
	met, err := s.met(bp, bpPlan, plan, dir)
	if err != nil {
		return fmt.Errorf("reading the output of buildpack %s: %w", bp.Info.ID, err)
	}
	s.plan = s.plan.withoutMet(met)
	if err := s.collect(bp, entry, dir, bpDir); err != nil {
		return fmt.Errorf("reading the output of buildpack %s: %w", bp.Info.ID, err)
	}
	return nil
}

// writePlan writes the buildpack plan file into the scratch dir and
// returns that file's open directory and container path. Buildpack API 0.2
// also gets metadata.version as a top-level version.
func (s *building) writePlan(bp *Buildpack, p BuildpackPlan) (*beneath.Dir, string, error) {
	if bp.api.Compare(api.MustParse("0.2")) == 0 {
		for i, r := range p.Entries {
			if v, ok := r.Metadata["version"]; ok {
				p.Entries[i].Version = fmt.Sprint(v)
			}
		}
	}
	name := EscapeID(bp.Info.ID)
	dir, err := mkdirFor(s.scratch.dir, name, s.b.Owner)
	if err == nil {
		if err = writeTOMLAt(dir, "plan.toml", p, s.b.Owner); err != nil {
			dir.Close()
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("writing the buildpack plan of %s: %w", bp.Info.ID, err)
	}
	return dir, path.Join(s.scratch.container, name, "plan.toml"), nil
}

// exec runs bin/build <layers>/<escaped-id> <platform> <plan> in the app dir.
func (s *building) exec(ctx context.Context, bp *Buildpack, bpDir Dir, planFile string) error {
	p := s.b.Paths
	envList, err := s.x.forBuildpack(s.env, bp, "CNB_LAYERS_DIR="+bpDir.Container,
		"CNB_PLATFORM_DIR="+p.Platform.Container, "CNB_BP_PLAN_PATH="+planFile)
	if err != nil {
		return err
	}
	code, err := s.b.Runner.Run(ctx, Cmd{
		Args:   []string{path.Join(bp.Dir.Container, "bin", "build"), bpDir.Container, p.Platform.Container, planFile},
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
// 0.5 whatever it left in its plan file (in plan), from 0.5 everything not
// listed in build.toml's [[unmet]] (in its layers dir, dir), which must
// name entries of its plan.
func (s *building) met(bp *Buildpack, p BuildpackPlan, plan, dir *beneath.Dir) ([]string, error) {
	if bp.api.LessThan("0.5") {
		var left BuildpackPlan
		if _, _, err := readTOML(plan, "plan.toml", &left); err != nil {
			return nil, fmt.Errorf("reading buildpack plan: %w", err)
		}
		if err := checkBOM(left.Entries); err != nil {
			return nil, fmt.Errorf("reading %s: %w", plan.Path("plan.toml"), err)
		}
		return left.names(), s.bom.add(true, bp, left.Entries)
	}
	var f buildFile
	if _, _, err := readTOML(dir, "build.toml", &f); err != nil {
		return nil, fmt.Errorf("reading build.toml: %w", err)
	}
	if err := checkBOM(f.BOM); err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir.Path("build.toml"), err)
	}
	if err := s.bom.add(false, bp, f.BOM); err != nil {
		return nil, err
	}
	unmet := map[string]bool{}
	names := p.names()
	for _, u := range f.Unmet {
		if i := sort.SearchStrings(names, u.Name); i == len(names) || names[i] != u.Name {
			return nil, fmt.Errorf("reading %s: unmet name %q is not in the buildpack plan", dir.Path("build.toml"), u.Name)
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
// buildpack left in its layers dir (dir, at bpDir), records them and adds
// its build layers to the env of later buildpacks.
func (s *building) collect(bp *Buildpack, entry GroupEntry, dir *beneath.Dir, bpDir Dir) error {
	layers, err := readLayers(dir, bpDir, bp.api, s.log)
	if err != nil {
		return err
	}
	sboms, err := collectSBOM(dir, bp, layers, s.log)
	if err != nil {
		return err
	}
	if s.api.AtLeast("0.8") {
		if err := copySBOM(s.layers, dir, bp.Info.ID, sboms); err != nil {
			return err
		}
	}
	launch, err := readLaunch(dir, bp, s.log)
	if err != nil {
		return err
	}
	if err := s.bom.add(true, bp, launch.BOM); err != nil {
		return err
	}
	store, err := readStore(dir)
	if err != nil {
		return err
	}
	entry.API, entry.Homepage, entry.Optional = bp.API, bp.Info.Homepage, false
	s.result.Buildpacks = append(s.result.Buildpacks, BuildpackOutput{GroupEntry: entry, Layers: layers, Store: store.Metadata})
	m := &s.result.Metadata
	m.Buildpacks = append(m.Buildpacks, entry)
	m.Labels = mergeLabels(m.Labels, launch.Labels)
	m.Slices = append(m.Slices, launch.Slices...)
	s.procs.add(launch.Processes, s.log)
	return s.addBuildLayers(bp, dir, layers)
}

// addBuildLayers adds the build=true layers to the env, by ascending name:
// root dirs first, then env/ and env.build/.
func (s *building) addBuildLayers(bp *Buildpack, dir *beneath.Dir, layers []Layer) error {
	for _, l := range layers {
		if !l.Build || !l.HasDir {
			continue
		}
		s.env.addRootDir(dir, l.Name, l.Dir.Container)
		for _, sub := range []string{"env", "env.build"} {
			if err := s.env.addEnvDir(dir, l.Name+"/"+sub, defaultAction(bp.api), s.log); err != nil {
				return err
			}
		}
	}
	return nil
}
