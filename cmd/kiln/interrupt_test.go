package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildInterrupted kills kiln in the middle of a build that would
// replace an existing image, with SIGINT and with SIGKILL: the old image
// must stay as it was, the store must stay readable, no buildpack process
// may be left behind, and the next build must give the uninterrupted
// build's image again.
func TestBuildInterrupted(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	e.build(t, "oci:out:app", "--builder", builder, "--path", e.app)
	want := imageDigest(t, "oci:out:app")

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			mark := fmt.Sprintf("KILN_INTERRUPT_MARK=%d-%d", os.Getpid(), sig)
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, "--store", e.store, "build", "oci:out:app", "--builder", builder,
				"--path", e.app, "--env", "SLEEP_BUILD=60", "--env", mark)
			cmd.Dir = e.dir
			cmd.Env = append(os.Environ(), runAsKilnEnv+"=1")
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if !waitForLine(stdout, "---> sleeping", 60*time.Second) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the build never reached the buildpack\n%s", errOut.String())
			}
			go io.Copy(io.Discard, stdout)
			// The check below must be able to see the buildpack's process.
			if running := processesWithEnv(mark, 0); len(running) == 0 {
				t.Error("cannot see the running buildpack process by its environment")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("kiln build succeeded after %v", sig)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("kiln build did not stop on %v\n%s", sig, errOut.String())
			}
			if left := processesWithEnv(mark, 10*time.Second); len(left) > 0 {
				t.Errorf("buildpack processes left behind after %v: %v", sig, left)
			}
			if got := imageDigest(t, "oci:out:app"); got != want {
				t.Errorf("after an interrupted build oci:out:app is %s, want the old %s", got, want)
			}
			checkStore(t, e.store)
		})
	}
	// The next build works and gives the same image.
	e.build(t, "oci:out:app", "--builder", builder, "--path", e.app)
	if got := imageDigest(t, "oci:out:app"); got != want {
		t.Errorf("the build after the interruptions gave %s, want %s", got, want)
	}
}

// waitForLine reads r until a line contains s or the time is up.
func waitForLine(r io.Reader, s string, d time.Duration) bool {
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		return ok
	case <-time.After(d):
		return false
	}
}

// processesWithEnv lists the pids whose environment holds kv, waiting up to
// d for them to go. Processes this user cannot inspect are not seen.
func processesWithEnv(kv string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var pids []string
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			if err == nil && bytes.Contains(env, []byte(kv+"\x00")) {
				pids = append(pids, e.Name())
			}
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkStore checks that every image the store's index names is whole.
func checkStore(t *testing.T, store string) {
	t.Helper()
	p, err := layout.FromPath(store)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatalf("reading the store's index: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("reading the store's index: %v", err)
	}
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Errorf("store image %s: %v", d.Digest, err)
			continue
		}
		if err := validate.Image(img, validate.Fast); err != nil {
			t.Errorf("store image %s (%s): %v", d.Digest, d.Annotations["org.opencontainers.image.ref.name"], err)
		}
	}
}

// TestBuildWorkDirsReclaimed: the work directory a killed build leaves in
// the store is removed by the next kiln build, while the one of a build
// still running is left alone (that build then succeeds), and a finished
// build leaves nothing but its retired directory for the next one.
func TestBuildWorkDirsReclaimed(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	gate := filepath.Join(e.dir, "gate")
	if err := os.MkdirAll(gate, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(e.store, "work")

	// A build killed while its buildpack runs leaves its work directory.
	killed := startBuild(t, e, builder, "oci:out:killed", "--env", "SLEEP_BUILD=60")
	killed.waitFor(t, "---> sleeping")
	before := leaseDirs(t, work)
	if len(before) != 1 {
		t.Fatalf("a running build has %d work directories in %s, want 1: %v", len(before), work, before)
	}
	killed.cmd.Process.Kill()
	killed.cmd.Wait()
	if got := leaseDirs(t, work); len(got) != 1 || got[0] != before[0] {
		t.Fatalf("after SIGKILL the work directories are %v, want the killed build's %v", got, before)
	}
	dead := before[0]

	// A build waiting in its buildpack holds its own.
	running := startBuild(t, e, builder, "oci:out:running",
		"--volume", gate+":/gate", "--env", "WAIT_FOR=/gate/open")
	running.waitFor(t, "---> waiting for /gate/open")
	var live string
	for _, d := range leaseDirs(t, work) {
		if d != dead {
			live = d
		}
	}
	if live == "" {
		t.Fatal("the running build has no work directory")
	}

	// The next build reclaims the dead one and leaves the live one.
	e.build(t, "oci:out:app", "--builder", builder, "--path", e.app)
	got := leaseDirs(t, work)
	for _, d := range got {
		if d == dead {
			t.Errorf("the killed build's work directory %s is still there after the next build", d)
		}
	}
	if !slices.Contains(got, live) {
		t.Errorf("the next build removed the running build's work directory %s (left: %v)", live, got)
	}
	if _, err := os.Stat(filepath.Join(work, dead+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the killed build's lease %s.lock is still there: %v", dead, err)
	}

	// The running build finishes with its tree intact.
	if err := os.WriteFile(filepath.Join(gate, "open"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := running.wait(t); err != nil {
		t.Fatalf("the build that ran alongside failed: %v\n%s", err, running.errOut.String())
	}
	readImage(t, "oci:out:running")
	checkStore(t, e.store)
	if got := leaseDirs(t, work); len(got) != 0 {
		t.Errorf("work directories left after every build ended: %v", got)
	}
}

// leaseDirs lists the work directories of leases under work (not the
// retired ones, which anyone may remove).
func leaseDirs(t *testing.T, work string) []string {
	t.Helper()
	entries, err := os.ReadDir(work)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

// buildProcess is a `kiln build` running in a child process.
type buildProcess struct {
	cmd    *exec.Cmd
	lines  chan string
	errOut *bytes.Buffer
}

// startBuild starts `kiln build OUT` of e's app with builder in a child
// process.
func startBuild(t *testing.T, e buildEnvDir, builder, out string, args ...string) *buildProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"--store", e.store, "build", out, "--builder", builder, "--path", e.app}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), runAsKilnEnv+"=1")
	p := &buildProcess{cmd: cmd, lines: make(chan string, 64), errOut: &bytes.Buffer{}}
	cmd.Stderr = p.errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// waitFor reads the build's output until a line contains s.
func (p *buildProcess) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.cmd.Wait()
				t.Fatalf("the build ended before %q\n%s", s, p.errOut.String())
			}
			if strings.Contains(line, s) {
				go func() {
					for range p.lines {
					}
				}()
				return
			}
		case <-timeout:
			t.Fatalf("the build never printed %q\n%s", s, p.errOut.String())
		}
	}
}

// wait waits up to a minute for the build to end.
func (p *buildProcess) wait(t *testing.T) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-done
		return errors.New("timed out")
	}
}
