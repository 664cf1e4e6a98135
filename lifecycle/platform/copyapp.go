package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// CopyApp copies the application in src into dst (created if missing),
// applying project.toml's include or exclude patterns (see Patterns) to paths
// relative to src; giving both is an error. With include patterns only
// matching files (and files inside matching directories) are copied, with
// the directories leading to them; with exclude patterns, matching files and
// whole matching directories are left out.
//
// The walk is sorted. Regular files keep their permission bits and
// modification time, symbolic links are copied as links and never followed,
// other special files (sockets, devices, FIFOs) are skipped. If dst lies
// inside src it is not copied into itself.
func CopyApp(ctx context.Context, src, dst string, include, exclude []string) error {
	if len(include) > 0 && len(exclude) > 0 {
		return fmt.Errorf("copying app %s: %w: both include and exclude are set", src, ErrInvalidConfig)
	}
	c, err := newAppCopier(src, dst, include, exclude)
	if err != nil {
		return fmt.Errorf("copying app %s: %w", src, err)
	}
	if err := c.run(ctx); err != nil {
		return fmt.Errorf("copying app %s to %s: %w", src, dst, err)
	}
	return nil
}

type appCopier struct {
	src, dst string
	skip     string // dst, when it lies inside src ("" otherwise)
	patterns *Patterns
	include  bool
	dirModes map[string]fs.FileMode // created directories → their final mode
}

func newAppCopier(src, dst string, include, exclude []string) (*appCopier, error) {
	lines, incl := exclude, false
	if len(include) > 0 {
		lines, incl = include, true
	}
	p, err := CompilePatterns(lines)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	c := &appCopier{patterns: p, include: incl, dirModes: map[string]fs.FileMode{}}
	if c.src, err = filepath.EvalSymlinks(src); err != nil {
		return nil, err
	}
	if c.dst, err = filepath.EvalSymlinks(dst); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(c.src, c.dst); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			return nil, fmt.Errorf("%w: the destination is the source", ErrInvalidConfig)
		}
		c.skip = c.dst
	}
	return c, nil
}

func (c *appCopier) run(ctx context.Context) error {
	err := filepath.WalkDir(c.src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == c.src {
			return nil
		}
		if p == c.skip {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(c.src, p)
		if err != nil {
			return err
		}
		return c.entry(filepath.ToSlash(rel), d)
	})
	if err != nil {
		return err
	}
	return c.finishDirs()
}

// entry copies one walked entry, or decides to skip it.
func (c *appCopier) entry(rel string, d fs.DirEntry) error {
	matched := c.patterns.Match(rel, d.IsDir())
	if d.IsDir() {
		switch {
		case !c.include && matched:
			return filepath.SkipDir
		case c.include && !matched:
			return nil // created on demand, when something inside is included
		}
		return c.mkdir(rel)
	}
	if c.include != matched {
		return nil
	}
	if err := c.mkdir(filepath.ToSlash(filepath.Dir(rel))); err != nil {
		return err
	}
	switch t := d.Type(); {
	case t.IsRegular():
		return c.copyFile(rel)
	case t&fs.ModeSymlink != 0:
		return c.copyLink(rel)
	}
	return nil // sockets, devices, FIFOs
}

// mkdir creates rel and its parents in dst with the modes they have in src
// (owner-writable until finishDirs).
func (c *appCopier) mkdir(rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if _, ok := c.dirModes[rel]; ok {
		return nil
	}
	if err := c.mkdir(filepath.ToSlash(filepath.Dir(rel))); err != nil {
		return err
	}
	fi, err := os.Lstat(filepath.Join(c.src, rel))
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(c.dst, rel)
	if err != nil {
		return err
	}
	if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	c.dirModes[rel] = fi.Mode()
	return os.Chmod(target, 0o700|fi.Mode().Perm())
}

func (c *appCopier) copyFile(rel string) (err error) {
	from := filepath.Join(c.src, rel)
	in, err := os.OpenFile(from, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(c.dst, rel)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copying %s: %w", rel, err)
	}
	if err := out.Chmod(fileMode(fi.Mode())); err != nil {
		return err
	}
	return os.Chtimes(target, fi.ModTime(), fi.ModTime())
}

func (c *appCopier) copyLink(rel string) error {
	link, err := os.Readlink(filepath.Join(c.src, rel))
	if err != nil {
		return err
	}
	parent, err := securejoin.SecureJoin(c.dst, filepath.Dir(rel))
	if err != nil {
		return err
	}
	return os.Symlink(link, filepath.Join(parent, filepath.Base(rel)))
}

// finishDirs gives directories their source modes, deepest first so that a
// read-only parent does not stop its children being changed.
func (c *appCopier) finishDirs() error {
	dirs := make([]string, 0, len(c.dirModes))
	for d := range c.dirModes {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	slices.Reverse(dirs)
	for _, d := range dirs {
		target, err := securejoin.SecureJoin(c.dst, d)
		if err != nil {
			return err
		}
		if err := os.Chmod(target, fileMode(c.dirModes[d])); err != nil {
			return err
		}
	}
	return nil
}

// fileMode keeps the permission, setuid, setgid and sticky bits of m.
func fileMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
