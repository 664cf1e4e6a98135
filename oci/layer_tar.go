package oci

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// tarWriter writes deterministic tar entries and hashes the tar stream (the
// diffID) on its way to w.
type tarWriter struct {
	tw     *tar.Writer
	diffID *hashingWriter
	opts   LayerOptions
	mtime  time.Time
	walker TreeWalker      // keeps hard links across the layer's trees
	dirs   map[string]bool // directory entries written so far
	buf    []byte
}

func newTarWriter(w io.Writer, opts LayerOptions) *tarWriter {
	hw := &hashingWriter{w: w, h: sha256.New()}
	mtime := opts.ModTime
	if mtime.IsZero() {
		mtime = Epoch
	}
	return &tarWriter{
		tw:     tar.NewWriter(hw),
		diffID: hw,
		opts:   opts,
		mtime:  mtime.UTC(),
		walker: TreeWalker{Mode: opts.Mode},
		dirs:   map[string]bool{},
	}
}

// header returns a normalised header: PAX format, the layer's mtime, no
// user or group names, no access or change times.
func (w *tarWriter) header(typ byte, name string, mode fs.FileMode, uid, gid int) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     tarMode(mode),
		Uid:      uid,
		Gid:      gid,
		ModTime:  w.mtime,
		Format:   tar.FormatPAX,
	}
}

func (w *tarWriter) dir(name string, mode fs.FileMode, uid, gid int) error {
	if err := w.tw.WriteHeader(w.header(tar.TypeDir, name, mode, uid, gid)); err != nil {
		return err
	}
	w.dirs[name] = true
	return nil
}

func (w *tarWriter) file(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	hdr := w.header(tar.TypeReg, name, mode, uid, gid)
	hdr.Size = size
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if w.buf == nil {
		w.buf = make([]byte, 256<<10)
	}
	// Hide any WriterTo so that the copy uses the large buffer.
	n, err := io.CopyBuffer(w.tw, io.LimitReader(struct{ io.Reader }{r}, size), w.buf)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: read %d bytes of %d: %w", name, n, size, io.ErrUnexpectedEOF)
	}
	return nil
}

// symlink writes a symbolic link with mode 0777, as lstat reports links and
// the lifecycle records them in app layers, or with what LayerOptions.Mode
// makes of that.
func (w *tarWriter) symlink(name, target string, uid, gid int) error {
	mode := fs.ModeSymlink | 0o777
	if w.opts.Mode != nil {
		mode = w.opts.Mode(name, mode)
	}
	return w.symlinkMode(name, target, mode, uid, gid)
}

func (w *tarWriter) symlinkMode(name, target string, mode fs.FileMode, uid, gid int) error {
	hdr := w.header(tar.TypeSymlink, name, mode.Perm(), uid, gid)
	hdr.Linkname = target
	return w.tw.WriteHeader(hdr)
}

func (w *tarWriter) hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	hdr := w.header(tar.TypeLink, name, mode, uid, gid)
	hdr.Linkname = target
	return w.tw.WriteHeader(hdr)
}

// cleanEntryName cleans a caller's entry name, keeping it absolute when it
// is, and refuses names with ".." components or naming the root.
func cleanEntryName(name string) (string, error) {
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("entry name %q: %w", name, ErrUnsafePath)
		}
	}
	c := path.Clean(name)
	if c == "/" || c == "." {
		return "", fmt.Errorf("entry name %q names the root: %w", name, ErrUnsupportedEntry)
	}
	if strings.HasPrefix(name, "/") {
		return c, nil
	}
	return strings.TrimPrefix(c, "./"), nil
}

// tarMode is the tar header form of an fs.FileMode: permission bits plus
// setuid, setgid and sticky.
func tarMode(m fs.FileMode) int64 {
	t := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		t |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		t |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		t |= 0o1000
	}
	return t
}

// hashingWriter hashes and counts what it passes on to w.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	hw.h.Write(p) // never fails
	n, err := hw.w.Write(p)
	hw.n += int64(n)
	return n, err
}
