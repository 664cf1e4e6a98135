package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Defaults of the directories the platform may move with CNB_LAYERS_DIR and
// CNB_APP_DIR.
const (
	DefaultLayersDir = "/layers"
	DefaultAppDir    = "/workspace"
	// DefaultExecEnv is the execution environment when CNB_EXEC_ENV is unset.
	DefaultExecEnv = "production"
)

// Main is the launcher program: args is its argv and environ its
// environment. It replaces the process with the selected one and returns
// only on error, with the exit code to end with (CodePlatformAPI,
// CodeBuildpackAPI, CodeFailed or CodeLaunch). Errors go to stderr.
func Main(args, environ []string) int {
	l, err := newLauncher(environ)
	if err == nil {
		if t := lookupEnv(environ, "CNB_PROCESS_TYPE"); t != "" {
			fmt.Fprintf(os.Stderr, "Warning: CNB_PROCESS_TYPE is not supported in Platform API %s\n", l.PlatformAPI)
			fmt.Fprintf(os.Stderr, "Warning: Run with ENTRYPOINT '%s' to invoke the '%s' process type\n", t, t)
		}
		self := "launcher"
		if len(args) > 0 {
			self, args = args[0], args[1:]
		}
		if err = l.Launch(context.Background(), self, args); err != nil {
			err = withCode(CodeLaunch, err, "launching")
		}
	}
	if err == nil { // only when Exec returns without error, as in tests
		return 0
	}
	fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
	var le *Error
	if errors.As(err, &le) {
		return le.Code
	}
	return CodeFailed
}

// newLauncher reads the launcher's settings from environ and metadata.toml.
func newLauncher(environ []string) (*Launcher, error) {
	platformAPI := lookupEnv(environ, "CNB_PLATFORM_API")
	if _, err := parsePlatformAPI(platformAPI); err != nil {
		return nil, withCode(CodePlatformAPI, err, "checking the platform API")
	}
	layersDir, err := absDir(environ, "CNB_LAYERS_DIR", DefaultLayersDir)
	if err != nil {
		return nil, withCode(CodeFailed, err, "finding the layers dir")
	}
	appDir, err := absDir(environ, "CNB_APP_DIR", DefaultAppDir)
	if err != nil {
		return nil, withCode(CodeFailed, err, "finding the app dir")
	}
	md, err := ReadMetadata(layersDir)
	if err != nil {
		return nil, withCode(CodeFailed, err, "starting")
	}
	for _, bp := range md.Buildpacks {
		if _, err := buildpackAPI(bp); err != nil {
			return nil, withCode(CodeBuildpackAPI, err, "checking buildpack APIs")
		}
	}
	execEnv := lookupEnv(environ, "CNB_EXEC_ENV")
	if execEnv == "" {
		execEnv = DefaultExecEnv
	}
	return &Launcher{
		AppDir:      appDir,
		LayersDir:   layersDir,
		PlatformAPI: platformAPI,
		ExecEnv:     execEnv,
		Metadata:    md,
		Env:         environ,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Exec:        syscall.Exec,
	}, nil
}

// lookupEnv returns the last value of key in environ.
func lookupEnv(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func absDir(environ []string, key, def string) (string, error) {
	d := lookupEnv(environ, key)
	if d == "" {
		d = def
	}
	return filepath.Abs(d)
}
