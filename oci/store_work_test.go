package oci

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// die ends s's lease the way a killed process does: the kernel drops the
// lock, nothing is retired.
func die(t *testing.T, s *Store) {
	t.Helper()
	if err := s.lease.lock.Close(); err != nil {
		t.Fatal(err)
	}
	s.lease = nil
}

// fill puts a file (and a read-only directory, which an unprivileged
// remover must make writable first) in dir.
func fill(t *testing.T, dir string) {
	t.Helper()
	sub := filepath.Join(dir, "ro")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sub, 0o555); err != nil {
		t.Fatal(err)
	}
}

func TestWorkDirsReclaimed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	open := func() *Store {
		t.Helper()
		s, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	work := func(s *Store) string {
		t.Helper()
		d, err := s.NewWorkDir("build-")
		if err != nil {
			t.Fatal(err)
		}
		fill(t, d)
		return d
	}
	live, dead, done := open(), open(), open()
	liveDir, deadDir, doneDir := work(live), work(dead), work(done)
	die(t, dead)
	if err := done.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(doneDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close left the work directory %s in place: %v", doneDir, err)
	}
	// An older kiln's work directory: reclaimed once a day old.
	legacy := filepath.Join(dir, "build-1234")
	fill(t, legacy)
	old := time.Now().Add(-legacyAge - time.Hour)
	if err := os.Chtimes(legacy, old, old); err != nil {
		t.Fatal(err)
	}
	young := filepath.Join(dir, "build-5678") // kept: left writable for the test's cleanup
	if err := os.MkdirAll(young, 0o755); err != nil {
		t.Fatal(err)
	}

	next := open()
	defer next.Close()
	if err := next.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{deadDir, filepath.Dir(deadDir), doneDir, legacy} {
		if _, err := os.Lstat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived Reclaim: %v", gone, err)
		}
	}
	for _, kept := range []string{filepath.Join(liveDir, "ro", "f"), young} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("Reclaim removed %s, which is in use: %v", kept, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, workDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{live.lease.id, live.lease.id + leaseSuffix, next.lease.id + leaseSuffix}
	if strings.Join(names, " ") != strings.Join(slices.Sorted(slices.Values(want)), " ") {
		t.Errorf("after Reclaim the work directory holds %v, want %v", names, slices.Sorted(slices.Values(want)))
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := live.NewWorkDir("x-"); err == nil {
		t.Error("NewWorkDir works on a closed store")
	}
	if err := next.Reclaim(context.Background()); err != nil { // the retired one too
		t.Fatal(err)
	}
	if _, err := os.Lstat(liveDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the work directory of a closed store survived Reclaim: %v", err)
	}
}

// TestReclaimCancelled: a reclaim stopped by its context leaves what it
// had not removed for the next one, which finishes the job.
func TestReclaimCancelled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.NewWorkDir("build-")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(d, string(rune('a'+i%26))+strings.Repeat("x", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Reclaim(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled Reclaim returned %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	last, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer last.Close()
	if err := last.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, workDir))
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("left after the second Reclaim: %s", e.Name())
		}
	}
}

func TestDiscard(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tree := filepath.Join(dir, "lifecycle", "trees", "k", "abc")
	fill(t, tree)
	if err := s.Discard(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Discard left %s: %v", tree, err)
	}
	if err := s.Discard(tree); err != nil {
		t.Errorf("discarding a missing tree: %v", err)
	}
	if err := s.Discard(t.TempDir()); err == nil {
		t.Error("Discard took a tree outside the store")
	}
	if err := s.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	trash, _ := filepath.Glob(filepath.Join(dir, workDir, ".*-*"))
	if len(trash) != 0 {
		t.Errorf("Reclaim left %v", trash)
	}
}
