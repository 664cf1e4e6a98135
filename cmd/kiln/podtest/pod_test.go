package podtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// sandboxReport is the sandbox part of kiln build --report.
type sandboxReport struct {
	Sandbox struct {
		Level    string   `json:"level"`
		Degraded []string `json:"degraded"`
		Reason   string   `json:"reason"`
	} `json:"sandbox"`
}

func readSandbox(t *testing.T, path string) sandboxReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r sandboxReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// appOutput is what the fixture app prints, run with its default process.
const appOutput = "app: tool says hi args=default-arg"

// TestPodBuild builds cmd/kiln's fixture app in place in pods of the
// builder image (kiln build --builder rootfs:/): restricted as OpenShift
// runs pods (uid 1000680000, gid 0), as uid 1000, and with seccomp
// unconfined. Each image has the digest the same builder gives on the host
// with the namespaces sandbox, and runs, with kiln run on the host and with
// docker run.
func TestPodBuild(t *testing.T) {
	b := busyboxBuilder(t)
	host := b.hostBuild(t, b.reg.Host+"/app/host:1", app(t, 0, 0))
	for _, tc := range []struct {
		name     string
		pod      testutil.Pod
		uid, gid int
		level    string
		degraded bool
		// buildpacks run as the pod's user at none, as the CNB user in
		// namespaces.
		buildpackUser string
	}{
		{"restricted", testutil.Pod{}, 1000680000, 0, "none", false, "1000680000:0"},
		{"uid 1000", testutil.Pod{User: "1000:1000"}, 1000, 1000, "none", false, "1000:1000"},
		{"unconfined seccomp", testutil.Pod{SeccompUnconfined: true}, 1000680000, 0, "namespaces", true, "1000:1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := b.reg.Host + "/app/" + strings.ReplaceAll(tc.name, " ", "-") + ":1"
			out, errOut, code, rep := podBuild{Pod: tc.pod, App: app(t, tc.uid, tc.gid), Output: ref}.run(t, b)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if strings.Contains(out, "Warning: ignoring the previous image") {
				t.Errorf("a first push took the missing tag for an unreadable previous image:\n%s", out)
			}
			sb := readSandbox(t, rep).Sandbox
			if sb.Level != tc.level || (len(sb.Degraded) > 0) != tc.degraded || !strings.Contains(out, "Sandbox: "+tc.level) {
				t.Errorf("sandbox %+v, want level %s, degraded %v; log:\n%s", sb, tc.level, tc.degraded, out)
			}
			if tc.level == "none" && !strings.Contains(sb.Reason, "container") {
				t.Errorf("auto chose none for %q, which does not say kiln runs in a container", sb.Reason)
			}
			if got := readReport(t, rep).Digest; got != host.Digest {
				t.Errorf("digest %s in the pod, %s on the host", got, host.Digest)
			}
			if !strings.Contains(out, "---> Building hello as "+tc.buildpackUser+" in /workspace") {
				t.Errorf("the buildpack did not run as %s:\n%s", tc.buildpackUser, out)
			}
			// The image runs: kiln run on the host, docker run in a pod.
			if got := strings.TrimSpace(kiln(t, b.dir, "--store", b.store, "run", ref)); got != appOutput {
				t.Errorf("kiln run %s: %q, want %q", ref, got, appOutput)
			}
			archive := filepath.Join(t.TempDir(), "app.tar")
			name := "kiln.test/" + strings.ReplaceAll(tc.name, " ", "-") + ":1"
			kiln(t, b.dir, "--store", b.store, "image", "copy", ref, "docker-archive:"+archive+":"+name)
			b.docker.Load(t, archive)
			dout, derr, dcode := b.docker.Run(t, testutil.Pod{Image: name, User: "1000:1000"})
			if dcode != 0 || strings.TrimSpace(dout) != appOutput {
				t.Errorf("docker run %s: exit %d %q %s, want %q", name, dcode, dout, derr, appOutput)
			}
		})
	}
}
