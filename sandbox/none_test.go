package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/sandbox"
)

// noneConfig is a LevelNone container: the host's own root filesystem.
func noneConfig() sandbox.Config {
	return sandbox.Config{Level: sandbox.LevelNone, Rootfs: "/", UID: cnbUID, GID: cnbGID}
}

// noneUID is whom LevelNone processes run as: the CNB user as root, the
// caller otherwise.
func noneUID() int {
	if !userNSMode() {
		return cnbUID
	}
	return os.Geteuid()
}

func TestLevelNone(t *testing.T) {
	t.Setenv("KILN_TEST_SECRET", "registry-token") // kiln's own environment
	c, err := sandbox.Start(context.Background(), noneConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if iso := c.Isolation(); iso.Level != sandbox.LevelNone || iso.String() != "none" {
		t.Errorf("isolation %+v", iso)
	}
	runOut := func(t *testing.T, p sandbox.Process) string {
		t.Helper()
		var out bytes.Buffer
		p.UID, p.GID, p.Stdout, p.Stderr = cnbUID, cnbGID, &out, &out
		code, err := c.Run(context.Background(), p)
		if code != 0 || err != nil {
			t.Fatalf("%v: %d, %v: %s", p.Args, code, err, out.String())
		}
		return out.String()
	}

	t.Run("environment", func(t *testing.T) {
		// Exactly the process's environment, PATH and HOME defaulted.
		got := runOut(t, sandbox.Process{Args: []string{"/usr/bin/env"}, Env: []string{"CNB_PLATFORM_API=0.13", "A=b c"}})
		want := fmt.Sprintf("CNB_PLATFORM_API=0.13\nA=b c\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOME=%s\n", map[bool]string{true: "/root", false: "/"}[noneUID() == 0])
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		// Neither kiln's environment nor its memory is open to them.
		got = runOut(t, sandbox.Process{Args: []string{"sh", "-c", "cat /proc/$PPID/environ /proc/" + strconv.Itoa(os.Getpid()) + "/environ 2>/dev/null | tr '\\0' '\\n' | grep -c KILN_TEST_SECRET; true"}})
		if got != "0\n" {
			t.Errorf("kiln's environment reached a process: %q", got)
		}
	})

	t.Run("identity", func(t *testing.T) {
		status := runOut(t, sandbox.Process{Args: []string{"cat", "/proc/self/status"}})
		uid := strconv.Itoa(noneUID())
		want := map[string]string{"Uid": strings.Repeat(uid+"\t", 3) + uid, "CapEff": "0000000000000000",
			"CapPrm": "0000000000000000", "NoNewPrivs": "1", "Seccomp": wantSeccomp}
		checkStatus(t, status, want)
	})

	t.Run("daemons", func(t *testing.T) {
		m := marker(t)
		// A session leader, a double fork and a plain background child;
		// the process itself exits at once.
		// (No output: they would hold the pipe.)
		code, err := c.Run(context.Background(), sandbox.Process{Args: []string{"sh", "-c", "setsid sleep 1000 & (sleep 1000 &) & sleep 1000 & exit 0"},
			Env: []string{m}, UID: cnbUID, GID: cnbGID})
		if code != 0 || err != nil {
			t.Fatal(code, err)
		}
		waitPresent(t, m, 3)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		waitGone(t, m)
	})
}

func TestLevelNoneRefuses(t *testing.T) {
	for name, cfg := range map[string]sandbox.Config{
		"image root":      {Level: sandbox.LevelNone, Rootfs: busyboxRootfs(t)},
		"mount":           {Level: sandbox.LevelNone, Rootfs: "/", Mounts: []sandbox.Mount{{Source: t.TempDir(), Destination: "/layers"}}},
		"private network": {Level: sandbox.LevelNone, Rootfs: "/", Network: sandbox.NetworkNone},
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := sandbox.Start(context.Background(), cfg); !errors.Is(err, sandbox.ErrUnsupported) {
				if c != nil {
					c.Close()
				}
				t.Errorf("got %v, want ErrUnsupported", err)
			}
		})
	}
}

// TestLevelNoneKilledParent kills, with SIGKILL, a kiln (this test binary
// again) whose LevelNone container runs a daemon: the reaper kills it.
func TestLevelNoneKilledParent(t *testing.T) {
	m := marker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KILN_TEST_KILLEE=none", m)
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
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	// The sleeper and its setsid daemon (the helper, non-dumpable, is not
	// readable by an ordinary user).
	waitPresent(t, m, 2)
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, m)
}

func TestChooseHere(t *testing.T) {
	// This machine has working namespaces: auto picks them, also for
	// its own root filesystem.
	for _, rootfs := range []string{"/", busyboxRootfs(t)} {
		iso, err := sandbox.Choose(sandbox.Config{Rootfs: rootfs})
		if err != nil || iso.Level != sandbox.LevelNamespaces || iso.Reason != "" {
			t.Errorf("%s: got %+v, %v", rootfs, iso, err)
		}
	}
}
