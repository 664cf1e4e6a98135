package lifecycle

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// Dir is one directory seen from two sides: Host is where the phase code
// reads and writes it, Container is the path buildpacks see (the build
// container's mount point). With ExecRunner both are the same.
type Dir struct {
	Host, Container string
}

// SameDir returns a Dir whose host and container paths are both p.
func SameDir(p string) Dir { return Dir{Host: p, Container: p} }

// Paths are the directories of a build. Layers, App and Platform are
// mounted in the build container; Buildpacks holds
// <escaped-id>/<version>/buildpack.toml trees.
type Paths struct {
	Layers     Dir // default container path /layers
	App        Dir // /workspace
	Platform   Dir // /platform
	Buildpacks Dir // /cnb/buildpacks
	// Scratch is a writable directory buildpacks can see, for the plan files
	// given to bin/detect and bin/build; kiln keeps its own bookkeeping
	// there, never in a directory a buildpack could rename (such as the
	// layers dir). Its root should be a mount point or a directory
	// buildpacks cannot rename. Default: a new directory under the host's
	// temp dir, for runners that see the host's file system (ExecRunner):
	// with Layers, App or Platform seen elsewhere, Scratch is required.
	Scratch Dir
	// BuildConfig is the host path of the operator's build config directory
	// (<build-config>/env is applied to the build env); empty: none.
	BuildConfig string
}

// HostPaths returns Paths for running buildpacks directly on the host.
func HostPaths(layers, app, platform, buildpacks string) Paths {
	return Paths{Layers: SameDir(layers), App: SameDir(app), Platform: SameDir(platform), Buildpacks: SameDir(buildpacks)}
}

// join appends clean, trusted path elements on both sides.
func (d Dir) join(elem ...string) Dir {
	return Dir{
		Host:      filepath.Join(append([]string{d.Host}, elem...)...),
		Container: path.Join(append([]string{d.Container}, elem...)...),
	}
}

// scopedJoin appends an untrusted relative path (from a buildpack, an order
// or a TOML file) on both sides; on the host side symlinks and ".." are
// resolved inside d, never outside it.
func (d Dir) scopedJoin(rel string) (Dir, error) {
	host, err := securejoin.SecureJoin(d.Host, rel)
	if err != nil {
		return Dir{}, err
	}
	inside, err := filepath.Rel(d.Host, host)
	if err != nil {
		return Dir{}, err
	}
	return Dir{Host: host, Container: path.Join(d.Container, filepath.ToSlash(inside))}, nil
}

// EscapeID turns a buildpack ID into its directory name: "/" becomes "_".
// IDs cannot contain "_", so the escape is reversible.
func EscapeID(id string) string { return strings.ReplaceAll(id, "/", "_") }

// scratch is a phase's scratch directory, <scratch>/<phase>, open.
type scratch struct {
	dir       *beneath.Dir // <scratch>/<phase>
	container string       // its container path
	root      *beneath.Dir
	phase     string
	temp      *beneath.Dir // the host temp dir holding a default scratch root
	tempName  string
}

// openScratch creates the scratch directory of phase afresh.
func (p Paths) openScratch(phase string) (*scratch, error) {
	s := &scratch{phase: phase}
	root := p.Scratch
	if root.Host == "" {
		for _, d := range []Dir{p.Layers, p.App, p.Platform} {
			if d.Host != d.Container {
				return nil, fmt.Errorf("a scratch dir is required when buildpacks see %s at %s", d.Host, d.Container)
			}
		}
		tmp, err := beneath.Open(os.TempDir(), "")
		if err != nil {
			return nil, err
		}
		s.temp = tmp
		if s.tempName, err = tmp.MkdirTemp("kiln-scratch-"); err != nil {
			s.close()
			return nil, err
		}
		if s.root, err = tmp.OpenDir(s.tempName); err == nil {
			err = s.root.Chmod(0o755)
		}
		if err != nil {
			s.close()
			return nil, err
		}
		root = SameDir(tmp.Path(s.tempName))
	} else {
		var err error
		if s.root, err = openTree(root); err != nil {
			return nil, err
		}
	}
	var err error
	if err = s.root.RemoveAll(phase); err == nil {
		s.dir, err = s.root.MkdirAll(phase, 0o755)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	s.container = path.Join(root.Container, phase)
	return s, nil
}

// close removes the phase's scratch directory (and a default root).
func (s *scratch) close() error {
	var err error
	if s.dir != nil {
		s.dir.Close()
	}
	if s.root != nil {
		err = s.root.RemoveAll(s.phase)
		s.root.Close()
	}
	if s.temp != nil {
		if s.tempName != "" {
			if rerr := s.temp.RemoveAll(s.tempName); err == nil {
				err = rerr
			}
		}
		s.temp.Close()
	}
	return err
}
