package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Launcher starts one process of a built image. Main fills it from the
// container's environment; tests fill it directly.
type Launcher struct {
	AppDir      string // absolute; the process starts here unless it has a working-dir
	LayersDir   string // absolute
	PlatformAPI string // CNB_PLATFORM_API
	ExecEnv     string // CNB_EXEC_ENV; used from Platform API 0.15
	Metadata    Metadata
	// Env is the container environment the launcher started with.
	Env []string
	// Stdout and Stderr are given to exec.d executables.
	Stdout, Stderr io.Writer
	// Exec replaces the launcher with the process; Main uses syscall.Exec.
	Exec func(path string, argv, env []string) error
}

// Launch selects the process from self (argv[0]) and args, builds its
// environment and execs it. It returns only on error: on success the
// launcher is gone.
func (l *Launcher) Launch(ctx context.Context, self string, args []string) error {
	platform, err := parsePlatformAPI(l.PlatformAPI)
	if err != nil {
		return withCode(CodePlatformAPI, err, "checking the platform API")
	}
	p, err := l.processFor(platform, self, args)
	if err != nil {
		return fmt.Errorf("determining start command: %w", err)
	}
	if err := os.Chdir(l.AppDir); err != nil {
		return fmt.Errorf("changing to app directory: %w", err)
	}
	e := newLaunchEnv(l.Env)
	if err := l.buildEnv(e, p.Type); err != nil {
		return fmt.Errorf("building environment: %w", err)
	}
	if err := l.runExecD(ctx, e, p.Type); err != nil {
		return err
	}
	if err := setUmask(e.get("UMASK")); err != nil {
		return err
	}
	wd := p.WorkingDir
	if wd == "" {
		wd = l.AppDir
	}
	if p.Direct {
		return l.execDirect(p, e, wd)
	}
	return l.execShell(self, p, e, wd)
}

// buildpackDir is one buildpack's directory under the layers dir and its API.
type buildpackDir struct {
	dir string
	api apiVersion
}

// buildpackDirs lists, in group order, the buildpacks that have a directory
// in the layers dir (only launch layers reach an image, so a buildpack
// without any has none).
func (l *Launcher) buildpackDirs() ([]buildpackDir, error) {
	var out []buildpackDir
	for _, bp := range l.Metadata.Buildpacks {
		dir := filepath.Join(l.LayersDir, strings.ReplaceAll(bp.ID, "/", "_"))
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("finding buildpack directory: %w", err)
		}
		v, err := buildpackAPI(bp)
		if err != nil {
			return nil, err
		}
		out = append(out, buildpackDir{dir, v})
	}
	return out, nil
}

// buildEnv applies, for each buildpack in order, first the bin and lib
// directories of all its layers (layers in name order, so later names end
// up first), then the env, env.launch and env.launch/<type> files of each.
func (l *Launcher) buildEnv(e *env, procType string) error {
	bps, err := l.buildpackDirs()
	if err != nil {
		return err
	}
	for _, bp := range bps {
		layers, err := subdirs(bp.dir)
		if err != nil {
			return err
		}
		for _, layer := range layers {
			if err := e.addRootDir(layer); err != nil {
				return err
			}
		}
		legacy := bp.api.less(apiVersion{0, 5})
		for _, layer := range layers {
			dirs := []string{filepath.Join(layer, "env"), filepath.Join(layer, "env.launch")}
			if procType != "" {
				dirs = append(dirs, filepath.Join(layer, "env.launch", procType))
			}
			for _, d := range dirs {
				if err := e.addEnvDir(d, legacy); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// subdirs lists the directories in dir in name order (symlinks excluded).
func subdirs(dir string) ([]string, error) {
	return listDir(dir, true)
}

// files lists the non-directories in dir in name order; a missing dir has
// none.
func files(dir string) ([]string, error) {
	return listDir(dir, false)
}

func listDir(dir string, wantDirs bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []string
	for _, ent := range entries {
		if ent.IsDir() == wantDirs {
			out = append(out, filepath.Join(dir, ent.Name()))
		}
	}
	return out, nil
}

// layerFiles lists, for every layer of every buildpack (those from API
// minAPI on), the files in <layer>/<sub> and then in <layer>/<sub>/<type>.
func (l *Launcher) layerFiles(sub, procType string, minAPI apiVersion) ([]string, error) {
	bps, err := l.buildpackDirs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, bp := range bps {
		if bp.api.less(minAPI) {
			continue
		}
		layers, err := subdirs(bp.dir)
		if err != nil {
			return nil, err
		}
		for _, layer := range layers {
			dirs := []string{filepath.Join(layer, sub)}
			if procType != "" {
				dirs = append(dirs, filepath.Join(layer, sub, procType))
			}
			for _, d := range dirs {
				found, err := files(d)
				if err != nil {
					return nil, err
				}
				out = append(out, found...)
			}
		}
	}
	return out, nil
}

// execDirect looks the command up on the new PATH from the working
// directory and replaces the launcher with it. No shell is involved, so this
// works on images without one.
func (l *Launcher) execDirect(p Process, e *env, wd string) error {
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("changing to working directory: %w", err)
	}
	bin, err := lookPath(p.Command[0], e.get("PATH"))
	if err != nil {
		return fmt.Errorf("looking up %s: %w", p.Command[0], err)
	}
	argv := append(append([]string(nil), p.Command...), p.Args...)
	if err := l.Exec(bin, argv, e.list()); err != nil {
		return fmt.Errorf("executing %s: %w", bin, err)
	}
	return nil
}

// lookPath finds an executable as execvp does: a name with a slash is used
// as is, otherwise each PATH entry is tried in turn (an empty entry is the
// working directory).
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, isExecutable(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, name)
		if isExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("no executable %q in PATH %q", name, path)
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
