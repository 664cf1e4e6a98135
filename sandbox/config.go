package sandbox

import (
	"io"
	"log/slog"
	"os"
)

// Network selects the network namespace of a container.
type Network int

const (
	// NetworkHost shares the caller's network namespace: a server started in
	// the container is reachable on the host's ports. It is the default.
	NetworkHost Network = iota
	// NetworkNone gives the container a private network namespace with only
	// a loopback interface.
	NetworkNone
)

// String returns "host" or "none".
func (n Network) String() string {
	switch n {
	case NetworkHost:
		return "host"
	case NetworkNone:
		return "none"
	}
	return "unknown"
}

// Mount is a bind mount of a host path into the container.
type Mount struct {
	Source      string // host path, file or directory; it must exist
	Destination string // absolute path in the container
	ReadOnly    bool
}

// Limits are resource limits. Rlimits always apply; the cgroup limits
// (Memory, PIDs, CPUs) apply where the machine lets kiln create cgroups (as
// root) and are skipped with a notice on the logger otherwise. A zero value
// means the default.
type Limits struct {
	NoFile  uint64  // RLIMIT_NOFILE, soft and hard; default 65536
	NProc   uint64  // RLIMIT_NPROC, soft and hard; default unlimited (the user's own)
	Memory  int64   // cgroup memory limit in bytes; 0: none
	PIDs    int64   // cgroup pids limit; 0: none
	CPUs    float64 // cgroup CPU quota in CPUs (1.5 = one and a half); 0: none
	TmpSize int64   // size of the /tmp tmpfs in bytes; default 0 (half of RAM, the kernel default)
}

// Config describes a container.
type Config struct {
	// Level is how much the container isolates (see Level); default
	// LevelAuto.
	Level Level
	// Rootfs is an unpacked root filesystem. It is never written to and may
	// be shared by concurrent containers: the container's root is a private,
	// read-only view of it (see rootfs.go). At LevelNone it must be "/".
	Rootfs string
	// Mounts are bind mounts, in order. Destinations inside the image may
	// be missing from Rootfs; they are created in the private view. At
	// LevelNone nothing is mounted: each Source must be its Destination,
	// and ReadOnly is not enforced.
	Mounts []Mount
	// Network is NetworkHost (default) or NetworkNone.
	Network Network
	// Hostname is the container's host name; default "kiln".
	Hostname string
	// StateDir holds the containers' root views (rootfs.go). It is
	// created 0700 when missing and must be private to the calling user.
	// Views left there by a crashed kiln are removed by the next Start.
	// LevelNone does not use it.
	StateDir string
	// Limits are the resource limits.
	Limits Limits
	// UID and GID are the ids the container's processes run as (Run uses
	// the process's). Rootless, a user namespace maps them onto the
	// caller; as root they are switched to. At LevelNone an ordinary user's
	// processes run as that user whatever these say.
	UID, GID int
	// Logger receives debug messages and one-line notices (such as
	// "cgroup limits skipped"); default: discard.
	Logger *slog.Logger
}

// Process describes one process run in a container.
type Process struct {
	// Args is the command line; Args[0] without a slash is looked up in the
	// PATH of Env (or the default PATH) inside the container.
	Args []string
	// Env is the complete environment. kiln adds nothing to it except PATH
	// and HOME when they are missing.
	Env []string
	// Dir is the working directory inside the container; default "/".
	Dir string
	// UID and GID are the ids the process runs as inside the container:
	// the container's (Config.UID and GID). At LevelNone, an ordinary
	// user's processes run as that user whatever these say.
	UID, GID int
	// Stdin, Stdout and Stderr are the process's standard streams; nil
	// means /dev/null. *os.File values are handed over as they are, other
	// readers and writers are copied through pipes.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the process a pseudo-terminal as its controlling terminal
	// and standard streams (Stderr is then unused: the terminal merges
	// both outputs into Stdout).
	TTY bool
	// TTYSize is the initial terminal size (columns, rows); zero: 80x24.
	TTYSize [2]uint16
	// Resize, when set, resizes the terminal (columns, rows) on each value,
	// as a terminal emulator does on SIGWINCH.
	Resize <-chan [2]uint16
	// Signals, when set, are forwarded to the process's group as they
	// arrive (kiln run's Ctrl-C, say). Signals other than syscall.Signal
	// values are ignored.
	Signals <-chan os.Signal
}
