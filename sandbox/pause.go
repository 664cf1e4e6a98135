package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// pauseMain is the container's PID 1, started by libcontainer with the
// control socket as fd 3 (or, at LevelNone and without a PID namespace,
// its reaper: see sweep.go). It reaps orphans, starts zygotes on request and
// exits when the socket closes: because kiln alone holds the other end,
// that happens when kiln closes the container, and also when kiln dies,
// even by SIGKILL. PID 1 exiting makes the kernel kill every process left
// in the container's PID namespace. (libcontainer's ParentDeathSignal does
// not reach the container init: nsexec clones it away.)
func pauseMain() int {
	ctl, err := fileConn(os.NewFile(3, "control"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox pause:", err)
		return 1
	}
	ids := os.Getenv(idsEnv)
	reaper := os.Getenv(reapEnv) == "1"
	limits := os.Getenv(rlimitsEnv)
	os.Clearenv()
	if err := setRlimits(limits); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox pause: setting rlimits:", err)
		return 1
	}
	// exit ends the container: without a PID namespace, by killing what
	// is left of it first.
	exit := func() int {
		if reaper {
			sweep()
		}
		return 0
	}
	if reaper {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "kiln sandbox pause: becoming a subreaper:", err)
			return 1
		}
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	go func() {
		for s := range sigs {
			if s != unix.SIGCHLD {
				os.Exit(exit())
			}
			reap()
		}
	}()
	rx := newReceiver(ctl)
	for {
		m, files, err := rx.recv()
		if err != nil {
			return exit()
		}
		reply := message{Op: opReply, ID: m.ID}
		switch {
		case m.Op == opZygote && len(files) == 1:
			pid, err := startZygote(m, files[0], ids)
			reply.Pid = pid
			setErr(&reply, err)
		case m.Op == opKillAll:
			// Every process of the container descends from this one: it
			// is the PID namespace's init, or the subreaper of them all.
			if !sweep() {
				reply.Err = fmt.Sprintf("processes outlived SIGKILL for %v", sweepTimeout)
			}
		default:
			reply.Err = "unexpected request " + m.Op
		}
		closeAll(files)
		if err := send(ctl, reply); err != nil {
			return exit()
		}
	}
}

// reap collects every exited child and reports whether there was one.
func reap() (any bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return any
		}
		any = true
	}
}

// startZygote starts a zygote for m.UID:m.GID on the socket sock. In a
// rootless container (ids idsNested) the zygote gets a nested user
// namespace mapping m.UID to the container's root (the invoking user on
// the host): files it creates on binds belong to the invoking user, and it
// has no capabilities once it has exec'd as a non-root user. As root, it
// is simply setuid; with idsKeep it keeps the shim's ids.
func startZygote(m message, sock *os.File, ids string) (int, error) {
	devnull, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	env := []string{roleEnv + "=" + roleZygote, "GOMAXPROCS=1"}
	if m.Seccomp {
		env = append(env, seccompEnv+"=1")
	}
	sys := &syscall.SysProcAttr{Setsid: true}
	switch ids {
	case idsKeep:
	case idsNested:
		sys.Cloneflags = unix.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: m.UID, HostID: 0, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: m.GID, HostID: 0, Size: 1}}
		sys.GidMappingsEnableSetgroups = false
	default:
		sys.Credential = &syscall.Credential{Uid: uint32(m.UID), Gid: uint32(m.GID), Groups: []uint32{}}
	}
	return syscall.ForkExec("/proc/self/exe", []string{"kiln-sandbox-zygote"}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{devnull.Fd(), devnull.Fd(), 2, sock.Fd()},
		Sys:   sys,
	})
}

// setRlimits applies "RESOURCE:SOFT:HARD,…" to the calling process.
func setRlimits(s string) error {
	if s == "" {
		return nil
	}
	for _, r := range strings.Split(s, ",") {
		var res int
		var lim unix.Rlimit
		if _, err := fmt.Sscanf(r, "%d:%d:%d", &res, &lim.Cur, &lim.Max); err != nil {
			return fmt.Errorf("rlimit %q: %w", r, err)
		}
		if err := unix.Setrlimit(res, &lim); err != nil {
			return fmt.Errorf("rlimit %d: %w", res, err)
		}
	}
	return nil
}

// setErr records err in a reply.
func setErr(r *message, err error) {
	if err == nil {
		return
	}
	r.Err = err.Error()
	if errno, ok := err.(syscall.Errno); ok {
		r.Errno = int(errno)
	}
}
