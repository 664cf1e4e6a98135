package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

const seccompEnv = "_KILN_SANDBOX_SECCOMP"

// defaultPath is the PATH of a process whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// zygote spawns the container's processes for one uid:gid. It runs as that
// user, with no capabilities, no new privileges and (when built with
// seccomp) kiln's seccomp filter, all inherited by what it starts, so a
// process costs one fork and exec instead of a libcontainer "runc init"
// and a Go runtime start. Each process leads its own process group, which
// is what a signal from kiln reaches.
type zygote struct {
	ctl  *net.UnixConn
	mu   sync.Mutex // serialises writes to ctl
	pids sync.Map   // pid → struct{}: running process groups
}

func zygoteMain() int {
	// Spawning happens on this thread only, so the capabilities dropped
	// here (credentials are per thread) are the ones children inherit.
	runtime.LockOSThread()
	ctl, err := fileConn(os.NewFile(3, "control"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox zygote:", err)
		return 1
	}
	seccomp := os.Getenv(seccompEnv) == "1"
	os.Clearenv()
	// Set by libcontainer in a container; at LevelNone it is set here.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox zygote: prctl:", err)
		return 1
	}
	// Not dumpable: processes of the same uid cannot ptrace the zygote or
	// open its control socket through /proc.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox zygote: prctl:", err)
		return 1
	}
	if err := dropCapabilities(); err != nil {
		fmt.Fprintln(os.Stderr, "kiln sandbox zygote: dropping capabilities:", err)
		return 1
	}
	if seccomp {
		if err := loadSeccomp(); err != nil {
			fmt.Fprintln(os.Stderr, "kiln sandbox zygote: loading seccomp filter:", err)
			return 1
		}
	}
	z := &zygote{ctl: ctl}
	defer z.killAll()
	rx := newReceiver(ctl)
	for {
		m, files, err := rx.recv()
		if err != nil {
			return 0
		}
		switch m.Op {
		case opSpawn:
			z.spawn(m, files)
		case opSignal:
			if _, ok := z.pids.Load(m.Pid); ok {
				unix.Kill(-m.Pid, unix.Signal(m.Signal))
			}
		}
		closeAll(files)
	}
}

// reply sends m to kiln.
func (z *zygote) reply(m message, files ...*os.File) {
	z.mu.Lock()
	defer z.mu.Unlock()
	send(z.ctl, m, files...)
}

// spawn starts the process m describes on the stdio in files (or a new
// terminal) and reports its pid, then, from another goroutine, its end.
func (z *zygote) spawn(m message, files []*os.File) {
	r := message{Op: opReply, ID: m.ID}
	pid, master, err := z.start(m, files)
	if err != nil {
		setErr(&r, err)
		z.reply(r)
		return
	}
	r.Pid = pid
	z.pids.Store(pid, struct{}{})
	if master != nil {
		z.reply(r, master)
		master.Close()
	} else {
		z.reply(r)
	}
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		z.pids.Delete(pid)
		z.reply(message{Op: opExited, ID: m.ID, Pid: pid, Status: int(ws)})
	}()
}

func (z *zygote) start(m message, files []*os.File) (int, *os.File, error) {
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

// killAll kills every process group the zygote started; it runs when kiln
// closes the socket or goes away.
func (z *zygote) killAll() {
	z.pids.Range(func(k, _ any) bool {
		unix.Kill(-k.(int), unix.SIGKILL)
		return true
	})
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

// dropCapabilities empties the calling thread's bounding, ambient,
// inheritable, permitted and effective sets, so that nothing it starts
// gains a capability, not even as uid 0.
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	if data[0].Permitted == 0 && data[1].Permitted == 0 && data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return nil // a non-root exec already left nothing
	}
	last := lastCap()
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	data = [2]unix.CapUserData{}
	return unix.Capset(&hdr, &data[0])
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
