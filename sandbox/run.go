package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Run runs p in a fresh container for cfg, whose user is p's, and removes
// the container when p exits. See Container.Run for the exit code.
func Run(ctx context.Context, cfg Config, p Process) (exitCode int, err error) {
	cfg.UID, cfg.GID = p.UID, p.GID
	c, err := Start(ctx, cfg)
	if err != nil {
		return -1, err
	}
	code, err := c.Run(ctx, p)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return code, err
}

// Run runs p in the container and waits for it. The exit code is the
// process's, or 128+N when signal N ended it. Cancelling ctx kills the
// process's group; the code is then 137 and the error wraps ctx.Err().
// When the executable is missing the code is 127 and the error wraps
// ErrNotFound (126 and ErrNotExecutable when it cannot run); on other
// errors the code is -1.
func (c *Container) Run(ctx context.Context, p Process) (exitCode int, err error) {
	if len(p.Args) == 0 {
		return -1, errors.New("running a process: no command")
	}
	if (p.UID != c.uid || p.GID != c.gid) && !c.keepIDs {
		return -1, fmt.Errorf("running %s as %d:%d: %w: the container runs processes as %d:%d (Config.UID, GID)",
			p.Args[0], p.UID, p.GID, ErrUnsupported, c.uid, c.gid)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return -1, fmt.Errorf("running %s: %w", p.Args[0], ErrClosed)
	}
	code, err := c.client.run(ctx, c.nextID.Add(1), p)
	if err != nil {
		return code, fmt.Errorf("running %s: %w", p.Args[0], err)
	}
	return code, nil
}

// spawnError maps a failed start to the shell's exit codes.
func spawnError(m message) (int, error) {
	switch syscall.Errno(m.Errno) {
	case unix.ENOENT:
		return 127, fmt.Errorf("%w: %s", ErrNotFound, m.Err)
	case unix.EACCES, unix.ENOEXEC, unix.EPERM:
		return 126, fmt.Errorf("%w: %s", ErrNotExecutable, m.Err)
	}
	return -1, errors.New(m.Err)
}

// exitCode turns a wait(2) status into a shell-style exit code.
func exitCode(status int) int {
	ws := unix.WaitStatus(status)
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}

// withDefaults adds PATH and HOME when env lacks them; nothing else is
// added to a process's environment.
func withDefaults(env []string, uid int) []string {
	var hasPath, hasHome bool
	for _, kv := range env {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
		hasHome = hasHome || strings.HasPrefix(kv, "HOME=")
	}
	out := append([]string(nil), env...)
	if !hasPath {
		out = append(out, "PATH="+defaultPath)
	}
	if !hasHome {
		home := "/"
		if uid == 0 {
			home = "/root"
		}
		out = append(out, "HOME="+home)
	}
	return out
}
