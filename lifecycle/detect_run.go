package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/BurntSushi/toml"
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
	dirHost, err := os.MkdirTemp(s.scratch.Host, EscapeID(bp.Info.ID)+"-")
	if err != nil {
		r.err = err
		return
	}
	defer os.RemoveAll(dirHost)
	plan := Dir{Host: filepath.Join(dirHost, "plan.toml"), Container: path.Join(s.scratch.Container, filepath.Base(dirHost), "plan.toml")}
	if r.err = os.WriteFile(plan.Host, nil, 0o644); r.err != nil {
		return
	}
	if r.err = os.Chmod(dirHost, 0o755); r.err != nil {
		return
	}
	if r.err = s.d.Owner.chown(dirHost, plan.Host); r.err != nil {
		return
	}
	p := s.d.Paths
	envList, err := s.x.forBuildpack(s.base, bp, "CNB_PLATFORM_DIR="+p.Platform.Container, "CNB_BUILD_PLAN_PATH="+plan.Container)
	if err != nil {
		r.err = err
		return
	}
	out := &lockedBuffer{}
	r.code, r.err = s.d.Runner.Run(ctx, Cmd{
		Args: []string{path.Join(bp.Dir.Container, "bin", "detect"), p.Platform.Container, plan.Container},
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
	// The buildpack may have replaced its plan file with a symlink.
	if plan, err = s.scratch.scopedJoin(filepath.Base(dirHost) + "/plan.toml"); err != nil {
		r.code, r.err = -1, err
		return
	}
	if _, err := toml.DecodeFile(plan.Host, &r.plan); err != nil {
		r.code, r.err = -1, fmt.Errorf("reading build plan: %w", err)
		return
	}
	if err := r.plan.normalizeVersions(bp.api); err != nil {
		r.code, r.err = -1, err
	}
}
