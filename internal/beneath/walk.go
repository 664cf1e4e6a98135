//go:build unix

package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// WalkFunc is called by Walk for each entry: rel is its name below the
// walked directory ("" for that directory itself), fi what fstatat said of
// it (a symlink is the link), and parent the open directory holding it
// (the walked directory itself for ""), through which to open it by
// fi.Name(). Returning fs.SkipDir for a directory skips its contents.
type WalkFunc func(rel string, fi *FileInfo, parent *Dir) error

// Walk walks d in the order of filepath.WalkDir: d itself, then each entry
// in name order, depth first. Directories are entered through handles
// opened below their parent's, so that the walk never follows a symlink
// and never leaves d, whatever is renamed while it runs.
func (d *Dir) Walk(fn WalkFunc) error {
	fi, err := d.Stat()
	if err != nil {
		return err
	}
	if err := fn("", fi, d); err != nil {
		if errors.Is(err, fs.SkipDir) {
			return nil
		}
		return err
	}
	return d.walk("", fn)
}

// walk calls fn for the entries of d, whose name below the walk's root is
// rel.
func (d *Dir) walk(rel string, fn WalkFunc) error {
	names, err := d.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		fi := &FileInfo{name: n}
		if err := unix.Fstatat(d.fd(), n, &fi.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed since the listing, as WalkDir skips it
			}
			return &fs.PathError{Op: "lstat", Path: d.Path(n), Err: err}
		}
		name := n
		if rel != "" {
			name = path.Join(rel, n)
		}
		err := fn(name, fi, d)
		if !fi.IsDir() || errors.Is(err, fs.SkipDir) {
			if err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		fd, err := openNoFollowDir(d.fd(), n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
		if err != nil {
			return &fs.PathError{Op: "open", Path: d.Path(n), Err: dirErr(err)}
		}
		sub := &Dir{f: os.NewFile(uintptr(fd), d.f.Name()+"/"+n), name: d.Path(n)}
		err = sub.walk(name, fn)
		sub.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// OpenSame opens the regular file name for reading, checking that it is
// still the file fi (from Walk or Lstat) describes: a file replaced since
// it was seen is an error, never another file's data.
func (d *Dir) OpenSame(name string, fi *FileInfo) (*os.File, error) {
	f, now, err := d.OpenStat(name)
	if err != nil {
		return nil, err
	}
	if now.st.Dev != fi.st.Dev || now.st.Ino != fi.st.Ino || now.st.Size != fi.st.Size {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: d.Path(name), Err: ErrChanged}
	}
	return f, nil
}
