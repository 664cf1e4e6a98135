// Package treecopy copies a directory tree safely: a sorted walk, regular
// files with their permission bits and modification times, symbolic links as
// links (never followed), other special files skipped, every destination
// path joined beneath the destination root.
package treecopy

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

// ErrDestinationIsSource reports a copy of a tree onto itself.
var ErrDestinationIsSource = errors.New("the destination is the source")

// Action is what a Filter decides for one entry.
type Action int

const (
	// Take copies the entry (a directory: and walks into it).
	Take Action = iota
	// Skip leaves the entry out (a directory: with everything below it).
	Skip
	// Enter walks into a directory without creating it: it is created only
	// when something below it is copied.
	Enter
)

// Filter decides for an entry, given its slash-separated path relative to
// the source root. Enter for a file means Skip.
type Filter func(rel string, isDir bool) Action

// Copy copies the tree at src into dst (created if missing). A nil filter
// copies everything. If dst lies inside src it is not copied into itself.
func Copy(ctx context.Context, src, dst string, filter Filter) error {
	c, err := newCopier(src, dst, filter)
	if err != nil {
		return err
	}
	return c.run(ctx)
}

type copier struct {
	src, dst string
	skip     string // dst, when it lies inside src ("" otherwise)
	filter   Filter
	dirModes map[string]fs.FileMode // created directories → their final mode
}

func newCopier(src, dst string, filter Filter) (*copier, error) {
	if filter == nil {
		filter = func(string, bool) Action { return Take }
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	c := &copier{filter: filter, dirModes: map[string]fs.FileMode{}}
	var err error
	if c.src, err = filepath.EvalSymlinks(src); err != nil {
		return nil, err
	}
	if c.dst, err = filepath.EvalSymlinks(dst); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(c.src, c.dst); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			return nil, ErrDestinationIsSource
		}
		c.skip = c.dst
	}
	return c, nil
}

func (c *copier) run(ctx context.Context) error {
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
func (c *copier) entry(rel string, d fs.DirEntry) error {
	action := c.filter(rel, d.IsDir())
	if d.IsDir() {
		switch action {
		case Skip:
			return filepath.SkipDir
		case Enter:
			return nil
		}
		return c.mkdir(rel)
	}
	if action != Take {
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
func (c *copier) mkdir(rel string) error {
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

func (c *copier) copyFile(rel string) (err error) {
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

func (c *copier) copyLink(rel string) error {
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
func (c *copier) finishDirs() error {
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
