package distribution

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// install moves the buildpack tree staged in src into
// <dst>/<escaped-id>/<version> and returns its descriptor. The tree's modes
// are normalised as pack normalises them in builder layers. When that
// directory already exists (the same buildpack came from another locator),
// it is kept and src is left for the caller to remove.
func install(src, dst, id, version string, kind moduleKind) (Descriptor, error) {
	if err := CheckIDVersion(id, version); err != nil {
		return Descriptor{}, err
	}
	parent, err := securejoin.SecureJoin(dst, EscapeID(id))
	if err != nil {
		return Descriptor{}, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Descriptor{}, err
	}
	final := filepath.Join(parent, version)
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		if err := normaliseModes(src); err != nil {
			return Descriptor{}, err
		}
		if err := os.Rename(src, final); err != nil {
			return Descriptor{}, err
		}
	} else if err != nil {
		return Descriptor{}, err
	}
	d, err := readDescriptor(final, kind)
	if err != nil {
		return Descriptor{}, err
	}
	if d.ID != id || d.Version != version {
		return Descriptor{}, fmt.Errorf("%w: %s holds %s, expected %s@%s", ErrInvalidDescriptor, final, d.FullName(), id, version)
	}
	return d, nil
}

// normaliseModes gives directories 0755, and files 0755 when any execute bit
// is set or they are bin/build, bin/detect or bin/generate, 0644 otherwise
// (pack's builder layer rules). Links are left alone.
func normaliseModes(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(p, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if fi.Mode()&0o111 != 0 || isExecutable(filepath.ToSlash(rel)) {
				mode = 0o755
			}
			return os.Chmod(p, mode)
		}
		return nil
	})
}

func isExecutable(rel string) bool {
	switch rel {
	case "bin/build", "bin/detect", "bin/generate":
		return true
	}
	return false
}
