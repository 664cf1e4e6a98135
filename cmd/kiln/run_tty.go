package main

import (
	"os"

	"github.com/kilnbuild/kiln/sandbox"
	"golang.org/x/sys/unix"
)

// prepareTerminal asks for a terminal for p, sized like kiln's own, and
// when kiln's stdin is a terminal and is passed on (-i), switches it to raw
// mode so that keys such as Ctrl-C reach the process. It returns the
// function that restores the terminal.
func prepareTerminal(p *sandbox.Process, interactive bool) (restore func()) {
	p.TTY = true
	for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			p.TTYSize = [2]uint16{ws.Col, ws.Row}
			break
		}
	}
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if !interactive || err != nil || p.Stdin != os.Stdin {
		return func() {}
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
