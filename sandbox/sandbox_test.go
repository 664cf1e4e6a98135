package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/sandbox"
)

const cnbUID, cnbGID = 1000, 1000

// run runs script with sh as the CNB user in a fresh container and
// returns its exit code and output.
func run(t *testing.T, cfg sandbox.Config, script string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := sandbox.Run(context.Background(), cfg, sandbox.Process{
		Args: []string{"sh", "-c", script}, UID: cnbUID, GID: cnbGID, Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatalf("running %q: %v (stderr: %s)", script, err, errb.String())
	}
	return code, out.String(), errb.String()
}

func config(t *testing.T) sandbox.Config {
	return sandbox.Config{Rootfs: busyboxRootfs(t), StateDir: stateDir(t), UID: cnbUID, GID: cnbGID}
}

// statusField returns a field of /proc/self/status as the process saw it.
func statusField(t *testing.T, status, name string) string {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status:\n%s", name, status)
	return ""
}

// checkStatus fails the test unless /proc/self/status, as the process saw
// it, has each field of want with its value.
func checkStatus(t *testing.T, status string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for k := range want {
		got[k] = statusField(t, status, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/proc/self/status (-want +got):\n%s", diff)
	}
}

func TestIdentityAndPrivileges(t *testing.T) {
	code, status, _ := run(t, config(t), "cat /proc/self/status")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	want := map[string]string{
		"Uid":        "1000\t1000\t1000\t1000",
		"Gid":        "1000\t1000\t1000\t1000",
		"CapInh":     "0000000000000000",
		"CapPrm":     "0000000000000000",
		"CapEff":     "0000000000000000",
		"CapAmb":     "0000000000000000",
		"NoNewPrivs": "1",
		"Seccomp":    wantSeccomp,
	}
	checkStatus(t, status, want)
}

func TestSeesOnlyItsOwnProcesses(t *testing.T) {
	// PID 1 is kiln's init; then the process.
	code, out, _ := run(t, config(t), "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'; hostname")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "kiln-sandbox-init") || lines[2] != "kiln" {
		t.Fatalf("unexpected view of processes:\n%s", out)
	}
	var n int
	fmt.Sscan(lines[1], &n)
	if n > 6 {
		t.Errorf("the container sees %d processes; host processes leak into its PID namespace", n)
	}
}

func TestRootIsReadOnlyAndTreeUntouched(t *testing.T) {
	cfg := config(t)
	layers := t.TempDir()
	cfg.Mounts = []sandbox.Mount{{Source: layers, Destination: "/layers"}, {Source: t.TempDir(), Destination: "/cnb/buildpacks", ReadOnly: true}}
	before := listTree(t, cfg.Rootfs)
	script := `for p in /x /bin/x /etc/x /secret /workspace/x /cnb/buildpacks/x /cnb/x; do
  if touch $p 2>/dev/null; then echo "wrote $p"; fi
done
touch /tmp/ok && echo tmp-ok; cat /secret`
	code, out, _ := run(t, cfg, script)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if diff := cmp.Diff("tmp-ok\nimage content\n", out); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, listTree(t, cfg.Rootfs)); diff != "" {
		t.Errorf("the root filesystem changed on the host (-before +after):\n%s", diff)
	}
}

// listTree lists the paths under dir.
func listTree(t *testing.T, dir string) []string {
	var paths []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, fmt.Sprintf("%s %v", strings.TrimPrefix(p, dir), fi.Mode()))
		}
		return nil
	})
	return paths
}

func TestWritableBindOwnership(t *testing.T) {
	cfg := config(t)
	layers := t.TempDir()
	wantUID, wantGID := os.Getuid(), os.Getgid() // rootless: the invoking user
	if !userNSMode() {
		// As root the process is host uid 1000; the caller hands it the
		// directory, as the lifecycle wiring does.
		if err := os.Chown(layers, cnbUID, cnbGID); err != nil {
			t.Fatal(err)
		}
		wantUID, wantGID = cnbUID, cnbGID
	}
	cfg.Mounts = []sandbox.Mount{{Source: layers, Destination: "/layers"}}
	code, out, errs := run(t, cfg, "mkdir -p /layers/a && echo hi > /layers/a/f && stat -c '%u:%g' /layers/a/f")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errs)
	}
	if out != "1000:1000\n" {
		t.Errorf("inside, the file belongs to %q, want 1000:1000", out)
	}
	fi, err := os.Stat(filepath.Join(layers, "a/f"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != wantUID || int(st.Gid) != wantGID {
		t.Errorf("on the host, the file belongs to %d:%d, want %d:%d", st.Uid, st.Gid, wantUID, wantGID)
	}
}

func TestNetwork(t *testing.T) {
	port := testutil.GreetingServer(t, "hello from the host\n")
	script := fmt.Sprintf("nc 127.0.0.1 %d </dev/null; echo rc=$?; ls /sys/class/net", port)
	for _, tc := range []struct {
		network sandbox.Network
		want    string
	}{
		{sandbox.NetworkHost, "hello from the host\nrc=0\n"},
		{sandbox.NetworkNone, "rc=1\nlo\n"},
	} {
		t.Run(tc.network.String(), func(t *testing.T) {
			cfg := config(t)
			cfg.Network = tc.network
			_, out, _ := run(t, cfg, script)
			if tc.network == sandbox.NetworkHost {
				// The host's interfaces vary; they are listed after rc.
				out = out[:min(len(out), len(tc.want))]
			}
			if out != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	c, err := sandbox.Start(context.Background(), config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		args    []string
		code    int
		wantErr error
	}{
		{[]string{"true"}, 0, nil},
		{[]string{"sh", "-c", "exit 3"}, 3, nil},
		{[]string{"sh", "-c", "kill -9 $$"}, 137, nil},
		{[]string{"sh", "-c", "kill -TERM $$"}, 143, nil},
		{[]string{"/no/such/program"}, 127, sandbox.ErrNotFound},
		{[]string{"no-such-program"}, 127, sandbox.ErrNotFound},
		{[]string{"/secret"}, 126, sandbox.ErrNotExecutable},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, err := c.Run(context.Background(), sandbox.Process{Args: tc.args, UID: cnbUID, GID: cnbGID})
			if code != tc.code || !errors.Is(err, tc.wantErr) {
				t.Errorf("got %d, %v; want %d, %v", code, err, tc.code, tc.wantErr)
			}
		})
	}
}

func TestProcessSetup(t *testing.T) {
	var out, errb bytes.Buffer
	code, err := sandbox.Run(context.Background(), config(t), sandbox.Process{
		Args:   []string{"sh", "-c", `echo "$GREETING from $(pwd) home=$HOME"; cat; echo oops >&2`},
		Env:    []string{"GREETING=hello", "PATH=/bin"},
		Dir:    "/workspace",
		UID:    cnbUID,
		GID:    cnbGID,
		Stdin:  strings.NewReader("from stdin\n"),
		Stdout: &out,
		Stderr: &errb,
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	if diff := cmp.Diff("hello from /workspace home=/\nfrom stdin\n", out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if errb.String() != "oops\n" {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestManyProcessesInOneContainer(t *testing.T) {
	c, err := sandbox.Start(context.Background(), config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	// /tmp is shared by the container's processes.
	for i := 0; i < 3; i++ {
		if code, err := c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", fmt.Sprintf("echo %d >> /tmp/log", i)}, UID: cnbUID, GID: cnbGID}); code != 0 || err != nil {
			t.Fatalf("process %d: %d, %v", i, code, err)
		}
	}
	var out bytes.Buffer
	code, err := c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "cat /tmp/log; id -u; grep CapEff /proc/self/status"}, UID: cnbUID, GID: cnbGID, Stdout: &out})
	if code != 0 || err != nil {
		t.Fatalf("process: %d, %v", code, err)
	}
	if diff := cmp.Diff("0\n1\n2\n1000\nCapEff:\t0000000000000000\n", out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Processes run as the container's user only.
	if _, err := c.Run(ctx, sandbox.Process{Args: []string{"true"}}); !errors.Is(err, sandbox.ErrUnsupported) {
		t.Errorf("a process as root in a container of %d:%d: %v, want ErrUnsupported", cnbUID, cnbGID, err)
	}
	// Side by side.
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			code, err := c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "sleep 0.2; exit 7"}, UID: cnbUID, GID: cnbGID})
			if err == nil && code != 7 {
				err = fmt.Errorf("exit code %d", code)
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestTTY(t *testing.T) {
	var out bytes.Buffer
	code, err := sandbox.Run(context.Background(), config(t), sandbox.Process{
		Args: []string{"sh", "-c", "tty; test -t 0 && test -t 1 && echo terminal"},
		UID:  cnbUID, GID: cnbGID, TTY: true, Stdout: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	if got := strings.ReplaceAll(out.String(), "\r", ""); got != "/dev/pts/0\nterminal\n" {
		t.Errorf("got %q", got)
	}
}

func TestHardening(t *testing.T) {
	script := `mount -t tmpfs none /tmp 2>/dev/null && echo mount-allowed
echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo sysctl-writable
test -s /proc/kcore && echo kcore-visible
echo nofile=$(ulimit -n)`
	code, out, _ := run(t, config(t), script)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.HasPrefix(out, "nofile=") {
		t.Errorf("the process could do what it must not:\n%s", out)
	}
	if wantSeccomp == "0" {
		return // no filter: nested user namespaces are the kernel's business
	}
	for _, args := range [][]string{{"unshare", "-U", "true"}, {"unshare", "-m", "true"}, {"unshare", "-n", "true"}} {
		code, _, _ := run(t, config(t), strings.Join(args, " "))
		if code == 0 {
			t.Errorf("%v succeeded under the seccomp filter", args)
		}
	}
}

func TestLimits(t *testing.T) {
	var logs bytes.Buffer
	cfg := config(t)
	// The init's threads count too (a Go runtime).
	cfg.Limits = sandbox.Limits{PIDs: 40, NoFile: 512}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	// The shell gives up (exit 2) when it cannot fork.
	code, out, _ := run(t, cfg, `ulimit -n; for i in $(seq 50); do sleep 5 >/dev/null 2>&1 & done; echo all-started`)
	if !strings.HasPrefix(out, "512\n") {
		t.Errorf("RLIMIT_NOFILE: got %q, want 512", out)
	}
	if userNSMode() {
		if code != 0 || !strings.Contains(out, "all-started") {
			t.Errorf("exit code %d, output %q", code, out)
		}
		if !strings.Contains(logs.String(), "cgroup limits skipped") {
			t.Errorf("no notice that cgroup limits were skipped; log:\n%s", logs.String())
		}
		return
	}
	if code == 0 || strings.Contains(out, "all-started") {
		t.Errorf("50 processes started under a limit of 40 pids (exit code %d)", code)
	}
}

func TestOneWriterForBothStreams(t *testing.T) {
	var both bytes.Buffer
	code, err := sandbox.Run(context.Background(), config(t), sandbox.Process{
		Args: []string{"sh", "-c", "echo out; echo err >&2; echo out2"}, UID: cnbUID, GID: cnbGID, Stdout: &both, Stderr: &both,
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	if both.String() != "out\nerr\nout2\n" {
		t.Errorf("got %q", both.String())
	}
}

func TestSignalsAndResize(t *testing.T) {
	c, err := sandbox.Start(context.Background(), config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Run("signals", func(t *testing.T) {
		pr, pw := io.Pipe()
		sigs := make(chan os.Signal, 1)
		var code int
		done := make(chan error, 1)
		go func() {
			var err error
			code, err = c.Run(context.Background(), sandbox.Process{
				Args: []string{"sh", "-c", `trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done`},
				UID:  cnbUID, GID: cnbGID, Stdout: pw, Signals: sigs,
			})
			pw.Close()
			done <- err
		}()
		r := bufio.NewReader(pr)
		if line, _ := r.ReadString('\n'); line != "ready\n" {
			t.Fatalf("got %q", line)
		}
		sigs <- syscall.SIGTERM
		rest, _ := io.ReadAll(r)
		if err := <-done; err != nil || code != 9 || string(rest) != "got TERM\n" {
			t.Errorf("got %d, %v, %q; want 9 and the trap's output", code, err, rest)
		}
	})
	t.Run("resize", func(t *testing.T) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		resize := make(chan [2]uint16, 1)
		done := make(chan error, 1)
		go func() {
			_, err := c.Run(context.Background(), sandbox.Process{
				Args: []string{"sh", "-c", "stty -echo; stty size; while read x; do stty size; done"},
				UID:  cnbUID, GID: cnbGID, TTY: true, TTYSize: [2]uint16{100, 30},
				Stdin: inR, Stdout: outW, Resize: resize,
			})
			outW.Close()
			done <- err
		}()
		r := bufio.NewReader(outR)
		if line, _ := r.ReadString('\n'); line != "30 100\r\n" {
			t.Fatalf("initial size: got %q", line)
		}
		resize <- [2]uint16{120, 40}
		// The resize is applied by another goroutine: ask until it shows.
		var line string
		for i := 0; i < 100 && line != "40 120\r\n"; i++ {
			inW.Write([]byte("\n"))
			line, _ = r.ReadString('\n')
		}
		inW.Write([]byte{4}) // ^D: end of input for the reading shell
		io.Copy(io.Discard, r)
		inW.Close()
		if err := <-done; err != nil || line != "40 120\r\n" {
			t.Errorf("after resizing: %q, %v", line, err)
		}
	})
}

// TestMountInsideTmp binds a directory below the container's own /tmp:
// its mount point is made in the fresh tmpfs.
func TestMountInsideTmp(t *testing.T) {
	cfg := config(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // as root the process is host uid 1000
	cfg.Mounts = []sandbox.Mount{{Source: dir, Destination: "/tmp/kiln/scratch"}}
	code, out, errs := run(t, cfg, "echo hi > /tmp/kiln/scratch/f && ls /tmp/kiln")
	if code != 0 || out != "scratch\n" {
		t.Fatalf("exit %d, %q, %s", code, out, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "hi\n" {
		t.Errorf("the bind below /tmp got %q, %v", b, err)
	}
}
