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
func (u *unpacker) entry(ctx context.Context, hdr *tar.Header, r io.Reader) error {
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
	delete(u.skipped, rel) // special sets it again for a device node

	parent, err := u.parent(dirRel)
	if err != nil {
		return err
	}
	target := filepath.Join(parent, base)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(target, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse: //nolint:staticcheck // old archives still use TypeRegA
		// The tar reader turns a GNU sparse entry (old 'S' or PAX) into
		// its plain content, holes read as zeros.
		return u.file(ctx, target, hdr, r)
	case tar.TypeSymlink:
		return u.symlink(target, hdr)
	case tar.TypeLink:
		return u.hardlink(rel, target, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.special(rel, target, hdr)
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
	p, err := u.resolve(dirRel)
	if err != nil {
		return "", err
	}
	// Only a last component can be a whiteout. A directory of that name,
	// by the entry's name or where a symlink on the way leads, would be
	// read back as a whiteout by whoever unpacks a layer of the tree.
	if rel, err := filepath.Rel(u.root, p); err == nil {
		for _, c := range strings.Split(rel, string(filepath.Separator)) {
			if strings.HasPrefix(c, whiteoutPrefix) {
				return "", fmt.Errorf("a whiteout name as a directory (%s): %w", rel, ErrUnsupportedEntry)
			}
		}
	}
	err = os.MkdirAll(p, 0o755)
	if err != nil && u.opts.Rootless && errors.Is(err, fs.ErrPermission) {
		if err = u.openWay(dirRel); err == nil {
			err = os.MkdirAll(p, 0o755)
		}
	}
	if err != nil {
		return "", fmt.Errorf("creating parent: %w", err)
	}
	if u.opts.Rootless {
		if err := u.writable(p); err != nil {
			return "", err
		}
	}
	return p, nil
}

// resolve joins dirRel to the root with securejoin. Rootless, a directory
// on the way that an earlier unpack left without owner permissions (0000,
// 0555) is opened first, the way root's DAC override would walk through it.
func (u *unpacker) resolve(dirRel string) (string, error) {
	p, err := securejoin.SecureJoin(u.root, dirRel)
	if err != nil && u.opts.Rootless && errors.Is(err, fs.ErrPermission) {
		if err = u.openWay(dirRel); err == nil {
			p, err = securejoin.SecureJoin(u.root, dirRel)
		}
	}
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dirRel, err)
	}
	return p, nil
}

// openWay gives every existing directory on the way to dirRel owner
// permissions until finish restores their modes (see writable). It is
// the slow path, taken only when a plain resolution was refused.
func (u *unpacker) openWay(dirRel string) error {
	if err := u.writable(u.root); err != nil {
		return err
	}
	prefix := ""
	for _, c := range strings.Split(dirRel, "/") {
		if c == "" {
			continue
		}
		prefix = path.Join(prefix, c)
		p, err := securejoin.SecureJoin(u.root, prefix)
		if err != nil {
			return fmt.Errorf("resolving %q: %w", prefix, err)
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the rest is created
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return nil // MkdirAll reports it
		}
		if err := u.writable(p); err != nil {
			return err
		}
	}
	return nil
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
	dir, err := u.resolve(dirRel)
	if err != nil {
		return err
	}
	if u.opts.Rootless {
		// Removing needs write permission in dir, which an earlier
		// unpack may have left read-only.
		if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
			if err := u.writable(dir); err != nil {
				return err
			}
		}
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

func (u *unpacker) hardlink(rel, target string, hdr *tar.Header) error {
	linkRel, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	if u.skipped[linkRel] {
		u.skipped[rel] = true // a link to a device node left out
		return nil
	}
	linkDir, linkBase := path.Split(linkRel)
	dir, err := u.resolve(linkDir)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
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

// special creates device nodes (root, unshared trees only) and FIFOs.
func (u *unpacker) special(rel, target string, hdr *tar.Header) error {
	var kind uint32
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	default:
		kind = unix.S_IFIFO
	}
	if (u.opts.Rootless || u.opts.Shared) && kind != unix.S_IFIFO {
		// An unprivileged user cannot create device nodes, and a shared
		// tree must not give whoever reaches it raw access to a device.
		// Whatever the tree had there before goes, as it would have been
		// replaced.
		u.skipped[rel] = true
		_, err := u.replace(target, false)
		return err
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
// sticky when rootless, and setuid and the setgid of non-directories when
// the tree is shared.
func (u *unpacker) mode(hdr *tar.Header) fs.FileMode {
	m := fs.FileMode(hdr.Mode) & fs.ModePerm
	if u.opts.Rootless {
		return m
	}
	// Shared: no setuid at all (on a directory it means nothing), and no
	// setgid but the directories' (new files take the directory's group).
	if hdr.Mode&0o4000 != 0 && !u.opts.Shared {
		m |= fs.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 && (!u.opts.Shared || hdr.Typeflag == tar.TypeDir) {
		m |= fs.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
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
