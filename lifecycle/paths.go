package lifecycle

import (
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
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
	// given to bin/detect and bin/build. Default: <layers>/.kiln.
	Scratch Dir
	// BuildConfig is the host path of the operator's build config directory
	// (<build-config>/env is applied to the build env); empty: none.
	BuildConfig string
}

// HostPaths returns Paths for running buildpacks directly on the host.
func HostPaths(layers, app, platform, buildpacks string) Paths {
	return Paths{Layers: SameDir(layers), App: SameDir(app), Platform: SameDir(platform), Buildpacks: SameDir(buildpacks)}
}

// scratchFor returns the scratch directory of a phase: <scratch>/<phase>,
// the default scratch resolved inside the layers dir, where a buildpack may
// have left symlinks.
func (p Paths) scratchFor(phase string) (Dir, error) {
	root := p.Scratch
	if root.Host == "" {
		var err error
		if root, err = p.Layers.scopedJoin(".kiln"); err != nil {
			return Dir{}, err
		}
	}
	return root.scopedJoin(phase)
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
