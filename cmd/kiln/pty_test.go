package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// TestProgressOnTerminal runs kiln in a pseudo-terminal 40 and 160 columns
// wide while it pulls an image of a few MiB: no line it draws reaches the
// last column (so none wraps), and the lines name the image.
func TestProgressOnTerminal(t *testing.T) {
	reg := testutil.NewRegistry(t)
	src := reg.Host + "/kiln/big:1"
	img, err := random.Image(3<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := oci.ParseReference(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, cols := range []uint16{40, 160} {
		t.Run(map[uint16]string{40: "40 columns", 160: "160 columns"}[cols], func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(exe, "--store", filepath.Join(dir, "store"), "image", "copy", src, "oci:"+filepath.Join(dir, "out"))
			cmd.Env = append(os.Environ(), runAsKilnEnv+"=1")
			tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 24})
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			var out bytes.Buffer
			done := make(chan struct{})
			go func() { io.Copy(&out, tty); close(done) }() // ends with EIO when kiln exits
			werr := cmd.Wait()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the terminal did not close")
			}
			if werr != nil {
				t.Fatalf("kiln: %v\n%q", werr, out.String())
			}
			text := strings.ReplaceAll(out.String(), "\033[K", "")
			lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\r' || r == '\n' })
			var drawn int
			for _, l := range lines {
				if l == digestLine(t, img) {
					continue // the command's result on stdout, not a progress line: scripts read it whole
				}
				if n := len([]rune(l)); n >= int(cols) {
					t.Errorf("a %d-column line on a %d-column terminal wraps: %q", n, cols, l)
				}
				if strings.HasPrefix(l, "pulling ") || strings.HasPrefix(l, "pulled ") {
					drawn++
					if !strings.Contains(l, src) {
						t.Errorf("line %q does not name the image %s", l, src)
					}
				}
			}
			if drawn < 3 {
				t.Errorf("%d progress lines, want at least one per layer:\n%q", drawn, text)
			}
			if cols == 160 && !strings.Contains(text, "pulling "+src+" sha256:") {
				t.Errorf("at 160 columns the blob digest fits but is not shown:\n%q", text)
			}
		})
	}
}

// digestLine is the digest image copy prints for img.
func digestLine(t *testing.T, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}
