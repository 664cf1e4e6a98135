package main

// Rows of the attack suite for hostile images and output destinations
// (issue #11): a build image whose layers carry setuid files, device nodes
// or a sparse bomb, outputs that are devices, FIFOs or symlinks, and blobs
// damaged in the output layout between two builds.

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func init() { attacks = append(attacks, ociAttacks...) }

var ociAttacks = []attack{
	{
		name:       "the build image carries a setuid-root shell, a setgid file and device nodes (a raw disk, /dev/mem, a link to the disk)",
		buildImage: hostileBuildImage(privilegedEntries),
		build: `for f in /opt/rootshell /opt/groupshell; do if [ -u "$f" ] || [ -g "$f" ]; then echo "attack: $f kept its bit"; exit 1; fi; done
for f in /opt/disk /opt/mem /opt/disklink; do if [ -b "$f" ] || [ -c "$f" ]; then echo "attack: device node $f"; exit 1; fi; done`,
		after: func(t *testing.T, e buildEnvDir, dir string) {
			tree := checkStoreTrees(t, e, "opt/rootshell")
			if !testutil.Rootless() {
				// What a local user would do: run the shell from the tree.
				p := filepath.Join(tree, "opt", "rootshell")
				if out, err := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
					"test", "-e", p).CombinedOutput(); err == nil {
					t.Errorf("another user reaches %s in the store (%s)", p, out)
				}
			}
		},
	},
	{
		name:       "the build image has a sparse bomb layer (a 1 KiB layer of a 16 GiB file)",
		buildImage: hostileBuildImage(func(t testing.TB) []byte { return testutil.SparseTar(t, "opt/bomb", 16<<30, 8<<30, "data") }),
		after: func(t *testing.T, e buildEnvDir, dir string) {
			tree := checkStoreTrees(t, e, "opt/bomb")
			fi, err := os.Stat(filepath.Join(tree, "opt", "bomb"))
			if err != nil {
				t.Fatal(err)
			}
			if blocks := fi.Sys().(*syscall.Stat_t).Blocks * 512; fi.Size() != 16<<30 || blocks > 1<<20 {
				t.Errorf("opt/bomb: %d bytes in %d bytes of blocks, want 16 GiB in at most 1 MiB", fi.Size(), blocks)
			}
		},
	},
	{
		name:       "the build image has a sparse entry claiming 7 EiB",
		buildImage: hostileBuildImage(func(t testing.TB) []byte { return testutil.SparseTar(t, "opt/bomb", 7<<60, 1<<40, "x") }),
		code:       1, says: []string{`"opt/bomb"`, "unpack size cap exceeded"},
	},
	{
		name:   "the output is docker-archive:/dev/full",
		output: func(*testing.T, string) string { return "docker-archive:/dev/full" },
		code:   1, says: []string{"/dev/full is a character device"},
		after: func(t *testing.T, _ buildEnvDir, _ string) {
			fi, err := os.Lstat("/dev/full")
			if err != nil || fi.Mode()&fs.ModeCharDevice == 0 || fi.Sys().(*syscall.Stat_t).Rdev != 0x107 {
				t.Errorf("/dev/full is no longer the character device 1:7: %v %v", fi.Mode(), err)
			}
		},
	},
	{
		name: "the output is a FIFO",
		output: func(t *testing.T, dir string) string {
			if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			return "docker-archive:" + filepath.Join(dir, "fifo")
		},
		code: 1, says: []string{"fifo is a FIFO"},
		after: func(t *testing.T, _ buildEnvDir, dir string) {
			if fi, err := os.Lstat(filepath.Join(dir, "fifo")); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("the FIFO was replaced: %v", err)
			}
		},
	},
	{
		name: "the output is a symlink to a host file",
		output: func(t *testing.T, dir string) string {
			if err := os.Symlink(filepath.Join(dir, "victim", "canary"), filepath.Join(dir, "out.tar")); err != nil {
				t.Fatal(err)
			}
			return "docker-archive:" + filepath.Join(dir, "out.tar")
		},
		code: 1, says: []string{"out.tar is a symlink"},
		after: func(t *testing.T, _ buildEnvDir, dir string) {
			if target, err := os.Readlink(filepath.Join(dir, "out.tar")); err != nil || target != filepath.Join(dir, "victim", "canary") {
				t.Errorf("the symlink was replaced: %q %v", target, err)
			}
		},
	},
	{
		name:   "the oci: output is a host file",
		output: func(_ *testing.T, dir string) string { return "oci:" + filepath.Join(dir, "victim", "canary") },
		code:   1, says: []string{"canary is a regular file, not a directory"},
	},
	func() attack {
		// The digest of pass 1, which pass 2 (same inputs) must give again.
		var first v1.Hash
		return attack{
			name:   "every blob of the image in the output layout is damaged between two builds",
			passes: 2,
			between: func(t *testing.T, dir string, _ int) {
				first = readImageDigest(t, "oci:"+filepath.Join(dir, "out")+":app")
				damageBlobs(t, filepath.Join(dir, "out", "blobs", "sha256"))
			},
			image: func(t *testing.T, img v1.Image) {
				if h, err := img.Digest(); err != nil || h != first {
					t.Errorf("digest %v (%v), want pass 1's %v", h, err, first)
				}
			},
		}
	}(),
}

// privilegedEntries is a layer of what a shared tree must not keep.
func privilegedEntries(t testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	shell := "#!/bin/sh\nid\n"
	for _, h := range []tar.Header{
		{Typeflag: tar.TypeDir, Name: "opt/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: "opt/rootshell", Mode: 0o4755, Size: int64(len(shell))},
		{Typeflag: tar.TypeReg, Name: "opt/groupshell", Mode: 0o2755, Size: int64(len(shell))},
		{Typeflag: tar.TypeBlock, Name: "opt/disk", Mode: 0o666, Devmajor: 8},
		{Typeflag: tar.TypeChar, Name: "opt/mem", Mode: 0o666, Devmajor: 1, Devminor: 1},
		{Typeflag: tar.TypeLink, Name: "opt/disklink", Linkname: "opt/disk"},
	} {
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, shell)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostileBuildImage returns a buildImage hook: the stack's build image with
// the layer on top, written to the row's own layout.
func hostileBuildImage(layer func(testing.TB) []byte) func(*testing.T, buildEnvDir, string) string {
	return func(t *testing.T, e buildEnvDir, dir string) string {
		b := layer(t)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(readImage(t, "oci:"+filepath.Join(e.dir, "stack")+":build"), l)
		if err != nil {
			t.Fatal(err)
		}
		ref := "oci:" + filepath.Join(dir, "hostile-stack") + ":build"
		writeImage(t, ref, img)
		return ref
	}
}

// checkStoreTrees checks that the store and its root filesystems are
// private and that no tree holds a setuid or setgid file or a device node,
// and returns the tree holding rel.
func checkStoreTrees(t *testing.T, e buildEnvDir, rel string) string {
	t.Helper()
	for _, p := range []string{e.store, filepath.Join(e.store, "rootfs")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want mode 0700", p, fi.Mode(), err)
		}
	}
	trees, err := filepath.Glob(filepath.Join(e.store, "rootfs", "*-root*"))
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	for _, tree := range trees {
		if fi, err := os.Stat(tree); err != nil || !fi.IsDir() {
			continue // a lock file
		}
		if _, err := os.Lstat(filepath.Join(tree, rel)); err == nil {
			found = tree
		}
		err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrPermission) {
				return fs.SkipDir // a 0000 directory of an image, rootless
			}
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			m := fi.Mode()
			if m&(fs.ModeSetuid|fs.ModeDevice|fs.ModeCharDevice) != 0 || (m&fs.ModeSetgid != 0 && !m.IsDir()) {
				t.Errorf("the store's tree holds %s: %v", p, m)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found == "" {
		t.Fatalf("no tree in the store holds %s (trees: %v)", rel, trees)
	}
	return found
}

// damageBlobs flips a byte in the middle of every blob in dir.
func damageBlobs(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readImageDigest(t *testing.T, ref string) v1.Hash {
	t.Helper()
	h, err := readImage(t, ref).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
