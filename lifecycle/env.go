package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// env is a buildpack environment under construction: name → value.
// The build env is assembled as in the lifecycle (contract §1.3, §1.7):
//  1. an allowlist of the platform's own variables (newEnv);
//  2. what build=true layers of earlier buildpacks contribute, in group
//     order, layers by ascending name: root dirs (addRootDir), then env/
//     and env.build/ files (addEnvDir);
//  3. <platform>/env files unless the buildpack sets clear-env
//     (addPlatformEnv): path variables prepended with ':', others replaced;
//  4. <build-config>/env files, no suffix meaning default;
//  5. the CNB_* variables of the buildpack's API.
type env map[string]string

// pathVars are the POSIX path-list variables: prepended to, never replaced,
// by platform env files.
var pathVars = map[string]bool{"PATH": true, "LD_LIBRARY_PATH": true, "LIBRARY_PATH": true, "CPATH": true, "PKG_CONFIG_PATH": true}

// allowedEnv is what survives of the platform's environment.
var allowedEnv = map[string]bool{
	"PATH": true, "LD_LIBRARY_PATH": true, "LIBRARY_PATH": true, "CPATH": true, "PKG_CONFIG_PATH": true,
	"HOME": true, "HOSTNAME": true, "CNB_STACK_ID": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
}

// rootDirVars maps a layer's subdirectories to the variables they are
// prepended to at build time.
var rootDirVars = []struct {
	dir  string
	vars []string
}{
	{"bin", []string{"PATH"}},
	{"lib", []string{"LD_LIBRARY_PATH", "LIBRARY_PATH"}},
	{"include", []string{"CPATH"}},
	{"pkgconfig", []string{"PKG_CONFIG_PATH"}},
}

// Actions of env files, named by their suffix.
const (
	actionOverride    = "override"
	actionDefault     = "default"
	actionPrepend     = "prepend"
	actionAppend      = "append"
	actionPrependPath = "prepend-path" // no suffix below Buildpack API 0.5
)

// newEnv keeps the allowlisted variables of base ("K=V" strings).
func newEnv(base []string) env {
	e := env{}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if ok && allowedEnv[k] {
			e[k] = v
		}
	}
	return e
}

// clone returns a copy of e.
func (e env) clone() env {
	out := make(env, len(e))
	for k, v := range e {
		out[k] = v
	}
	return out
}

// list returns e as sorted "K=V" strings.
func (e env) list() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// prepend puts v in front of name's value, joined by delim when the
// current value is not empty.
func (e env) prepend(name, v, delim string) {
	if cur := e[name]; cur != "" {
		v += delim + cur
	}
	e[name] = v
}

// apply performs one env file operation.
func (e env) apply(action, name, v, delim string) {
	switch action {
	case actionOverride:
		e[name] = v
	case actionDefault:
		if e[name] == "" {
			e[name] = v
		}
	case actionPrepend:
		e.prepend(name, v, delim)
	case actionAppend:
		if cur := e[name]; cur != "" {
			v = cur + delim + v
		}
		e[name] = v
	case actionPrependPath:
		e.prepend(name, v, ":")
	}
}

// addRootDir prepends the bin, lib, include and pkgconfig directories of
// the layer name in the buildpack's layers dir bp that exist (checked
// through the handle; the values are container paths, below container). A
// symlink counts without being followed: the container resolves it.
func (e env) addRootDir(bp *beneath.Dir, name, container string) {
	for _, rd := range rootDirVars {
		fi, err := bp.Lstat(name + "/" + rd.dir)
		if err != nil || !(fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0) {
			continue
		}
		for _, v := range rd.vars {
			e.prepend(v, path.Join(container, rd.dir), ":")
		}
	}
}

// defaultAction is what an env file without a suffix does for a buildpack of
// API v: override from 0.5, prepend with ':' before.
func defaultAction(v api.Version) string {
	if v.AtLeast("0.5") {
		return actionOverride
	}
	return actionPrependPath
}

// addEnvDir applies the env files of the directory rel below root, in file
// name order. The name of the variable is the file name up to the first
// '.'; the rest is the action (noSuffix when absent); values are the raw
// file contents. A missing directory contributes nothing; a subdirectory
// is skipped with a warning (env.launch/<process>/ has a meaning at launch
// only); a symlink, FIFO or device is an error, as is a symlink in place
// of the directory: kiln does not follow them, and dropping the variable
// silently would change the build.
func (e env) addEnvDir(root *beneath.Dir, rel, noSuffix string, log *slog.Logger) error {
	log = loggerOr(log)
	dir, err := root.OpenDir(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading env dir: %w", err)
	}
	defer dir.Close()
	names, err := dir.Names()
	if err != nil {
		return fmt.Errorf("reading env dir: %w", err)
	}
	for _, n := range names {
		name, action, hasSuffix := strings.Cut(n, ".")
		if !hasSuffix {
			action = noSuffix
		}
		if action == "delim" || name == "" {
			continue
		}
		v, ok, err := readEnvFile(dir, n)
		if err != nil {
			return err
		}
		if !ok {
			log.Warn("skipping a directory in an env dir", "path", dir.Path(n))
			continue
		}
		delim, _, err := readEnvFile(dir, name+".delim")
		if err != nil {
			return err
		}
		e.apply(action, name, v, delim)
	}
	return nil
}

// readEnvFile reads the regular file name in dir; ok is false for a
// directory or a missing file, anything else but a regular file is an
// error.
func readEnvFile(dir *beneath.Dir, name string) (string, bool, error) {
	b, err := dir.ReadFile(name, maxEnvFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if errors.Is(err, beneath.ErrNotRegular) {
		if fi, serr := dir.Lstat(name); serr == nil && fi.IsDir() {
			return "", false, nil
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("reading env file: %w", err)
	}
	return string(b), true, nil
}

// addPlatformEnv applies <platform>/env: each file is a variable; path
// variables are prepended with ':', others replaced.
func (e env) addPlatformEnv(platform Dir, log *slog.Logger) error {
	root, err := openTree(platform)
	if err != nil {
		return fmt.Errorf("reading platform env: %w", err)
	}
	defer root.Close()
	dir, err := root.OpenDir("env")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading platform env: %w", err)
	}
	defer dir.Close()
	names, err := dir.Names()
	if err != nil {
		return fmt.Errorf("reading platform env: %w", err)
	}
	for _, n := range names {
		v, ok, err := readEnvFile(dir, n)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			log.Warn("skipping a directory in the platform env", "path", dir.Path(n))
		case pathVars[n]:
			e.prepend(n, v, ":")
		default:
			e[n] = v
		}
	}
	return nil
}

// execEnv is the rest of what a buildpack executable's environment needs
// beyond the accumulated env: the platform and operator env files and the
// CNB_* variables.
type execEnv struct {
	paths       Paths
	target      TargetData
	execEnvName string // CNB_EXEC_ENV, when the platform gives one
	log         *slog.Logger
}

// forBuildpack returns the final environment for one executable of bp,
// starting from base (not modified); cnb are the phase's CNB_* variables.
func (x execEnv) forBuildpack(base env, bp *Buildpack, cnb ...string) ([]string, error) {
	e := base.clone()
	if !bp.Info.ClearEnv {
		if err := e.addPlatformEnv(x.paths.Platform, x.log); err != nil {
			return nil, err
		}
	}
	if x.paths.BuildConfig != "" {
		root, err := openTree(SameDir(x.paths.BuildConfig))
		if err != nil {
			return nil, err
		}
		err = e.addEnvDir(root, "env", actionDefault, x.log)
		root.Close()
		if err != nil {
			return nil, err
		}
	}
	e["CNB_BUILDPACK_DIR"] = bp.Dir.Container
	if bp.api.AtLeast("0.8") {
		for _, kv := range cnb {
			k, v, _ := strings.Cut(kv, "=")
			e[k] = v
		}
	}
	if bp.api.AtLeast("0.10") {
		for _, kv := range x.target.env() {
			k, v, _ := strings.Cut(kv, "=")
			e[k] = v
		}
	}
	if bp.api.AtLeast("0.12") && x.execEnvName != "" {
		e["CNB_EXEC_ENV"] = x.execEnvName
	}
	return e.list(), nil
}
