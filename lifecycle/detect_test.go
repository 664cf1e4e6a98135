package lifecycle

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingRunner wraps a Runner and records how often each executable ran
// and how many ran at once.
type countingRunner struct {
	Runner
	mu       sync.Mutex
	runs     map[string]int
	cur, max int
}

func (c *countingRunner) Run(ctx context.Context, cmd Cmd) (int, error) {
	c.mu.Lock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[cmd.Args[0]]++
	c.cur++
	c.max = max(c.max, c.cur)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.cur--
		c.mu.Unlock()
	}()
	return c.Runner.Run(ctx, cmd)
}

func TestDetectExpansion(t *testing.T) {
	optMeta := GroupEntry{ID: "test/meta", Version: "1.0.0", Optional: true}
	tests := []struct {
		name      string
		order     Order
		wantGroup []string
		wantRuns  map[string]int // bin/detect runs by buildpack dir name
	}{{
		// The first group fails (required optional-fail); v12 ran once.
		name: "memoised across groups",
		order: Order{
			{Group: []GroupEntry{ref("test/v12"), ref("test/optional-fail")}},
			{Group: []GroupEntry{ref("test/v12")}},
		},
		wantGroup: []string{"test/v12"},
		wantRuns:  map[string]int{"test_v12": 1, "test_optional-fail": 1},
	}, {
		// v08 and v09 come first; the composite's copies are skipped.
		name:      "duplicate ids skipped",
		order:     orderOf(ref("test/v08"), ref("test/v09"), ref("test/meta")),
		wantGroup: []string{"test/v08", "test/v09"},
		wantRuns:  map[string]int{"test_v08": 1, "test_v09": 1},
	}, {
		name:      "optional composite kept",
		order:     orderOf(optMeta, ref("test/v12")),
		wantGroup: []string{"test/v08", "test/v09", "test/v12"},
		wantRuns:  map[string]int{"test_v12": 1, "test_v08": 1, "test_v09": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPaths(t, "")
			r := &countingRunner{Runner: ExecRunner{}}
			res, err := (&Detector{Paths: p, Runner: r, Order: tt.order, Target: testTarget, Env: baseEnv}).Run(context.Background())
			if (err != nil) != (tt.wantGroup == nil) {
				t.Fatalf("err = %v", err)
			}
			var ids []string
			for _, e := range res.Group.Group {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.wantGroup, ids); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
			runs := map[string]int{}
			for exe, n := range r.runs {
				runs[filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(exe))))] += n
			}
			if diff := cmp.Diff(tt.wantRuns, runs); diff != "" {
				t.Errorf("detect runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectParallelBound(t *testing.T) {
	p := testPaths(t, "")
	r := &countingRunner{Runner: ExecRunner{}}
	_, err := (&Detector{Paths: p, Runner: r, Order: fullOrder, Target: testTarget, Env: baseEnv, Parallel: 2}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.max > 2 {
		t.Errorf("%d detections ran at once, want at most 2", r.max)
	}
	if len(r.runs) != 7 {
		t.Errorf("ran %d detections, want 7: %v", len(r.runs), r.runs)
	}
}

func TestDetectCancelled(t *testing.T) {
	p := testPaths(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: fullOrder, Target: testTarget, Env: baseEnv}).Run(ctx)
	if err == nil || ExitCode(err) != 22 {
		t.Fatalf("err = %v (exit %d), want a generic detect error", err, ExitCode(err))
	}
}

func TestDetectOptionalCompositeLeftOut(t *testing.T) {
	dir := t.TempDir()
	inlineBuildpack(t, dir, "test/fails", "0.12", "", "exit 100", "exit 1")
	inlineBuildpack(t, dir, "test/ok", "0.12", "", "exit 0", "exit 0")
	writeFile(t, filepath.Join(dir, "test_cmp", "1.0.0", "buildpack.toml"), `api = "0.12"
[buildpack]
id = "test/cmp"
version = "1.0.0"
[[order]]
[[order.group]]
id = "test/fails"
version = "1.0.0"
`)
	p := testPaths(t, dir)
	order := orderOf(GroupEntry{ID: "test/cmp", Version: "1.0.0", Optional: true}, ref("test/ok"))
	res, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: order, Env: baseEnv}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Group{Group: []GroupEntry{{ID: "test/ok", Version: "1.0.0", API: "0.12"}}}
	if diff := cmp.Diff(want, res.Group); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
}

func TestDetectCompositeCycle(t *testing.T) {
	dir := t.TempDir()
	for _, pair := range [][2]string{{"test/a", "test/b"}, {"test/b", "test/a"}} {
		writeFile(t, filepath.Join(dir, EscapeID(pair[0]), "1.0.0", "buildpack.toml"), `api = "0.12"
[buildpack]
id = "`+pair[0]+`"
version = "1.0.0"
[[order]]
[[order.group]]
id = "`+pair[1]+`"
version = "1.0.0"
`)
	}
	p := testPaths(t, dir)
	_, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(ref("test/a")), Env: baseEnv}).Run(context.Background())
	if ExitCode(err) != 22 {
		t.Fatalf("err = %v (exit %d), want exit 22", err, ExitCode(err))
	}
}

// Platform API 0.15: a buildpack (API ≥0.12) that does not list the
// execution environment takes no part.
func TestDetectExecEnv(t *testing.T) {
	tests := []struct {
		platform, execEnv string
		want              []string
	}{
		{platform: "0.15", execEnv: "development", want: []string{"test/v09"}},
		{platform: "0.15", execEnv: "test", want: []string{"test/v09", "test/v12"}},
		{platform: "0.13", execEnv: "development", want: []string{"test/v09", "test/v12"}},
	}
	for _, tt := range tests {
		t.Run(tt.platform+"/"+tt.execEnv, func(t *testing.T) {
			p := testPaths(t, "")
			order := orderOf(GroupEntry{ID: "test/v09", Version: "1.0.0"}, ref("test/v12"))
			// v09 provides and requires tool itself, so it passes alone.
			res, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: order, Target: testTarget, Env: baseEnv,
				PlatformAPI: tt.platform, ExecEnv: tt.execEnv}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range res.Group.Group {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
		})
	}
}
