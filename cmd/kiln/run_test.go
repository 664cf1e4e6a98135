package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// busyboxImage writes an OCI layout holding one image: a layer with the
// host's static busybox and a few applets, and a config with an
// entrypoint, command, env, user and working directory. It returns the
// image's reference.
func busyboxImage(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testutil.Skip(t, "busybox-static is not installed (make deps)")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	for _, d := range []string{"bin/", "etc/", "home/", "home/cnb/", "srv/"} {
		add(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, a := range []string{"sh", "id", "cat", "echo", "env", "pwd", "sleep", "nc", "tty", "true"} {
		add(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
		[]byte("root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1001:cnb:/home/cnb:/bin/sh\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:\ncnb:x:1001:\nstaff:x:50:\n"))
	add(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("welcome\n"))
	add(&tar.Header{Name: "srv/hello", Typeflag: tar.TypeReg, Mode: 0o755},
		[]byte("#!/bin/sh\necho \"hello $GREETING from $(pwd) as $(id -u):$(id -g) home=$HOME args=$*\"\n"))
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/srv/hello"}
	cf.Config.Cmd = []string{"from-cmd"}
	cf.Config.Env = []string{"PATH=/bin", "GREETING=hi"}
	cf.Config.User = "cnb"
	cf.Config.WorkingDir = "/home/cnb"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref := "oci:" + filepath.Join(t.TempDir(), "layout") + ":busybox"
	r, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// kilnRun runs `kiln run` in-process (the test binary is kiln, whose init
// handles the sandbox's re-execs) with stdin.
func kilnRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"--store", filepath.Join(t.TempDir(), "store"), "run"}, args...))
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	code = exitCode(&errOut, err)
	return out.String(), errOut.String(), code
}

func TestRun(t *testing.T) {
	img := busyboxImage(t)
	for _, tc := range []struct {
		name string
		args []string
		in   string
		out  string
		code int
	}{
		{"image defaults", []string{img}, "", "hello hi from /home/cnb as 1000:1001 home=/home/cnb args=from-cmd\n", 0},
		{"args replace cmd", []string{img, "a", "--env", "b"}, "", "hello hi from /home/cnb as 1000:1001 home=/home/cnb args=a --env b\n", 0},
		{"entrypoint", []string{"--entrypoint", "/bin/cat", img, "/etc/motd"}, "", "welcome\n", 0},
		{"entrypoint drops cmd", []string{"--entrypoint", "echo", img}, "", "\n", 0},
		{"env, user and workdir", []string{"-e", "GREETING=yo", "--env", "EXTRA=1", "-u", "0:staff", "-w", "/srv", img}, "", "hello yo from /srv as 0:50 home=/root args=from-cmd\n", 0},
		{"numeric user", []string{"--user", "4242", "--entrypoint", "sh", img, "-c", "echo $(id -u):$(id -g) $HOME"}, "", "4242:0 /\n", 0},
		{"stdin with -i", []string{"-i", "--entrypoint", "cat", img}, "piped\n", "piped\n", 0},
		{"no stdin without -i", []string{"--entrypoint", "cat", img}, "piped\n", "", 0},
		{"exit code", []string{"--entrypoint", "sh", img, "-c", "exit 5"}, "", "", 5},
		{"killed", []string{"--entrypoint", "sh", img, "-c", "kill -9 $$"}, "", "", 137},
		{"missing program", []string{"--entrypoint", "/nope", img}, "", "", 127},
		{"tty", []string{"-t", "--entrypoint", "tty", img}, "", "/dev/pts/0\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := kilnRun(t, tc.in, tc.args...)
			if out != tc.out || code != tc.code {
				t.Errorf("got exit %d, stdout %q; want %d, %q; stderr:\n%s", code, out, tc.code, tc.out, errOut)
			}
		})
	}
}

func TestRunSandboxLevels(t *testing.T) {
	t.Setenv("KILN_TEST_SECRET", "registry-token")
	home := "/root" // rootfs:/ has no image user: root, as with docker run
	// none: a plain child on the current root, with only the image's
	// environment (here none: PATH and HOME defaulted), never kiln's.
	// (--network host: as root the process is the machine's root.)
	out, errOut, code := kilnRun(t, "", "--sandbox", "none", "--network", "host", "rootfs:/", "/usr/bin/env")
	if want := "HOME=" + home + "\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"; code != 0 || out != want {
		t.Errorf("none: exit %d, stdout %q, want %q; stderr:\n%s", code, out, want, errOut)
	}
	out, errOut, code = kilnRun(t, "", "--sandbox", "namespaces", "rootfs:/", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
	if code != 0 || !strings.Contains(out, "kiln-sandbox-init") {
		t.Errorf("namespaces on rootfs:/: exit %d, stdout %q; stderr:\n%s", code, out, errOut)
	}
	img := busyboxImage(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sandbox", "none", img}, "the none level runs on the current root filesystem"},
		{[]string{"--sandbox", "none", "--network", "none", "rootfs:/", "true"}, "a private network needs the namespaces level"},
		{[]string{"--sandbox", "chroot", img}, "--sandbox: sandbox level \"chroot\": want auto, namespaces or none"},
		{[]string{"rootfs:/nonexistent", "true"}, "rootfs:/nonexistent: not a directory"},
	} {
		if _, errOut, code := kilnRun(t, "", tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestRunVolumes(t *testing.T) {
	img := busyboxImage(t)
	rw, ro := t.TempDir(), t.TempDir()
	os.Chmod(rw, 0o777) // as root the process is uid 1000 on the host
	os.WriteFile(filepath.Join(ro, "in"), []byte("from the host\n"), 0o644)
	file := filepath.Join(t.TempDir(), "single")
	os.WriteFile(file, []byte("one file\n"), 0o644)
	out, errOut, code := kilnRun(t, "",
		"--volume", rw+":/out", "--volume", ro+":/srv/in:ro", "--volume", file+":/etc/single:ro",
		"--entrypoint", "sh", img, "-c", "cat /srv/in/in /etc/single; echo made > /out/f; echo x > /srv/in/x || echo read-only")
	if code != 0 || out != "from the host\none file\nread-only\n" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "f")); err != nil || string(b) != "made\n" {
		t.Errorf("the rw volume got %q, %v", b, err)
	}
	if _, _, code := kilnRun(t, "", "--volume", "relative", img); code == 0 {
		t.Error("a malformed --volume was accepted")
	}
}

func TestRunNetwork(t *testing.T) {
	img := busyboxImage(t)
	port := fmt.Sprint(testutil.GreetingServer(t, "host says hi\n"))
	out, _, code := kilnRun(t, "", "--entrypoint", "nc", img, "127.0.0.1", port)
	if code != 0 || out != "host says hi\n" {
		t.Errorf("host network: exit %d, %q", code, out)
	}
	if out, _, code = kilnRun(t, "", "--network", "none", "--entrypoint", "nc", img, "127.0.0.1", port); code == 0 || out != "" {
		t.Errorf("--network none reached the host: exit %d, %q", code, out)
	}
}

// TestRunServesOnHostPorts runs a server in the container and talks to it
// from the host.
func TestRunServesOnHostPorts(t *testing.T) {
	img := busyboxImage(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // free for the server in the container
	done := make(chan string, 1)
	go func() {
		out, _, _ := kilnRun(t, "", "--entrypoint", "sh", img, "-c", "echo served | nc -l -p "+port)
		done <- out
	}()
	var conn net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		if conn, err = net.Dial("tcp", "127.0.0.1:"+port); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the server in the container is not reachable: %v", err)
	}
	got, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	<-done
	if got != "served\n" {
		t.Errorf("got %q from the server", got)
	}
}

// TestRunInterrupt runs kiln as its own process and interrupts it as
// Ctrl-C does: the signal reaches the process, kiln exits with the
// process's code (130 when SIGINT ended it) and leaves no process behind.
func TestRunInterrupt(t *testing.T) {
	kiln := os.Getenv("KILN_TEST_BIN")
	if kiln == "" {
		kiln, _ = filepath.Abs("../../bin/kiln")
	}
	if _, err := os.Stat(kiln); err != nil {
		testutil.Skip(t, "no kiln binary (make build, or KILN_TEST_BIN)")
	}
	img := busyboxImage(t)
	for _, tc := range []struct {
		name   string
		script string
		code   int
		out    string
	}{
		{"killed by SIGINT", "echo started; sleep 1000", 130, ""},
		{"handles SIGINT", "trap 'echo bye; exit 0' INT; echo started; while :; do sleep 0.05; done", 0, "bye\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("KILN_TEST_MARKER=%d", time.Now().UnixNano())
			cmd := exec.Command(kiln, "--store", filepath.Join(t.TempDir(), "store"), "run", "-e", marker, "--entrypoint", "sh", img, "-c", tc.script)
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			r := bufio.NewReader(stdout)
			if line, err := r.ReadString('\n'); line != "started\n" {
				t.Fatalf("got %q, %v; stderr:\n%s", line, err, stderr.String())
			}
			cmd.Process.Signal(syscall.SIGINT)
			rest, _ := io.ReadAll(r)
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.code || string(rest) != tc.out {
				t.Errorf("exit code %d (%v), output %q; want %d, %q; stderr:\n%s", code, err, rest, tc.code, tc.out, stderr.String())
			}
			for deadline := time.Now().Add(10 * time.Second); len(processesWith(marker)) > 0; {
				if time.Now().After(deadline) {
					t.Fatalf("processes %v outlived kiln", processesWith(marker))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// processesWith lists the pids whose environment holds kv.
func processesWith(kv string) []string {
	var pids []string
	matches, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, m := range matches {
		env, err := os.ReadFile(m)
		if err == nil && bytes.Contains(append([]byte{0}, env...), []byte("\x00"+kv+"\x00")) {
			pids = append(pids, filepath.Base(filepath.Dir(m)))
		}
	}
	return pids
}
