package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// kiln talks to its processes in the container over SOCK_SEQPACKET unix
// sockets: one JSON message per packet, file descriptors attached with
// SCM_RIGHTS. Only kiln holds the other end of each socket; buildpacks
// never inherit one.

// Operations of the protocol.
const (
	opSetup   = "setup"   // kiln → init, first: set the container up as Spec says
	opKillAll = "killall" // kiln → init: kill every other process of the container; reply once none is left
	opSpawn   = "spawn"   // kiln → init: run a process on the attached stdio
	opSignal  = "signal"  // kiln → init: signal a process's group
	opReply   = "reply"   // → kiln: the outcome of a request (Err, Errno, Pid; a tty master attached)
	opExited  = "exited"  // init → kiln: a process ended with Status
	maxPacket = 256 << 10 // a request's args and env must fit
)

// message is one packet.
type message struct {
	Op     string          `json:"op"`
	ID     uint64          `json:"id,omitempty"`
	Spec   json.RawMessage `json:"spec,omitempty"` // an initSpec
	Args   []string        `json:"args,omitempty"`
	Env    []string        `json:"env,omitempty"`
	Dir    string          `json:"dir,omitempty"`
	TTY    bool            `json:"tty,omitempty"`
	Cols   uint16          `json:"cols,omitempty"`
	Rows   uint16          `json:"rows,omitempty"`
	Pid    int             `json:"pid,omitempty"`
	Signal int             `json:"signal,omitempty"`
	Status int             `json:"status,omitempty"` // a wait(2) status
	Err    string          `json:"err,omitempty"`
	Errno  int             `json:"errno,omitempty"`
}

// socketPair returns a connected SOCK_SEQPACKET pair: ours as a
// *net.UnixConn and theirs as a file to hand to a child.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("creating socket pair: %w", err)
	}
	ours, err := fileConn(os.NewFile(uintptr(fds[0]), "sandbox-control"))
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return ours, os.NewFile(uintptr(fds[1]), "sandbox-control-peer"), nil
}

// fileConn turns a socket file into a connection (and closes f).
func fileConn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("opening control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("control socket is not a unix socket")
	}
	return uc, nil
}

// send writes m with files attached.
func send(c *net.UnixConn, m message, files ...*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxPacket {
		return fmt.Errorf("sending %s: message of %d bytes exceeds %d", m.Op, len(b), maxPacket)
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// receiver reads messages from one socket, reusing its buffers.
type receiver struct {
	conn *net.UnixConn
	buf  []byte
	oob  []byte
}

func newReceiver(c *net.UnixConn) *receiver {
	return &receiver{conn: c, buf: make([]byte, maxPacket+1), oob: make([]byte, unix.CmsgSpace(4*8))}
}

// recv reads one message and the files attached to it (close-on-exec).
func (r *receiver) recv() (message, []*os.File, error) {
	b, oob := r.buf, r.oob
	n, oobn, _, _, err := r.conn.ReadMsgUnix(b, oob)
	if err != nil {
		return message{}, nil, err
	}
	if n == 0 {
		return message{}, nil, net.ErrClosed // EOF on a seqpacket socket
	}
	var files []*os.File
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return message{}, nil, err
		}
		for _, scm := range scms {
			fds, err := unix.ParseUnixRights(&scm)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				unix.CloseOnExec(fd)
				files = append(files, os.NewFile(uintptr(fd), "received"))
			}
		}
	}
	var m message
	if err := json.Unmarshal(b[:n], &m); err != nil {
		closeAll(files)
		return message{}, nil, fmt.Errorf("decoding control message: %w", err)
	}
	return m, files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
