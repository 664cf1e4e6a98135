package sandbox

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Level is how much a container isolates its processes.
type Level int

const (
	// LevelAuto is LevelNamespaces where namespaces work, and LevelNone
	// only where they do not and kiln runs inside a container (a pod) on
	// that container's own root filesystem (Config.Rootfs "/"): there the
	// container is the sandbox, as for the reference lifecycle. Anywhere
	// else Start fails with an *UnavailableError naming the cause.
	LevelAuto Level = iota
	// LevelNamespaces runs processes in mount, PID, IPC and UTS namespaces
	// (and a user namespace when kiln is not root) on a read-only view of
	// Config.Rootfs. Where the kernel refuses a fresh procfs (a container
	// whose /proc has masked paths), it degrades: no PID namespace, the
	// current /proc bind-mounted. Isolation says so.
	LevelNamespaces
	// LevelNone runs processes as plain children of the calling program,
	// on the current root filesystem, as the caller's own user (root may
	// switch to Process.UID/GID), with exactly the environment given, no
	// capabilities, no new privileges and the seccomp filter when built
	// with it. Every process a container started, daemons that called
	// setsid or double-forked included, is killed when it is closed or
	// its processes are ended (Container.EndProcesses). Config.Rootfs
	// must be "/", and mounts must already be in place (Source equal to
	// Destination): nothing is mounted. Starting a container at this level
	// makes the calling process non-dumpable, so that its processes (of
	// the same uid) cannot read its memory or environment through /proc.
	LevelNone
)

// ParseLevel parses "auto", "namespaces" or "none".
func ParseLevel(s string) (Level, error) {
	switch s {
	case "auto", "":
		return LevelAuto, nil
	case "namespaces":
		return LevelNamespaces, nil
	case "none":
		return LevelNone, nil
	}
	return 0, fmt.Errorf("sandbox level %q: want auto, namespaces or none", s)
}

// String returns "auto", "namespaces" or "none".
func (l Level) String() string {
	switch l {
	case LevelAuto:
		return "auto"
	case LevelNamespaces:
		return "namespaces"
	case LevelNone:
		return "none"
	}
	return "unknown"
}

// Isolation is what a container provides: the level it runs at, what that
// level lacks here, and why it was chosen.
type Isolation struct {
	// Level is LevelNamespaces or LevelNone, never LevelAuto.
	Level Level
	// Degraded lists what LevelNamespaces lacks here, e.g. "no PID
	// namespace: the kernel refuses a fresh procfs where /proc has masked
	// paths; /proc is the current one, bind-mounted". Empty: nothing.
	Degraded []string
	// Reason says why LevelAuto chose Level ("" when Level was asked for).
	Reason string
}

// String is one line for a build log: "namespaces", "namespaces (degraded:
// …)" or "none (…)".
func (i Isolation) String() string {
	var notes []string
	if len(i.Degraded) > 0 {
		notes = append(notes, "degraded: "+strings.Join(i.Degraded, "; "))
	}
	if i.Reason != "" {
		notes = append(notes, i.Reason)
	}
	if len(notes) == 0 {
		return i.Level.String()
	}
	return i.Level.String() + " (" + strings.Join(notes, "; ") + ")"
}

// plan is a resolved level with how to lay the container out.
type plan struct {
	Isolation
	noPIDNS bool // degraded: no PID namespace, /proc bound from the caller's
	bindSys bool // degraded: /sys bound from the caller's (a fresh sysfs is refused)
}

// Choose resolves cfg.Level for this machine without starting anything:
// LevelAuto becomes LevelNamespaces or LevelNone, and a level that cannot
// work here is an *UnavailableError naming the cause and the way out. A
// caller that lays out directories differently for LevelNone (it mounts
// nothing) asks first, then starts its containers at the level returned.
func Choose(cfg Config) (Isolation, error) {
	p, err := choose(cfg, currentMode())
	return p.Isolation, err
}

func choose(cfg Config, m mode) (plan, error) {
	if cfg.Level == LevelNone {
		return plan{Isolation: Isolation{Level: LevelNone}}, checkNone(cfg)
	}
	if cfg.Level != LevelAuto && cfg.Level != LevelNamespaces {
		return plan{}, fmt.Errorf("sandbox level %d is not a level", int(cfg.Level))
	}
	p := plan{Isolation: Isolation{Level: LevelNamespaces}}
	cause := probeNamespaces(m)
	if cause == nil {
		p.degrade(m, cfg)
		return p, nil
	}
	if cfg.Level == LevelAuto {
		if where := inContainer(); where != "" && isHostRoot(cfg.Rootfs) && checkNone(cfg) == nil {
			p = plan{Isolation: Isolation{Level: LevelNone,
				Reason: "namespaces are unavailable (" + cause.Cause + ") and kiln runs in a container (" + where + ") on its root filesystem"}}
			return p, nil
		}
		withHint := *cause // the probe's answer is shared
		withHint.Fix += noneHint
		return plan{}, &withHint
	}
	return plan{}, cause
}

// noneHint is the way out that LevelNone offers inside a container.
const noneHint = "; or, inside a container running the builder image, use the none level on its own root " +
	"filesystem: the container is then the only boundary"

// degrade notes what the namespaces level must do without here.
func (p *plan) degrade(m mode, cfg Config) {
	if !m.rootless {
		return // real root: fresh procfs and sysfs mounts are not checked
	}
	if masked := maskedSubmounts("proc"); masked != "" {
		p.noPIDNS = true
		p.Degraded = append(p.Degraded, "no PID namespace: the kernel refuses a fresh procfs where /proc has masked paths ("+
			masked+"); /proc is the current one, bind-mounted, and processes of the enclosing container are visible")
	}
	if cfg.Network == NetworkNone {
		if masked := maskedSubmounts("sysfs"); masked != "" {
			p.bindSys = true
			p.Degraded = append(p.Degraded, "/sys is the current one, bind-mounted read-only: the kernel refuses a fresh sysfs ("+masked+")")
		}
	}
}

// checkNone reports why cfg cannot run at LevelNone.
func checkNone(cfg Config) error {
	if !isHostRoot(cfg.Rootfs) {
		return fmt.Errorf("%w: the none level runs on the current root filesystem: Rootfs must be /, not %s", ErrUnsupported, cfg.Rootfs)
	}
	if cfg.Network == NetworkNone {
		return fmt.Errorf("%w: the none level shares the network: a private network needs the namespaces level", ErrUnsupported)
	}
	for _, mt := range cfg.Mounts {
		if !samePath(mt.Source, mt.Destination) {
			return fmt.Errorf("%w: the none level mounts nothing: %s must already be at %s", ErrUnsupported, mt.Source, mt.Destination)
		}
	}
	return nil
}

// isHostRoot reports whether dir is the current root directory.
func isHostRoot(dir string) bool { return dir != "" && samePath(dir, "/") }

// samePath reports whether a and b name the same file (both resolved).
func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	ra, _ = filepath.Abs(ra)
	rb, _ = filepath.Abs(rb)
	return ra == rb
}
