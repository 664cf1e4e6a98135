package project

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// IsArchive reports whether path names an app archive that ExtractArchive
// reads: a .zip or .jar file (pack build --path accepts both).
func IsArchive(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".zip" || ext == ".jar"
}

// ExtractArchive unpacks the zip (or jar) file at path into the directory
// dst, which it creates: directories and regular files only, every name
// joined beneath dst (a name climbing out is an error), modes reduced to
// their permission bits. Symbolic links and other entries are skipped, as
// an app archive comes from anywhere.
func ExtractArchive(ctx context.Context, path, dst string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("reading app archive %s: %w", path, err)
	}
	defer zr.Close()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("extracting app archive %s: %w", path, err)
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := extractEntry(f, dst); err != nil {
			return fmt.Errorf("extracting app archive %s: %s: %w", path, f.Name, err)
		}
	}
	return nil
}

func extractEntry(f *zip.File, dst string) error {
	name := filepath.FromSlash(strings.TrimLeft(f.Name, "/"))
	if name == "" || strings.HasPrefix(filepath.Clean(name), "..") {
		return fmt.Errorf("%w: the name leaves the archive", ErrUnsafeArchive)
	}
	target, err := securejoin.SecureJoin(dst, name)
	if err != nil {
		return err
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return os.MkdirAll(target, 0o755)
	case !mode.IsRegular():
		return nil // links and special files are not part of an app
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	perm := mode.Perm() | 0o600 // the owner can read and write what it unpacked
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
