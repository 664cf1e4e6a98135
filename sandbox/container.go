package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// Container is a running container in which processes are run one after
// the other or side by side. Its PID 1 is kiln's pause shim; processes are
// started by a zygote per uid:gid (see zygote.go). Close it when done.
type Container struct {
	id       string
	stateDir string
	viewDir  string
	log      *slog.Logger
	iso      Isolation
	lc       *libcontainer.Container // nil at LevelNone
	init     *libcontainer.Process   // the pause shim (LevelNamespaces)
	reaper   *os.Process             // the pause shim (LevelNone)
	reaps    bool                    // no PID namespace: the pause shim sweeps (sweep.go)
	initDone chan struct{}           // closed when PID 1 has exited
	seccomp  bool
	nextID   atomic.Uint64

	mu      sync.Mutex // guards ctl requests, zygotes, closed and stopCtx
	stopCtx func() bool
	ctl     *net.UnixConn
	ctlRx   *receiver // reads ctl; used under mu
	zygotes map[[2]int]*zygoteClient
	closed  bool

	closeOnce sync.Once
	closeErr  error
}

// Start starts a container for cfg at the level cfg.Level resolves to
// here (see Choose). Cancelling ctx closes it, killing every process in
// it.
func Start(ctx context.Context, cfg Config) (*Container, error) {
	quietLogrus()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := currentMode()
	p, err := choose(cfg, m)
	if err != nil {
		return nil, err
	}
	var c *Container
	if p.Level == LevelNone {
		c, err = startNone(cfg, p, log)
	} else {
		c, err = startNamespaces(cfg, m, p, log)
		if err != nil && m.rootless && !p.noPIDNS && isProcMountError(err) {
			// The kernel refused a fresh procfs the mount table did not
			// show as masked: degrade now.
			log.Debug("sandbox: procfs refused, degrading", "err", err)
			p.noPIDNS, p.bindSys = true, p.bindSys || cfg.Network == NetworkNone
			p.Degraded = append(p.Degraded, "no PID namespace: the kernel refused a fresh procfs; "+
				"/proc is the current one, bind-mounted, and processes of the enclosing container are visible")
			c, err = startNamespaces(cfg, m, p, log)
		}
		if err != nil && cfg.Level == LevelAuto && isHostRoot(cfg.Rootfs) && checkNone(cfg) == nil {
			if where := inContainer(); where != "" {
				p = plan{Isolation: Isolation{Level: LevelNone,
					Reason: "namespaces failed (" + err.Error() + ") and kiln runs in a container (" + where + ") on its root filesystem"}}
				c, err = startNone(cfg, p, log)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	c.mu.Lock()
	c.stopCtx = stop
	c.mu.Unlock()
	log.Debug("sandbox started", "id", c.id, "isolation", c.iso.String(), "rootless", m.rootless, "network", cfg.Network.String())
	return c, nil
}

// startNamespaces starts a libcontainer container for cfg as p lays it
// out.
func startNamespaces(cfg Config, m mode, p plan, log *slog.Logger) (*Container, error) {
	rootfs, stateDir, mounts, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	cleanStale(stateDir, log)
	if !m.cgroupLimits() && cfg.Limits.cgroups() {
		log.Info("cgroup limits skipped: kiln cannot create cgroups without root")
	}
	id := newID()
	c := newContainer(id, log, p.Isolation)
	c.stateDir, c.viewDir = stateDir, filepath.Join(stateDir, id+".root")
	view, err := buildView(rootfs, c.viewDir, mountDestinations(mounts))
	if err != nil {
		os.RemoveAll(c.viewDir)
		return nil, fmt.Errorf("preparing the root of %s: %w", rootfs, err)
	}
	if p.noPIDNS {
		// The container's processes see the caller in /proc, and run as
		// the same user: keep them out of its memory, environment and
		// root directory (as at LevelNone).
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("making kiln non-dumpable: %w", err)
		}
	}
	c.reaps = p.noPIDNS
	lcfg := containerConfig(cfg, m, p, id, c.viewDir, view, mounts)
	if c.lc, err = libcontainer.Create(stateDir, id, lcfg); err != nil {
		os.RemoveAll(c.viewDir)
		return nil, startError(m, fmt.Errorf("creating container: %w", err))
	}
	if err := c.startInit(m, p); err != nil {
		c.lc.Destroy()
		os.RemoveAll(c.viewDir)
		return nil, startError(m, fmt.Errorf("starting container: %w", err))
	}
	return c, nil
}

func newContainer(id string, log *slog.Logger, iso Isolation) *Container {
	return &Container{id: id, log: log, iso: iso, initDone: make(chan struct{}), seccomp: seccompBuilt,
		zygotes: map[[2]int]*zygoteClient{}}
}

// Isolation is what the container provides: its level, what that level
// lacks here and why it was chosen.
func (c *Container) Isolation() Isolation { return c.iso }

// isProcMountError reports whether err is libcontainer's failure to mount
// a fresh procfs or sysfs.
func isProcMountError(err error) bool {
	s := err.Error()
	return strings.Contains(s, `mounting "proc"`) || strings.Contains(s, `mounting "sysfs"`)
}

// startError names the reason user namespaces fail, when one is known.
func startError(m mode, err error) error {
	if m.rootless {
		if why := userNSBlocker("/proc/sys", false); why != nil {
			return &UnavailableError{Level: LevelNamespaces, Cause: splitBlocker(why), Fix: blockerFix(why) + noneHint,
				Err: errors.Join(ErrUserNamespaces, err)}
		}
	}
	return err
}

// prepare checks cfg and returns the resolved rootfs and state directory
// and the bind mounts, with /etc/resolv.conf added for the host network.
func prepare(cfg Config) (rootfs, stateDir string, mounts []Mount, err error) {
	if cfg.StateDir == "" {
		return "", "", nil, errors.New("sandbox: Config.StateDir is empty")
	}
	if rootfs, err = realDir(cfg.Rootfs); err != nil {
		return "", "", nil, fmt.Errorf("opening root filesystem: %w", err)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return "", "", nil, fmt.Errorf("creating state directory: %w", err)
	}
	if stateDir, err = realDir(cfg.StateDir); err != nil {
		return "", "", nil, fmt.Errorf("opening state directory: %w", err)
	}
	for _, mt := range cfg.Mounts {
		if !filepath.IsAbs(mt.Destination) {
			return "", "", nil, fmt.Errorf("mount destination %q is not absolute", mt.Destination)
		}
		src, err := filepath.Abs(mt.Source)
		if err == nil {
			_, err = os.Stat(src)
		}
		if err != nil {
			return "", "", nil, fmt.Errorf("mount source: %w", err)
		}
		mounts = append(mounts, Mount{Source: src, Destination: filepath.Clean(mt.Destination), ReadOnly: mt.ReadOnly})
	}
	if cfg.Network == NetworkHost && !hasMount(mounts, "/etc/resolv.conf") {
		if fi, err := os.Stat(filepath.Join(rootfs, "etc")); err == nil && fi.IsDir() {
			if src, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil {
				mounts = append(mounts, Mount{Source: src, Destination: "/etc/resolv.conf", ReadOnly: true})
			}
		}
	}
	return rootfs, stateDir, mounts, nil
}

func hasMount(ms []Mount, dest string) bool {
	for _, m := range ms {
		if m.Destination == dest {
			return true
		}
	}
	return false
}

// realDir returns p absolute and free of symlinks, which libcontainer
// requires, and checks that it is a directory.
func realDir(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if p, err = filepath.EvalSymlinks(p); err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: %w", p, unix.ENOTDIR)
	}
	return p, nil
}

// startInit starts the pause shim as the container's PID 1 (or, without a
// PID namespace, its reaper) with one end of the control socket; kiln
// keeps the other.
func (c *Container) startInit(m mode, p plan) error {
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	defer theirs.Close()
	// One P is plenty for the shims, and spares threads (and pids).
	env := []string{roleEnv + "=" + rolePause, "PATH=" + defaultPath, "HOME=/", "GOMAXPROCS=1"}
	if m.rootless {
		env = append(env, idsEnv+"="+idsNested)
	}
	if p.noPIDNS {
		env = append(env, reapEnv+"=1")
	}
	stderr := &logWriter{log: c.log, id: c.id}
	c.init = &libcontainer.Process{
		Args:       []string{"/proc/self/exe", "kiln-sandbox-pause", c.id},
		Env:        env,
		Cwd:        "/",
		Stderr:     stderr,
		ExtraFiles: []*os.File{theirs},
		Init:       true,
	}
	if err := c.lc.Run(c.init); err != nil {
		ours.Close()
		return err
	}
	c.ctl = ours
	c.ctlRx = newReceiver(ours)
	go func() {
		c.init.Wait()
		close(c.initDone)
	}()
	return nil
}

// EndProcesses kills every process running in the container, daemons
// included (setsid, double forks: whatever they started), and returns once
// they are gone and reaped; the container stays up for more processes. A
// build ends each phase with it, so that nothing a phase started sees what
// the host does next. Run calls still waiting return with ErrClosed.
func (c *Container) EndProcesses(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	for key, z := range c.zygotes {
		z.conn.Close() // the zygote kills its process groups and exits
		delete(c.zygotes, key)
	}
	// A cancelled ctx gives up waiting (the container's own context, when
	// it ends, closes the container anyway).
	stop := context.AfterFunc(ctx, func() { c.ctl.SetReadDeadline(time.Now()) })
	defer stop()
	if err := send(c.ctl, message{Op: opKillAll, ID: c.nextID.Add(1)}); err != nil {
		return fmt.Errorf("ending the container's processes: %w", ErrClosed)
	}
	r, files, err := c.ctlRx.recv()
	closeAll(files)
	if stop() {
		c.ctl.SetReadDeadline(time.Time{})
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("ending the container's processes: %w", ErrClosed)
	case r.Err != "":
		return fmt.Errorf("ending the container's processes: %s", r.Err)
	}
	return nil
}

// Close kills every process in the container and removes it. It is safe
// to call more than once and from several goroutines.
func (c *Container) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Container) close() error {
	c.mu.Lock()
	if c.stopCtx != nil {
		c.stopCtx()
	}
	c.closed = true
	for _, z := range c.zygotes {
		z.conn.Close()
	}
	c.ctl.Close() // the pause shim exits, and the kernel kills the rest
	c.mu.Unlock()
	// Without a PID namespace the shim sweeps before it exits.
	wait := 2 * time.Second
	if c.reaps {
		wait += sweepTimeout
	}
	select {
	case <-c.initDone:
	case <-time.After(wait):
		if c.lc != nil {
			c.lc.Signal(unix.SIGKILL)
		} else {
			c.reaper.Kill()
		}
		<-c.initDone
	}
	if c.lc == nil {
		return nil
	}
	var errs []error
	if err := c.lc.Destroy(); err != nil {
		errs = append(errs, fmt.Errorf("destroying container %s: %w", c.id, err))
	}
	if err := os.RemoveAll(c.viewDir); err != nil {
		errs = append(errs, fmt.Errorf("removing container root %s: %w", c.viewDir, err))
	}
	return errors.Join(errs...)
}

// logWriter turns the shims' stderr into debug log lines.
type logWriter struct {
	log *slog.Logger
	id  string
}

func (w *logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.log.Debug("sandbox shim", "id", w.id, "msg", line)
	}
	return len(p), nil
}

var _ io.Writer = (*logWriter)(nil)
