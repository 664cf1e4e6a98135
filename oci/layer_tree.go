package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// fileKey identifies an inode, to keep hard links as links.
type fileKey struct{ dev, ino uint64 }

// TreeSink receives the entries of a tree as a TreeWalker finds them: the
// calls LayerWriter makes for the files of a tree. Other sinks may hash
// them instead (the exporter's fingerprints do), and then see exactly what
// a layer would hold.
type TreeSink interface {
	Dir(name string, mode fs.FileMode, uid, gid int) error
	File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error
	Symlink(name, target string, uid, gid int) error
	Hardlink(name, target string, mode fs.FileMode, uid, gid int) error
	Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error
}

// TreeWalker walks trees into a TreeSink in the order and form of a layer:
// the sorted order of filepath.WalkDir, symlinks not followed, a file with
// several links given once and then as hard links (within a tree and
// across the trees one walker walks), sockets left out. Every entry is
// reached through directory handles (internal/beneath): a tree a buildpack
// wrote, or rearranges while it is walked, cannot make the walk leave it.
type TreeWalker struct {
	// Mode, when set, maps each entry's on-disk mode (see LayerOptions).
	Mode  func(name string, mode fs.FileMode) fs.FileMode
	links map[fileKey]string // inode → name of the first entry for it
}

// Walk feeds sink the tree at src under the entry name dst, every entry
// owned by uid:gid. dst "" gives relative names and no root entry; dst
// "/" absolute names and no root entry; any other dst is the root's entry.
// src's last component is not followed: a symlink (or a file) there is the
// tree's only entry.
func (t *TreeWalker) Walk(ctx context.Context, src, dst string, uid, gid int, sink TreeSink) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if abs == "/" {
		d, err := beneath.Open(abs, "")
		if err != nil {
			return err
		}
		defer d.Close()
		return t.WalkAt(ctx, d, dst, uid, gid, sink)
	}
	parent, err := beneath.Open(filepath.Dir(abs), "")
	if err != nil {
		return err
	}
	defer parent.Close()
	base := filepath.Base(abs)
	fi, err := parent.Lstat(base)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		d, err := parent.OpenDir(base)
		if err != nil {
			return err
		}
		defer d.Close()
		return t.WalkAt(ctx, d, dst, uid, gid, sink)
	}
	// A symlink or a file: the tree's only entry.
	if dst == "" || dst == "/" {
		return nil // no entry for the root of a layer
	}
	root, err := cleanEntryName(dst)
	if err != nil {
		return err
	}
	t.init()
	if err := t.entry(root, fi, parent, uid, gid, sink); err != nil {
		return fmt.Errorf("adding %s: %w", src, err)
	}
	return nil
}

// WalkAt is Walk of the open directory dir.
func (t *TreeWalker) WalkAt(ctx context.Context, dir *beneath.Dir, dst string, uid, gid int, sink TreeSink) error {
	root := ""
	if dst != "" && dst != "/" {
		var err error
		if root, err = cleanEntryName(dst); err != nil {
			return err
		}
	}
	t.init()
	return dir.Walk(func(rel string, fi *beneath.FileInfo, parent *beneath.Dir) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var name string
		switch {
		case rel != "":
			name = path.Join(dst, rel)
		case root != "":
			name = root
		default:
			return nil // no entry for the root of a layer
		}
		if err := t.entry(name, fi, parent, uid, gid, sink); err != nil {
			return fmt.Errorf("adding %s: %w", parent.Path(fi.Name()), err)
		}
		return nil
	})
}

func (t *TreeWalker) init() {
	if t.links == nil {
		t.links = map[fileKey]string{}
	}
}

// entry gives sink the entry for one file found by the walk in parent.
func (t *TreeWalker) entry(name string, fi *beneath.FileInfo, parent *beneath.Dir, uid, gid int, sink TreeSink) error {
	mode := fi.Mode()
	if t.Mode != nil {
		mode = t.Mode(name, mode)
	}
	st := fi.Stat()
	switch {
	case fi.IsDir():
		return sink.Dir(name, mode, uid, gid)
	case fi.Mode().IsRegular():
		if st.Nlink > 1 {
			key := fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}
			if first, ok := t.links[key]; ok {
				return sink.Hardlink(name, first, mode, uid, gid)
			}
			t.links[key] = name
		}
		f, err := parent.OpenSame(fi.Name(), fi)
		if err != nil {
			return err
		}
		defer f.Close() // read-only
		return sink.File(name, mode, uid, gid, fi.Size(), f)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := parent.Readlink(fi.Name())
		if err != nil {
			return err
		}
		return sink.Symlink(name, target, uid, gid)
	case fi.Mode()&(fs.ModeDevice|fs.ModeNamedPipe) != 0:
		return sink.Device(name, mode&^fs.ModeType|fi.Mode().Type(), uid, gid, uint64(st.Rdev))
	}
	return nil // sockets have no tar form; a layer never needs one
}

// tree writes the tree at src under the entry name dst (see
// TreeWalker.Walk), after the parents of dst with LayerOptions.Parents.
func (w *tarWriter) tree(ctx context.Context, src, dst string, uid, gid int) error {
	if dst != "" && dst != "/" && w.opts.Parents {
		root, err := cleanEntryName(dst)
		if err != nil {
			return err
		}
		if err := w.parents(src, root); err != nil {
			return err
		}
	}
	return w.walker.Walk(ctx, src, dst, uid, gid, tarSink{w})
}

// treeAt writes the tree dir under the entry name dst (see
// TreeWalker.WalkAt). Parents need paths: with LayerOptions.Parents it is
// an error.
func (w *tarWriter) treeAt(ctx context.Context, dir *beneath.Dir, dst string, uid, gid int) error {
	if w.opts.Parents {
		return errors.New("LayerOptions.Parents takes the parents from paths: use Tree")
	}
	return w.walker.WalkAt(ctx, dir, dst, uid, gid, tarSink{w})
}

// tarSink is a tarWriter as a TreeSink.
type tarSink struct{ w *tarWriter }

func (s tarSink) Dir(name string, mode fs.FileMode, uid, gid int) error {
	return s.w.dir(name, mode, uid, gid)
}

func (s tarSink) File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	return s.w.file(name, mode, uid, gid, size, r)
}

func (s tarSink) Symlink(name, target string, uid, gid int) error {
	return s.w.symlink(name, target, uid, gid)
}

func (s tarSink) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	return s.w.hardlink(name, target, mode, uid, gid)
}

// Device writes a character or block device or a FIFO.
func (s tarSink) Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error {
	hdr := s.w.header(tar.TypeFifo, name, mode, uid, gid)
	if mode&fs.ModeDevice != 0 {
		hdr.Typeflag = tar.TypeBlock
		if mode&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor = int64(unix.Major(rdev))
		hdr.Devminor = int64(unix.Minor(rdev))
	}
	return s.w.tw.WriteHeader(hdr)
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
