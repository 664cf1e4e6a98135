package sandbox

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// startNone starts a LevelNone container: kiln's pause shim as a plain
// child, on the current root filesystem, the subreaper of every process
// it starts through its zygotes (see sweep.go). The shim gets an
// environment of its own, never kiln's: what the zygotes' processes see
// is exactly what their Process.Env says.
func startNone(cfg Config, p plan, log *slog.Logger) (*Container, error) {
	if cfg.Limits.cgroups() {
		log.Info("cgroup limits skipped: the none sandbox level creates no cgroups")
	}
	// The container's processes run as kiln's uid: without this they could
	// read kiln's memory and environment through /proc, or ptrace it. The
	// namespaces probe must come first: a child forked from a non-dumpable
	// process cannot have its id maps written by an ordinary user.
	probeNamespaces(currentMode())
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("making kiln non-dumpable: %w", err)
	}
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		ours.Close()
		return nil, err
	}
	defer devnull.Close()
	logr, logw, err := os.Pipe()
	if err != nil {
		ours.Close()
		return nil, err
	}
	id := newID()
	c := newContainer(id, log, p.Isolation)
	env := []string{roleEnv + "=" + rolePause, reapEnv + "=1", rlimitsEnv + "=" + rlimitSpec(cfg.Limits), "GOMAXPROCS=1"}
	if noneKeepsIDs(currentMode()) {
		env = append(env, idsEnv+"="+idsKeep)
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{"kiln-sandbox-pause", id}, &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []*os.File{devnull, devnull, logw, theirs},
		// Its own process group: a terminal's Ctrl-C reaches kiln, which
		// then ends the container.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	logw.Close()
	if err != nil {
		ours.Close()
		logr.Close()
		return nil, fmt.Errorf("starting the sandbox's reaper: %w", err)
	}
	go func() {
		w := &logWriter{log: log, id: id}
		s := bufio.NewScanner(logr)
		for s.Scan() {
			w.Write(s.Bytes())
		}
		logr.Close()
	}()
	c.reaper, c.ctl, c.ctlRx, c.reaps = proc, ours, newReceiver(ours), true
	go func() {
		proc.Wait()
		close(c.initDone)
	}()
	return c, nil
}

// noneKeepsIDs reports whether LevelNone processes keep the caller's ids:
// only root with the capabilities (and every id mapped) can switch.
func noneKeepsIDs(m mode) bool {
	return m.rootless || !hasCap("/proc/self/status", unix.CAP_SETUID) || !hasCap("/proc/self/status", unix.CAP_SETGID)
}

// HostRoot reports whether a process asking for uid runs as the machine's
// root (uid 0 outside any user namespace) in a container of iso: kiln is
// root outside a user namespace and the process is uid 0, or runs at
// LevelNone with kiln's own ids. Such a process must not be handed things
// that trust uid 0, like the host network's abstract unix sockets.
func HostRoot(iso Isolation, uid int) bool {
	m := currentMode()
	if m.rootless {
		return false // its root is the caller
	}
	if iso.Level == LevelNone && noneKeepsIDs(m) {
		return true
	}
	return uid == 0
}

// rlimitSpec is rlimitsEnv's value for l.
func rlimitSpec(l Limits) string {
	var parts []string
	for _, r := range rlimits(l) {
		parts = append(parts, fmt.Sprintf("%d:%d:%d", r.Type, r.Soft, r.Hard))
	}
	return strings.Join(parts, ",")
}
