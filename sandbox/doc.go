// Package sandbox runs untrusted processes (buildpacks, images) in a runc
// libcontainer container on an unpacked root filesystem, started by an
// ordinary user without a daemon, newuidmap or any setuid helper, or by
// root through the same code.
//
// # Programs using it
//
// The sandbox re-executes the calling program inside containers, so the
// program must be a static cgo binary (libcontainer's nsenter is C; the
// binary runs on root filesystems without our libc) and must call Init
// first thing from a package init function, before flags are parsed; it
// may call Preseal right after (see there). Tests do the same in TestMain.
// Build with the seccomp tag and libseccomp's static library to get the
// seccomp filter (seccomp.go); without it processes run unfiltered.
//
// # How a container is laid out
//
// Start creates a libcontainer container with mount, PID, IPC and UTS
// namespaces (plus a network namespace with only loopback for
// NetworkNone), and, when the caller is not root, a user namespace mapping
// the caller, uid and gid, to the container's root: libcontainer needs
// container root mapped, and a single-id map of one's own ids needs no
// privilege. Its root is a read-only view of Config.Rootfs (rootfs.go), so
// a shared cache of unpacked images is never written; /tmp is a tmpfs,
// /proc, /dev, /sys and the masked and read-only paths are as container
// runtimes make them, rlimits are set, no new privileges are allowed, and
// cgroup limits apply when the caller may create cgroups (root).
//
// The container's PID 1 is kiln's pause shim (pause.go): it reaps
// orphans and starts, on request, one zygote per uid:gid (zygote.go).
// Rootless, a zygote gets a nested user namespace mapping its uid:gid onto
// the container's root, that is onto the caller: a buildpack sees uid 1000
// and the files it writes on a bind belong to the invoking user. With a
// single id mapped, files of the caller (a root filesystem unpacked by
// the caller, say) appear as the process's own, and files of anyone else
// as 65534 (nobody); the image's ownership is not kept. As root,
// the zygote is simply setuid, so its files belong to that host uid, which
// may be a real account on the host: give writable binds to that uid
// first. A zygote drops every capability, is not dumpable, loads the
// seccomp filter and then forks and execs each process it is asked for,
// in its own process group; so a process costs a fork and an exec rather
// than a "runc init" and a Go runtime start.
//
// kiln talks to the pause shim and the zygotes over unix sockets only it
// holds (proto.go). When kiln exits, even by SIGKILL, the sockets close:
// the zygotes kill their process groups and the pause shim exits, and the
// kernel kills whatever is left in the PID namespace. State a killed kiln
// left in Config.StateDir is removed by the next Start (stale.go).
//
// Rootless containers need unprivileged user namespaces; when a kernel or
// AppArmor setting forbids them, Start fails with ErrUserNamespaces naming
// the setting and the command that changes it.
//
// # Levels
//
// All of the above is LevelNamespaces. Inside an unprivileged pod it may
// be unavailable (the runtime's default seccomp profile refuses the
// namespaces) or degraded (a fresh procfs is refused where /proc has
// masked paths: the container then has no PID namespace of its own and
// binds the current /proc). LevelNone runs the same pause shim and zygotes
// as plain children of the caller on the current root filesystem, the pod
// being the sandbox; LevelAuto picks it only inside a container, on that
// container's own root. See Level, Choose and Isolation.
package sandbox
