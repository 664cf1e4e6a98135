//go:build unix

// Package beneath opens files of untrusted trees (a build's /layers and
// /workspace, a cache tree) relative to directory handles: every name is
// resolved by the kernel below an open directory, no symbolic link is ever
// followed (not even inside the tree), and a name cannot leave the tree.
// On Linux a multi-component name is resolved with one openat2 call
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); elsewhere, or where openat2 is
// not allowed, component by component with O_NOFOLLOW. Either way the
// result cannot be steered out of the tree by a symlink or by renaming a
// directory while kiln works: a directory, once open, is its handle.
//
// Files read as data (TOML, env files, SBOMs) must be regular: they are
// opened O_NONBLOCK (a FIFO never blocks its reader) and checked with
// fstat, and ReadFile caps their size.
//
// Names are relative and slash-separated; "" and "." are the directory
// itself; absolute names and ".." components are ErrUnsafeName. Errors are
// *fs.PathError naming the file as Dir's display name joined with the name
// (a Dir opened for /layers can name its files by their container path).
package beneath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Sentinels, in the Err of the *fs.PathError returned.
var (
	// ErrUnsafeName is a name that is absolute or has a ".." component.
	ErrUnsafeName = errors.New("not a name below the directory")
	// ErrSymlink is a symbolic link on the way to, or at, a name.
	ErrSymlink = errors.New("is or goes through a symbolic link, which is not followed")
	// ErrNotRegular is a file opened for its data that is not a regular
	// file (a FIFO, a device, a socket, a directory).
	ErrNotRegular = errors.New("not a regular file")
	// ErrNotDir is a directory name whose file is not a directory.
	ErrNotDir = errors.New("not a directory")
	// ErrTooLarge is a file above ReadFile's limit.
	ErrTooLarge = errors.New("too large")
	// ErrChanged is a file replaced between a look at it and its opening.
	ErrChanged = errors.New("changed while it was read")
)

// Dir is an open directory. It is safe for concurrent use as long as it is
// not closed.
type Dir struct {
	f    *os.File
	name string // display name, for errors
}

// Open opens the directory at path, a path the caller trusts (kiln's own
// work directory, a mount point, a directory the user named), following
// any symlinks in it as a path; only names below it are untrusted. name is
// how errors name the directory (its container path, say); "" means path.
func Open(p, name string) (*Dir, error) {
	if name == "" {
		name = p
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: dirErr(err)}
	}
	return &Dir{f: os.NewFile(uintptr(fd), p), name: name}, nil
}

// Close closes the handle.
func (d *Dir) Close() error { return d.f.Close() }

// Name is the directory's display name.
func (d *Dir) Name() string { return d.name }

// Path is the display name of name below d.
func (d *Dir) Path(name string) string {
	if name == "" || name == "." {
		return d.name
	}
	if _, _, err := split(name); err != nil {
		return d.name + "/" + name // as given: cleaning would hide the escape
	}
	return path.Join(d.name, name)
}

// fd is the handle's descriptor.
func (d *Dir) fd() int { return int(d.f.Fd()) }

// split checks name and returns its directory part ("" for none) and its
// last component ("" for d itself).
func split(name string) (dir, base string, err error) {
	if strings.HasPrefix(name, "/") {
		return "", "", ErrUnsafeName
	}
	var parts []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			return "", "", ErrUnsafeName
		default:
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "", "", nil
	}
	return strings.Join(parts[:len(parts)-1], "/"), parts[len(parts)-1], nil
}

// parent returns the open parent directory of name and its last
// component; release closes the parent when it is not d. base is "" when
// name is d itself.
func (d *Dir) parent(op, name string) (fd int, base string, release func(), err error) {
	dir, base, err := split(name)
	if err != nil {
		return -1, "", nil, &fs.PathError{Op: op, Path: d.Path(name), Err: err}
	}
	if dir == "" {
		return d.fd(), base, func() {}, nil
	}
	pfd, err := resolveDir(d.fd(), dir, pathFlag)
	if err != nil {
		return -1, "", nil, &fs.PathError{Op: op, Path: d.Path(dir), Err: dirErr(err)}
	}
	return pfd, base, func() { unix.Close(pfd) }, nil
}

// resolveDir opens the directory dir (checked by split) below dirfd with
// flags, following no symlink.
func resolveDir(dirfd int, dir string, flags int) (int, error) {
	flags |= unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if fd, err := openat2(dirfd, dir, flags); err != errNoOpenat2 {
		if errors.Is(err, unix.ENOTDIR) && hasSymlink(dirfd, dir) {
			err = unix.ELOOP // O_DIRECTORY reports a final symlink so
		}
		return fd, err
	}
	cur := dirfd
	for _, c := range strings.Split(dir, "/") {
		fd, err := openNoFollowDir(cur, c, flags)
		if cur != dirfd {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	if cur == dirfd {
		return unix.Dup(dirfd)
	}
	return cur, nil
}

// openNoFollowDir opens the directory c in dirfd, refusing a symlink even
// where O_PATH would open the link itself.
func openNoFollowDir(dirfd int, c string, flags int) (int, error) {
	fd, err := unix.Openat(dirfd, c, flags, 0)
	if errors.Is(err, unix.ENOTDIR) && hasSymlink(dirfd, c) {
		return -1, unix.ELOOP // O_DIRECTORY reports a symlink so
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fd, nil
	case unix.S_IFLNK:
		unix.Close(fd)
		return -1, unix.ELOOP
	}
	unix.Close(fd)
	return -1, unix.ENOTDIR
}

// hasSymlink reports whether the last component of dir (below dirfd) is
// a symlink, to tell why opening it as a directory failed.
func hasSymlink(dirfd int, dir string) bool {
	var st unix.Stat_t
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		pfd, err := resolveDir(dirfd, dir[:i], pathFlag)
		if err != nil {
			return false
		}
		defer unix.Close(pfd)
		dirfd, dir = pfd, dir[i+1:]
	}
	return unix.Fstatat(dirfd, dir, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// dirErr turns the errno of opening a directory into the package's
// sentinels where one applies.
func dirErr(err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return ErrSymlink
	case errors.Is(err, unix.ENOTDIR):
		return ErrNotDir
	case errors.Is(err, unix.EXDEV):
		return ErrUnsafeName
	}
	return err
}

// OpenDir opens the directory name below d, for reading and as a handle
// for names below it. Its display name is d's joined with name.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	dir, base, err := split(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: err}
	}
	rel := base
	if dir != "" {
		rel = dir + "/" + base
	}
	if rel == "" {
		rel = "."
	}
	fd, err := resolveDir(d.fd(), rel, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: dirErr(err)}
	}
	return &Dir{f: os.NewFile(uintptr(fd), d.f.Name()+"/"+rel), name: d.Path(name)}, nil
}

// Open opens the regular file name for reading, O_NONBLOCK so that a FIFO
// cannot block; anything but a regular file is ErrNotRegular.
func (d *Dir) Open(name string) (*os.File, error) {
	f, _, err := d.OpenStat(name)
	return f, err
}

// OpenStat is Open that also returns what fstat says of the opened file.
func (d *Dir) OpenStat(name string) (*os.File, *FileInfo, error) {
	pfd, base, release, err := d.parent("open", name)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	if base == "" {
		return nil, nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: ErrNotRegular}
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = ErrSymlink
		}
		return nil, nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: err}
	}
	fi := &FileInfo{name: base}
	if err := unix.Fstat(fd, &fi.st); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "stat", Path: d.Path(name), Err: err}
	}
	if !fi.Mode().IsRegular() {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(fi.Mode()))}
	}
	return os.NewFile(uintptr(fd), d.Path(name)), fi, nil
}

// ReadFile reads the regular file name, at most limit bytes; a larger file
// is ErrTooLarge.
func (d *Dir) ReadFile(name string, limit int64) ([]byte, error) {
	f, fi, err := d.OpenStat(name)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read-only
	if fi.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: d.Path(name), Err: fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, fi.Size(), limit)}
	}
	buf := make([]byte, 0, fi.Size()+1)
	for {
		if int64(len(buf)) > limit {
			return nil, &fs.PathError{Op: "read", Path: d.Path(name), Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return nil, &fs.PathError{Op: "read", Path: d.Path(name), Err: err}
		}
	}
}

// Lstat describes name without following it.
func (d *Dir) Lstat(name string) (*FileInfo, error) {
	pfd, base, release, err := d.parent("lstat", name)
	if err != nil {
		return nil, err
	}
	defer release()
	fi := &FileInfo{name: base}
	if base == "" {
		fi.name = "."
		err = unix.Fstat(d.fd(), &fi.st)
	} else {
		err = unix.Fstatat(pfd, base, &fi.st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.Path(name), Err: err}
	}
	return fi, nil
}

// Stat describes d itself.
func (d *Dir) Stat() (*FileInfo, error) { return d.Lstat("") }

// Readlink returns the target of the symbolic link name.
func (d *Dir) Readlink(name string) (string, error) {
	pfd, base, release, err := d.parent("readlink", name)
	if err != nil {
		return "", err
	}
	defer release()
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(pfd, base, buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: d.Path(name), Err: err}
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Names returns the names in d, sorted.
func (d *Dir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.name, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.name)
	defer f.Close() // read-only
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: err}
	}
	slices.Sort(names)
	return names, nil
}

// Kind names a file type for messages: "a symbolic link", "a named pipe", ….
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a regular file"
}
