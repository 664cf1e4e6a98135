package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Run runs p in a fresh container for cfg and removes the container when
// p exits. See Container.Run for the exit code.
func Run(ctx context.Context, cfg Config, p Process) (exitCode int, err error) {
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
	z, err := c.zygote(p.UID, p.GID)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return -1, fmt.Errorf("running %s: %w", p.Args[0], err)
	}
	code, err := z.run(ctx, c.nextID.Add(1), p)
	if err != nil {
		return code, fmt.Errorf("running %s: %w", p.Args[0], err)
	}
	return code, nil
}

// zygote returns the zygote for uid:gid, starting it on first use.
func (c *Container) zygote(uid, gid int) (*zygoteClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	key := [2]int{uid, gid}
	if z := c.zygotes[key]; z != nil && !z.isDead() {
		return z, nil
	}
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	req := message{Op: opZygote, ID: c.nextID.Add(1), UID: uid, GID: gid, Seccomp: c.seccomp}
	if err := send(c.ctl, req, theirs); err != nil {
		ours.Close()
		return nil, fmt.Errorf("starting a zygote: %w", ErrClosed)
	}
	r, files, err := c.ctlRx.recv()
	closeAll(files)
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("starting a zygote: %w", ErrClosed)
	}
	if r.Err != "" {
		ours.Close()
		return nil, fmt.Errorf("starting a zygote for %d:%d: %s", uid, gid, r.Err)
	}
	z := &zygoteClient{conn: ours, pending: map[uint64]*pending{}}
	go z.read()
	c.zygotes[key] = z
	return z, nil
}

// zygoteClient is kiln's end of a zygote's socket. One goroutine reads it
// and hands each message to the Run waiting for it.
type zygoteClient struct {
	conn    *net.UnixConn
	wmu     sync.Mutex // serialises writes
	mu      sync.Mutex // guards pending and dead
	pending map[uint64]*pending
	dead    bool
}

type pending struct {
	reply  chan received
	exited chan message
}

type received struct {
	m     message
	files []*os.File
}

func (z *zygoteClient) isDead() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.dead
}

func (z *zygoteClient) read() {
	rx := newReceiver(z.conn)
	for {
		m, files, err := rx.recv()
		if err != nil {
			z.mu.Lock()
			z.dead = true
			for id, p := range z.pending {
				close(p.reply)
				close(p.exited)
				delete(z.pending, id)
			}
			z.mu.Unlock()
			return
		}
		z.mu.Lock()
		p := z.pending[m.ID]
		if p != nil && m.Op == opExited {
			delete(z.pending, m.ID)
		}
		z.mu.Unlock()
		switch {
		case p == nil:
			closeAll(files)
		case m.Op == opReply:
			p.reply <- received{m, files}
		case m.Op == opExited:
			p.exited <- m
		}
	}
}

func (z *zygoteClient) send(m message, files ...*os.File) error {
	z.wmu.Lock()
	defer z.wmu.Unlock()
	return send(z.conn, m, files...)
}

func (z *zygoteClient) run(ctx context.Context, id uint64, p Process) (int, error) {
	st, err := newStdio(p)
	if err != nil {
		return -1, err
	}
	defer st.close()
	pd := &pending{reply: make(chan received, 1), exited: make(chan message, 1)}
	z.mu.Lock()
	if z.dead {
		z.mu.Unlock()
		return -1, ErrClosed
	}
	z.pending[id] = pd
	z.mu.Unlock()

	req := message{Op: opSpawn, ID: id, Args: p.Args, Env: withDefaults(p.Env, p.UID), Dir: p.Dir,
		TTY: p.TTY, Cols: p.TTYSize[0], Rows: p.TTYSize[1]}
	if err := z.send(req, st.child...); err != nil {
		z.forget(id)
		return -1, fmt.Errorf("sending the request: %w", err)
	}
	st.closeChild()
	// The container may be closed underneath, by a cancelled context too.
	closed := func() (int, error) {
		if ctx.Err() != nil {
			return 128 + int(unix.SIGKILL), ctx.Err()
		}
		return -1, ErrClosed
	}
	r, ok := <-pd.reply
	if !ok {
		return closed()
	}
	if r.m.Err != "" {
		closeAll(r.files)
		z.forget(id)
		return spawnError(r.m)
	}
	if p.TTY {
		if len(r.files) != 1 {
			closeAll(r.files)
			return -1, errors.New("the zygote sent no terminal")
		}
		st.attachTTY(r.files[0], p)
	}
	done := make(chan struct{})
	defer close(done)
	if p.Signals != nil {
		go z.forward(r.m.Pid, p.Signals, done)
	}
	var exited message
	select {
	case exited, ok = <-pd.exited:
	case <-ctx.Done():
		z.send(message{Op: opSignal, Pid: r.m.Pid, Signal: int(unix.SIGKILL)})
		exited, ok = <-pd.exited
	}
	st.wait()
	if !ok {
		return closed()
	}
	if ctx.Err() != nil {
		return exitCode(exited.Status), ctx.Err()
	}
	return exitCode(exited.Status), nil
}

// forward sends the signals from sigs to the process group pid until done.
func (z *zygoteClient) forward(pid int, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s, ok := <-sigs:
			if !ok {
				return
			}
			if sig, ok := s.(syscall.Signal); ok {
				z.send(message{Op: opSignal, Pid: pid, Signal: int(sig)})
			}
		}
	}
}

func (z *zygoteClient) forget(id uint64) {
	z.mu.Lock()
	delete(z.pending, id)
	z.mu.Unlock()
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

// withDefaults adds PATH and HOME when env lacks them: libcontainer's
// defaults do not apply to processes the zygote starts.
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

// stdio holds a process's standard streams: the files handed to the child
// and the copies between pipes and the caller's readers and writers.
type stdio struct {
	child   []*os.File // stdin, stdout, stderr for the child (closed after sending)
	ours    []*os.File // our ends of pipes, closed at the end
	copiers sync.WaitGroup
	stop    chan struct{} // ends the resize loop
	resizer sync.WaitGroup
}

func newStdio(p Process) (*stdio, error) {
	s := &stdio{}
	if p.TTY {
		return s, nil
	}
	in, err := s.input(p.Stdin)
	if err != nil {
		s.close()
		return nil, err
	}
	out, err := s.output(p.Stdout)
	if err != nil {
		s.close()
		return nil, err
	}
	// One writer for both streams gets one pipe, as with os/exec, so that
	// it is never written from two goroutines.
	var errf *os.File
	if p.Stderr != nil && sameWriter(p.Stdout, p.Stderr) {
		errf, err = dupFile(out)
	} else {
		errf, err = s.output(p.Stderr)
	}
	if err != nil {
		closeAll([]*os.File{in, out})
		s.close()
		return nil, err
	}
	s.child = []*os.File{in, out, errf}
	return s, nil
}

// sameWriter reports whether a and b are the same writer; writers that
// are not comparable are taken as different.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}

func (s *stdio) input(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return dupFile(f)
	}
	if r == nil {
		return os.Open(os.DevNull)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.ours = append(s.ours, pw)
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return pr, nil
}

func (s *stdio) output(w io.Writer) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return dupFile(f)
	}
	if w == nil {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.ours = append(s.ours, pr)
	s.copiers.Add(1)
	go func() {
		defer s.copiers.Done()
		io.Copy(w, pr)
	}()
	return pw, nil
}

// dupFile duplicates f so that closing the child's copy leaves the
// caller's file open.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// attachTTY copies between the terminal's master and the caller's
// streams, and applies resizes.
func (s *stdio) attachTTY(master *os.File, p Process) {
	s.ours = append(s.ours, master)
	if p.Resize != nil {
		stop := make(chan struct{})
		s.stop = stop
		s.resizer.Add(1)
		go func() {
			defer s.resizer.Done()
			for {
				select {
				case <-stop:
					return
				case sz, ok := <-p.Resize:
					if !ok {
						return
					}
					unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: sz[0], Row: sz[1]})
				}
			}
		}()
	}
	if p.Stdin != nil {
		go io.Copy(master, p.Stdin)
	}
	if p.Stdout != nil {
		s.copiers.Add(1)
		go func() {
			defer s.copiers.Done()
			io.Copy(p.Stdout, master) // ends with EIO once the terminal hangs up
		}()
	}
}

func (s *stdio) closeChild() {
	closeAll(s.child)
	s.child = nil
}

// outputGrace is how long output copies may go on after the process has
// exited, while a background child of it still holds the pipe.
const outputGrace = 2 * time.Second

// wait lets the output copies finish, or stops them after outputGrace.
func (s *stdio) wait() {
	done := make(chan struct{})
	go func() {
		s.copiers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(outputGrace):
		closeAll(s.ours)
		s.ours = nil
		<-done
	}
}

// close ends the copies (no output copy outlives Run: the caller may use
// its writers at once) and closes every file.
func (s *stdio) close() {
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
		s.resizer.Wait() // it uses the terminal's master
	}
	s.closeChild()
	s.wait()
	closeAll(s.ours)
	s.ours = nil
}
