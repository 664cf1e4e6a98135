package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/oci"
)

// progressPrinter shows oci.Progress events. On a terminal it redraws one
// status line, fitted to the terminal's width; otherwise it stays quiet and
// prints one line per finished blob or image, so that logs stay readable.
// Lines name what they are about: the label ("builder", "build image") and
// the image reference.
type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width int    // the terminal's columns; 0 when unknown or not a terminal
	label string // what the images are to the command, e.g. "builder"
	last  map[string]int
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, last: map[string]int{}}
	if fd, ok := terminalFd(w); ok {
		p.tty = true
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			p.width = int(ws.Col)
		}
	}
	return p
}

// terminalFd returns the file descriptor of w when it is a terminal.
func terminalFd(w io.Writer) (int, bool) {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		return terminalFd(u.Unwrap())
	}
	f, ok := w.(*os.File)
	if !ok {
		return 0, false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return int(f.Fd()), err == nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	_, ok := terminalFd(w)
	return ok
}

var (
	progressVerbs = map[oci.Phase][2]string{
		oci.PhasePull:   {"pulling", "pulled"},
		oci.PhasePush:   {"pushing", "pushed"},
		oci.PhaseWrite:  {"writing", "wrote"},
		oci.PhaseUnpack: {"unpacking", "unpacked"},
		oci.PhaseLayer:  {"compressing", "compressed"},
	}
)

func (p *progressPrinter) report(e oci.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := e.Ref
	switch {
	case e.Phase == oci.PhaseUnpack:
		name = "image " + shortDigest(e.Ref) // Ref is the image digest
	case e.Phase == oci.PhaseLayer:
		name = "a new layer"
	}
	if p.label != "" {
		name = p.label + " " + name
	}
	blob := ""
	if e.Blob.Hex != "" {
		blob = shortDigest(e.Blob.String())
	}
	if e.Present {
		if blob == "" {
			blob = "(the image)"
		}
		p.line("already present in "+name, blob, "")
		return
	}
	verbs := progressVerbs[e.Phase]
	// Redraw when the percentage moves, and say "done" once: ggcr reports
	// every 32 KiB and may repeat its final update. A blob pulled and then
	// unpacked is two items.
	key := e.Phase.String() + " " + name + " " + blob
	pct := 101
	if !e.Done {
		pct = percent(e.Complete, e.Total)
		if e.Total <= 0 {
			pct = int(e.Complete >> 20) // no total: redraw per MiB
		}
	}
	if prev, seen := p.last[key]; seen && (prev == pct || prev == 101) {
		return
	}
	p.last[key] = pct
	if p.tty {
		if e.Done {
			p.line(verbs[1]+" "+name, blob, humanBytes(e.Complete))
			return
		}
		fmt.Fprint(p.w, "\r\033[K"+p.fit(verbs[0]+" "+name, blob, byteCount(e.Complete, e.Total)))
		return
	}
	if e.Done && e.Phase != oci.PhaseLayer { // "Adding layer" says it in logs
		p.line(verbs[1]+" "+name, blob, humanBytes(e.Complete))
	}
}

// line prints a finished line (erasing the status line on a terminal).
func (p *progressPrinter) line(head, blob, bytes string) {
	fmt.Fprint(p.w, p.clear()+p.fit(head, blob, bytes)+"\n")
}

// fit joins the parts of a line, dropping the blob digest and then the
// byte counts, and at last cutting the end, so that it fits the terminal:
// a line as wide as the terminal would wrap. Off a terminal nothing is cut.
func (p *progressPrinter) fit(head, blob, bytes string) string {
	join := func(parts ...string) string {
		s := ""
		for _, x := range parts {
			if x != "" {
				if s != "" {
					s += " "
				}
				s += x
			}
		}
		return s
	}
	if !p.tty || p.width <= 0 {
		return join(head, blob, bytes)
	}
	max := p.width - 1
	for _, s := range []string{join(head, blob, bytes), join(head, bytes), head} {
		if len([]rune(s)) <= max {
			return s
		}
	}
	r := []rune(head)
	if max < 2 {
		return ""
	}
	return string(r[:max-1]) + "…"
}

// clear is what erases the status line on a terminal before a full line.
func (p *progressPrinter) clear() string {
	if p.tty {
		return "\r\033[K"
	}
	return ""
}

func percent(complete, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(min(complete*100/total, 100))
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func byteCount(complete, total int64) string {
	if total <= 0 {
		return humanBytes(complete)
	}
	return humanBytes(complete) + "/" + humanBytes(total)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
