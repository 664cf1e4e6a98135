package sandbox

import (
	"os"
	"path"
	"strconv"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

// mode is how the container relates to the calling user.
type mode struct {
	// rootless: a user namespace maps the caller to container root, and
	// processes get nested ones. That is the case when kiln is not root,
	// and also when it is root only inside a user namespace (under
	// `unshare -r`, rootless podman …), where other ids may be unmapped.
	rootless bool
	euid0    bool // the caller's euid is 0 (libcontainer's RootlessEUID is the opposite)
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
)

// systemMounts are the kernel file systems every container gets. Their
// destinations, together with Config.Mounts, are the mount points of the
// root's view (see rootfs.go); the ones nested in /dev live on its tmpfs.
func systemMounts(cfg Config, m mode, p plan) []*configs.Mount {
	const common = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	pts := "newinstance,ptmxmode=0666,mode=0620"
	if !m.rootless {
		pts += ",gid=5" // tty; unmapped in a user namespace
	}
	tmp := "mode=1777"
	if cfg.Limits.TmpSize > 0 {
		tmp += ",size=" + itoa(cfg.Limits.TmpSize)
	}
	proc := &configs.Mount{Source: "proc", Destination: "/proc", Device: "proc", Flags: common}
	if p.noPIDNS {
		// The current /proc with whatever masks it (a fresh one is
		// refused), as libcontainer allows on /proc.
		proc = &configs.Mount{Source: "/proc", Destination: "/proc", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC | common}
	}
	ms := []*configs.Mount{
		proc,
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: pts},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs", Flags: common, Data: "mode=1777,size=65536k"},
		{Source: "mqueue", Destination: "/dev/mqueue", Device: "mqueue", Flags: common},
		{Source: "tmpfs", Destination: "/tmp", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: tmp},
	}
	if m.rootless && (cfg.Network == NetworkHost || p.bindSys) {
		// sysfs cannot be mounted in a user namespace that does not own
		// the network namespace: bind the host's, read-only.
		ms = append(ms, &configs.Mount{Source: "/sys", Destination: "/sys", Device: "bind",
			Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | common})
	} else {
		ms = append(ms, &configs.Mount{Source: "sysfs", Destination: "/sys", Device: "sysfs",
			Flags: unix.MS_RDONLY | common})
	}
	return ms
}

// bindMount is a libcontainer bind mount of source at dest.
func bindMount(source, dest string, ro bool) *configs.Mount {
	flags := unix.MS_BIND | unix.MS_REC | unix.MS_NOSUID | unix.MS_NODEV
	if ro {
		flags |= unix.MS_RDONLY
	}
	return &configs.Mount{Source: source, Destination: dest, Device: "bind", Flags: flags}
}

// containerConfig is the libcontainer configuration of a container whose
// root is the view at root.
func containerConfig(cfg Config, m mode, p plan, id, root string, view []viewMount, mounts []Mount) *configs.Config {
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = defaultHostname
	}
	c := &configs.Config{
		Rootfs:          root,
		Readonlyfs:      true,
		NoNewPrivileges: true,
		Hostname:        hostname,
		Namespaces: configs.Namespaces{
			{Type: configs.NEWNS}, {Type: configs.NEWPID}, {Type: configs.NEWIPC}, {Type: configs.NEWUTS},
		},
		Devices:       specconv.AllowedDevices,
		MaskPaths:     maskedPaths,
		ReadonlyPaths: readonlyPaths,
		Rlimits:       rlimits(cfg.Limits),
		// The pause shim's capabilities; it hands none of them on (see
		// shim.go). nil would mean "keep every capability".
		Capabilities:      shimCapabilities(m),
		ParentDeathSignal: int(unix.SIGKILL),
	}
	if p.noPIDNS {
		c.Namespaces = configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWIPC}, {Type: configs.NEWUTS}}
	}
	if cfg.Network == NetworkNone {
		c.Namespaces = append(c.Namespaces, configs.Namespace{Type: configs.NEWNET})
		c.Networks = []*configs.Network{{Type: "loopback"}}
	}
	if m.rootless {
		c.Namespaces = append(c.Namespaces, configs.Namespace{Type: configs.NEWUSER})
		// Exactly these maps: container root must be mapped, and only a
		// gid map of {0, egid, 1} lets libcontainer write it without
		// newgidmap (it then denies setgroups itself).
		c.UIDMappings = []configs.IDMap{{ContainerID: 0, HostID: int64(m.uid), Size: 1}}
		c.GIDMappings = []configs.IDMap{{ContainerID: 0, HostID: int64(m.gid), Size: 1}}
		c.RootlessEUID = !m.euid0
	}
	for _, v := range view {
		c.Mounts = append(c.Mounts, bindMount(v.source, v.dest, true))
	}
	c.Mounts = append(c.Mounts, systemMounts(cfg, m, p)...)
	for _, mt := range mounts {
		c.Mounts = append(c.Mounts, bindMount(mt.Source, mt.Destination, mt.ReadOnly))
	}
	c.Cgroups = cgroupConfig(cfg, m, id)
	c.RootlessCgroups = c.Cgroups.Rootless
	return c
}

// cgroupConfig places the container in cgroup kiln/<name> with the limits
// when the machine allows it; otherwise the container stays in the
// caller's cgroup and libcontainer ignores cgroup errors.
func cgroupConfig(cfg Config, m mode, id string) *cgroups.Cgroup {
	if !m.cgroupLimits() {
		return &cgroups.Cgroup{Parent: "kiln", Name: id, Rootless: true, Resources: &cgroups.Resources{}}
	}
	if !cfg.Limits.cgroups() {
		// Nothing to enforce: a cgroup file system root cannot write (in
		// a container, say) must not stop the container.
		return &cgroups.Cgroup{Parent: "kiln", Name: id, Rootless: true, Resources: &cgroups.Resources{}}
	}
	r := &cgroups.Resources{Memory: cfg.Limits.Memory}
	if cfg.Limits.PIDs > 0 {
		p := cfg.Limits.PIDs
		r.PidsLimit = &p
	}
	if cfg.Limits.CPUs > 0 {
		r.CpuPeriod = 100000
		r.CpuQuota = int64(cfg.Limits.CPUs * 100000)
	}
	// No device rules: their cgroup manager would add a dependency
	// (cilium/ebpf) for little gain, since /dev is a tmpfs holding only
	// the allowed nodes, every other mount is nodev, and no process of the
	// container can mknod.
	return &cgroups.Cgroup{Parent: "kiln", Name: id, Resources: r}
}

// cgroups reports whether l asks for cgroup limits.
func (l Limits) cgroups() bool { return l.Memory > 0 || l.PIDs > 0 || l.CPUs > 0 }

// rlimits are set explicitly: inherited ones differ between root and users.
func rlimits(l Limits) []configs.Rlimit {
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
	rs := []configs.Rlimit{
		{Type: unix.RLIMIT_NOFILE, Soft: nofile, Hard: nofile},
		{Type: unix.RLIMIT_CORE, Soft: 0, Hard: 0},
	}
	if l.NProc > 0 {
		rs = append(rs, configs.Rlimit{Type: unix.RLIMIT_NPROC, Soft: l.NProc, Hard: l.NProc})
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

// shimCapabilities are the pause shim's: what it needs to start zygotes
// and end processes. Rootless, writing a nested user namespace's map of the
// container's root needs CAP_SETFCAP (Linux ≥ 5.12), and the processes are
// all the caller's; as root, switching to the process's uid needs
// CAP_SETUID and CAP_SETGID, CAP_SETPCAP lets a zygote of uid 0 empty its
// bounding set, and CAP_KILL lets the shim kill processes of other uids.
// Zygotes drop everything.
func shimCapabilities(m mode) *configs.Capabilities {
	caps := []string{"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL"}
	if m.rootless {
		caps = []string{"CAP_SETFCAP"}
	}
	return &configs.Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
}

// Rootless reports whether containers run in a user namespace that maps
// the caller: kiln is not root, or is root only inside a user namespace.
// Root filesystems for the sandbox should then be unpacked rootless (no
// ownership, no device nodes), since the container cannot show other ids.
func Rootless() bool { return currentMode().rootless }
