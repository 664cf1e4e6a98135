package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/kilnbuild/kiln/sandbox"
	"golang.org/x/sys/unix"
)

// proxySignals forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to p, and
// with a terminal follows kiln's terminal size. The first signal goes to
// the process, which may exit as it likes; a second cancels the returned
// context, which kills it. The context does not end with ctx, which main
// cancels on the same signals.
func proxySignals(ctx context.Context, p *sandbox.Process) (context.Context, func()) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGWINCH)
	forward := make(chan os.Signal, 4)
	resize := make(chan [2]uint16, 1)
	p.Signals = forward
	if p.TTY {
		p.Resize = resize
	}
	go func() {
		forwarded := 0
		for {
			select {
			case <-runCtx.Done():
				return
			case s := <-sigs:
				if s == unix.SIGWINCH {
					if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
						select {
						case resize <- [2]uint16{ws.Col, ws.Row}:
						default:
						}
					}
					continue
				}
				if forwarded++; forwarded > 1 {
					cancel()
					return
				}
				forward <- s
			}
		}
	}()
	return runCtx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

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
