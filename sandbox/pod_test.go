package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/sandbox"
)

// TestPodSimulation runs this test binary (podMain) in runc containers
// made like an unprivileged CI pod: a non-root user, no capabilities, no
// new privileges, a read-only root, runc's masked and read-only /proc
// paths, and either a seccomp profile refusing namespaces as the
// runtime-default one does ("restricted") or none at all ("unconfined").
// As root runc runs the pod as uid 1000680000, gid 0 (OpenShift's
// arbitrary uid) or 1000; rootless it is a rootless runc container, whose
// process is root in a user namespace mapping only itself, without
// capabilities.
func TestPodSimulation(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		testutil.Skip(t, "runc is not installed (make deps)")
	}
	// os.Args[0], a path on the host (the executable may be a copy).
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		seccomp  bool
		uid, gid int
	}{
		{"restricted", true, 1000680000, 0},
		{"unconfined", false, 1000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPod(t, runc, self, tc.name, tc.seccomp, tc.uid, tc.gid)
			if err != nil || strings.Contains(out, "FAIL") || !strings.Contains(out, "checks passed") {
				t.Fatalf("in the pod: %v\n%s", err, out)
			}
			t.Logf("in the pod:\n%s", out)
		})
	}
}

// runPod runs `self` as podMain(spec) in a runc container and returns its
// output.
func runPod(t *testing.T, runc, self, spec string, seccomp bool, uid, gid int) (string, error) {
	t.Helper()
	bundle := t.TempDir()
	os.Chmod(bundle, 0o755)
	rootfs := busyboxRootfs(t)
	if err := os.Mkdir(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777)
	args := []string{"spec", "--bundle", bundle}
	rootless := os.Geteuid() != 0
	if rootless {
		args = append(args, "--rootless")
		uid, gid = 0, 0 // the only ids mapped; with no capabilities
	}
	if out, err := exec.Command(runc, args...).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	var spec_ map[string]any
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec_); err != nil {
		t.Fatal(err)
	}
	empty := []string{}
	spec_["process"] = map[string]any{
		"terminal": false, "user": map[string]any{"uid": uid, "gid": gid}, "cwd": "/",
		"args":            []string{"/kiln.test", "-test.run=^$"},
		"env":             []string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp", "KILN_TEST_POD=" + spec},
		"capabilities":    map[string]any{"bounding": empty, "effective": empty, "permitted": empty, "ambient": empty},
		"noNewPrivileges": true,
	}
	spec_["root"] = map[string]any{"path": rootfs, "readonly": true}
	kept := append(spec_["mounts"].([]any),
		map[string]any{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "nodev", "mode=1777"}},
		map[string]any{"destination": "/kiln.test", "type": "bind", "source": self, "options": []string{"bind", "ro"}})
	spec_["mounts"] = kept
	linux := spec_["linux"].(map[string]any)
	var nss []any
	for _, ns := range linux["namespaces"].([]any) {
		if ns.(map[string]any)["type"] != "network" {
			nss = append(nss, ns) // the host's network: nothing here needs one of its own
		}
	}
	linux["namespaces"] = nss
	delete(linux, "resources")
	if seccomp {
		linux["seccomp"] = runtimeDefaultLike()
	}
	if b, err = json.Marshal(spec_); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "runc")
	id := fmt.Sprintf("kiln-pod-%d-%s", os.Getpid(), spec)
	cmd := exec.Command(runc, "--root", state, "run", "--bundle", bundle, id)
	out, err := cmd.CombinedOutput()
	exec.Command(runc, "--root", state, "delete", "--force", id).Run()
	return string(out), err
}

// runtimeDefaultLike is the part of the container runtimes' default
// seccomp profile that matters here: namespaces, mounts and pivot_root
// refused with EPERM, clone3 with ENOSYS, clone with any namespace flag
// with EPERM.
func runtimeDefaultLike() map[string]any {
	rules := []any{
		map[string]any{"names": []string{"unshare", "setns", "mount", "umount2", "pivot_root", "sethostname", "setdomainname"},
			"action": "SCMP_ACT_ERRNO", "errnoRet": int(unix.EPERM)},
		map[string]any{"names": []string{"clone3"}, "action": "SCMP_ACT_ERRNO", "errnoRet": int(unix.ENOSYS)},
	}
	for _, f := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC,
		unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET} {
		rules = append(rules, map[string]any{"names": []string{"clone"}, "action": "SCMP_ACT_ERRNO", "errnoRet": int(unix.EPERM),
			"args": []any{map[string]any{"index": 0, "value": f, "valueTwo": f, "op": "SCMP_CMP_MASKED_EQ"}}})
	}
	return map[string]any{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}
}

// podMain runs inside the simulated pod: it checks what the sandbox does
// there and prints one line per check, then "N checks passed" or FAIL.
func podMain(spec string) int {
	var failed, passed int
	check := func(name string, ok bool, detail ...any) {
		if ok {
			passed++
			fmt.Println("ok", name)
			return
		}
		failed++
		fmt.Println("FAIL", name+":", fmt.Sprint(detail...))
	}
	rootfs, err := os.MkdirTemp("", "rootfs")
	if err != nil {
		fmt.Println("FAIL", err)
		return 1
	}
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	os.Symlink("/bin/busybox", filepath.Join(rootfs, "bin", "sh"))
	data, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755)
	for _, a := range []string{"sh", "cat", "sleep", "setsid", "ls", "id"} {
		os.Remove(filepath.Join(rootfs, "bin", a))
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	state := filepath.Join(os.TempDir(), "state")
	ctx := context.Background()

	// runDaemon runs a process leaving a setsid daemon behind in a
	// container for cfg, closes it and checks that the daemon is gone.
	runDaemon := func(name string, cfg sandbox.Config, want sandbox.Level) {
		c, err := sandbox.Start(ctx, cfg)
		if err != nil {
			check(name+" starts", false, err)
			return
		}
		iso := c.Isolation()
		check(name+" level", iso.Level == want, iso)
		fmt.Println("  isolation:", iso)
		var out strings.Builder
		code, err := c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "echo $GREETING; setsid sleep 1000 >/dev/null 2>&1 & exit 0"},
			Env: []string{"GREETING=hello", "PATH=/bin"}, UID: 1000, GID: 1000, Stdout: &out, Stderr: &out})
		check(name+" runs", code == 0 && err == nil && out.String() == "hello\n", code, err, out.String())
		check(name+" ends its processes", c.EndProcesses(ctx) == nil && len(sleepers()) == 0, sleepers())
		c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "setsid sleep 1000 >/dev/null 2>&1 & exit 0"}, Env: []string{"PATH=/bin"}, UID: 1000, GID: 1000})
		check(name+" closes", c.Close() == nil)
		check(name+" leaves no daemon", len(sleepers()) == 0, sleepers())
	}

	switch spec {
	case "restricted":
		_, err := sandbox.Choose(sandbox.Config{Rootfs: rootfs})
		var u *sandbox.UnavailableError
		check("image root refused", errors.As(err, &u) && errors.Is(err, sandbox.ErrUnavailable) &&
			strings.Contains(err.Error(), "seccomp filter refuses unshare and clone") && strings.Contains(err.Error(), "use the none level"), err)
		_, err = sandbox.Start(ctx, sandbox.Config{Rootfs: rootfs, StateDir: state})
		check("start names the cause", err != nil && strings.Contains(err.Error(), "seccomp") && !strings.Contains(err.Error(), "nsexec"), err)
		iso, err := sandbox.Choose(sandbox.Config{Rootfs: "/"})
		check("own root: none", err == nil && iso.Level == sandbox.LevelNone && strings.Contains(iso.Reason, "seccomp") &&
			strings.Contains(iso.Reason, "in a container"), iso, err)
		runDaemon("auto on /", sandbox.Config{Rootfs: "/", UID: 1000, GID: 1000}, sandbox.LevelNone)
	case "unconfined":
		if os.Geteuid() == 0 {
			// A rootless runc pod: root in a user namespace mapping only
			// itself, without capabilities. It cannot map its uid 0 into
			// a nested user namespace.
			_, err := sandbox.Choose(sandbox.Config{Rootfs: rootfs})
			check("names CAP_SETFCAP", err != nil && strings.Contains(err.Error(), "without CAP_SETFCAP"), err)
		} else {
			iso, err := sandbox.Choose(sandbox.Config{Rootfs: rootfs})
			check("degraded", err == nil && iso.Level == sandbox.LevelNamespaces && len(iso.Degraded) == 1 &&
				strings.Contains(iso.Degraded[0], "no PID namespace"), iso, err)
			runDaemon("namespaces", sandbox.Config{Level: sandbox.LevelNamespaces, Rootfs: rootfs, StateDir: state, UID: 1000, GID: 1000}, sandbox.LevelNamespaces)
		}
		runDaemon("none", sandbox.Config{Level: sandbox.LevelNone, Rootfs: "/", UID: 1000, GID: 1000}, sandbox.LevelNone)
	}
	if failed > 0 {
		return 1
	}
	fmt.Println(passed, "checks passed")
	return 0
}

// sleepers lists the processes running `sleep 1000` (the pod's are all
// the test's own).
func sleepers() []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == "sleep\x001000\x00" {
			found = append(found, e.Name())
		}
	}
	return found
}
