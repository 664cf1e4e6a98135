package oci

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileKey identifies an inode, to keep hard links as links.
type fileKey struct{ dev, ino uint64 }

// tree writes the tree at src under the entry name dst, in the sorted order
// of filepath.WalkDir. dst "" gives relative names and no root entry; dst
// "/" absolute names and no root entry.
func (w *tarWriter) tree(ctx context.Context, src, dst string, uid, gid int) error {
	root := ""
	if dst != "" && dst != "/" {
		var err error
		if root, err = cleanEntryName(dst); err != nil {
			return err
		}
		if w.opts.Parents {
			if err := w.parents(src, root); err != nil {
				return err
			}
		}
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		var name string
		switch {
		case rel != ".":
			name = path.Join(dst, filepath.ToSlash(rel))
		case root != "":
			name = root
		default:
			return nil // no entry for the root of a layer
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := w.fromDisk(name, p, fi, uid, gid); err != nil {
			return fmt.Errorf("adding %s: %w", p, err)
		}
		return nil
	})
}

// fromDisk writes the entry for one file found by the walk.
func (w *tarWriter) fromDisk(name, p string, fi fs.FileInfo, uid, gid int) error {
	mode := fi.Mode()
	if w.opts.Mode != nil {
		mode = w.opts.Mode(name, mode)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.IsDir():
		return w.dir(name, mode, uid, gid)
	case fi.Mode().IsRegular():
		if st != nil && st.Nlink > 1 {
			key := fileKey{dev: uint64(st.Dev), ino: st.Ino}
			if first, ok := w.links[key]; ok {
				return w.hardlink(name, first, mode, uid, gid)
			}
			w.links[key] = name
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close() // read-only
		return w.file(name, mode, uid, gid, fi.Size(), f)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		return w.symlink(name, target, uid, gid)
	case fi.Mode()&(fs.ModeDevice|fs.ModeNamedPipe) != 0 && st != nil:
		hdr := w.header(tar.TypeFifo, name, mode, uid, gid)
		if fi.Mode()&fs.ModeDevice != 0 {
			hdr.Typeflag = tar.TypeBlock
			if fi.Mode()&fs.ModeCharDevice != 0 {
				hdr.Typeflag = tar.TypeChar
			}
			hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
			hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
		}
		return w.tw.WriteHeader(hdr)
	}
	return nil // sockets have no tar form; a layer never needs one
}

// parents writes entries for the parent directories of dst, outermost
// first, each with the mode and owner of the matching parent of src on
// disk: the parent of dst takes the parent of src, and so on up. Parents
// beyond "/" of src are root-owned 0755. Parents already written are
// skipped, so that several trees can share them.
func (w *tarWriter) parents(src, dst string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	var names []string
	for d := path.Dir(dst); d != "/" && d != "."; d = path.Dir(d) {
		names = append(names, d)
	}
	srcDir := filepath.Dir(abs)
	disk := make([]string, len(names)) // disk[i] matches names[i]; "" when none
	for i := range names {
		disk[i] = srcDir
		if srcDir == "/" {
			break
		}
		srcDir = filepath.Dir(srcDir)
	}
	for i := len(names) - 1; i >= 0; i-- {
		if w.dirs[names[i]] {
			continue
		}
		mode, uid, gid := fs.ModeDir|0o755, 0, 0
		if disk[i] != "" {
			fi, err := os.Stat(disk[i])
			if err != nil {
				return err
			}
			mode = fi.Mode()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
		if err := w.dir(names[i], mode, uid, gid); err != nil {
			return err
		}
	}
	return nil
}
