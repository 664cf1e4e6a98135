package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The container's init is kiln's own binary again (role initRole), started
// by Start as the first process of the container's namespaces: PID 1 of
// its PID namespace (or, without one, the subreaper of what it starts).
// It is the only runtime start a container costs. Told by kiln over the
// control socket (fd 3) what to do (an initSpec), it
//
//  1. lays the root out (shim_mounts.go: the view's binds, /proc, /dev,
//     /tmp, /sys, the container's mounts, masked and read-only paths) and
//     pivots into it, sets the host name, brings loopback up for a private
//     network and sets rlimits;
//  2. becomes the container's user (as root), drops every capability, is
//     not dumpable, sets no_new_privs and loads the seccomp filter, all
//     inherited by what it starts;
//  3. replies, then forks and execs each process it is asked for, in its
//     own process group, reaps orphans, signals and ends processes on
//     request, and exits when kiln closes the socket (or dies): the kernel
//     then kills everything left in the PID namespace, or, without one,
//     the init kills it first.
//
// All of it runs on the main thread, locked: credentials are per thread,
// and the processes are forked from it.

// defaultPath is the PATH of a process whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type shim struct {
	conn *net.UnixConn
	rx   *receiver
	wmu  sync.Mutex // serialises writes to conn
	spec initSpec

	mu      sync.Mutex // guards waiters, held from fork to registration
	waiters map[int]chan int
	groups  map[int]bool // process groups of running processes
}

func shimMain() int {
	runtime.LockOSThread()
	// No controlling terminal: else every process of the container could
	// open kiln's through /dev/tty, read what is typed there, or push input
	// into the user's shell (TIOCSTI).
	if err := leaveTerminal(); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox init: leaving the controlling terminal:", err)
		return 1
	}
	// Whatever kiln inherited without close-on-exec (from its own parent:
	// a make jobserver's pipe, a CI runner's descriptors) came along; the
	// processes it starts get their stdio and nothing else.
	if err := closeOnExecFrom(3); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox init: marking descriptors close-on-exec:", err)
		return 1
	}
	conn, err := fileConn(os.NewFile(3, "control"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox init:", err)
		return 1
	}
	os.Clearenv()
	s := &shim{conn: conn, rx: newReceiver(conn), waiters: map[int]chan int{}, groups: map[int]bool{}}
	first, files, err := s.rx.recv()
	closeAll(files)
	if err != nil || first.Op != opSetup {
		return 1
	}
	reply := message{Op: opReply, ID: first.ID}
	if err := json.Unmarshal(first.Spec, &s.spec); err != nil {
		setErr(&reply, fmt.Errorf("decoding the container's spec: %w", err))
	} else {
		setErr(&reply, s.setup())
	}
	if s.reply(reply) != nil || reply.Err != "" {
		return 1
	}
	return s.serve()
}

// setup makes the container and the init's credentials what the spec says.
func (s *shim) setup() error {
	sp := &s.spec
	if sp.Root != "" {
		if err := setupRoot(sp); err != nil {
			return err
		}
		if err := unix.Sethostname([]byte(sp.Hostname)); err != nil {
			return fmt.Errorf("setting the host name: %w", err)
		}
		if sp.Loopback {
			if err := loopbackUp(); err != nil {
				return fmt.Errorf("bringing up loopback: %w", err)
			}
		}
	}
	for _, r := range sp.Rlimits {
		if err := unix.Setrlimit(r.Type, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("setting rlimit %d: %w", r.Type, err)
		}
	}
	if sp.Reap {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("becoming a subreaper: %w", err)
		}
	}
	// The bounding set while the init still has CAP_SETPCAP: as root it
	// loses every capability with its uid just below.
	if err := dropBoundingSet(sp.Root == ""); err != nil {
		return fmt.Errorf("dropping capabilities: %w", err)
	}
	if sp.SetIDs {
		// Every thread (Go's setuid and setgid do all), groups first.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("dropping supplementary groups: %w", err)
		}
		if err := syscall.Setgid(sp.GID); err != nil {
			return fmt.Errorf("setting gid %d: %w", sp.GID, err)
		}
		if err := syscall.Setuid(sp.UID); err != nil {
			return fmt.Errorf("setting uid %d: %w", sp.UID, err)
		}
	}
	if sp.Root != "" && !sp.Seccomp {
		if err := newSessionKeyring(); err != nil {
			return fmt.Errorf("joining a session keyring of its own: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	// Not dumpable: processes of the same uid can neither ptrace the init
	// nor open its control socket or its executable through /proc.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("making the init non-dumpable: %w", err)
	}
	if err := dropCapabilities(); err != nil {
		return fmt.Errorf("dropping capabilities: %w", err)
	}
	if sp.Seccomp {
		if err := loadSeccomp(); err != nil {
			return fmt.Errorf("loading the seccomp filter: %w", err)
		}
	}
	return nil
}

// serve answers kiln until the socket closes.
func (s *shim) serve() int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	go func() {
		for sig := range sigs {
			if sig != unix.SIGCHLD {
				s.conn.Close() // asked to stop: as if kiln had gone
				return
			}
			s.reap()
		}
	}()
	defer s.end()
	for {
		m, files, err := s.rx.recv()
		if err != nil {
			return 0
		}
		switch m.Op {
		case opSpawn:
			s.spawn(m, files)
		case opSignal:
			s.mu.Lock()
			if s.groups[m.Pid] {
				unix.Kill(-m.Pid, unix.Signal(m.Signal))
			}
			s.mu.Unlock()
		case opKillAll:
			r := message{Op: opReply, ID: m.ID}
			if !sweep(s.reap) {
				r.Err = fmt.Sprintf("processes outlived SIGKILL for %v", sweepTimeout)
			}
			s.reply(r)
		}
		closeAll(files)
	}
}

// end is the container's end: the init kills and reaps what is left
// before it exits. Without a PID namespace of its own nothing else would;
// with one, the kernel would, but only once the init is gone, and no
// process of the container should outlive the init's hold on its
// executable.
func (s *shim) end() {
	sweep(s.reap)
}

// reply sends m to kiln.
func (s *shim) reply(m message, files ...*os.File) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return send(s.conn, m, files...)
}

// reap collects every exited child, hands the status of a spawned
// process to its waiter, and reports whether there was one.
func (s *shim) reap() (any bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return any
		}
		any = true
		if w := s.waiters[pid]; w != nil {
			w <- int(ws)
			delete(s.waiters, pid)
			delete(s.groups, pid)
		}
	}
}

// spawn starts the process m describes on the stdio in files (or a new
// terminal) and reports its pid, then, once reaped, its end.
func (s *shim) spawn(m message, files []*os.File) {
	r := message{Op: opReply, ID: m.ID}
	done := make(chan int, 1)
	s.mu.Lock()
	pid, master, err := start(m, files)
	if err == nil {
		s.waiters[pid] = done
		s.groups[pid] = true
	}
	s.mu.Unlock()
	if err != nil {
		setErr(&r, err)
		s.reply(r)
		return
	}
	r.Pid = pid
	if master != nil {
		s.reply(r, master)
		master.Close()
	} else {
		s.reply(r)
	}
	s.reap() // it may have ended already
	go func() {
		status := <-done
		s.reply(message{Op: opExited, ID: m.ID, Pid: pid, Status: status})
	}()
}

func start(m message, files []*os.File) (int, *os.File, error) {
	if len(m.Args) == 0 {
		return 0, nil, errors.New("no command")
	}
	dir := m.Dir
	if dir == "" {
		dir = "/"
	}
	if fi, err := os.Stat(dir); err != nil {
		return 0, nil, fmt.Errorf("working directory: %w", err)
	} else if !fi.IsDir() {
		return 0, nil, fmt.Errorf("working directory %s: %w", dir, unix.ENOTDIR)
	}
	prog, err := lookPath(m.Args[0], dir, m.Env)
	if err != nil {
		return 0, nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	var fds []uintptr
	var master *os.File
	if m.TTY {
		var slave *os.File
		master, slave, err = openPTY(m.Cols, m.Rows)
		if err != nil {
			return 0, nil, err
		}
		defer slave.Close()
		fds = []uintptr{slave.Fd(), slave.Fd(), slave.Fd()}
		sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		if len(files) != 3 {
			return 0, nil, fmt.Errorf("spawn needs 3 stdio files, got %d", len(files))
		}
		fds = []uintptr{files[0].Fd(), files[1].Fd(), files[2].Fd()}
	}
	pid, err := syscall.ForkExec(prog, m.Args, &syscall.ProcAttr{Dir: dir, Env: m.Env, Files: fds, Sys: sys})
	if err != nil {
		if master != nil {
			master.Close()
		}
		return 0, nil, err
	}
	return pid, master, nil
}

// setErr records err in a reply.
func setErr(r *message, err error) {
	if err == nil {
		return
	}
	r.Err = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = int(errno)
	}
}

// lookPath resolves a command name as a shell does, with the PATH of env,
// inside the container.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, checkExecutable(p)
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	var firstErr error = unix.ENOENT
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if err != unix.ENOENT && firstErr == unix.ENOENT {
			firstErr = err
		}
	}
	return "", firstErr
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return unix.ENOENT
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}

// dropBoundingSet empties the calling thread's bounding set, so that no
// exec of what it starts gains a capability, not even as uid 0. It needs
// CAP_SETPCAP, which the init of a container always has; at LevelNone
// (none) an ordinary user's init has no capability to lose, and keeps the
// set it cannot drop (no_new_privs still stops every gain).
func dropBoundingSet(none bool) error {
	last := lastCap()
	for c := 0; c <= last; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		switch {
		case err == nil || err == unix.EINVAL:
		case err == unix.EPERM && none && !hasPermitted():
			return nil
		default:
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// hasPermitted reports whether the calling thread has any permitted
// capability.
func hasPermitted() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true
	}
	return data[0].Permitted != 0 || data[1].Permitted != 0
}

// dropCapabilities empties the calling thread's ambient, inheritable,
// permitted and effective sets (the bounding set is dropBoundingSet's).
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient set: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capset(&hdr, &data[0])
}

// newSessionKeyring gives the init, and so every process it starts, a new
// anonymous session keyring: otherwise they would possess kiln's, and its
// keys. Only without the seccomp filter, which denies keyctl, add_key and
// request_key (a new keyring per container would only cost time and the
// user's key quota there). Where keyrings are missing or keyctl is
// refused already (a pod's filter), there is nothing to share.
func newSessionKeyring() error {
	_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	switch errno {
	case 0, unix.ENOSYS, unix.EPERM, unix.EACCES:
		return nil
	}
	return errno
}

// leaveTerminal detaches the calling process from its controlling
// terminal, if it has one, without leaving its session (TIOCNOTTY from a
// process that is not the session's leader touches no one else); what it
// forks then has none either, and opening /dev/tty fails with ENXIO.
func leaveTerminal() error {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil // none (ENXIO), or no /dev/tty to open
	}
	defer unix.Close(fd)
	return unix.IoctlSetInt(fd, unix.TIOCNOTTY, 0)
}

// closeOnExecFrom marks every descriptor from first up close-on-exec.
func closeOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err != unix.ENOSYS && err != unix.EINVAL {
		return err
	}
	// Linux < 5.11.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd >= first {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 63
	}
	var n int
	if _, err := fmt.Sscan(string(b), &n); err != nil {
		return 63
	}
	return n
}

// openPTY opens a new pseudo-terminal of the container's devpts.
func openPTY(cols, rows uint16) (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening a terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlocking a terminal: %w", err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		m.Close()
		return nil, nil, fmt.Errorf("opening a terminal's peer: %w", errno)
	}
	s := os.NewFile(fd, "pty")
	if cols == 0 || rows == 0 {
		cols, rows = 80, 24
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
	return m, s, nil
}
