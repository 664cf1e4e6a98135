package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Debian's docker.io (hack/deps.sh installs it). The client is named by its
// path: another docker on PATH may be of another version.
const (
	dockerdBin = "/usr/sbin/dockerd"
	dockerBin  = "/usr/bin/docker"
)

// Docker is a Docker daemon of the test binary's own: started as root on a
// private socket, data root, exec root and pidfile, with no bridge and no
// iptables rules, so it touches nothing of the machine's. Containers use
// --network host or none; images come from `docker load`, never a pull.
type Docker struct {
	// Host is the daemon's address for DOCKER_HOST (unix://…).
	Host string
	dir  string
	cmd  *exec.Cmd
	exit chan error
	log  string
	stop chan struct{} // closes the goroutine whose thread is dockerd's parent
}

var docker struct {
	mu      sync.Mutex
	main    bool // RunWithDocker is in charge of stopping it
	started bool
	d       *Docker
	err     error
}

// RunWithDocker runs the tests of m and then stops the daemon SharedDocker
// started, if any: a package whose tests use SharedDocker calls it from
// TestMain, `os.Exit(testutil.RunWithDocker(m))`, so that one daemon serves
// the whole test binary and never outlives it.
func RunWithDocker(m *testing.M) int {
	docker.mu.Lock()
	docker.main = true
	docker.mu.Unlock()
	code := m.Run()
	docker.mu.Lock()
	defer docker.mu.Unlock()
	if docker.d != nil {
		if err := docker.d.shutdown(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the test's dockerd: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		docker.d = nil
	}
	return code
}

// SharedDocker returns the test binary's Docker daemon, starting it on first
// use (about a second). It needs root and Debian's docker.io; without them it
// skips (testutil.Skip: fails under KILN_TEST_STRICT=1). The package's
// TestMain must call RunWithDocker.
func SharedDocker(t testing.TB) *Docker {
	t.Helper()
	docker.mu.Lock()
	defer docker.mu.Unlock()
	if !docker.main {
		t.Fatal("SharedDocker needs TestMain to call testutil.RunWithDocker (it stops the daemon)")
	}
	if os.Geteuid() != 0 {
		Skip(t, "the test's dockerd needs root (this package is not in hack/rootless-packages)")
	}
	for _, bin := range []string{dockerdBin, dockerBin} {
		if _, err := os.Stat(bin); err != nil {
			Skip(t, bin+" is not installed (hack/deps.sh installs docker.io)")
		}
	}
	if !docker.started {
		docker.started = true
		docker.d, docker.err = startDocker()
	}
	if docker.err != nil {
		t.Fatalf("starting the test's dockerd: %v", docker.err)
	}
	return docker.d
}

// startDocker starts dockerd and waits until it answers.
func startDocker() (*Docker, error) {
	// Short paths: containerd's sockets live under the exec root and unix
	// socket names are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "kiln-dockerd-")
	if err != nil {
		return nil, err
	}
	d := &Docker{
		Host: "unix://" + filepath.Join(dir, "docker.sock"),
		dir:  dir,
		exit: make(chan error, 1),
		log:  filepath.Join(dir, "dockerd.log"),
		stop: make(chan struct{}),
	}
	if err := os.Mkdir(filepath.Join(dir, "client"), 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(dockerdBin,
		"--host", d.Host,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--userland-proxy=false", "--log-level=warn")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	// Its own process group (a forced stop signals the group: dockerd and
	// the containerd it started), and SIGTERM should the test binary die
	// without stopping it: the parent is a locked thread that lives until
	// shutdown, so the death signal fires only when the process goes.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.exit <- d.cmd.Wait()
		<-d.stop
	}()
	if err := <-started; err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := d.waitReady(60 * time.Second); err != nil {
		d.shutdown()
		return nil, err
	}
	return d, nil
}

// waitReady polls `docker version` until the daemon answers.
func (d *Docker) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := d.Command(ctx, "version", "--format", "{{.Server.Version}}").CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-d.exit:
			d.exit <- werr
			return fmt.Errorf("dockerd exited (%v): %s", werr, d.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s: %v %s\n%s", d.Host, err, out, d.logTail())
		}
	}
}

// shutdown stops dockerd (SIGTERM, which stops its containers and its
// containerd; after 30 s SIGKILL to its process group), unmounts what it
// left under its directories and removes them.
func (d *Docker) shutdown() error {
	defer close(d.stop)
	var errs []error
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exit:
		case <-time.After(30 * time.Second):
			errs = append(errs, errors.New("dockerd did not stop within 30 s of SIGTERM: killed"))
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exit
		}
	}
	if err := unmountUnder(d.dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir (dockerd leaves the default
// network namespace bound under its exec root), deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// logTail is the end of dockerd's log, for error messages.
func (d *Docker) logTail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Command is the docker client talking to this daemon only (its own
// DOCKER_CONFIG: no credentials or settings of the machine's).
func (d *Docker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, dockerBin, args...)
	cmd.Env = []string{
		"DOCKER_HOST=" + d.Host,
		"DOCKER_CONFIG=" + filepath.Join(d.dir, "client"),
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
	return cmd
}

// Docker runs the docker client with args and returns its standard output;
// a failure fails t with the output and the daemon's recent log.
func (d *Docker) Docker(t testing.TB, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := d.Command(context.Background(), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\nstdout:\n%s\nstderr:\n%s\ndockerd:\n%s", strings.Join(args, " "), err,
			stdout.String(), stderr.String(), d.logTail())
	}
	return stdout.String()
}

// Load loads a docker-archive (as `kiln ... docker-archive:FILE:NAME:TAG`
// writes) with `docker load`.
func (d *Docker) Load(t testing.TB, archive string) {
	t.Helper()
	d.Docker(t, "load", "--quiet", "--input", archive)
}

// RestrictedUser is the user OpenShift's restricted-v2 gives a pod: an
// arbitrary uid from the namespace's range, and group 0.
const RestrictedUser = "1000680000:0"

// Pod is a container confined as a Kubernetes pod under the restricted Pod
// Security Standard: all capabilities dropped, no new privileges, a
// read-only root filesystem with a tmpfs /tmp (mode: the image's /tmp),
// Docker's default seccomp
// profile (what RuntimeDefault is), /proc masked as Docker and the kubelet
// mask it.
type Pod struct {
	Image string
	// User is --user; "" is RestrictedUser.
	User string
	// SeccompUnconfined runs without a seccomp profile (seccompProfile
	// Unconfined): user namespaces work, /proc stays masked.
	SeccompUnconfined bool
	// Volumes are -v HOST:CONTAINER[:ro] specs, e.g. emptyDirs (EmptyDir)
	// and the kiln binary read-only.
	Volumes []string
	// Env are K=V settings; Workdir the working directory; Entrypoint, when
	// set, replaces the image's.
	Env        []string
	Workdir    string
	Entrypoint string
	// Network is "host" (the default: registries on 127.0.0.1) or "none".
	Network string
}

// podTmp is /tmp as a pod with a read-only root filesystem has it: a
// volume whose files may be executed. Docker gives a tmpfs the mode of the
// image's /tmp (1777 in any real image), whatever mode= says.
const podTmp = "/tmp:rw,exec"

// Args are the `docker run` arguments that start p with cmd.
func (p Pod) Args(cmd ...string) []string {
	user, network := p.User, p.Network
	if user == "" {
		user = RestrictedUser
	}
	if network == "" {
		network = "host"
	}
	args := []string{"run", "--rm", "--network", network, "--user", user,
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only", "--tmpfs", podTmp}
	if p.SeccompUnconfined {
		args = append(args, "--security-opt", "seccomp=unconfined")
	}
	for _, v := range p.Volumes {
		args = append(args, "--volume", v)
	}
	for _, e := range p.Env {
		args = append(args, "--env", e)
	}
	if p.Workdir != "" {
		args = append(args, "--workdir", p.Workdir)
	}
	if p.Entrypoint != "" {
		args = append(args, "--entrypoint", p.Entrypoint)
	}
	return append(append(args, p.Image), cmd...)
}

// Run runs cmd in p (stopped when t ends) and returns its output and exit
// code; only a failure to run docker at all fails t.
func (d *Docker) Run(t testing.TB, p Pod, cmd ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	c := d.Command(t.Context(), p.Args(cmd...)...)
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("docker run: %v\n%s", err, e.String())
	}
	return o.String(), e.String(), code
}

// EmptyDir is a directory to mount into a pod as a writable volume: as the
// kubelet makes an emptyDir, mode 0777, so any uid can write to it.
func EmptyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}
