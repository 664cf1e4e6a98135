package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

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
