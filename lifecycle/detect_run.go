package lifecycle

import (
	"context"
	"fmt"
	"path"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// detectRun is the memoised detection of one id@version.
type detectRun struct {
	entry  GroupEntry
	code   int // 0 pass, 100 fail, other: error (-1: did not run or invalid output)
	plan   BuildPlan
	output []byte
	err    error
	done   chan struct{}
}

// planDir creates <scratch>/detect/<escaped-id>-<random>/ with an empty
// plan.toml, both the buildpack's to write, and opens it.
func (s *detection) planDir(bp *Buildpack) (string, *beneath.Dir, error) {
	name, err := s.scratch.dir.MkdirTemp(EscapeID(bp.Info.ID) + "-")
	if err != nil {
		return "", nil, err
	}
	dir, err := s.scratch.dir.OpenDir(name)
	if err != nil {
		return "", nil, err
	}
	err = dir.Chmod(0o755)
	if err == nil {
		err = dir.WriteFile("plan.toml", nil, 0o644)
	}
	if err == nil {
		err = s.d.Owner.chownAt(dir, "", "plan.toml")
	}
	if err != nil {
		dir.Close()
		return "", nil, err
	}
	return name, dir, nil
}

// wait waits for every detection started, including those of groups that
// were abandoned, so that none outlives Run.
func (s *detection) wait() {
	s.mu.Lock()
	runs := make([]*detectRun, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		<-r.done
	}
}

// record stores a finished run for el unless one exists.
func (s *detection) record(el GroupEntry, r *detectRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[el.String()]; !ok {
		r.entry, r.done = el, make(chan struct{})
		close(r.done)
		s.runs[el.String()] = r
	}
}

// launch starts the detection of bp unless it ran or runs already.
func (s *detection) launch(ctx context.Context, el GroupEntry, bp *Buildpack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[el.String()]; ok {
		return
	}
	r := &detectRun{entry: el, done: make(chan struct{})}
	s.runs[el.String()] = r
	go func() {
		defer close(r.done)
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			r.code, r.err = -1, ctx.Err()
			return
		}
		defer func() { <-s.sem }()
		s.runDetect(ctx, bp, r)
	}()
}

// runDetect runs bin/detect of bp and reads its plan into r.
func (s *detection) runDetect(ctx context.Context, bp *Buildpack, r *detectRun) {
	r.code = -1
	name, dir, err := s.planDir(bp)
	if err != nil {
		r.err = fmt.Errorf("preparing the plan file: %w", err)
		return
	}
	defer dir.Close()
	defer s.scratch.dir.RemoveAll(name)
	plan := path.Join(s.scratch.container, name, "plan.toml")
	p := s.d.Paths
	envList, err := s.x.forBuildpack(s.base, bp, "CNB_PLATFORM_DIR="+p.Platform.Container, "CNB_BUILD_PLAN_PATH="+plan)
	if err != nil {
		r.err = err
		return
	}
	out := &lockedBuffer{}
	r.code, r.err = s.d.Runner.Run(ctx, Cmd{
		Args: []string{path.Join(bp.Dir.Container, "bin", "detect"), p.Platform.Container, plan},
		Env:  envList, Dir: p.App.Container, Stdout: out, Stderr: out,
	})
	r.output = out.Bytes()
	if r.err != nil {
		r.code = -1
		return
	}
	if r.code != 0 {
		return
	}
	// Read through the handle of the directory kiln made, whatever the
	// buildpack renamed; a symlink or FIFO as plan.toml is refused.
	if _, _, err := readTOML(dir, "plan.toml", &r.plan); err != nil {
		r.code, r.err = -1, fmt.Errorf("reading build plan: %w", err)
		return
	}
	if err := r.plan.normalizeVersions(bp.api); err != nil {
		r.code, r.err = -1, err
	}
}
