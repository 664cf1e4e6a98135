// Package sandbox runs untrusted processes (buildpacks, images) in a
// container on an unpacked root filesystem, started by an ordinary user
// without a daemon, newuidmap or any setuid helper, or by root through the
// same code.
//
// # Programs using it
//
// The sandbox re-executes the calling program as each container's init,
// so the program must be a static binary (it runs on root filesystems
// without our libc) and must call Init first thing from a package init
// function, before flags are parsed. Tests do the same in TestMain. Build
// with cgo, the seccomp tag and libseccomp's static library to get the
// seccomp filter (seccomp.go); without it processes run unfiltered.
//
// # How a container is laid out
//
// Start clones kiln's init (shim.go) into new mount, PID, IPC and UTS
// namespaces (plus a network namespace with only loopback for
// NetworkNone), and, when the caller is not root, a user namespace mapping
// the container's user (Config.UID and GID) onto the caller: a single-id
// map of one's own ids needs no privilege, so a buildpack sees uid 1000 and
// the files it writes on a bind belong to the invoking user. Files of the
// caller (a root filesystem unpacked by the caller, say) appear as the
// process's own, files of anyone else as 65534 (nobody); the image's
// ownership is not kept. As root, the init switches to the container's
// user, so its files belong to that host uid, which may be a real account
// on the host: give writable binds to that uid first.
//
// The init lays the root out: a read-only view of Config.Rootfs
// (rootfs.go), so that a shared cache of unpacked images is never written,
// a tmpfs /tmp, /proc, /dev and /sys with the masked and read-only paths of
// container runtimes, and the binds; it pivots into it, sets rlimits, drops
// every capability (the bounding set first), is not dumpable, sets
// no_new_privs and loads the seccomp filter, and then forks and execs each
// process it is asked for, in its own process group, with its stdio and
// no other descriptor (whatever kiln inherited is marked close-on-exec).
// The init runs a sealed copy of kiln's executable in memory (exe.go),
// made once per kiln process, so that nothing in a container can reach or
// rewrite the file on the host (the CVE-2019-5736 class). A container costs one runtime start (the
// init's) and no cgroup unless limits are asked for (as root); a process
// costs a fork and an exec.
//
// kiln talks to the init over a unix socket only it holds (proto.go). When
// kiln exits, even by SIGKILL, the socket closes, the init exits, and the
// kernel kills whatever is left in the PID namespace. A view a killed kiln
// left in Config.StateDir is removed by the next Start (stale.go).
//
// Rootless containers need unprivileged user namespaces; when a kernel,
// seccomp or AppArmor setting forbids them, Start fails with an
// *UnavailableError naming the setting and the way out.
//
// # Levels
//
// All of the above is LevelNamespaces. Inside an unprivileged pod it may
// be unavailable (the runtime's default seccomp profile refuses the
// namespaces) or degraded (a fresh procfs is refused where /proc has
// masked paths: the container then has no PID namespace of its own, binds
// the current /proc, and its init, the subreaper of what it starts, kills
// it all itself at the end). LevelNone runs the same init as a plain child
// of the caller on the current root filesystem, the pod being the sandbox;
// LevelAuto picks it only inside a container, on that container's own
// root. See Level, Choose and Isolation.
package sandbox
