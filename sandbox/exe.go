package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The init of a container is kiln's own executable, and the processes it
// starts are forked from it: until their exec, /proc/self/exe is that
// executable, so a program whose interpreter is /proc/self/exe (a "#!"
// line, an ELF interpreter) would run it again inside the container, as
// the container's user and dumpable, and could be reopened through
// /proc/PID/exe, for writing once nothing runs it any more (CVE-2019-5736).
// The file on the host may well be writable by that user: rootless, it is
// the caller's own; as root, uid 0 of a container without a user
// namespace owns a root-owned kiln. So the inits of containers run a copy
// of the executable in memory instead, sealed against any change, made once
// per kiln process: what a container can reach is that copy, never the
// file on the host. (The init itself is not dumpable: its /proc/PID/exe,
// fd, root and memory are closed to the container's processes.)

var sealed struct {
	once sync.Once
	f    *os.File
	err  error
}

// sealedExecutable returns the path, valid in kiln and in a child before
// its exec, of the sealed copy of kiln's executable, making it the first
// time.
func sealedExecutable() (string, error) {
	sealed.once.Do(func() { sealed.f, sealed.err = sealedCopy("/proc/self/exe") })
	if sealed.err != nil {
		return "", fmt.Errorf("copying kiln's executable for the container's init: %w", sealed.err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", sealed.f.Fd()), nil
}

// sealedCopy copies the file at src into a memory file that can be
// neither written, resized nor unsealed.
func sealedCopy(src string) (*os.File, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("kiln-sandbox-init", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("kiln-sandbox-init", flags) // Linux < 6.3
	}
	if err != nil {
		if errors.Is(err, unix.EACCES) {
			err = fmt.Errorf("%w (vm.memfd_noexec forbids executable memory files)", err)
		}
		return nil, fmt.Errorf("creating a memory file: %w", err)
	}
	f := os.NewFile(uintptr(fd), "kiln-sandbox-init")
	if err := copyAll(f, in); err != nil {
		f.Close()
		return nil, err
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the memory file: %w", err)
	}
	return f, nil
}

// copyAll copies in to out in the kernel (sendfile: about half the time
// of a copy through user space here, 6-7 ms for kiln's 21 MB), or by
// reading and writing where that is refused.
func copyAll(out, in *os.File) error {
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	var off int64
	for off < fi.Size() {
		n, err := unix.Sendfile(int(out.Fd()), int(in.Fd()), &off, int(min(fi.Size()-off, 1<<30)))
		if err != nil || n == 0 {
			if off == 0 {
				break // not supported here: copy through user space
			}
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	if off == fi.Size() {
		return nil
	}
	_, err = io.Copy(out, in)
	return err
}
