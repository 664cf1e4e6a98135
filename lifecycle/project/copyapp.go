package project

import (
	"context"
	"errors"
	"fmt"

	"github.com/kilnbuild/kiln/internal/treecopy"
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
	lines, incl := exclude, false
	if len(include) > 0 {
		lines, incl = include, true
	}
	p, err := CompilePatterns(lines)
	if err != nil {
		return fmt.Errorf("copying app %s: %w", src, err)
	}
	err = treecopy.Copy(ctx, src, dst, func(rel string, isDir bool) treecopy.Action {
		matched := p.Match(rel, isDir)
		switch {
		case isDir && !incl && matched:
			return treecopy.Skip
		case isDir && incl && !matched:
			return treecopy.Enter // created on demand, when something inside is included
		case !isDir && incl != matched:
			return treecopy.Skip
		}
		return treecopy.Take
	})
	if errors.Is(err, treecopy.ErrDestinationIsSource) {
		return fmt.Errorf("copying app %s: %w: %w", src, ErrInvalidConfig, err)
	}
	if err != nil {
		return fmt.Errorf("copying app %s to %s: %w", src, dst, err)
	}
	return nil
}
