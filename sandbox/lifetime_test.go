package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/sandbox"
)

// marker returns an environment entry unique to one test: every process
// the test starts in a container inherits it, which is how the test finds
// them on the host.
func marker(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "KILN_TEST_MARKER=" + hex.EncodeToString(b)
}

// withMarker lists the host pids whose environment holds m.
func withMarker(m string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == m {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// waitGone waits until no process holds m, or fails.
func waitGone(t *testing.T, m string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := withMarker(m)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v are still running", pids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPresent waits until n processes hold m.
func waitPresent(t *testing.T, m string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(withMarker(m)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the container's processes did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sleeper is a process that leaves a background child behind.
func sleeper(m string) sandbox.Process {
	return sandbox.Process{Args: []string{"sh", "-c", "sleep 1000 & sleep 1000"}, Env: []string{m}, UID: cnbUID, GID: cnbGID}
}

func TestCancelKillsTheTree(t *testing.T) {
	t.Run("Run", func(t *testing.T) {
		m := marker(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := sandbox.Run(ctx, config(t), sleeper(m))
			done <- err
		}()
		waitPresent(t, m, 2)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		waitGone(t, m)
	})
	t.Run("Container.Run", func(t *testing.T) {
		c, err := sandbox.Start(context.Background(), config(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m := marker(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			code, _ := c.Run(ctx, sleeper(m))
			done <- code
		}()
		waitPresent(t, m, 2)
		cancel()
		if code := <-done; code != 137 {
			t.Errorf("exit code %d, want 137", code)
		}
		waitGone(t, m) // the whole process group, background child included
		// The container lives on.
		if code, err := c.Run(context.Background(), sandbox.Process{Args: []string{"true"}, UID: cnbUID, GID: cnbGID}); code != 0 || err != nil {
			t.Errorf("after cancelling a process: %d, %v", code, err)
		}
	})
	t.Run("Start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := sandbox.Start(ctx, config(t))
		if err != nil {
			t.Fatal(err)
		}
		m := marker(t)
		done := make(chan error, 1)
		go func() {
			_, err := c.Run(context.Background(), sleeper(m))
			done <- err
		}()
		waitPresent(t, m, 2)
		cancel() // closes the container
		<-done
		waitGone(t, m)
		if _, err := c.Run(context.Background(), sandbox.Process{Args: []string{"true"}, UID: cnbUID, GID: cnbGID}); err == nil {
			t.Error("a closed container ran a process")
		}
	})
}

// TestKilledParentLeavesNothing runs a container from a child process (this
// test binary again), kills that child with SIGKILL and checks that the
// container's processes go away, that it left nothing in the state
// directory but the shared mount point, and that the next Start there
// works and removes what an older kiln of the same owner would have left.
func TestKilledParentLeavesNothing(t *testing.T) {
	if os.Getenv("KILN_TEST_KILLEE") != "" {
		return // runs as the helper only (see helperMain)
	}
	cfg := config(t)
	m := marker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledParentLeavesNothing$")
	cmd.Env = append(os.Environ(), "KILN_TEST_KILLEE="+cfg.Rootfs+":"+cfg.StateDir, m)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	waitPresent(t, m, 3) // the helper and two in the container
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, m)

	if names := dirNames(cfg.StateDir); len(names) != 1 || names[0] != "mnt" {
		t.Errorf("the killed kiln left %v in the state directory, want only mnt", names)
	}
	// What a kiln of an older layout, killed, left: a view of a dead owner.
	dead := fmt.Sprintf("kiln-%d-1-aaaaaaaaaaaa.root", cmd.Process.Pid)
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, dead, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, _ := run(t, cfg, "true")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if names := dirNames(cfg.StateDir); len(names) != 1 || names[0] != "mnt" {
		t.Errorf("stale state was not removed: %v", names)
	}
}

// helperMain is the child of TestKilledParentLeavesNothing: it starts a
// container, reports "ready" and waits to be killed.
func helperMain(spec string) {
	rootfs, state, _ := strings.Cut(spec, ":")
	cfg := sandbox.Config{Rootfs: rootfs, StateDir: state, UID: cnbUID, GID: cnbGID}
	if spec == "none" {
		cfg = sandbox.Config{Level: sandbox.LevelNone, Rootfs: "/", UID: cnbUID, GID: cnbGID}
	}
	c, err := sandbox.Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	p := sleeper("")
	if spec == "none" {
		p.Args = []string{"sh", "-c", "setsid sleep 1000 & exec sleep 1000"}
	}
	p.Env = nil // the marker comes with the helper's own environment
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KILN_TEST_MARKER=") {
			p.Env = append(p.Env, kv)
		}
	}
	go c.Run(context.Background(), p)
	fmt.Println("ready")
	time.Sleep(time.Hour)
}

// TestInsideAUserNamespace runs tests again with kiln as root inside a user
// namespace that maps nothing else (as under rootless podman or
// `unshare -r`): the sandbox must take its user-namespace path.
func TestInsideAUserNamespace(t *testing.T) {
	if os.Getenv("KILN_TEST_NESTED") != "" {
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Skip(t, "unshare (util-linux) is not installed")
	}
	cmd := exec.Command(unshare, "-Urm", os.Args[0], "-test.v",
		"-test.run=^(TestIdentityAndPrivileges|TestWritableBindOwnership|TestManyProcessesInOneContainer|TestCancelKillsTheTree)$")
	cmd.Env = append(os.Environ(), "KILN_TEST_NESTED=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestWritableBindOwnership") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

// TestEndProcesses ends the processes of a container, daemons that left
// their session or parent included, at each level: at return none is left,
// a process still running is told, and the container runs the next one.
func TestEndProcesses(t *testing.T) {
	for name, cfg := range map[string]sandbox.Config{"namespaces": config(t), "none": noneConfig()} {
		t.Run(name, func(t *testing.T) {
			c, err := sandbox.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			m := marker(t)
			daemons := sandbox.Process{Args: []string{"sh", "-c", "setsid sleep 1000 & (sleep 1000 &) & sleep 1000 & exit 0"},
				Env: []string{m}, UID: cnbUID, GID: cnbGID}
			if code, err := c.Run(context.Background(), daemons); code != 0 || err != nil {
				t.Fatal(code, err)
			}
			running := make(chan int, 1)
			go func() {
				code, _ := c.Run(context.Background(), sandbox.Process{Args: []string{"sleep", "1000"}, Env: []string{m}, UID: cnbUID, GID: cnbGID})
				running <- code
			}()
			waitPresent(t, m, 4)
			if err := c.EndProcesses(context.Background()); err != nil {
				t.Fatal(err)
			}
			if left := withMarker(m); len(left) > 0 {
				t.Errorf("processes %v outlived EndProcesses", left)
			}
			if code := <-running; code != 137 {
				t.Errorf("a process running at the end: exit %d, want 137", code)
			}
			if code, err := c.Run(context.Background(), sandbox.Process{Args: []string{"true"}, UID: cnbUID, GID: cnbGID}); code != 0 || err != nil {
				t.Errorf("after EndProcesses: %d, %v", code, err)
			}
		})
	}
}

func dirNames(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
