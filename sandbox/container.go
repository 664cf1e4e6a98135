package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"
)

// Container is a running container in which processes are run one after
// the other or side by side, all as its user (Config.UID and GID). Its
// first process is kiln's init (shim.go), which starts the others. Close
// it when done.
type Container struct {
	id       string
	uid, gid int
	keepIDs  bool // LevelNone keeping kiln's ids: processes of any ids run as those
	log      *slog.Logger
	iso      Isolation
	init     *os.Process
	initDone chan struct{} // closed when the init has exited and been reaped
	reaps    bool          // no PID namespace: the init sweeps (sweep.go)
	sealExe  bool          // the init runs a sealed copy of kiln's executable (exe.go)
	cgroup   cgroups.Manager
	client   *client
	nextID   atomic.Uint64

	mu      sync.Mutex // guards closed and stopCtx
	stopCtx func() bool
	closed  bool

	closeOnce sync.Once
	closeErr  error
}

// Start starts a container for cfg at the level cfg.Level resolves to
// here (see Choose). Cancelling ctx closes it, killing every process in
// it.
func Start(ctx context.Context, cfg Config) (*Container, error) {
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

// startNamespaces starts a container in namespaces of its own, on a view
// of cfg.Rootfs laid out as p says.
func startNamespaces(cfg Config, m mode, p plan, log *slog.Logger) (*Container, error) {
	rootfs, stateDir, mounts, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	cleanStale(stateDir, log)
	limits := cfg.Limits.cgroups()
	if limits && !m.cgroupLimits() {
		log.Info("cgroup limits skipped: kiln cannot create cgroups without root")
		limits = false
	}
	id := newID()
	// The mount point of the view, shared by the containers of the state
	// directory: each mounts a tmpfs of its own there, in its own mount
	// namespace.
	mnt := filepath.Join(stateDir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("creating the view's mount point: %w", err)
	}
	sys := &syscall.SysProcAttr{Cloneflags: cloneFlags(cfg, m, p)}
	if m.rootless {
		// The container's user is the caller; as anyone but root of its
		// user namespace the init keeps what it needs to set the
		// container up across its exec (ambient capabilities).
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: cfg.UID, HostID: m.uid, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: cfg.GID, HostID: m.gid, Size: 1}}
		sys.GidMappingsEnableSetgroups = false
		if cfg.UID != 0 {
			sys.AmbientCaps = initCapabilities
		}
	}
	spec := containerSpec(cfg, m, p, mnt, rootfs, mounts)
	c := &Container{id: id, uid: cfg.UID, gid: cfg.GID, log: log, iso: p.Isolation, reaps: p.noPIDNS, sealExe: true}
	if limits {
		if c.cgroup, err = manager.New(cgroupConfig(cfg, id)); err != nil {
			return nil, fmt.Errorf("creating the container's cgroup: %w", err)
		}
	}
	if err := c.startInit(sys, spec); err != nil {
		return nil, startError(m, fmt.Errorf("starting container: %w", err))
	}
	if p.noPIDNS {
		// The container's processes see the caller in /proc, and run as
		// the same user: keep them out of its memory, environment and
		// root directory (as at LevelNone).
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			c.Close()
			return nil, fmt.Errorf("making kiln non-dumpable: %w", err)
		}
	}
	return c, nil
}

// dumpableMu serialises starts that must briefly make the caller dumpable.
var dumpableMu sync.Mutex

// startProcess starts the init. A child forked from a non-dumpable process
// (the caller, once it ran a LevelNone or degraded container) cannot have
// its id maps written by an ordinary user, so the caller is dumpable for
// the time of the fork and the map writes. (kiln starts such a container
// before any untrusted process of its runs; a program running several
// should know that those of an earlier one could use that moment.)
func startProcess(name string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	if len(attr.Sys.UidMappings) == 0 {
		return os.StartProcess(name, argv, attr)
	}
	dumpableMu.Lock()
	defer dumpableMu.Unlock()
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err == nil && d == 0 {
		unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
		defer unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	}
	return os.StartProcess(name, argv, attr)
}

// startInit starts kiln's init (shim.go) with sys's namespaces, applies
// the cgroup, and has the init set the container up as spec says.
func (c *Container) startInit(sys *syscall.SysProcAttr, spec initSpec) error {
	c.initDone = make(chan struct{})
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	defer theirs.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		ours.Close()
		return err
	}
	defer devnull.Close()
	logr, logw, err := os.Pipe()
	if err != nil {
		ours.Close()
		return err
	}
	// Its own process group: a terminal's Ctrl-C reaches kiln, which then
	// ends the container. (It leaves kiln's controlling terminal first
	// thing: see shimMain.) Not a session of its own: setsid costs a new
	// scheduler autogroup, measured at about 5 ms a container here. One P
	// is plenty, and spares threads (and pids).
	sys.Setpgid = true
	exe := "/proc/self/exe"
	if c.sealExe {
		if exe, err = sealedExecutable(); err != nil {
			ours.Close()
			logr.Close()
			logw.Close()
			return err
		}
	}
	proc, err := startProcess(exe, []string{"kiln-sandbox-init", c.id}, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{roleEnv + "=" + roleInit, "GOMAXPROCS=1"},
		Files: []*os.File{devnull, devnull, logw, theirs},
		Sys:   sys,
	})
	logw.Close()
	if err != nil {
		ours.Close()
		logr.Close()
		return err
	}
	go c.logLines(logr)
	c.init = proc
	go func() {
		proc.Wait()
		close(c.initDone)
	}()
	c.client = newClient(ours)
	fail := func(err error) error {
		c.client.conn.Close()
		proc.Kill()
		<-c.initDone
		if c.cgroup != nil {
			c.cgroup.Destroy()
		}
		return err
	}
	if c.cgroup != nil {
		// Before it starts anything: whatever it starts is in the cgroup.
		if err := c.cgroup.Apply(proc.Pid); err != nil {
			return fail(fmt.Errorf("applying cgroup limits: %w", err))
		}
		cg, err := c.cgroup.GetCgroups()
		if err == nil {
			err = c.cgroup.Set(cg.Resources)
		}
		if err != nil {
			return fail(fmt.Errorf("setting cgroup limits: %w", err))
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fail(err)
	}
	r, err := c.client.request(message{Op: opSetup, ID: c.nextID.Add(1), Spec: b})
	switch {
	case err != nil:
		return fail(fmt.Errorf("the container's init ended: %w", err))
	case r.m.Err != "":
		return fail(errors.New(r.m.Err))
	}
	return nil
}

// logLines turns the init's stderr into debug log lines.
func (c *Container) logLines(r io.ReadCloser) {
	defer r.Close()
	s := bufio.NewScanner(r)
	for s.Scan() {
		c.log.Debug("sandbox init", "id", c.id, "msg", s.Text())
	}
}

// Isolation is what the container provides: its level, what that level
// lacks here and why it was chosen.
func (c *Container) Isolation() Isolation { return c.iso }

// isProcMountError reports whether err is the init's failure to mount a
// fresh procfs or sysfs.
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

// realDir returns p absolute and free of symlinks, as a mount source and
// the view's tree must be, and checks that it is a directory.
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

// EndProcesses kills every process running in the container, daemons
// included (setsid, double forks: whatever they started), and returns once
// they are gone and reaped; the container stays up for more processes. A
// build ends each phase with it, so that nothing a phase started sees what
// the host does next. A Run still waiting returns 137, the code of
// SIGKILL.
func (c *Container) EndProcesses(ctx context.Context) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	type result struct {
		r   received
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := c.client.request(message{Op: opKillAll, ID: c.nextID.Add(1)})
		done <- result{r, err}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-done:
		switch {
		case res.err != nil:
			return fmt.Errorf("ending the container's processes: %w", res.err)
		case res.r.m.Err != "":
			return fmt.Errorf("ending the container's processes: %s", res.r.m.Err)
		}
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
	c.mu.Unlock()
	c.client.conn.Close() // the init exits, and what is left dies with it
	// Without a PID namespace the init sweeps before it exits.
	wait := 2 * time.Second
	if c.reaps {
		wait += sweepTimeout
	}
	select {
	case <-c.initDone:
	case <-time.After(wait):
		c.init.Kill()
		<-c.initDone
	}
	var errs []error
	if c.cgroup != nil {
		if err := c.cgroup.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("removing the cgroup of container %s: %w", c.id, err))
		}
	}
	return errors.Join(errs...)
}
