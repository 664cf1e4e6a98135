package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// describe says what is at p (type and mode; content of a regular file),
// without following a symlink, to check that a refused write left it.
func describe(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		return err.Error()
	}
	s := fi.Mode().String()
	switch {
	case fi.Mode().IsRegular():
		s += " " + readFile(t, p)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		s += " -> " + target
	case fi.Mode()&fs.ModeDevice != 0:
		s += fmt.Sprintf(" dev %#x", fi.Sys().(*syscall.Stat_t).Rdev)
	}
	return s
}

// writeWithin runs Write and fails the test if it takes longer than a few
// seconds (a FIFO must not block it).
func writeWithin(t *testing.T, ref Reference, img v1.Image) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Write(context.Background(), ref, img)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("writing %s did not end", ref)
		return nil
	}
}

// TestWriteRefusesDestinations: a docker archive replaces a regular file or
// nothing; a layout fills a directory or nothing. Anything else that exists
// there is refused with ErrDestination and left exactly as it was: the
// device, the FIFO, the symlink and what it points to.
func TestWriteRefusesDestinations(t *testing.T) {
	img := ociImage(t, 1)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	writeFile(t, victim, "precious", 0o644)
	mk := func(name string, make func(p string) error) string {
		p := filepath.Join(dir, name)
		if err := make(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := mk("fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) })
	link := mk("link", func(p string) error { return os.Symlink(victim, p) })
	dangling := mk("dangling", func(p string) error { return os.Symlink(filepath.Join(dir, "nothing"), p) })
	sub := mk("dir", func(p string) error { return os.Mkdir(p, 0o755) })
	file := mk("file", func(p string) error { return os.WriteFile(p, []byte("a file"), 0o644) })
	for _, tc := range []struct {
		ref  string
		path string
	}{
		{"docker-archive:/dev/full", "/dev/full"},
		{"docker-archive:/dev/null", "/dev/null"},
		{"docker-archive:" + fifo, fifo},
		{"docker-archive:" + link, link},
		{"docker-archive:" + dangling, dangling},
		{"docker-archive:" + sub, sub},
		{"oci:" + file, file},
		{"oci:" + fifo, fifo},
		{"oci:" + link, link},
		{"oci:" + dangling, dangling},
		{"oci:/dev/null", "/dev/null"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			before := describe(t, tc.path)
			err := writeWithin(t, mustParse(t, tc.ref), img)
			var de *DestinationError
			if !errors.Is(err, ErrDestination) || !errors.As(err, &de) || de.Path != tc.path {
				t.Fatalf("err = %v, want a DestinationError for %s", err, tc.path)
			}
			if after := describe(t, tc.path); after != before {
				t.Errorf("%s changed from %q to %q", tc.path, before, after)
			}
			if got := readFile(t, victim); got != "precious" {
				t.Errorf("the symlink's target now holds %q", got)
			}
		})
	}
	// What is accepted: a regular file (replaced) and a directory, also
	// through a symlink for a layout.
	target := mk("target", func(p string) error { return os.Mkdir(p, 0o755) })
	dirLink := mk("dirlink", func(p string) error { return os.Symlink(target, p) })
	for _, ref := range []string{"docker-archive:" + file, "docker-archive:" + filepath.Join(dir, "new.tar"),
		"oci:" + sub, "oci:" + dirLink, "oci:" + filepath.Join(dir, "new")} {
		if err := writeWithin(t, mustParse(t, ref), img); err != nil {
			t.Errorf("writing %s: %v", ref, err)
		}
	}
	if _, err := os.Stat(filepath.Join(target, "index.json")); err != nil {
		t.Errorf("the layout behind the symlink: %v", err)
	}
	if fi, err := os.Lstat(dirLink); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink to the layout directory is gone: %v", err)
	}
}

// TestWriteLayoutRepairsBlobs: blobs of an image already in an output
// layout are verified before the index names them again. A flipped byte, a
// truncated layer, a config replaced by a symlink to another file and a
// manifest replaced by a FIFO are each replaced by the right content, and
// the image reads back valid; the file the symlink pointed to is untouched.
func TestWriteLayoutRepairsBlobs(t *testing.T) {
	ctx := context.Background()
	img := ociImage(t, 3)
	dir := filepath.Join(t.TempDir(), "out")
	ref := mustParse(t, "oci:"+dir+":app")
	if _, err := Write(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	blob := func(h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }
	digest := func(l v1.Layer) v1.Hash {
		h, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	writeFile(t, victim, "precious", 0o644)

	flip := blob(digest(layers[0]))
	b := []byte(readFile(t, flip))
	b[len(b)/2] ^= 0xff
	writeFile(t, flip, string(b), 0o644)
	if err := os.Truncate(blob(digest(layers[1])), 10); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blob(cfgName)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, blob(cfgName)); err != nil {
		t.Fatal(err)
	}
	manifest := blob(mustDigest(t, img))
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	// Reading the damaged layout fails cleanly (the FIFO does not block).
	if _, err := Read(ctx, ref); err == nil {
		t.Fatal("reading the damaged layout succeeded")
	}

	if err := writeWithin(t, ref, img); err != nil {
		t.Fatalf("writing again: %v", err)
	}
	back := checkOutput(t, ref)
	if err := validate.Image(back); err != nil {
		t.Fatal(err)
	}
	if mustDigest(t, back) != mustDigest(t, img) {
		t.Errorf("digest %s, want %s", mustDigest(t, back), mustDigest(t, img))
	}
	for _, p := range []string{flip, blob(cfgName), manifest} {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file again: %v", p, err)
		}
	}
	if got := readFile(t, victim); got != "precious" {
		t.Errorf("the symlink's target now holds %q", got)
	}
	assertNoTemp(t, filepath.Join(dir, "blobs", "sha256"))
}

// TestReadLayoutRefusesSpecialBlobs: a blob that is a FIFO or a device is
// an error at once, not a read that blocks or never ends.
func TestReadLayoutRefusesSpecialBlobs(t *testing.T) {
	ctx := context.Background()
	img := ociImage(t, 1)
	for _, special := range []string{"fifo", "/dev/zero"} {
		t.Run(special, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			ref := mustParse(t, "oci:"+dir)
			if _, err := Write(ctx, ref, img); err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			h, _ := layers[0].Digest()
			p := filepath.Join(dir, "blobs", "sha256", h.Hex)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if special == "fifo" {
				err := syscall.Mkfifo(p, 0o644)
				if err != nil {
					t.Fatal(err)
				}
			} else if err := os.Symlink(special, p); err != nil {
				t.Fatal(err)
			}
			got, err := Read(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			ls, _ := got.Layers()
			done := make(chan error, 1)
			go func() {
				rc, err := ls[0].Compressed()
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("err = %v, want a not-a-regular-file error", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("reading the blob did not end")
			}
		})
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			tmp = append(tmp, e.Name())
		}
	}
	if diff := cmp.Diff([]string(nil), tmp); diff != "" {
		t.Errorf("temp files left in %s: %v", dir, tmp)
	}
}
