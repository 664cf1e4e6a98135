package oci

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteback: bytes pass through unchanged, and writeback is started
// for every whole writebackEvery written, not for the tail (the fsync's).
func TestWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "blob"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &writeback{f: f}
	chunk := bytes.Repeat([]byte("kiln"), 1<<16) // 256 KiB
	var want []byte
	for range 2*writebackEvery/len(chunk) + 3 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want = append(want, chunk...)
	}
	if w.started != 2*writebackEvery {
		t.Errorf("writeback started for %d bytes of %d, want %d", w.started, w.off, 2*writebackEvery)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the file holds %d bytes, not the %d written", len(got), len(want))
	}
}
