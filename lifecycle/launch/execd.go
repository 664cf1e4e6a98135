package launch

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
)

// runExecD runs the exec.d executables of every layer (Buildpack API 0.5 and
// later): <layer>/exec.d/* then <layer>/exec.d/<type>/*, in group, layer and
// file name order. Each runs in the app dir with the environment built so
// far and prints NAME = "value" TOML on file descriptor 3; those values
// override the environment. A failure aborts the launch.
func (l *Launcher) runExecD(ctx context.Context, e *env, procType string) error {
	paths, err := l.layerFiles("exec.d", procType, apiVersion{0, 5})
	if err != nil {
		return fmt.Errorf("finding exec.d executables: %w", err)
	}
	for _, path := range paths {
		vars, err := l.execD(ctx, path, e.list())
		if err != nil {
			return fmt.Errorf("running %s: %w: %w", path, ErrExecD, err)
		}
		names := make([]string, 0, len(vars))
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			e.set(k, vars[k])
		}
	}
	return nil
}

// execD runs one exec.d executable and decodes what it wrote to fd 3.
func (l *Launcher) execD(ctx context.Context, path string, environ []string) (map[string]string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = l.AppDir
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = l.Stdout, l.Stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3
	err = cmd.Start()
	w.Close() // the child holds the only write end now
	if err != nil {
		return nil, err
	}
	out, readErr := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, fmt.Errorf("reading its output: %w", readErr)
	}
	return parseExecDOutput(string(out))
}

// parseExecDOutput decodes NAME = "value" pairs; any other value is an error.
func parseExecDOutput(out string) (map[string]string, error) {
	doc, err := parseTOML(out)
	if err != nil {
		return nil, fmt.Errorf("decoding its output: %w", err)
	}
	vars := make(map[string]string, len(doc))
	for k, v := range doc {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("decoding its output: %s is not a string", k)
		}
		vars[k] = s
	}
	return vars, nil
}
