package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// pauseMain is the container's PID 1, started by libcontainer with the
// control socket as fd 3. It reaps orphans, starts zygotes on request and
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
	nested := os.Getenv(usernsEnv) == "1"
	os.Clearenv()

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	go func() {
		for s := range sigs {
			if s != unix.SIGCHLD {
				os.Exit(0)
			}
			reap()
		}
	}()
	rx := newReceiver(ctl)
	for {
		m, files, err := rx.recv()
		if err != nil {
			return 0
		}
		reply := message{Op: opReply, ID: m.ID}
		if m.Op == opZygote && len(files) == 1 {
			pid, err := startZygote(m, files[0], nested)
			reply.Pid = pid
			setErr(&reply, err)
		} else {
			reply.Err = "unexpected request " + m.Op
		}
		closeAll(files)
		if err := send(ctl, reply); err != nil {
			return 0
		}
	}
}

// reap collects every exited child.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// startZygote starts a zygote for m.UID:m.GID on the socket sock. In a
// rootless container the zygote gets a nested user namespace mapping
// m.UID to the container's root (the invoking user on the host): files it
// creates on binds belong to the invoking user, and it has no capabilities
// once it has exec'd as a non-root user. As root, it is simply setuid.
func startZygote(m message, sock *os.File, nested bool) (int, error) {
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
	if nested {
		sys.Cloneflags = unix.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: m.UID, HostID: 0, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: m.GID, HostID: 0, Size: 1}}
		sys.GidMappingsEnableSetgroups = false
	} else {
		sys.Credential = &syscall.Credential{Uid: uint32(m.UID), Gid: uint32(m.GID), Groups: []uint32{}}
	}
	return syscall.ForkExec("/proc/self/exe", []string{"kiln-sandbox-zygote"}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{devnull.Fd(), devnull.Fd(), 2, sock.Fd()},
		Sys:   sys,
	})
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
