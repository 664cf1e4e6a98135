package oci

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestUnpackSparse unpacks sparse files, as GNU tar writes them in each
// sparse format (testdata/sparse: a 2 GiB file with 9 bytes of data, made
// with `tar --sparse --format=posix|gnu [--sparse-version=0.0|0.1]`), and
// the 1 KiB layer of a 4 GiB file (of the kind that made kiln write 16 GiB
// of blocks):
// each file has its size and content and only the blocks of its data.
func TestUnpackSparse(t *testing.T) {
	const size = 2 << 30
	for _, name := range []string{"pax-1.0", "pax-0.1", "pax-0.0", "gnu"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "sparse", name+".tar"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := unpackTars(dir, UnpackOptions{Rootless: testutil.Rootless()}, b); err != nil {
				t.Fatal(err)
			}
			checkSparse(t, filepath.Join(dir, "big"), size, map[int64]string{0: "\x00\x00", 1 << 30: "hello", size - 4: "tail", 3 << 29: "\x00"})
		})
	}
	t.Run("bomb", func(t *testing.T) {
		b := testutil.SparseTar(t, "bomb", 4<<30, 2<<30, "data")
		if len(b) > 4096 {
			t.Fatalf("the bomb layer is %d bytes", len(b))
		}
		dir := t.TempDir()
		if err := unpackTars(dir, UnpackOptions{Rootless: testutil.Rootless()}, b); err != nil {
			t.Fatal(err)
		}
		checkSparse(t, filepath.Join(dir, "bomb"), 4<<30, map[int64]string{2 << 30: "data", 4<<30 - 1: "\x00"})
	})
}

// checkSparse checks a file's size, its content at some offsets, and that
// it holds at most 1 MiB of blocks.
func checkSparse(t *testing.T, p string, size int64, at map[int64]string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size {
		t.Errorf("size %d, want %d", fi.Size(), size)
	}
	if blocks := fi.Sys().(*syscall.Stat_t).Blocks * 512; blocks > 1<<20 {
		t.Errorf("%d bytes of blocks for a file of holes: not written sparse", blocks)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for off, want := range at {
		got := make([]byte, len(want))
		if _, err := f.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("at %d: %q, want %q", off, got, want)
		}
	}
}

// TestUnpackZeroRuns: content with runs of zeros, in and out of chunk
// alignment and at the end, reads back byte for byte.
func TestUnpackZeroRuns(t *testing.T) {
	var content []byte
	content = append(content, "head"...)
	content = append(content, make([]byte, 3*holeChunk+17)...)
	content = append(content, "middle"...)
	content = append(content, make([]byte, 2*holeChunk)...)
	for _, body := range []string{string(content), string(content) + "end", "", strings.Repeat("\x00", holeChunk)} {
		dir := t.TempDir()
		f := tfile("f", body)
		if err := unpackTars(dir, UnpackOptions{Rootless: testutil.Rootless()}, tarOf(t, f)); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "f")); got != body {
			t.Errorf("content of %d bytes read back as %d bytes, differing", len(body), len(got))
		}
	}
}

// TestUnpackSizeCap: past MaxSize an unpack fails with ErrUnpackTooLarge
// before writing the entry that would pass it, whether the bytes are data
// or holes, within a layer or across the layers of an image; by default a
// 1 KiB layer claiming 7 EiB fails at once.
func TestUnpackSizeCap(t *testing.T) {
	ctx := context.Background()
	opts := func(max int64) UnpackOptions { return UnpackOptions{Rootless: testutil.Rootless(), MaxSize: max} }
	t.Run("data", func(t *testing.T) {
		dir := t.TempDir()
		err := unpackTars(dir, opts(10), tarOf(t, tfile("a", "123456"), tfile("b", "123456")))
		if !errors.Is(err, ErrUnpackTooLarge) || !strings.Contains(err.Error(), `"b"`) {
			t.Fatalf("err = %v, want ErrUnpackTooLarge for entry b", err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "b")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("b was written: %v", err)
		}
		if err := unpackTars(t.TempDir(), opts(12), tarOf(t, tfile("a", "123456"), tfile("b", "123456"))); err != nil {
			t.Errorf("at exactly the cap: %v", err)
		}
	})
	t.Run("holes", func(t *testing.T) {
		err := unpackTars(t.TempDir(), opts(1<<30), testutil.SparseTar(t, "bomb", 16<<30, 8<<30, "x"))
		if !errors.Is(err, ErrUnpackTooLarge) {
			t.Fatalf("err = %v, want ErrUnpackTooLarge", err)
		}
	})
	t.Run("across layers", func(t *testing.T) {
		img := imageOfTars(t, tarOf(t, tfile("a", "123456")), tarOf(t, tfile("b", "123456")))
		if err := Unpack(ctx, img, t.TempDir(), opts(10)); !errors.Is(err, ErrUnpackTooLarge) {
			t.Fatalf("err = %v, want ErrUnpackTooLarge", err)
		}
	})
	t.Run("default", func(t *testing.T) {
		start := time.Now()
		err := unpackTars(t.TempDir(), opts(0), testutil.SparseTar(t, "bomb", 7<<60, 1<<40, "x"))
		if !errors.Is(err, ErrUnpackTooLarge) {
			t.Fatalf("err = %v, want ErrUnpackTooLarge", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("refusing took %v", d) // generous: it should read nothing
		}
	})
	t.Run("no cap, cancelled", func(t *testing.T) {
		// With no cap, the holes of 7 EiB are read as zeros for ever;
		// cancelling ends it.
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		u := newUnpacker(t.TempDir(), opts(-1))
		err := u.unpackTar(ctx, bytes.NewReader(testutil.SparseTar(t, "bomb", 7<<60, 1<<40, "x")))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
	})
}
