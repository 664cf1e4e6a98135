package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/google/go-cmp/cmp"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/sandbox"
)

// The tests of this file hold the container to what an OCI runtime
// (runc's defaults) guarantees a process it starts, one guarantee each,
// as root and rootless, for the container's user and for root of the
// container.

// users are the container users every guarantee is checked for: the CNB
// user, and root of the container (`kiln run` of an image whose user is
// root).
var users = []struct {
	name     string
	uid, gid int
}{{"cnb", cnbUID, cnbGID}, {"root", 0, 0}}

// runAs runs script as uid:gid in a fresh container of cfg.
func runAs(t *testing.T, cfg sandbox.Config, uid, gid int, script string) (int, string, string) {
	t.Helper()
	cfg.UID, cfg.GID = uid, gid
	var out, errb bytes.Buffer
	code, err := sandbox.Run(context.Background(), cfg, sandbox.Process{
		Args: []string{"sh", "-c", script}, UID: uid, GID: gid, Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatalf("running %q: %v (stderr: %s)", script, err, errb.String())
	}
	return code, out.String(), errb.String()
}

// TestCapabilitySets: every set empty, the bounding set included (an
// exec of a setuid or file-capability binary gains nothing), with
// no_new_privs and the seccomp filter, whoever the process is.
func TestCapabilitySets(t *testing.T) {
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			code, status, _ := runAs(t, config(t), u.uid, u.gid, "cat /proc/self/status")
			if code != 0 {
				t.Fatalf("exit code %d", code)
			}
			want := map[string]string{"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
				"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": wantSeccomp}
			checkStatus(t, status, want)
		})
	}
}

// TestSeccompDeniesMounts: mount and umount fail even for root of the
// container, whose capabilities are gone anyway; the filter is the
// second wall (unshare is TestHardening's).
func TestSeccompDeniesMounts(t *testing.T) {
	_, out, _ := runAs(t, config(t), 0, 0, `mount -t tmpfs none /tmp 2>/dev/null && echo mounted
mount -o remount,rw / 2>/dev/null && echo remounted
umount /proc 2>/dev/null && echo unmounted
echo done`)
	if out != "done\n" {
		t.Errorf("root of the container changed its mounts:\n%s", out)
	}
}

// TestNoInheritedFiles: a process holds its stdio and nothing else of
// kiln's, not even a descriptor kiln's own parent leaked to it without
// close-on-exec (a make jobserver's pipe, say), and cannot reach the
// init's descriptors.
func TestNoInheritedFiles(t *testing.T) {
	leak := filepath.Join(t.TempDir(), "leaked")
	if err := os.WriteFile(leak, []byte("kiln's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(leak, syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	for _, tc := range []struct {
		name string
		cfg  sandbox.Config
	}{{"namespaces", config(t)}, {"none", noneConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			uid, gid := cnbUID, cnbGID
			if tc.name == "none" {
				uid, gid = cnbUID, cnbGID
			}
			code, out, errs := runAs(t, tc.cfg, uid, gid, `ls -l /proc/$$/fd/; echo pid=$$
cat /proc/1/fd/0 </dev/null >/dev/null 2>&1 && echo init-fd-readable; ls /proc/1/fd >/dev/null 2>&1 && echo init-fds-listed; true`)
			if code != 0 {
				t.Fatalf("exit code %d: %s", code, errs)
			}
			var extra []string
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) < 3 || f[len(f)-2] != "->" {
					if strings.Contains(line, "init-") {
						extra = append(extra, line)
					}
					continue
				}
				n := f[len(f)-3]
				if n != "0" && n != "1" && n != "2" {
					extra = append(extra, line)
				}
			}
			if tc.name == "none" {
				// /proc/1 is the machine's init there, not the sandbox's.
				extra = slices.DeleteFunc(extra, func(s string) bool { return strings.HasPrefix(s, "init-") })
			}
			if len(extra) > 0 {
				t.Errorf("the process reaches descriptors besides its stdio:\n%s\n(full listing:\n%s)", strings.Join(extra, "\n"), out)
			}
		})
	}
}

// TestInitExecutableUnreachable is the CVE-2019-5736 class: no process of
// the container may open the executable of kiln (here the test binary)
// for writing, through /proc/1/exe, or by having the init exec a program
// whose interpreter is /proc/self/exe (then it runs as that executable
// and, dumpable, could be reopened through /proc/PID/exe). The program
// reports what it reached (exeProbeMain).
func TestInitExecutableUnreachable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(self)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	host := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			cfg := config(t)
			// A program whose interpreter is the exec'ing process's own
			// executable, run by the init directly.
			if err := os.WriteFile(filepath.Join(cfg.Rootfs, "bin/evil"), []byte("#!/proc/self/exe\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg.UID, cfg.GID = u.uid, u.gid
			c, err := sandbox.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var out bytes.Buffer
			code, err := c.Run(context.Background(), sandbox.Process{Args: []string{"sh", "-c", `
cat /proc/1/exe >/dev/null 2>&1 && echo init-exe-readable
(true >>/proc/1/exe) 2>/dev/null && echo init-exe-writable
ls /proc/1/root/ >/dev/null 2>&1 && echo init-root-listed
cat /proc/1/environ >/dev/null 2>&1 && echo init-environ-readable
cat /proc/1/maps >/dev/null 2>&1 && echo init-maps-readable
true`}, UID: u.uid, GID: u.gid, Stdout: &out, Stderr: &out})
			if code != 0 || err != nil || out.String() != "" {
				t.Errorf("the init is reachable: %d, %v:\n%s", code, err, out.String())
			}
			out.Reset()
			code, err = c.Run(context.Background(), sandbox.Process{Args: []string{"/bin/evil"},
				Env: []string{"KILN_TEST_EXE_PROBE=1"}, UID: u.uid, GID: u.gid, Stdout: &out, Stderr: &out})
			t.Logf("/bin/evil: %d, %v: %s", code, err, out.String())
			for _, line := range strings.Split(out.String(), "\n") {
				if v, ok := strings.CutPrefix(line, "exe="); ok && v == host {
					t.Errorf("a process of the container runs kiln's executable itself (%s, %s)", self, v)
				}
				if strings.HasPrefix(line, "opened-for-writing") {
					t.Errorf("a process of the container opened kiln's executable for writing: %s", line)
				}
			}
		})
	}
	if after, err := os.ReadFile(self); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the test binary changed (%v)", err)
	}
}

// exeProbeMain runs in a container as whatever /proc/self/exe was when it
// was exec'd: it reports that executable's identity and whether it could
// open it for writing, directly or by reopening an O_PATH descriptor.
func exeProbeMain() int {
	if os.Getenv("KILN_TEST_EXE_PROBE") == "keyring" {
		id, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
		if err != nil {
			fmt.Println("session keyring:", err)
			return 0
		}
		desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		fmt.Printf("session keyring: %s %v\n", desc, err)
		return 0
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err == nil {
		fmt.Printf("exe=%d:%d\n", st.Dev, st.Ino)
	}
	if fd, err := syscall.Open("/proc/self/exe", syscall.O_WRONLY, 0); err == nil {
		syscall.Close(fd)
		fmt.Println("opened-for-writing directly")
	} else {
		fmt.Println("direct:", err)
	}
	if fd, err := syscall.Open("/proc/self/exe", 0x200000 /* O_PATH */, 0); err == nil {
		if w, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_WRONLY, 0); err == nil {
			syscall.Close(w)
			fmt.Println("opened-for-writing by reopening")
		} else {
			fmt.Println("reopen:", err)
		}
	}
	return 0
}

// TestMaskedAndReadOnlyPaths: runc's default masked paths are empty and
// its read-only paths read-only, in the container's /proc and /sys.
func TestMaskedAndReadOnlyPaths(t *testing.T) {
	masked := []string{"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware"}
	readonly := []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	for _, network := range []sandbox.Network{sandbox.NetworkHost, sandbox.NetworkNone} {
		t.Run(network.String(), func(t *testing.T) {
			cfg := config(t)
			cfg.Network = network
			var script strings.Builder
			for _, p := range masked {
				fmt.Fprintf(&script, "if [ -d %[1]s ]; then echo %[1]s $(ls -A %[1]s | wc -l); elif [ -e %[1]s ]; then echo %[1]s $(head -c 64 %[1]s 2>/dev/null | wc -c); fi\n", p)
			}
			for _, p := range readonly {
				fmt.Fprintf(&script, "if [ -e %[1]s ]; then grep -q ' %[1]s ro[, ]' /proc/self/mountinfo && echo %[1]s ro || echo %[1]s rw; fi\n", p)
			}
			script.WriteString("[ -e /proc/sysrq-trigger ] && (echo h > /proc/sysrq-trigger) 2>/dev/null && echo sysrq-written\n")
			script.WriteString("(echo kiln2 > /proc/sys/kernel/hostname) 2>/dev/null && echo sysctl-written\n")
			script.WriteString("true\n")
			code, out, errs := runAs(t, cfg, 0, 0, script.String())
			if code != 0 {
				t.Fatalf("exit code %d: %s", code, errs)
			}
			var want strings.Builder
			for _, p := range masked {
				if _, err := os.Stat(p); err == nil {
					fmt.Fprintf(&want, "%s 0\n", p)
				}
			}
			for _, p := range readonly {
				if _, err := os.Stat(p); err == nil {
					fmt.Fprintf(&want, "%s ro\n", p)
				}
			}
			if diff := cmp.Diff(want.String(), out); diff != "" {
				t.Errorf("masked paths (entries or bytes) and read-only paths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDevHoldsOnlyStandardNodes: /dev is the container's own, with the
// standard nodes (working), devpts, shm, mqueue and the usual links.
func TestDevHoldsOnlyStandardNodes(t *testing.T) {
	code, out, errs := runAs(t, config(t), cnbUID, cnbGID, `ls -A /dev | tr '\n' ' '; echo
head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c
echo x > /dev/full 2>/dev/null || echo full-ok; ls -A /dev/pts | tr '\n' ' '; echo`)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errs)
	}
	want := "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n4\nnull-ok\n4\nfull-ok\nptmx \n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("/dev (-want +got):\n%s", diff)
	}
}

// TestGroups: rootless, setgroups is denied in the container's user
// namespace (the map of a single id needs it); as root the process has no
// supplementary group.
func TestGroups(t *testing.T) {
	code, out, _ := run(t, config(t), "cat /proc/self/setgroups; grep '^Groups:' /proc/self/status")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if userNSMode() {
		if lines[0] != "deny" {
			t.Errorf("setgroups in the container's user namespace: %q, want deny", lines[0])
		}
		return
	}
	if len(lines) != 2 || strings.TrimSpace(strings.TrimPrefix(lines[1], "Groups:")) != "" {
		t.Errorf("supplementary groups as root: %q, want none", out)
	}
}

// TestRlimits: the limits are set, not inherited: no core dumps, the open
// files kiln asks for (within the caller's hard limit).
func TestRlimits(t *testing.T) {
	code, out, _ := run(t, config(t), "grep -E '^Max (core file size|open files)' /proc/self/limits")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	nofile := min(cur.Max, 65536)
	want := fmt.Sprintf("Max core file size 0 0 bytes\nMax open files %d %d files\n", nofile, nofile)
	got := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		got += strings.Join(strings.Fields(line), " ") + "\n"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
}

// TestOrphansReaped: a process whose parent exits is reparented to the
// init, which reaps it when it ends: no zombie accumulates.
func TestOrphansReaped(t *testing.T) {
	c, err := sandbox.Start(context.Background(), config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if code, err := c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "(sleep 0.05 &) ; (true &) ; exit 0"}, UID: cnbUID, GID: cnbGID}); code != 0 || err != nil {
			t.Fatalf("%d, %v", code, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out bytes.Buffer
		c.Run(ctx, sandbox.Process{Args: []string{"sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null"}, UID: cnbUID, GID: cnbGID, Stdout: &out})
		zombies := 0
		for _, st := range strings.Split(out.String(), "\n") {
			if i := strings.LastIndexByte(st, ')'); i > 0 && strings.HasPrefix(st[i+1:], " Z") {
				zombies++
			}
		}
		if zombies == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d zombies left in the container:\n%s", zombies, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNoMountPropagation: every mount of the container is private (none
// shared with a peer outside), and none of them shows in the caller's
// mount namespace.
func TestNoMountPropagation(t *testing.T) {
	cfg := config(t)
	cfg.Mounts = []sandbox.Mount{{Source: t.TempDir(), Destination: "/layers"}}
	c, err := sandbox.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	if code, err := c.Run(context.Background(), sandbox.Process{Args: []string{"cat", "/proc/self/mountinfo"}, UID: cnbUID, GID: cnbGID, Stdout: &out}); code != 0 || err != nil {
		t.Fatalf("%d, %v", code, err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, " shared:") {
			t.Errorf("a shared mount in the container: %s", line)
		}
	}
	host, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	state, err := filepath.EvalSymlinks(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(host), "\n") {
		if strings.Contains(line, state) || strings.Contains(line, cfg.Rootfs) {
			t.Errorf("a mount of the container shows on the host: %s", line)
		}
	}
}

// TestHostname: the container's own UTS namespace, named as asked; the
// caller's host name is unchanged.
func TestHostname(t *testing.T) {
	before, _ := os.Hostname()
	cfg := config(t)
	cfg.Hostname = "builder-1"
	_, out, _ := run(t, cfg, "hostname")
	if out != "builder-1\n" {
		t.Errorf("host name %q, want builder-1", out)
	}
	if after, _ := os.Hostname(); after != before {
		t.Errorf("the caller's host name changed from %q to %q", before, after)
	}
}

// TestImageSymlinkOnTheWayToAMount: a directory of the image on the way to
// a mount point (/etc for /etc/resolv.conf, /cnb for /cnb/buildpacks) that
// is a symlink is never followed on the host while the root is laid out:
// the image's absolute link would otherwise name a host directory, whose
// entries would be bound into the container.
func TestImageSymlinkOnTheWayToAMount(t *testing.T) {
	hostDir := t.TempDir()
	os.Chmod(hostDir, 0o755)
	if err := os.WriteFile(filepath.Join(hostDir, "host-canary"), []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config(t)
	for _, name := range []string{"etc", "cnb"} {
		os.RemoveAll(filepath.Join(cfg.Rootfs, name))
		if err := os.Symlink(hostDir, filepath.Join(cfg.Rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Mounts = []sandbox.Mount{{Source: t.TempDir(), Destination: "/cnb/buildpacks", ReadOnly: true}}
	cfg.Network = sandbox.NetworkHost // binds /etc/resolv.conf
	code, out, errs := run(t, cfg, "ls -A /etc /cnb; cat /etc/host-canary /cnb/host-canary 2>/dev/null; true")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errs)
	}
	if strings.Contains(out, "host") {
		t.Errorf("a host directory named by an image's symlink reached the container:\n%s", out)
	}
}

// TestNoControllingTerminal: a process of the container cannot open kiln's
// controlling terminal (/dev/tty is bound in): it could read what the user
// types there, or push input into the user's shell (TIOCSTI). The init is
// in a session of its own. A helper (ttyHelperMain) runs with a terminal
// of the test's as its controlling terminal and starts the containers.
func TestNoControllingTerminal(t *testing.T) {
	for _, level := range []string{"namespaces", "none"} {
		t.Run(level, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			defer tty.Close()
			go io.Copy(io.Discard, ptmx)
			cfg := config(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "KILN_TEST_CTTY="+level+":"+cfg.Rootfs+":"+cfg.StateDir)
			cmd.Stdin, cmd.Stderr = tty, os.Stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v: %s", err, out)
			}
			if got := string(out); got != "helper-has-tty\ncontained\n" {
				t.Errorf("got %q, want the helper to have the terminal and the container not", got)
			}
		})
	}
}

// ttyHelperMain is TestNoControllingTerminal's helper.
func ttyHelperMain(spec string) int {
	parts := strings.SplitN(spec, ":", 3)
	if f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		f.Close()
		fmt.Println("helper-has-tty")
	}
	cfg := sandbox.Config{Rootfs: parts[1], StateDir: parts[2], UID: cnbUID, GID: cnbGID}
	if parts[0] == "none" {
		cfg = noneConfig()
	}
	var out bytes.Buffer
	code, err := sandbox.Run(context.Background(), cfg, sandbox.Process{Args: []string{"sh", "-c",
		"if (echo x >/dev/tty) 2>/dev/null; then echo tty-reachable; else echo contained; fi"},
		UID: cnbUID, GID: cnbGID, Stdout: &out, Stderr: &out})
	fmt.Print(out.String())
	if code != 0 || err != nil {
		fmt.Fprintln(os.Stderr, "helper:", code, err)
		return 1
	}
	return 0
}

// TestOwnSessionKeyring: the container's processes do not possess kiln's
// session keyring (and its keys): they have one of their own, or the
// seccomp filter denies keyctl altogether. Keyrings are a thread's: the
// test joins a keyring of a known name on the thread that starts the
// container. The probe runs as the sealed copy of the test binary (see
// TestInitExecutableUnreachable).
func TestOwnSessionKeyring(t *testing.T) {
	cfg := config(t)
	if err := os.WriteFile(filepath.Join(cfg.Rootfs, "bin/probe"), []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("kiln-test-%d", time.Now().UnixNano())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if _, err := unix.KeyctlJoinSessionKeyring(name); err != nil {
			done <- fmt.Errorf("joining %s: %w", name, err)
			return
		}
		code, err := sandbox.Run(context.Background(), cfg, sandbox.Process{Args: []string{"/bin/probe"},
			Env: []string{"KILN_TEST_EXE_PROBE=keyring"}, UID: cnbUID, GID: cnbGID, Stdout: &out, Stderr: &out})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	t.Logf("kiln's session keyring %s; the container's: %s", name, strings.TrimSpace(out.String()))
	if !strings.HasPrefix(out.String(), "session keyring: ") || strings.Contains(out.String(), name) {
		t.Errorf("the container's processes possess kiln's session keyring %s: %s", name, out.String())
	}
	if wantSeccomp != "0" && !strings.Contains(out.String(), "operation not permitted") {
		t.Errorf("keyctl under the seccomp filter: %q, want EPERM", out.String())
	}
}
