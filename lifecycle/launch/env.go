package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Variables the platform sets for the launcher alone; the process never
// sees them.
var launcherOnlyEnv = []string{
	"CNB_LAYERS_DIR", "CNB_APP_DIR", "CNB_PROCESS_TYPE", "CNB_PLATFORM_API", "CNB_DEPRECATION_MODE",
}

// Directories the exporter puts on the image PATH for the launcher's sake.
var launcherPathDirs = []string{"/cnb/process", "/cnb/lifecycle"}

// rootDirs maps a layer subdirectory to the variables it is prepended to at
// launch.
var rootDirs = []struct{ dir, name string }{{"bin", "PATH"}, {"lib", "LD_LIBRARY_PATH"}}

// env is the process environment being assembled, in a stable order: the
// container's variables first, in their order, then new ones as first set.
type env struct {
	keys []string
	vals map[string]string
}

// newLaunchEnv starts from the container environment without the launcher's
// own variables and without the launcher's directories on PATH.
func newLaunchEnv(environ []string) *env {
	e := &env{vals: map[string]string{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || contains(launcherOnlyEnv, k) {
			continue
		}
		if k == "PATH" {
			v = stripPath(v, launcherPathDirs)
		}
		e.set(k, v)
	}
	return e
}

func stripPath(path string, drop []string) string {
	var keep []string
	for _, d := range filepath.SplitList(path) {
		if !contains(drop, filepath.Clean(d)) {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (e *env) get(k string) string { return e.vals[k] }

func (e *env) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

// list returns the environment as KEY=VALUE strings.
func (e *env) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// join puts value in front of (prepend) or behind (!prepend) the current
// value of k, with delim between them only when the current value is set.
func (e *env) join(k, value, delim string, prepend bool) {
	cur := e.get(k)
	switch {
	case cur == "":
		e.set(k, value)
	case prepend:
		e.set(k, value+delim+cur)
	default:
		e.set(k, cur+delim+value)
	}
}

// addRootDir prepends layerDir/bin to PATH and layerDir/lib to
// LD_LIBRARY_PATH when they exist.
func (e *env) addRootDir(layerDir string) error {
	for _, r := range rootDirs {
		dir := filepath.Join(layerDir, r.dir)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("adding %s: %w", dir, err)
		}
		e.join(r.name, dir, string(os.PathListSeparator), true)
	}
	return nil
}

// addEnvDir applies the env files of dir in name order. The variable is the
// file name up to its first dot; the rest is the action. legacy selects the
// meaning of a file without a suffix: below Buildpack API 0.5 it prepends
// with the path-list separator (or NAME.delim), from 0.5 on it overrides.
func (e *env) addEnvDir(dir string, legacy bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading env dir %s: %w", dir, err)
	}
	for _, ent := range entries {
		path := filepath.Join(dir, ent.Name())
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			continue // env.launch/<process-type>/ and the like
		}
		name, action, _ := strings.Cut(ent.Name(), ".")
		if name == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading env file: %w", err)
		}
		value := string(data) // never trimmed, never evaluated
		switch action {
		case "override":
			e.set(name, value)
		case "default":
			if e.get(name) == "" {
				e.set(name, value)
			}
		case "prepend", "append":
			e.join(name, value, delim(dir, name, ""), action == "prepend")
		case "":
			if legacy {
				e.join(name, value, delim(dir, name, string(os.PathListSeparator)), true)
			} else {
				e.set(name, value)
			}
		}
	}
	return nil
}

// delim returns the content of dir/NAME.delim, or def without that file.
func delim(dir, name, def string) string {
	data, err := os.ReadFile(filepath.Join(dir, name+".delim"))
	if err != nil {
		return def
	}
	return string(data)
}
