package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// setupRoot lays out the container's root in its own mount namespace and
// pivots into it. The root is the view (rootfs.go), made on a tmpfs: it
// holds only mount points, which get the image's entries bound read-only,
// the kernel file systems and the container's mounts, in the spec's order.
// Destinations are resolved in the view: its directories are kiln's own,
// or an image's checked to hold no symlink on the way (rootfs.go).
func setupRoot(sp *initSpec) error {
	// Nothing mounted here may reach the caller's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := sp.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mounting the root's tmpfs on %s: %w", root, err)
	}
	view, err := buildView(sp.Tree, root, sp.Dests)
	if err != nil {
		return fmt.Errorf("preparing the root of %s: %w", sp.Tree, err)
	}
	mounts := make([]mountSpec, 0, len(view)+len(sp.Mounts))
	for _, v := range view {
		mounts = append(mounts, bindSpec(v.source, v.dest, true))
	}
	for _, m := range append(mounts, sp.Mounts...) {
		if err := mountOne(root, m); err != nil {
			return fmt.Errorf("mounting %q on %s: %w", m.Kind, m.Dest, err)
		}
	}
	devNull := filepath.Join(root, "dev/null")
	for _, p := range sp.Masked {
		if err := mask(filepath.Join(root, p), devNull); err != nil {
			return fmt.Errorf("masking %s: %w", p, err)
		}
	}
	for _, p := range sp.ReadOnly {
		t := filepath.Join(root, p)
		if _, err := os.Lstat(t); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := unix.Mount(t, t, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", p, err)
		}
		if err := setAttr(t, unix.MOUNT_ATTR_RDONLY, true); err != nil {
			return fmt.Errorf("making %s read-only: %w", p, err)
		}
	}
	if err := pivot(root); err != nil {
		return err
	}
	// The root itself, not what is mounted on it (/tmp stays writable).
	if err := setAttr("/", unix.MOUNT_ATTR_RDONLY|nodevNosuid, false); err != nil {
		return fmt.Errorf("making the root read-only: %w", err)
	}
	return nil
}

// mountOne makes one mount below root.
func mountOne(root string, m mountSpec) error {
	t := filepath.Join(root, m.Dest)
	switch m.Kind {
	case "bind":
		if err := mountPoint(m.Source, t); err != nil {
			return err
		}
		if err := unix.Mount(m.Source, t, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		return setAttr(t, m.Attr, true)
	case "dev":
		return setupDev(t, m.Data)
	case "proc", "sysfs", "tmpfs":
		return unix.Mount(m.Kind, t, m.Kind, m.Flags, m.Data)
	}
	return fmt.Errorf("unknown mount kind %q", m.Kind)
}

// mountPoint creates t for a bind of source when it is missing: a
// destination inside one of the container's fresh file systems (/tmp/…),
// which the view could not hold. Nothing else runs in the container yet.
func mountPoint(source, t string) error {
	if _, err := os.Lstat(t); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	fi, err := os.Stat(source)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.MkdirAll(t, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
		return err
	}
	return placeholder(t, false)
}

// setAttr sets the MOUNT_ATTR_* flags attr on the mount at t (and every
// mount below it when recursive). Without mount_setattr (Linux < 5.12)
// it remounts the top mount alone, keeping the flags it has.
func setAttr(t string, attr uint64, recursive bool) error {
	if attr == 0 {
		return nil
	}
	var flags uint
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	err := unix.MountSetattr(unix.AT_FDCWD, t, flags, &unix.MountAttr{Attr_set: attr})
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(t, &st); err != nil {
		return err
	}
	ms := uintptr(unix.MS_REMOUNT | unix.MS_BIND)
	for _, f := range [][2]uint64{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uint64(st.Flags)&f[0] != 0 {
			ms |= uintptr(f[1])
		}
	}
	for _, f := range [][2]uint64{
		{unix.MOUNT_ATTR_RDONLY, unix.MS_RDONLY}, {unix.MOUNT_ATTR_NOSUID, unix.MS_NOSUID},
		{unix.MOUNT_ATTR_NODEV, unix.MS_NODEV}, {unix.MOUNT_ATTR_NOEXEC, unix.MS_NOEXEC},
	} {
		if attr&f[0] != 0 {
			ms |= uintptr(f[1])
		}
	}
	return unix.Mount("", t, "", ms, "")
}

// setupDev mounts the container's /dev at t: a tmpfs with the caller's
// device nodes bound onto empty files, devpts (ptsData), shm and mqueue.
func setupDev(t, ptsData string) error {
	if err := unix.Mount("tmpfs", t, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, d := range devices {
		if _, err := os.Stat(d); err != nil {
			continue // the caller has none to give
		}
		p := filepath.Join(t, filepath.Base(d))
		if err := placeholder(p, false); err != nil {
			return err
		}
		if err := unix.Mount(d, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding %s: %w", d, err)
		}
	}
	for _, sub := range []struct {
		name, fstype, data string
		flags              uintptr
	}{
		{"pts", "devpts", ptsData, unix.MS_NOSUID | unix.MS_NOEXEC},
		{"shm", "tmpfs", "mode=1777,size=65536k", common},
		{"mqueue", "mqueue", "", common},
	} {
		p := filepath.Join(t, sub.name)
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(sub.fstype, p, sub.fstype, sub.flags, sub.data); err != nil {
			return fmt.Errorf("mounting %s: %w", sub.fstype, err)
		}
	}
	for _, l := range [][2]string{
		{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	} {
		if err := os.Symlink(l[0], filepath.Join(t, l[1])); err != nil {
			return err
		}
	}
	return nil
}

// mask hides the path t: an empty read-only tmpfs on a directory, the
// null device on anything else.
func mask(t, devNull string) error {
	fi, err := os.Lstat(t)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return unix.Mount("tmpfs", t, "tmpfs", unix.MS_RDONLY|common, "size=0")
	}
	return unix.Mount(devNull, t, "", unix.MS_BIND, "")
}

// pivot makes root the root of the mount namespace and detaches the old
// one.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("entering the root: %w", err)
	}
	// The old root ends up stacked on top of the new one, at ".".
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return unix.Chdir("/")
}

// loopbackUp brings up lo of a private network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
