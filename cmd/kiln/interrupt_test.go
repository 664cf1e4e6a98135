package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
