package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Mount tables as container runtimes leave them (runc's defaults) and as
// a machine has them.
const (
	hostMountinfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
22 27 0:21 / /proc rw,relatime - proc proc rw
40 22 0:50 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
41 23 0:51 / /sys/fs/cgroup rw - tmpfs tmpfs rw
`
	podMountinfo = `91 67 254:0 /var/lib/runc/rootfs / ro,relatime - ext4 /dev/vda rw
92 91 0:41 / /proc rw,relatime - proc proc rw
97 91 0:22 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs rw
98 97 0:45 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
68 92 0:41 /bus /proc/bus ro,relatime - proc proc rw
71 92 0:41 /sys /proc/sys ro,relatime - proc proc rw
72 92 0:47 / /proc/acpi ro,relatime - tmpfs tmpfs ro
73 92 0:42 /null /proc/keys rw,nosuid - tmpfs tmpfs rw
75 97 0:48 / /sys/firmware ro,relatime - tmpfs tmpfs ro
`
	dockerMountinfo = `500 400 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
501 500 0:61 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
`
)

func mountinfo(t *testing.T, text string) []mountEntry {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return readMountinfo(p)
}

func TestMaskedProc(t *testing.T) {
	for _, tc := range []struct {
		name, table, fstype, want string
	}{
		{"host proc", hostMountinfo, "proc", ""},
		{"host sysfs", hostMountinfo, "sysfs", ""},
		{"pod proc", podMountinfo, "proc", "/proc/bus, /proc/sys, /proc/acpi, …"},
		{"pod sysfs", podMountinfo, "sysfs", "/sys/firmware"},
		{"docker unmasked", dockerMountinfo, "proc", ""},
		// One fully visible procfs is enough for the kernel.
		{"one visible", podMountinfo + "120 91 0:41 / /mnt/proc rw - proc proc rw\n", "proc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maskedIn(mountinfo(t, tc.table), tc.fstype); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRootMountSign(t *testing.T) {
	for _, tc := range []struct{ name, table, want string }{
		{"host", hostMountinfo, ""},
		{"runc", podMountinfo, "the root filesystem is /var/lib/runc/rootfs of a ext4 file system"},
		{"docker", dockerMountinfo, "the root filesystem is overlay"},
		{"btrfs subvolume", "27 1 0:30 /@ / rw - btrfs /dev/sda2 rw\n", ""},
		{"escaped", `27 1 0:30 /a\040b / rw - ext4 /dev/sda2 rw` + "\n", "the root filesystem is /a b of a ext4 file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rootMountSign(mountinfo(t, tc.table)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestClassify gives the causes of a refused clone from /proc trees made
// for each case.
func TestClassify(t *testing.T) {
	rootless := mode{rootless: true, uid: 1000, gid: 1000}
	for _, tc := range []struct {
		name  string
		m     mode
		err   error
		files map[string]string
		want  []string // in the message
		isNS  bool     // matches ErrUserNamespaces
	}{
		{"seccomp", rootless, unix.EPERM, map[string]string{"self/status": "Name:\tkiln\nSeccomp:\t2\n"},
			[]string{"seccomp filter refuses unshare and clone", "RuntimeDefault", "clone3", "seccompProfile", "use the none level"}, false},
		{"max_user_namespaces", rootless, unix.ENOSPC, map[string]string{"self/status": "Seccomp:\t0\n", "sys/user/max_user_namespaces": "0\n"},
			[]string{"user.max_user_namespaces is 0", "sysctl -w user.max_user_namespaces=15000"}, true},
		{"unprivileged_userns_clone", rootless, unix.EPERM, map[string]string{"self/status": "Seccomp:\t0\n", "sys/kernel/unprivileged_userns_clone": "0\n"},
			[]string{"kernel.unprivileged_userns_clone is 0"}, true},
		{"root in a user namespace without CAP_SETFCAP", mode{rootless: true, euid0: true, inUserNS: true}, unix.EPERM,
			map[string]string{"self/status": "Seccomp:\t0\nCapEff:\t0000000000000000\n"}, []string{"without CAP_SETFCAP", "runAsUser"}, true},
		{"root without CAP_SYS_ADMIN", mode{euid0: true}, unix.EPERM, map[string]string{"self/status": "Seccomp:\t0\n"},
			[]string{"without CAP_SYS_ADMIN"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc := t.TempDir()
			for name, content := range tc.files {
				os.MkdirAll(filepath.Dir(filepath.Join(proc, name)), 0o755)
				os.WriteFile(filepath.Join(proc, name), []byte(content), 0o644)
			}
			u := classify(tc.m, tc.err, proc)
			u.Fix += noneHint // as LevelAuto adds it
			msg := u.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if !errors.Is(u, ErrUnavailable) || errors.Is(u, ErrUserNamespaces) != tc.isNS {
				t.Errorf("errors.Is: ErrUnavailable %v, ErrUserNamespaces %v", errors.Is(u, ErrUnavailable), errors.Is(u, ErrUserNamespaces))
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"auto", "namespaces", "none"} {
		l, err := ParseLevel(s)
		if err != nil || l.String() != s {
			t.Errorf("%s: got %v, %v", s, l, err)
		}
	}
	if _, err := ParseLevel("chroot"); err == nil || !strings.Contains(err.Error(), "want auto, namespaces or none") {
		t.Errorf("chroot: %v", err)
	}
}

func TestCheckNone(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"in place", Config{Rootfs: "/", Mounts: []Mount{{Source: dir, Destination: dir}}}, ""},
		{"image root", Config{Rootfs: dir}, "Rootfs must be /"},
		{"private network", Config{Rootfs: "/", Network: NetworkNone}, "a private network needs the namespaces level"},
		{"mount elsewhere", Config{Rootfs: "/", Mounts: []Mount{{Source: dir, Destination: "/layers"}}}, "must already be at /layers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkNone(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Error(err)
				}
				return
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
