package lifecycle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// busyboxRunner runs every buildpack executable with busybox sh, the shell
// of the minimal build images the sandbox uses.
type busyboxRunner struct{ busybox string }

func (r busyboxRunner) Run(ctx context.Context, c Cmd) (int, error) {
	c.Args = append([]string{r.busybox, "sh"}, c.Args...)
	return ExecRunner{}.Run(ctx, c)
}

// The fixtures use POSIX sh and busybox applets only.
func TestFixturesUnderBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		testutil.Skip(t, "busybox is not installed")
	}
	applets := t.TempDir()
	if out, err := exec.Command(bb, "--install", "-s", applets).CombinedOutput(); err != nil {
		t.Fatalf("busybox --install: %v: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(applets, "env")); err != nil {
		t.Fatal(err)
	}
	p := testPaths(t, "")
	ctx := context.Background()
	r := busyboxRunner{busybox: bb}
	env := []string{"PATH=" + applets}
	dr, err := (&Detector{Paths: p, Runner: r, Order: fullOrder, Target: testTarget, Env: env, ExecEnv: "production"}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br, err := (&Builder{Paths: p, Runner: r, Group: dr.Group, Plan: dr.Plan, Target: testTarget, Env: env, ExecEnv: "production"}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Buildpacks) != 6 || len(br.Metadata.Processes) != 4 || br.Metadata.DefaultProcessType != "main" {
		t.Errorf("result = %+v", br)
	}
	if got := envFile(t, filepath.Join(p.Layers.Host, "test_v09", "env.txt"))["ORDER"]; got != "alphazeta" {
		t.Errorf("ORDER = %q", got)
	}
}
