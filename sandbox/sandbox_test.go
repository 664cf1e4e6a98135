package sandbox_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/sandbox"
)

func TestSmoke(t *testing.T) {
	cfg := sandbox.Config{Rootfs: busyboxRootfs(t), StateDir: stateDir(t)}
	var out, errb bytes.Buffer
	code, err := sandbox.Run(context.Background(), cfg, sandbox.Process{
		Args: []string{"sh", "-c", "id; grep Cap /proc/self/status; cat /proc/self/uid_map; ls -la /; echo hi >&2; exit 3"},
		UID:  1000, GID: 1000, Stdout: &out, Stderr: &errb,
	})
	t.Logf("code %d err %v\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errb.String())
	if code != 3 || !strings.Contains(out.String(), "uid=1000") {
		t.Fail()
	}
}
