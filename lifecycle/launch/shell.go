package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// bashPath is where a shell launch finds bash, as in the reference lifecycle.
const bashPath = "/bin/bash"

// execShell runs the process through bash: a script sources every layer's
// profile.d files (then profile.d/<type>) and the app's .profile, changes to
// the working directory and execs a nested bash with the command. A command
// without arguments (or from a buildpack below API 0.4) is a bash script
// whose positional parameters are the arguments; otherwise every token is
// expanded by bash on its own (`eval echo`).
func (l *Launcher) execShell(self string, p Process, e *env, wd string) error {
	if _, err := os.Stat(bashPath); err != nil {
		return fmt.Errorf("launching %s: %w", p.Command[0], ErrNoBash)
	}
	profiles, err := l.profiles(p.Type)
	if err != nil {
		return fmt.Errorf("finding profile scripts: %w", err)
	}
	script, err := l.isScript(p)
	if err != nil {
		return err
	}
	args := append(append([]string(nil), p.Command[1:]...), p.Args...)
	var b strings.Builder
	for _, prof := range profiles {
		fmt.Fprintf(&b, "source %s\n", shellQuote(prof))
	}
	fmt.Fprintf(&b, "cd %s\n", shellQuote(wd))
	if script {
		b.WriteString(`exec bash -c "$@"`)
	} else {
		b.WriteString(tokensCommand(len(args) + 1))
	}
	argv := append([]string{"bash", "-c", b.String(), self, p.Command[0]}, args...)
	if err := l.Exec(bashPath, argv, e.list()); err != nil {
		return fmt.Errorf("executing %s: %w", bashPath, err)
	}
	return nil
}

// tokensCommand returns the line that execs a bash evaluating each of its n
// positional tokens ($0 … $n-1) separately, so that `$VAR` in a token is
// expanded but the token stays one argument.
func tokensCommand(n int) string {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = fmt.Sprintf(`"$(eval echo \"$%d\")"`, i)
	}
	return fmt.Sprintf(`exec bash -c '%s' "${@:1}"`, strings.Join(tokens, " "))
}

// isScript reports whether the command runs as a bash script rather than as
// tokens: with no arguments, or for a process of a buildpack below API 0.4.
func (l *Launcher) isScript(p Process) (bool, error) {
	if len(p.Args) == 0 && len(p.Command) == 1 {
		return true, nil
	}
	if p.BuildpackID == "" {
		return false, nil
	}
	bp, ok := l.Metadata.findBuildpack(p.BuildpackID)
	if !ok {
		return false, fmt.Errorf("process type %s comes from unknown buildpack %q", p.Type, p.BuildpackID)
	}
	v, err := buildpackAPI(bp)
	if err != nil {
		return false, err
	}
	return v.less(apiVersion{0, 4}), nil
}

// profiles lists the scripts a shell launch sources: <layer>/profile.d/*
// then <layer>/profile.d/<type>/* for every layer of every buildpack, then
// <app>/.profile.
func (l *Launcher) profiles(procType string) ([]string, error) {
	out, err := l.layerFiles("profile.d", procType, minBuildpackAPI)
	if err != nil {
		return nil, err
	}
	app := filepath.Join(l.AppDir, ".profile")
	fi, err := os.Stat(app)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case !fi.IsDir():
		out = append(out, app)
	}
	return out, nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
