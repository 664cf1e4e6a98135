package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

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

// addRootDir prepends the bin, lib, include and pkgconfig directories of a
// layer that exist (checked on the host; the values are container paths).
func (e env) addRootDir(layer Dir) {
	for _, rd := range rootDirVars {
		if fi, err := os.Stat(filepath.Join(layer.Host, rd.dir)); err != nil || !fi.IsDir() {
			continue
		}
		for _, name := range rd.vars {
			e.prepend(name, path.Join(layer.Container, rd.dir), ":")
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

// addEnvDir applies the env files of the directory rel inside root, in file
// name order. The name of the variable is the file name up to the first
// '.'; the rest is the action (noSuffix when absent); values are the raw
// file contents. A missing directory contributes nothing.
func (e env) addEnvDir(root Dir, rel, noSuffix string) error {
	dir, err := root.scopedJoin(rel)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir.Host)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading env dir %s: %w", dir.Host, err)
	}
	for _, ent := range entries { // ReadDir sorts by name
		name, action, hasSuffix := strings.Cut(ent.Name(), ".")
		if !hasSuffix {
			action = noSuffix
		}
		if action == "delim" || name == "" {
			continue
		}
		v, ok, err := readEnvFile(dir, ent.Name())
		if err != nil || !ok {
			return err
		}
		delim, _, err := readEnvFile(dir, name+".delim")
		if err != nil {
			return err
		}
		e.apply(action, name, v, delim)
	}
	return nil
}

// readEnvFile reads the regular file name in dir; ok is false for
// directories and missing files.
func readEnvFile(dir Dir, name string) (string, bool, error) {
	f, err := dir.scopedJoin(name)
	if err != nil {
		return "", false, err
	}
	fi, err := os.Stat(f.Host)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.IsDir()) {
		return "", false, nil
	}
	b, err := os.ReadFile(f.Host)
	if err != nil {
		return "", false, fmt.Errorf("reading env file %s: %w", f.Host, err)
	}
	return string(b), true, nil
}

// addPlatformEnv applies <platform>/env: each file is a variable; path
// variables are prepended with ':', others replaced.
func (e env) addPlatformEnv(platform Dir) error {
	dir, err := platform.scopedJoin("env")
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir.Host)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading platform env %s: %w", dir.Host, err)
	}
	for _, ent := range entries {
		v, ok, err := readEnvFile(dir, ent.Name())
		if err != nil {
			return err
		}
		switch {
		case !ok:
		case pathVars[ent.Name()]:
			e.prepend(ent.Name(), v, ":")
		default:
			e[ent.Name()] = v
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
}

// forBuildpack returns the final environment for one executable of bp,
// starting from base (not modified); cnb are the phase's CNB_* variables.
func (x execEnv) forBuildpack(base env, bp *Buildpack, cnb ...string) ([]string, error) {
	e := base.clone()
	if !bp.Info.ClearEnv {
		if err := e.addPlatformEnv(x.paths.Platform); err != nil {
			return nil, err
		}
	}
	if x.paths.BuildConfig != "" {
		if err := e.addEnvDir(SameDir(x.paths.BuildConfig), "env", actionDefault); err != nil {
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
