//go:build unix

package beneath

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// FileInfo is what fstat or fstatat said of a file.
type FileInfo struct {
	name string
	st   unix.Stat_t
}

var _ fs.FileInfo = (*FileInfo)(nil)

// Name is the file's last name component.
func (fi *FileInfo) Name() string { return fi.name }

// Size is the file's size in bytes.
func (fi *FileInfo) Size() int64 { return fi.st.Size }

// IsDir reports whether the file is a directory.
func (fi *FileInfo) IsDir() bool { return fi.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// ModTime is the file's modification time.
func (fi *FileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Sec, fi.st.Mtim.Nsec) }

// Sys returns the *unix.Stat_t.
func (fi *FileInfo) Sys() any { return &fi.st }

// Stat is the raw stat structure.
func (fi *FileInfo) Stat() *unix.Stat_t { return &fi.st }

// Mode is the file's type and permission bits as package os reports them.
func (fi *FileInfo) Mode() fs.FileMode { return FileMode(uint32(fi.st.Mode)) }

// FileMode maps a stat mode to the fs.FileMode package os gives it.
func FileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
