package beneath

import (
	"errors"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pathFlag opens the intermediate directories of a name: only their
// handle is needed, so no read permission either.
const pathFlag = unix.O_PATH

// noOpenat2 is set once openat2 turned out unavailable (an old kernel, or a
// seccomp profile that denies it).
var noOpenat2 atomic.Bool

// errNoOpenat2 tells resolveDir to walk component by component.
var errNoOpenat2 = errors.New("openat2 unavailable")

// openat2 opens name below dirfd, the kernel refusing any symlink and any
// escape.
func openat2(dirfd int, name string, flags int) (int, error) {
	if noOpenat2.Load() {
		return -1, errNoOpenat2
	}
	how := unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(dirfd, name, &how)
		switch {
		case err == nil:
			return fd, nil
		case (errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)) && try < 16:
			continue // EAGAIN: a rename raced the lookup; try again
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			// EPERM: seccomp profiles that predate openat2 deny it so.
			noOpenat2.Store(true)
			return -1, errNoOpenat2
		}
		return -1, err
	}
}

// chmodHandle changes the mode of the file behind fd, which may be an
// O_PATH handle (fchmod refuses those): through its /proc/self/fd link,
// which names that very inode.
func chmodHandle(fd int, mode uint32) error {
	if err := unix.Fchmod(fd, mode); err == nil || !errors.Is(err, unix.EBADF) {
		return err
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

// HandlePath returns a path that names d's directory through its handle,
// /proc/self/fd/N, for path-based code (an unpacker) that must not be
// steered elsewhere by a rename or a symlink planted while it works. It
// is valid while d is open.
func (d *Dir) HandlePath() string {
	return "/proc/self/fd/" + strconv.Itoa(d.fd())
}
