package sandbox

import (
	"fmt"
	"log/slog"
	"syscall"

	"golang.org/x/sys/unix"
)

// startNone starts a LevelNone container: kiln's init (shim.go) as a plain
// child, on the current root filesystem, the subreaper of every process
// it starts (see sweep.go). The init gets an environment of its own,
// never kiln's: what its processes see is exactly what their Process.Env
// says.
func startNone(cfg Config, p plan, log *slog.Logger) (*Container, error) {
	if cfg.Limits.cgroups() {
		log.Info("cgroup limits skipped: the none sandbox level creates no cgroups")
	}
	// The container's processes run as kiln's uid: without this they could
	// read kiln's memory and environment through /proc, or ptrace it. The
	// namespaces probe must come first: a child forked from a non-dumpable
	// process cannot have its id maps written by an ordinary user.
	m := currentMode()
	probeNamespaces(m)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("making kiln non-dumpable: %w", err)
	}
	keep := noneKeepsIDs(m)
	uid, gid := cfg.UID, cfg.GID
	if keep {
		uid, gid = m.uid, m.gid
	}
	spec := initSpec{Rlimits: rlimits(cfg.Limits), SetIDs: !keep, UID: uid, GID: gid, Seccomp: seccompBuilt, Reap: true}
	c := &Container{id: newID(), uid: cfg.UID, gid: cfg.GID, keepIDs: keep, log: log, iso: p.Isolation, reaps: true}
	if err := c.startInit(&syscall.SysProcAttr{}, spec); err != nil {
		return nil, fmt.Errorf("starting the sandbox's init: %w", err)
	}
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
