package sandbox

import (
	"os"
	"path"
	"strconv"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// mode is how the container relates to the calling user.
type mode struct {
	// rootless: a user namespace maps the container's user onto the
	// caller. That is the case when kiln is not root, and also when it is
	// root only inside a user namespace (under `unshare -r`, rootless
	// podman …), where other ids may be unmapped.
	rootless bool
	euid0    bool // the caller's euid is 0
	inUserNS bool // the caller itself runs in a user namespace (cgroups are not ours)
	uid, gid int  // the caller's euid and egid
}

func currentMode() mode {
	inNS := userns.RunningInUserNS()
	return mode{
		rootless: os.Geteuid() != 0 || inNS,
		euid0:    os.Geteuid() == 0,
		inUserNS: inNS,
		uid:      os.Geteuid(),
		gid:      os.Getegid(),
	}
}

// cgroupLimits reports whether cgroup limits can be applied in m.
func (m mode) cgroupLimits() bool { return !m.rootless && !m.inUserNS }

const (
	defaultHostname = "kiln"
	defaultNoFile   = 65536
)

// Paths hidden from and made read-only for the container, as container
// runtimes do.
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
	// devices are the nodes of the container's /dev, bound from the
	// caller's (an ordinary user cannot mknod; root gets the same).
	devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
)

// initSpec is what the container's init (shim.go) is told to do, in
// order: the mounts of its root, the settings of its namespaces, the
// user it becomes and the hardening of the processes it spawns. Paths
// are container paths below Root unless said otherwise.
type initSpec struct {
	// Root is the host directory on which the init mounts the tmpfs of
	// the view (rootfs.go) of Tree for the mount points Dests; "": no
	// mounts (LevelNone).
	Root   string        `json:"root,omitempty"`
	Tree   string        `json:"tree,omitempty"`
	Dests  []destination `json:"dests,omitempty"`
	Mounts []mountSpec   `json:"mounts,omitempty"` // after the view's binds

	Masked   []string `json:"masked,omitempty"`
	ReadOnly []string `json:"readonly,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	Loopback bool     `json:"loopback,omitempty"` // a private network: bring lo up
	Rlimits  []rlimit `json:"rlimits,omitempty"`
	// SetIDs: switch to UID and GID (root); otherwise the init already
	// has them (a user namespace maps them, or LevelNone keeps kiln's).
	SetIDs   bool `json:"setids,omitempty"`
	UID, GID int
	Seccomp  bool `json:"seccomp,omitempty"`
	// Reap: no PID namespace of its own, so the init is the subreaper of
	// what it starts and sweeps it (sweep.go).
	Reap bool `json:"reap,omitempty"`
}

// mountSpec is one mount. Kind "bind" binds the host path Source
// (recursively) and then sets Attr (MOUNT_ATTR_*) on the whole tree; the
// other kinds mount a fresh file system of that type with Flags and Data.
// Kind "dev" mounts the container's /dev: a tmpfs with the device nodes,
// /dev/pts, /dev/shm, /dev/mqueue and the usual links.
type mountSpec struct {
	Kind   string  `json:"kind"`
	Source string  `json:"src,omitempty"`
	Dest   string  `json:"dst"`
	Flags  uintptr `json:"flags,omitempty"`
	Data   string  `json:"data,omitempty"`
	Attr   uint64  `json:"attr,omitempty"`
}

type rlimit struct {
	Type       int
	Soft, Hard uint64
}

const (
	nodevNosuid = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	common      = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
)

// systemMounts are the kernel file systems every container gets. Their
// destinations, together with Config.Mounts, are the mount points of the
// root's view (see rootfs.go).
func systemMounts(cfg Config, m mode, p plan) []mountSpec {
	tmp := "mode=1777"
	if cfg.Limits.TmpSize > 0 {
		tmp += ",size=" + itoa(cfg.Limits.TmpSize)
	}
	proc := mountSpec{Kind: "proc", Dest: "/proc", Flags: common}
	if p.noPIDNS {
		// The current /proc with whatever masks it (a fresh one is
		// refused there).
		proc = mountSpec{Kind: "bind", Source: "/proc", Dest: "/proc", Attr: nodevNosuid | unix.MOUNT_ATTR_NOEXEC}
	}
	dev := "newinstance,ptmxmode=0666,mode=0620"
	if !m.rootless {
		dev += ",gid=5" // tty; unmapped in a user namespace
	}
	ms := []mountSpec{
		proc,
		{Kind: "dev", Dest: "/dev", Data: dev},
		{Kind: "tmpfs", Dest: "/tmp", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: tmp},
	}
	if m.rootless && (cfg.Network == NetworkHost || p.bindSys) {
		// sysfs cannot be mounted in a user namespace that does not own
		// the network namespace: bind the caller's, read-only.
		ms = append(ms, mountSpec{Kind: "bind", Source: "/sys", Dest: "/sys", Attr: unix.MOUNT_ATTR_RDONLY | nodevNosuid | unix.MOUNT_ATTR_NOEXEC})
	} else {
		ms = append(ms, mountSpec{Kind: "sysfs", Dest: "/sys", Flags: unix.MS_RDONLY | common})
	}
	return ms
}

// bindSpec is a bind of source at dest, nosuid and nodev.
func bindSpec(source, dest string, ro bool) mountSpec {
	attr := uint64(nodevNosuid)
	if ro {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	return mountSpec{Kind: "bind", Source: source, Dest: dest, Attr: attr}
}

// containerSpec is the init's work for a container whose root is the view
// at root.
func containerSpec(cfg Config, m mode, p plan, root, tree string, mounts []Mount) initSpec {
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = defaultHostname
	}
	s := initSpec{
		Root: root, Tree: tree, Dests: mountDestinations(mounts), Masked: maskedPaths, ReadOnly: readonlyPaths, Hostname: hostname,
		Loopback: cfg.Network == NetworkNone, Rlimits: rlimits(cfg.Limits),
		SetIDs: !m.rootless, UID: cfg.UID, GID: cfg.GID, Seccomp: seccompBuilt, Reap: p.noPIDNS,
	}
	s.Mounts = append(s.Mounts, systemMounts(cfg, m, p)...)
	for _, mt := range mounts {
		s.Mounts = append(s.Mounts, bindSpec(mt.Source, mt.Destination, mt.ReadOnly))
	}
	return s
}

// cloneFlags are the namespaces of a container in m laid out by p.
func cloneFlags(cfg Config, m mode, p plan) uintptr {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if !p.noPIDNS {
		flags |= unix.CLONE_NEWPID
	}
	if cfg.Network == NetworkNone {
		flags |= unix.CLONE_NEWNET
	}
	if m.rootless {
		flags |= unix.CLONE_NEWUSER
	}
	return flags
}

// initCapabilities are what the init of an ordinary user's container
// keeps across its exec as a non-root user of its user namespace (as
// ambient capabilities) to set the container up; it drops them all
// before starting anything.
var initCapabilities = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP}

// cgroupConfig is the cgroup of a container with limits (as root only):
// kiln/<id> with them. Without limits a container creates no cgroup and
// stays in the caller's.
func cgroupConfig(cfg Config, id string) *cgroups.Cgroup {
	r := &cgroups.Resources{Memory: cfg.Limits.Memory}
	if cfg.Limits.PIDs > 0 {
		p := cfg.Limits.PIDs
		r.PidsLimit = &p
	}
	if cfg.Limits.CPUs > 0 {
		r.CpuPeriod = 100000
		r.CpuQuota = int64(cfg.Limits.CPUs * 100000)
	}
	// No device rules: /dev is a tmpfs holding only the allowed nodes,
	// every other mount is nodev, and no process of the container can
	// mknod.
	r.SkipDevices = true
	return &cgroups.Cgroup{Parent: "kiln", Name: id, Resources: r}
}

// cgroups reports whether l asks for cgroup limits.
func (l Limits) cgroups() bool { return l.Memory > 0 || l.PIDs > 0 || l.CPUs > 0 }

// rlimits are set explicitly: inherited ones differ between root and users.
func rlimits(l Limits) []rlimit {
	nofile := l.NoFile
	if nofile == 0 {
		nofile = defaultNoFile
	}
	// Raising the hard limit needs CAP_SYS_RESOURCE, which even root may
	// lack (in a container): stay within the caller's.
	var cur unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &cur) == nil && cur.Max < nofile {
		nofile = cur.Max
	}
	rs := []rlimit{
		{Type: unix.RLIMIT_NOFILE, Soft: nofile, Hard: nofile},
		{Type: unix.RLIMIT_CORE, Soft: 0, Hard: 0},
	}
	if l.NProc > 0 {
		rs = append(rs, rlimit{Type: unix.RLIMIT_NPROC, Soft: l.NProc, Hard: l.NProc})
	}
	return rs
}

// mountDestinations lists the mount points of the view: everything that
// is mounted on the root itself (not on /dev's tmpfs).
func mountDestinations(mounts []Mount) []destination {
	ds := []destination{{"/proc", true}, {"/dev", true}, {"/tmp", true}, {"/sys", true}}
	for _, m := range mounts {
		fi, err := os.Stat(m.Source)
		ds = append(ds, destination{path.Clean("/" + m.Destination), err == nil && fi.IsDir()})
	}
	return ds
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Rootless reports whether containers run in a user namespace that maps
// the caller: kiln is not root, or is root only inside a user namespace.
// Root filesystems for the sandbox should then be unpacked rootless (no
// ownership, no device nodes), since the container cannot show other ids.
func Rootless() bool { return currentMode().rootless }
