package launch

import (
	"fmt"
	"path/filepath"
	"strings"
)

// processType returns the process type that argv0 names: the base name of
// argv[0] (without ".exe") when metadata.toml has a process of that type,
// such as /cnb/process/web, a symlink to the launcher. From Platform API
// 0.15 the process must also fit the execution environment.
func (l *Launcher) processType(platform apiVersion, argv0 string) string {
	t := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	p, ok := l.Metadata.FindProcess(t)
	if !ok {
		return ""
	}
	if !platform.less(apiVersion{0, 15}) && !fitsExecEnv(p, l.ExecEnv) {
		return ""
	}
	return t
}

// fitsExecEnv reports whether p runs in execution environment execEnv: a
// process without exec-env runs everywhere, and "*" matches any.
func fitsExecEnv(p Process, execEnv string) bool {
	if len(p.ExecEnv) == 0 || execEnv == "" {
		return true
	}
	return contains(p.ExecEnv, execEnv) || contains(p.ExecEnv, "*")
}

// processFor selects the process to launch from argv[0] and the user's
// arguments, as the reference lifecycle does:
//   - argv[0] names a process type: that process, with the user's arguments
//     handled per Platform and Buildpack API (see userArgs);
//   - otherwise `-- CMD ARGS…` is a direct command, `CMD ARGS…` a command
//     run through bash, and no arguments at all an error.
func (l *Launcher) processFor(platform apiVersion, argv0 string, args []string) (Process, error) {
	t := l.processType(platform, argv0)
	if t == "" {
		return userProcess(args)
	}
	p, _ := l.Metadata.FindProcess(t)
	p.Command = append([]string(nil), p.Command...)
	p.Args = append([]string(nil), p.Args...)
	if len(p.Command) == 0 {
		return Process{}, fmt.Errorf("process type %s has no command", t)
	}
	if platform.less(apiVersion{0, 10}) {
		p.Args = append(p.Args, args...) // always appended
		return p, nil
	}
	return l.userArgs(p, args)
}

// userArgs applies the user's arguments to a buildpack process (Platform API
// 0.10 and later). command[1:] are always passed; args are defaults that the
// user's arguments replace, except below Buildpack API 0.9 where a
// single-element command gets them appended.
func (l *Launcher) userArgs(p Process, user []string) (Process, error) {
	switch {
	case len(p.Command) > 1:
		defaults := p.Args
		p.Args = append([]string(nil), p.Command[1:]...)
		p.Command = p.Command[:1]
		if len(user) > 0 {
			p.Args = append(p.Args, user...)
		} else {
			p.Args = append(p.Args, defaults...)
		}
	case len(user) == 0:
	default:
		bp, ok := l.Metadata.findBuildpack(p.BuildpackID)
		if !ok {
			return Process{}, fmt.Errorf("process type %s comes from unknown buildpack %q", p.Type, p.BuildpackID)
		}
		v, err := buildpackAPI(bp)
		if err != nil {
			return Process{}, err
		}
		if v.less(apiVersion{0, 9}) {
			p.Args = append(p.Args, user...)
		} else {
			p.Args = append([]string(nil), user...)
		}
	}
	return p, nil
}

// userProcess turns the launcher's arguments into a process when argv[0]
// names no process type.
func userProcess(args []string) (Process, error) {
	switch {
	case len(args) == 0:
		return Process{}, ErrNoCommand
	case len(args) > 1 && args[0] == "--":
		return Process{Command: args[1:2], Args: args[2:], Direct: true}, nil
	default:
		return Process{Command: args[:1], Args: args[1:]}, nil
	}
}
