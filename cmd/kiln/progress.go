package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/kilnbuild/kiln/oci"
	"golang.org/x/sys/unix"
)

// progressPrinter shows oci.Progress events. On a terminal it redraws one
// status line; otherwise it stays quiet and prints one line per finished
// blob or image, so that logs stay readable.
type progressPrinter struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	last map[string]int // per phase and blob or image: the last percentage drawn, 101 once done
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, tty: isTerminal(w), last: map[string]int{}}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		return isTerminal(u.Unwrap())
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progressPrinter) report(e oci.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Present {
		what := "the image"
		if e.Blob.Hex != "" {
			what = shortDigest(e.Blob.String())
		}
		fmt.Fprintf(p.w, "%salready present %s (%s)\n", p.clear(), what, e.Ref)
		return
	}
	what := e.Ref
	switch {
	case e.Blob.Hex != "":
		what = shortDigest(e.Blob.String())
	case e.Phase == oci.PhaseUnpack:
		what = "image " + shortDigest(e.Ref) // Ref is the image digest
	}
	verb := map[oci.Phase]string{oci.PhasePull: "pulling", oci.PhasePush: "pushing", oci.PhaseWrite: "writing", oci.PhaseUnpack: "unpacking"}[e.Phase]
	done := map[oci.Phase]string{oci.PhasePull: "pulled", oci.PhasePush: "pushed", oci.PhaseWrite: "wrote", oci.PhaseUnpack: "unpacked"}[e.Phase]
	// A blob pulled and then unpacked is two items.
	key := e.Phase.String() + " " + what
	// Redraw when the percentage moves, and say "done" once: ggcr reports
	// every 32 KiB and may repeat its final update.
	pct := 101
	if !e.Done {
		pct = percent(e.Complete, e.Total)
	}
	if prev, seen := p.last[key]; seen && (prev == pct || prev == 101) {
		return
	}
	p.last[key] = pct
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s %s %s", verb, what, byteCount(e.Complete, e.Total))
		if e.Done {
			fmt.Fprintf(p.w, "\r\033[K%s %s %s\n", done, what, humanBytes(e.Complete))
		}
		return
	}
	if e.Done {
		fmt.Fprintf(p.w, "%s %s %s\n", done, what, humanBytes(e.Complete))
	}
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

// clear is what erases the status line on a terminal before a full line.
func (p *progressPrinter) clear() string {
	if p.tty {
		return "\r\033[K"
	}
	return ""
}
