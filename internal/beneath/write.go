//go:build unix

package beneath

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MkdirAll creates the directory name and its missing parents below d,
// with mode (less the umask), and opens it. An existing symlink on the way
// is ErrSymlink, an existing non-directory ErrNotDir.
func (d *Dir) MkdirAll(name string, mode fs.FileMode) (*Dir, error) {
	dir, base, err := split(name)
	if err != nil {
		return nil, &fs.PathError{Op: "mkdir", Path: d.Path(name), Err: err}
	}
	var parts []string
	if dir != "" {
		parts = strings.Split(dir, "/")
	}
	if base != "" {
		parts = append(parts, base)
	}
	cur, done := d.fd(), ""
	for i, c := range parts {
		flags := pathFlag | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		done = joinName(done, c)
		fd, err := openNoFollowDir(cur, c, flags)
		if errors.Is(err, unix.ENOENT) {
			if err = unix.Mkdirat(cur, c, uint32(mode.Perm())); err == nil || errors.Is(err, unix.EEXIST) {
				fd, err = openNoFollowDir(cur, c, flags)
			}
		}
		if cur != d.fd() {
			unix.Close(cur)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "mkdir", Path: d.Path(done), Err: dirErr(err)}
		}
		cur = fd
	}
	if cur == d.fd() {
		return d.OpenDir(".")
	}
	return &Dir{f: os.NewFile(uintptr(cur), d.f.Name()+"/"+done), name: d.Path(name)}, nil
}

func joinName(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

// Mkdir creates the directory name with mode (less the umask).
func (d *Dir) Mkdir(name string, mode fs.FileMode) error {
	pfd, base, release, err := d.parent("mkdir", name)
	if err != nil {
		return err
	}
	defer release()
	if err := unix.Mkdirat(pfd, base, uint32(mode.Perm())); err != nil {
		return &fs.PathError{Op: "mkdir", Path: d.Path(name), Err: err}
	}
	return nil
}

// MkdirTemp creates a new directory named prefix + random characters in d,
// mode 0700, and returns its name.
func (d *Dir) MkdirTemp(prefix string) (string, error) {
	if strings.Contains(prefix, "/") {
		return "", &fs.PathError{Op: "mkdirtemp", Path: d.Path(prefix), Err: ErrUnsafeName}
	}
	for {
		name := prefix + random()
		err := unix.Mkdirat(d.fd(), name, 0o700)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return "", &fs.PathError{Op: "mkdir", Path: d.Path(name), Err: err}
		}
	}
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// WriteFile replaces name with data, mode exactly perm: the data goes to a
// new temp file beside it, renamed over name, so that readers never see a
// part and an existing symlink or FIFO at name is replaced, not followed.
// It does not sync: the trees it is for are thrown away after a crash.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode) error {
	return d.WriteFrom(name, strings.NewReader(string(data)), perm)
}

// WriteFrom is WriteFile with the content read from r.
func (d *Dir) WriteFrom(name string, r io.Reader, perm fs.FileMode) error {
	pfd, base, release, err := d.parent("write", name)
	if err != nil {
		return err
	}
	defer release()
	if base == "" {
		return &fs.PathError{Op: "write", Path: d.Path(name), Err: ErrNotRegular}
	}
	var fd int
	var tmp string
	for {
		tmp = ".tmp-" + base + "-" + random()
		fd, err = unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: d.Path(name), Err: err}
	}
	f := os.NewFile(uintptr(fd), d.Path(tmp))
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(pfd, tmp, pfd, base)
	}
	if err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return &fs.PathError{Op: "write", Path: d.Path(name), Err: err}
	}
	return nil
}

// Lchown changes the owner of name itself (a symlink is not followed).
func (d *Dir) Lchown(name string, uid, gid int) error {
	pfd, base, release, err := d.parent("lchown", name)
	if err != nil {
		return err
	}
	defer release()
	if base == "" {
		err = unix.Fchown(d.fd(), uid, gid)
	} else {
		err = unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return &fs.PathError{Op: "lchown", Path: d.Path(name), Err: err}
	}
	return nil
}

// Chmod changes the mode of d itself.
func (d *Dir) Chmod(mode fs.FileMode) error {
	if err := unix.Fchmod(d.fd(), uint32(mode.Perm())); err != nil {
		return &fs.PathError{Op: "chmod", Path: d.name, Err: err}
	}
	return nil
}

// Rename renames oldname below d to newname below to (which may be d),
// replacing what newname held unless it is a non-empty directory. Neither
// name's directory part may go through a symlink; a symlink as the last
// component is renamed or replaced itself.
func (d *Dir) Rename(oldname string, to *Dir, newname string) error {
	opfd, obase, orelease, err := d.parent("rename", oldname)
	if err != nil {
		return err
	}
	defer orelease()
	npfd, nbase, nrelease, err := to.parent("rename", newname)
	if err != nil {
		return err
	}
	defer nrelease()
	if obase == "" || nbase == "" {
		return &fs.PathError{Op: "rename", Path: d.Path(oldname), Err: ErrUnsafeName}
	}
	if err := unix.Renameat(opfd, obase, npfd, nbase); err != nil {
		return &os.LinkError{Op: "rename", Old: d.Path(oldname), New: to.Path(newname), Err: err}
	}
	return nil
}

// Remove removes the file or empty directory name.
func (d *Dir) Remove(name string) error {
	pfd, base, release, err := d.parent("remove", name)
	if err != nil {
		return err
	}
	defer release()
	if base == "" {
		return &fs.PathError{Op: "remove", Path: d.Path(name), Err: ErrUnsafeName}
	}
	err = unix.Unlinkat(pfd, base, 0)
	if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
		err = unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: d.Path(name), Err: err}
	}
	return nil
}

// RemoveAll removes name and everything below it, descending only through
// directory handles (a symlink is removed, never followed). A missing name
// is no error. Directories the caller owns but may not write or search
// are made so first.
func (d *Dir) RemoveAll(name string) error {
	pfd, base, release, err := d.parent("remove", name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return err
	}
	defer release()
	if base == "" {
		return &fs.PathError{Op: "remove", Path: d.Path(name), Err: ErrUnsafeName}
	}
	if err := removeAll(pfd, base); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: d.Path(name), Err: err}
	}
	return nil
}

// removeAll removes base in the directory pfd.
func removeAll(pfd int, base string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := openNoFollowDir(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if errors.Is(err, unix.EACCES) {
		// Ours but unreadable (mode 0000): make it readable, then go in.
		if pathFd, perr := openNoFollowDir(pfd, base, pathFlag|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC); perr == nil {
			if chmodHandle(pathFd, 0o700) == nil {
				fd, err = openNoFollowDir(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
			}
			unix.Close(pathFd)
		}
	}
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	unix.Fchmod(fd, 0o700) // so that its entries can be removed; fails harmlessly if not ours
	for {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			if err := removeAll(fd, n); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
		if err == io.EOF || len(names) == 0 {
			break
		} else if err != nil {
			return err
		}
	}
	return unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR)
}
