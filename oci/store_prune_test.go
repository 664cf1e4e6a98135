package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/kilnbuild/kiln/internal/testutil"
)

// age sets the modification time of paths an hour back: used before any
// lease opened now.
func age(t *testing.T, paths ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// storedLayer writes a small layer into s and returns its blob's path.
func storeLayer(t *testing.T, s *Store, content string) (v1.Layer, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LayerFromDir(context.Background(), dir, LayerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return l, s.layout.blobPath(d)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestPrune: Prune removes what the store's index does not name and no
// live process used since it began, and keeps the rest readable.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	ref := mustParse(t, reg.Host+"/kiln/prune:1")
	if _, err := Write(ctx, ref, ociImage(t, 2)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := Read(ctx, ref, WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	// A tagged image written into the store's own layout (as kiln's cache
	// is), whose layer blob was first an unreferenced one.
	cached, cachedBlob := storeLayer(t, s, "cached")
	cacheImg, err := Mutate(ociImage(t, 0), Mutation{Layers: []Append{{Layer: cached}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, Reference{Kind: KindLayout, Path: dir, Tag: "kiln.cache/x"}, cacheImg); err != nil {
		t.Fatal(err)
	}
	_, stale := storeLayer(t, s, "stale")      // unreferenced, unused since
	used, usedBlob := storeLayer(t, s, "used") // unreferenced, used by a live process
	usedID, _ := used.DiffID()
	rootfs, err := s.Rootfs(ctx, pulled, UnpackOptions{Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	caches := filepath.Join(dir, "lifecycle", "trees", "k")
	fill(t, filepath.Join(caches, "tree1"))
	if err := os.WriteFile(filepath.Join(caches, "tree1.snapshot"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	age(t, stale, usedBlob, cachedBlob, rootfs+".lock", filepath.Join(caches, "tree1"), filepath.Join(caches, "tree1.snapshot"))
	deadStore, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadWork, err := deadStore.NewWorkDir("build-")
	if err != nil {
		t.Fatal(err)
	}
	fill(t, deadWork)
	die(t, deadStore)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(20 * time.Millisecond)
	live, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, ok := live.LayerByDiffID(usedID); !ok {
		t.Fatal("the memo lost a layer")
	}
	fill(t, filepath.Join(caches, "tree2")) // kept by the live process
	liveWork, err := live.NewWorkDir("build-")
	if err != nil {
		t.Fatal(err)
	}
	fill(t, liveWork)

	// File times are the kernel's coarse clock: the pruner's lease begins
	// a little later.
	time.Sleep(20 * time.Millisecond)
	p, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	opts := PruneOptions{Caches: []string{"lifecycle/trees/*"}}
	before, err := p.Usage(ctx, opts.Caches)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{stale, rootfs, rootfs + ".lock", filepath.Join(caches, "tree1"),
		filepath.Join(caches, "tree1.snapshot"), deadWork, filepath.Dir(deadWork)} {
		if exists(gone) {
			t.Errorf("Prune left %s", gone)
		}
	}
	for _, kept := range []string{usedBlob, cachedBlob, filepath.Join(caches, "tree2", "ro", "f"), filepath.Join(liveWork, "ro", "f")} {
		if !exists(kept) {
			t.Errorf("Prune removed %s, which is in use", kept)
		}
	}
	if _, ok := live.LayerByDiffID(usedID); !ok {
		t.Error("the live process lost a layer it used")
	}
	after, err := p.Usage(ctx, opts.Caches)
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed == 0 || r.RemovedBytes == 0 || after.Total >= before.Total || r.Size > after.Total {
		t.Errorf("report: removed %d entries, %d bytes, size %d; total %d → %d", r.Removed, r.RemovedBytes, r.Size, before.Total, after.Total)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, workDir))
	for _, e := range entries {
		if e.IsDir() && e.Name() != live.lease.id {
			t.Errorf("Prune left %s in the work directory", e.Name())
		}
	}
	// Everything the index names is whole.
	for _, r := range []Reference{ref, {Kind: KindLayout, Path: dir, Tag: "kiln.cache/x"}} {
		img, err := Read(ctx, r, WithStore(p), WithPullPolicy(PullNever))
		if err != nil {
			t.Fatalf("reading %s after Prune: %v", r, err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s after Prune: %v", r, err)
		}
	}
	// Once the live process is gone, what it used goes too.
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	p2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if _, err := p2.Prune(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if exists(usedBlob) {
		fi, _ := os.Stat(usedBlob)
		live, _ := p.leases()
		t.Errorf("a blob no live process uses survived Prune: mtime %v, leases %v", fi.ModTime(), live)
	}
	if _, err := os.Stat(filepath.Join(dir, "memo", "sha256", usedID.Hex)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the memo record of a removed blob survived: %v", err)
	}
}

// TestPruneMaxSize: under a size cap the least recently used entries go
// first, and no more than needed.
func TestPruneMaxSize(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var blobs []string
	for i, c := range []string{"oldest", "middle", "newest"} {
		_, p := storeLayer(t, s, c)
		when := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, p)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	u, err := p.Usage(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(blobs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Room for everything but one blob.
	limit := u.Total - diskSize(fi)
	for _, k := range u.Kinds {
		if k.Kind == KindWork || k.Kind == KindTrash {
			limit -= k.Bytes
		}
	}
	r, err := p.Prune(ctx, PruneOptions{MaxSize: limit})
	if err != nil {
		t.Fatal(err)
	}
	if exists(blobs[0]) || !exists(blobs[1]) || !exists(blobs[2]) {
		t.Errorf("with room for two of three blobs, Prune left oldest %v, middle %v, newest %v",
			exists(blobs[0]), exists(blobs[1]), exists(blobs[2]))
	}
	if r.Removed != 1 {
		t.Errorf("Prune removed %d entries, want 1", r.Removed)
	}
	// MaxAge: everything unused for longer goes.
	if _, err := p.Prune(ctx, PruneOptions{MaxAge: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if exists(blobs[1]) || exists(blobs[2]) {
		t.Error("blobs unused for longer than MaxAge survived")
	}
}

// Environment of the writer processes TestPruneConcurrent starts.
const pruneEnvStore = "KILN_OCI_TEST_PRUNE_STORE"

// TestPruneConcurrent: two processes (this test binary, re-executed) keep
// writing layers and images into one store, each in its own short lease,
// as builds do, while this one prunes the store to nothing in a loop. No
// write may fail, every image must read back whole right after it was
// written, and the index must name only whole images at the end.
func TestPruneConcurrent(t *testing.T) {
	if dir := os.Getenv(pruneEnvStore); dir != "" {
		pruneWriter(t, dir, os.Getenv(writerEnvName))
		return
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	procs := []string{"a", "b"}
	errs := make(chan error, len(procs))
	outs := make([][]byte, len(procs))
	for i, name := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPruneConcurrent$", "-test.count=1")
		cmd.Env = append(os.Environ(), pruneEnvStore+"="+dir, writerEnvName+"="+name)
		go func() {
			out, err := cmd.CombinedOutput()
			outs[i] = out
			errs <- err
		}()
	}
	prunes, removed := 0, 0
	for done := 0; done < len(procs); {
		select {
		case err := <-errs:
			done++
			if err != nil {
				t.Errorf("a writer failed: %v", err)
			}
		default:
			r, err := s.Prune(ctx, PruneOptions{MaxSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			prunes++
			removed += r.Removed
		}
	}
	if t.Failed() {
		t.Fatalf("writer output:\n%s\n%s", outs[0], outs[1])
	}
	idx, err := s.layout.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		ref := Reference{Kind: KindLayout, Path: dir, Tag: d.Annotations[refNameAnnotation]}
		img, err := Read(ctx, ref)
		if err == nil {
			err = validate.Image(img)
		}
		if err != nil {
			t.Errorf("%s after %d prunes: %v", ref, prunes, err)
		}
	}
	if removed == 0 {
		t.Error("the prunes removed nothing: the test tests nothing")
	}
	t.Logf("%d prunes alongside the writers removed %d entries; the index names %d images", prunes, removed, len(idx.Manifests))
}

// pruneWriter is the body of one writer process: each round a lease,
// layers written into the store, an image of them tagged in the store's
// layout (replacing an earlier one), read back.
func pruneWriter(t *testing.T, dir, name string) {
	ctx := context.Background()
	for i := range 20 {
		s, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		var adds []Append
		for j := range 2 {
			l, _ := storeLayer(t, s, fmt.Sprintf("%s %d %d", name, i, j))
			adds = append(adds, Append{Layer: l})
		}
		img, err := Mutate(ociImage(t, 0), Mutation{Layers: adds})
		if err != nil {
			t.Fatal(err)
		}
		ref := Reference{Kind: KindLayout, Path: dir, Tag: fmt.Sprintf("%s-%d", name, i%3)}
		if _, err := Write(ctx, ref, img); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		back, err := Read(ctx, ref)
		if err == nil {
			err = validate.Image(back)
		}
		if err != nil {
			t.Fatalf("round %d: reading back %s: %v", i, ref, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
