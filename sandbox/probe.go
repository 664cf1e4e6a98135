package sandbox

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The probes look at the machine, never at the environment or flags:
// whether the kernel lets kiln create the namespaces of a container,
// whether /proc (and /sys) have masked paths, and whether kiln runs inside
// a container.

var (
	probeOnce  sync.Once
	probeCause *UnavailableError
)

// probeNamespaces reports why the namespaces of a container cannot be
// created here, or nil. It clones a child into them that execs a missing
// file: the clone is the test, and no program runs. The answer is the
// same for the life of the process, so it is asked once.
func probeNamespaces(m mode) *UnavailableError {
	probeOnce.Do(func() { probeCause = probeClone(m) })
	return probeCause
}

func probeClone(m mode) *UnavailableError {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	sys := &syscall.SysProcAttr{Cloneflags: flags}
	if m.rootless {
		sys.Cloneflags |= unix.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: m.uid, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: m.gid, Size: 1}}
		sys.GidMappingsEnableSetgroups = false
	}
	const missing = "/nonexistent/kiln-sandbox-probe"
	_, err := syscall.ForkExec(missing, []string{missing}, &syscall.ProcAttr{Sys: sys})
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil // cloned; the exec failed as it should (and the child was reaped)
	}
	return classify(m, err, "/proc")
}

// classify turns the error of creating namespaces into a cause and a way
// out, reading the settings under proc (normally /proc).
func classify(m mode, err error, proc string) *UnavailableError {
	u := &UnavailableError{Level: LevelNamespaces, Err: err}
	switch {
	case errors.Is(err, unix.EPERM) && seccompFiltered(filepath.Join(proc, "self/status")):
		u.Cause = "a seccomp filter refuses unshare and clone with namespace flags (the container runtime's default " +
			"profile: Docker's, Kubernetes' RuntimeDefault; clone3 answers ENOSYS there)"
		u.Fix = "run the container with a seccomp profile that allows them (Kubernetes: securityContext.seccompProfile " +
			"type Unconfined or a Localhost profile allowing unshare, clone with CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID, " +
			"mount and pivot_root; Docker: --security-opt seccomp=unconfined)"
	case m.rootless && m.euid0 && !hasCap(filepath.Join(proc, "self/status"), unix.CAP_SETFCAP):
		u.Cause = "kiln is root in a user namespace without CAP_SETFCAP, which mapping its uid 0 into a nested " +
			"user namespace needs (Linux ≥ 5.12): " + err.Error()
		u.Fix = "run kiln as a non-root user in the container (Kubernetes: runAsUser), or grant it CAP_SETFCAP"
		u.Err = errors.Join(ErrUserNamespaces, err)
	case m.rootless:
		if why := userNSBlocker(filepath.Join(proc, "sys"), true); why != nil {
			u.Cause, u.Fix, u.Err = splitBlocker(why), blockerFix(why), errors.Join(ErrUserNamespaces, err)
			break
		}
		u.Cause = "the kernel refuses an unprivileged user namespace: " + err.Error()
		u.Fix = "allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0), or run kiln as root"
		u.Err = errors.Join(ErrUserNamespaces, err)
	default:
		u.Cause = "kiln runs as root without CAP_SYS_ADMIN, which mount and PID namespaces need: " + err.Error()
		u.Fix = "run kiln as an ordinary user (it then uses a user namespace), or give it CAP_SYS_ADMIN"
	}
	return u
}

// splitBlocker and blockerFix take userNSBlocker's "what: setting; fix"
// text apart.
func splitBlocker(err error) string {
	s := strings.TrimPrefix(err.Error(), ErrUserNamespaces.Error()+": ")
	cause, _, _ := strings.Cut(s, "; ")
	return "unprivileged user namespaces are off: " + cause
}

func blockerFix(err error) string {
	_, fix, _ := strings.Cut(err.Error(), "; ")
	return fix
}

// seccompFiltered reports whether the status file (/proc/self/status)
// says a seccomp filter applies.
func seccompFiltered(status string) bool {
	return statusValue(status, "Seccomp") == "2"
}

// hasCap reports whether the status file (/proc/self/status) shows
// capability c as effective.
func hasCap(status string, c int) bool {
	v, err := strconv.ParseUint(statusValue(status, "CapEff"), 16, 64)
	return err == nil && v&(1<<uint(c)) != 0
}

// statusValue reads one field of a /proc/PID/status file.
func statusValue(status, field string) string {
	f, err := os.Open(status)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	id, parent string
	root       string // the path of the file system the mount shows
	point      string
	fstype     string
}

func readMountinfo(path string) []mountEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []mountEntry
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 1 {
			continue
		}
		ms = append(ms, mountEntry{id: a[0], parent: a[1], root: unescapeMount(a[3]), point: unescapeMount(a[4]), fstype: b[0]})
	}
	return ms
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(n)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	var n int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		n = n*8 + int(c-'0')
	}
	return byte(n), n < 256
}

// maskedSubmounts tells whether every mount of fstype (proc or sysfs)
// showing its whole file system has mounts on top of entries in it (masked
// paths, as container runtimes make them), which makes the kernel refuse
// a fresh mount of that type in a user namespace ("mount too revealing").
// It returns a few of those mount points, or "" when a fresh mount is fine.
func maskedSubmounts(fstype string) string {
	return maskedIn(readMountinfo("/proc/self/mountinfo"), fstype)
}

func maskedIn(ms []mountEntry, fstype string) string {
	var masked []string
	visible := false
	for _, m := range ms {
		if m.fstype != fstype || m.root != "/" {
			continue
		}
		var over []string
		for _, c := range ms {
			// Mount points the kernel keeps empty (binfmt_misc,
			// cgroup hierarchies) hide nothing.
			if c.parent == m.id && !emptyMountpoint(c.point) {
				over = append(over, c.point)
			}
		}
		if len(over) == 0 {
			visible = true
			break
		}
		masked = append(masked, over...)
	}
	if visible || len(masked) == 0 {
		return ""
	}
	if len(masked) > 3 {
		masked = append(masked[:3], "…")
	}
	return strings.Join(masked, ", ")
}

func emptyMountpoint(p string) bool {
	return p == "/proc/sys/fs/binfmt_misc" || p == "/sys/fs/cgroup" || p == "/sys/kernel/security" ||
		p == "/sys/fs/fuse/connections" || p == "/sys/kernel/debug" || p == "/sys/kernel/tracing" ||
		p == "/sys/fs/bpf" || p == "/sys/fs/pstore" || p == "/sys/kernel/config"
}

// inContainer names the sign that kiln runs inside a container, or "".
// The root mount is the strongest one: a container's root is an overlay or
// a bind of a directory of the host, a machine's is a whole file system
// (btrfs subvolumes aside). /.dockerenv alone is not trusted: machine
// images built from container images keep it.
func inContainer() string {
	for _, f := range []string{"/run/.containerenv", "/var/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io"} {
		if _, err := os.Stat(f); err == nil {
			return f + " exists"
		}
	}
	return rootMountSign(readMountinfo("/proc/self/mountinfo"))
}

func rootMountSign(ms []mountEntry) string {
	var root *mountEntry
	for i := range ms {
		if ms[i].point == "/" {
			root = &ms[i] // the last one is on top
		}
	}
	switch {
	case root == nil:
		return ""
	case root.fstype == "overlay" || root.fstype == "fuse-overlayfs" || root.fstype == "fuse.fuse-overlayfs" || root.fstype == "aufs":
		return "the root filesystem is " + root.fstype
	case root.root != "/" && root.fstype != "btrfs":
		return "the root filesystem is " + root.root + " of a " + root.fstype + " file system"
	}
	return ""
}
