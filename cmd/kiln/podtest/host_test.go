package podtest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlainHostRefusesNone runs kiln on this machine, not in a container,
// where user namespaces are off: in a user namespace of its own whose
// user.max_user_namespaces is 0 (the sysctl is per user namespace). auto
// must not fall back to none there, where nothing but kiln would stand
// between buildpacks and the machine: it refuses, naming the cause and the
// way out.
func TestPlainHostRefusesNone(t *testing.T) {
	kiln := kilnBinary(t)
	store := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "unshare", "--user", "--map-root-user", "sh", "-c",
		`echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" --store "$1" run rootfs:/ /bin/true`, kiln, store)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("kiln run rootfs:/ ran with user namespaces off:\n%s", out)
	}
	for _, want := range []string{"user.max_user_namespaces is 0", "sysctl -w user.max_user_namespaces", "inside a container"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
}
