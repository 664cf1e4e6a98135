package oci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/kilnbuild/kiln/internal/testutil"
)

// Environment of the writer processes TestConcurrentWriters starts.
const (
	writerEnvDir  = "KILN_OCI_TEST_WRITER_DIR"
	writerEnvName = "KILN_OCI_TEST_WRITER_NAME"
	writerEnvReg  = "KILN_OCI_TEST_WRITER_REGISTRY"
)

const writesPerProcess = 15

// TestConcurrentWriters runs two OS processes (this test binary, re-executed)
// that write images under different tags, and one shared tag, into one
// layout at the same time, and pull the same images from a registry into one
// store. The layout and the store must end up valid, with every tag.
func TestConcurrentWriters(t *testing.T) {
	if dir := os.Getenv(writerEnvDir); dir != "" {
		writeMany(t, dir, os.Getenv(writerEnvName), os.Getenv(writerEnvReg))
		return
	}
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	for i := 0; i < writesPerProcess; i++ {
		if _, err := Write(ctx, mustParse(t, fmt.Sprintf("%s/kiln/conc:%d", reg.Host, i)), ociImage(t, 1)); err != nil {
			t.Fatal(err)
		}
	}
	top := t.TempDir()
	dir := filepath.Join(top, "layout")
	procs := []string{"a", "b"}
	cmds := make([]*exec.Cmd, len(procs))
	outs := make([][]byte, len(procs))
	errs := make(chan error, len(procs))
	for i, name := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentWriters$", "-test.count=1")
		cmd.Env = append(os.Environ(), writerEnvDir+"="+top, writerEnvName+"="+name, writerEnvReg+"="+reg.Host)
		cmds[i] = cmd
		go func() {
			out, err := cmd.CombinedOutput()
			outs[i] = out
			errs <- err
		}()
	}
	for range procs {
		if err := <-errs; err != nil {
			t.Errorf("a writer failed: %v", err)
		}
	}
	if t.Failed() {
		t.Fatalf("writer output:\n%s\n%s", outs[0], outs[1])
	}

	l, err := openLayout(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]int{}
	for _, d := range idx.Manifests {
		tags[d.Annotations[refNameAnnotation]]++
	}
	want := 2*writesPerProcess + 1
	if len(idx.Manifests) != want || len(tags) != want {
		t.Errorf("index.json has %d manifests with %d tags, want %d: %v", len(idx.Manifests), len(tags), want, tags)
	}
	for _, name := range procs {
		for i := 0; i < writesPerProcess; i++ {
			ref := mustParse(t, "oci:"+dir+":"+name+"-"+strconv.Itoa(i))
			img, err := Read(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("%s: %v", ref, err)
			}
		}
	}
	checkOutput(t, mustParse(t, "oci:"+dir+":shared"))
	checkOutput(t, mustParse(t, "oci:"+dir+":a-0"))
	checkOutput(t, mustParse(t, "oci:"+dir+":b-"+strconv.Itoa(writesPerProcess-1)))
	store, err := OpenStore(filepath.Join(top, "store"))
	if err != nil {
		t.Fatal(err)
	}
	sidx, err := store.layout.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	if len(sidx.Manifests) != writesPerProcess {
		t.Errorf("the store names %d images, want %d", len(sidx.Manifests), writesPerProcess)
	}
	reg.Close()
	for i := 0; i < writesPerProcess; i++ {
		ref := mustParse(t, fmt.Sprintf("%s/kiln/conc:%d", reg.Host, i))
		img, err := Read(ctx, ref, WithStore(store), WithPullPolicy(PullNever))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s from the store: %v", ref, err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	blobLeftovers, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", ".tmp-*"))
	if len(leftovers)+len(blobLeftovers) > 0 {
		t.Errorf("temp files left: %v %v", leftovers, blobLeftovers)
	}
}

// writeMany is the body of one writer process.
func writeMany(t *testing.T, top, name, registry string) {
	ctx := context.Background()
	dir := filepath.Join(top, "layout")
	store, err := OpenStore(filepath.Join(top, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < writesPerProcess; i++ {
		ref := mustParse(t, fmt.Sprintf("%s/kiln/conc:%d", registry, i))
		if _, err := Read(ctx, ref, WithStore(store), WithPullPolicy(PullAlways)); err != nil {
			t.Fatalf("writer %s: %v", name, err)
		}
		for _, tag := range []string{fmt.Sprintf("%s-%d", name, i), "shared"} {
			if _, err := Write(ctx, mustParse(t, "oci:"+dir+":"+tag), ociImage(t, 1)); err != nil {
				t.Fatalf("writer %s: %v", name, err)
			}
		}
	}
}
