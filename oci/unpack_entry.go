package oci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/oci/internal/fsutil"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// entry unpacks one tar entry. The entry's parent directory is resolved
// inside the root, following symlinks as if the root were "/"; the last
// component is never followed, so an entry replaces whatever is there.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the root itself belongs to the caller
		}
		return fmt.Errorf("a %s as the root: %w", typeName(hdr.Typeflag), ErrUnsupportedEntry)
	}
	dirRel, base := path.Split(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dirRel, base)
	}
	u.seen[rel] = true

	parent, err := u.parent(dirRel)
	if err != nil {
		return err
	}
	target := filepath.Join(parent, base)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(target, hdr)
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		return u.file(target, hdr, r)
	case tar.TypeSymlink:
		return u.symlink(target, hdr)
	case tar.TypeLink:
		return u.hardlink(target, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.special(target, hdr)
	case tar.TypeXGlobalHeader:
		return nil
	}
	return fmt.Errorf("type %q: %w", hdr.Typeflag, ErrUnsupportedEntry)
}

// cleanName turns a tar name into a clean slash path relative to the root.
// Absolute names are taken relative to the root; a ".." that climbs above
// it is refused rather than clamped, because no honest layer has one.
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("name with a NUL byte: %w", ErrUnsafePath)
	}
	depth := 0
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", fmt.Errorf("%q: %w", name, ErrUnsafePath)
			}
		default:
			depth++
		}
	}
	return path.Clean(strings.TrimLeft(name, "/")), nil
}

// parent resolves dirRel inside the root and creates it when missing.
func (u *unpacker) parent(dirRel string) (string, error) {
	p, err := securejoin.SecureJoin(u.root, dirRel)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dirRel, err)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("creating parent: %w", err)
	}
	if u.opts.Rootless {
		if err := u.writable(p); err != nil {
			return "", err
		}
	}
	return p, nil
}

// writable lets an unprivileged user write into a read-only directory left
// by an earlier unpack (UnpackLayer onto an unpacked tree): it gains owner
// write permission until finish restores its mode and time.
func (u *unpacker) writable(dir string) error {
	if _, ok := u.dirs[dir]; ok {
		return nil // made by this unpack, still writable
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o700 == 0o700 {
		return nil
	}
	u.dirs[dir] = dirMeta{mode: fi.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky), mtime: fi.ModTime()}
	return os.Chmod(dir, fi.Mode().Perm()|0o700)
}

// whiteout applies a plain or opaque whiteout found in dirRel.
func (u *unpacker) whiteout(dirRel, base string) error {
	dir, err := securejoin.SecureJoin(u.root, dirRel)
	if err != nil {
		return fmt.Errorf("resolving %q: %w", dirRel, err)
	}
	if base == whiteoutOpaque {
		return u.opaque(dir, dirRel)
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout of %q: %w", name, ErrUnsafePath)
	}
	return u.remove(filepath.Join(dir, name))
}

// opaque empties dir of everything lower layers put there, keeping what
// the current layer already wrote into it.
func (u *unpacker) opaque(dir, dirRel string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if u.seen[path.Join(dirRel, e.Name())] {
			continue
		}
		if err := u.remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes whatever is at p (never following a symlink there).
func (u *unpacker) remove(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		u.forget(p)
	}
	return fsutil.RemoveAll(p)
}

// replace clears target for a new entry; a directory stays when the new
// entry is a directory too, so that layers can add to it.
func (u *unpacker) replace(target string, isDir bool) (kept bool, err error) {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if isDir && fi.IsDir() {
		return true, nil
	}
	return false, u.remove(target)
}

func (u *unpacker) dir(target string, hdr *tar.Header) error {
	kept, err := u.replace(target, true)
	if err != nil {
		return err
	}
	if !kept {
		if err := os.Mkdir(target, 0o700); err != nil {
			return err
		}
	}
	if err := u.chown(target, hdr); err != nil {
		return err
	}
	u.dirs[target] = dirMeta{mode: u.mode(hdr), mtime: hdr.ModTime}
	return nil
}

func (u *unpacker) file(target string, hdr *tar.Header, r io.Reader) error {
	if _, err := u.replace(target, false); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return u.meta(target, hdr)
}

func (u *unpacker) symlink(target string, hdr *tar.Header) error {
	if _, err := u.replace(target, false); err != nil {
		return err
	}
	// The link text is stored as is: it is resolved inside the root
	// whenever a later entry or a reader goes through it.
	if err := os.Symlink(hdr.Linkname, target); err != nil {
		return err
	}
	if err := u.chown(target, hdr); err != nil {
		return err
	}
	return fsutil.Lutimes(target, hdr.ModTime)
}

func (u *unpacker) hardlink(target string, hdr *tar.Header) error {
	linkRel, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	linkDir, linkBase := path.Split(linkRel)
	dir, err := securejoin.SecureJoin(u.root, linkDir)
	if err != nil {
		return fmt.Errorf("resolving link target %q: %w", hdr.Linkname, err)
	}
	src := filepath.Join(dir, linkBase)
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link to directory %q: %w", hdr.Linkname, ErrUnsupportedEntry)
	}
	if src == target {
		return nil
	}
	if _, err := u.replace(target, false); err != nil {
		return err
	}
	return os.Link(src, target)
}

// special creates device nodes (root only) and FIFOs.
func (u *unpacker) special(target string, hdr *tar.Header) error {
	var kind uint32
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	default:
		kind = unix.S_IFIFO
	}
	if u.opts.Rootless && kind != unix.S_IFIFO {
		return nil // an unprivileged user cannot create device nodes
	}
	if _, err := u.replace(target, false); err != nil {
		return err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknod(target, kind|0o600, int(dev)); err != nil {
		return &os.PathError{Op: "mknod", Path: target, Err: err}
	}
	return u.meta(target, hdr)
}

// meta applies owner, mode and times to a non-directory, non-symlink.
// Ownership comes first: chown clears setuid and setgid bits.
func (u *unpacker) meta(target string, hdr *tar.Header) error {
	if err := u.chown(target, hdr); err != nil {
		return err
	}
	if err := os.Chmod(target, u.mode(hdr)); err != nil {
		return err
	}
	return fsutil.Lutimes(target, hdr.ModTime)
}

func (u *unpacker) chown(target string, hdr *tar.Header) error {
	if u.opts.Rootless {
		return nil
	}
	return os.Lchown(target, hdr.Uid, hdr.Gid)
}

// mode turns a tar mode into an fs.FileMode, dropping setuid, setgid and
// sticky when rootless.
func (u *unpacker) mode(hdr *tar.Header) fs.FileMode {
	m := fs.FileMode(hdr.Mode) & fs.ModePerm
	if !u.opts.Rootless {
		if hdr.Mode&0o4000 != 0 {
			m |= fs.ModeSetuid
		}
		if hdr.Mode&0o2000 != 0 {
			m |= fs.ModeSetgid
		}
		if hdr.Mode&0o1000 != 0 {
			m |= fs.ModeSticky
		}
	}
	return m
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck
		return "file"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	}
	return fmt.Sprintf("entry of type %q", t)
}
