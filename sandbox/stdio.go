package sandbox

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

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
