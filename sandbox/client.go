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

// client is kiln's end of the init's control socket. One goroutine reads
// it and hands each message to the request waiting for it.
type client struct {
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

func (z *client) read() {
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

// request sends m with files and waits for the reply.
func (z *client) request(m message, files ...*os.File) (received, error) {
	pd := &pending{reply: make(chan received, 1), exited: make(chan message, 1)}
	z.mu.Lock()
	if z.dead {
		z.mu.Unlock()
		return received{}, ErrClosed
	}
	z.pending[m.ID] = pd
	z.mu.Unlock()
	defer z.forget(m.ID)
	if err := z.send(m, files...); err != nil {
		return received{}, ErrClosed
	}
	r, ok := <-pd.reply
	if !ok {
		return received{}, ErrClosed
	}
	return r, nil
}

func (z *client) send(m message, files ...*os.File) error {
	z.wmu.Lock()
	defer z.wmu.Unlock()
	return send(z.conn, m, files...)
}

func (z *client) run(ctx context.Context, id uint64, p Process) (int, error) {
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
			return -1, errors.New("the container's init sent no terminal")
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
func (z *client) forward(pid int, sigs <-chan os.Signal, done <-chan struct{}) {
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

func (z *client) forget(id uint64) {
	z.mu.Lock()
	delete(z.pending, id)
	z.mu.Unlock()
}

func newClient(conn *net.UnixConn) *client {
	z := &client{conn: conn, pending: map[uint64]*pending{}}
	go z.read()
	return z
}
