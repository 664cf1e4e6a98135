package oci

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// goldenTree builds the tree of the golden-digest test in dir. Modes are
// set explicitly (no umask leaks in) and mtimes are set to when, which must
// not matter.
func goldenTree(t testing.TB, dir string, when time.Time) {
	t.Helper()
	for _, d := range []struct {
		name string
		mode fs.FileMode
	}{{".", 0o755}, {"bin", 0o755}, {"lib", 0o750}, {"lib/empty", 0o700}} {
		if err := os.MkdirAll(filepath.Join(dir, d.name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, d.name), d.mode); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "bin/tool"), "#!/bin/sh\necho hi\n", 0o755)
	writeFile(t, filepath.Join(dir, "lib/data.txt"), strings.Repeat("data\n", 1000), 0o644)
	writeFile(t, filepath.Join(dir, "lib/big.bin"), string(noise(3<<20)), 0o600) // several gzip blocks
	if err := os.Link(filepath.Join(dir, "bin/tool"), filepath.Join(dir, "bin/tool2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(dir, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			err = os.Chtimes(p, when, when)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// noise returns n incompressible bytes, the same on every machine.
func noise(n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		s := sha256.Sum256(ctr[:])
		out = append(out, s[:]...)
	}
	return out[:n]
}

// The golden digests of goldenTree as TestLayerFromDirGolden writes it. The digest
// changes with the gzip library, level or block size: that is a change of
// kiln's output and must be deliberate.
const (
	wantDiffID = "sha256:393ea28223c75fc7d5afe721be615c4d3077422e9f6064fcf2c03ac6f2dda723"
	wantDigest = "sha256:fd56296e76d3c95fd19cd2b70b33f6cdd6b7281011fbc3533a493a1924d46969"
)

func TestLayerFromDirGolden(t *testing.T) {
	opts := LayerOptions{UID: 1000, GID: 1001, Prefix: "/layers/acme_node/node", TempDir: t.TempDir()}
	for i, when := range []time.Time{time.Now(), time.Date(2020, 5, 6, 7, 8, 9, 10, time.UTC)} {
		dir := t.TempDir()
		goldenTree(t, dir, when)
		l, err := LayerFromDir(context.Background(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		diffID, _ := l.DiffID()
		digest, _ := l.Digest()
		if diffID.String() != wantDiffID || digest.String() != wantDigest {
			t.Errorf("tree %d: diffID %s digest %s, want %s %s", i, diffID, digest, wantDiffID, wantDigest)
		}
		if err := validate.Layer(l); err != nil {
			t.Errorf("validating layer: %v", err)
		}
	}
}

// header is the part of a tar header the layer tests compare.
type header struct {
	Name, Linkname string
	Type           byte
	Mode           int64
	UID, GID       int
	Size           int64
}

// layerHeaders reads l's tar and checks the normalisation every entry must
// have.
func layerHeaders(t *testing.T, l v1.Layer) []header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(Epoch) || h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || len(h.PAXRecords) != 0 {
			t.Errorf("%s: not normalised: mtime %v uname %q gname %q atime %v pax %v", h.Name, h.ModTime, h.Uname, h.Gname, h.AccessTime, h.PAXRecords)
		}
		out = append(out, header{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size})
	}
}

func TestLayerFromDirEntries(t *testing.T) {
	dir := t.TempDir()
	goldenTree(t, dir, time.Now())
	tests := []struct {
		name string
		opts LayerOptions
		want []header
	}{{
		name: "relative names",
		opts: LayerOptions{UID: 5, GID: 6},
		want: []header{
			{"bin", "", tar.TypeDir, 0o755, 5, 6, 0},
			{"bin/sh", "tool", tar.TypeSymlink, 0o777, 5, 6, 0},
			{"bin/tool", "", tar.TypeReg, 0o755, 5, 6, 18},
			{"bin/tool2", "bin/tool", tar.TypeLink, 0o755, 5, 6, 0},
			{"lib", "", tar.TypeDir, 0o750, 5, 6, 0},
			{"lib/big.bin", "", tar.TypeReg, 0o600, 5, 6, 3 << 20},
			{"lib/data.txt", "", tar.TypeReg, 0o644, 5, 6, 5000},
			{"lib/empty", "", tar.TypeDir, 0o700, 5, 6, 0},
		},
	}, {
		name: "prefix, normalised modes",
		opts: LayerOptions{Prefix: "/cnb/buildpacks/acme_node/1.0", Mode: NormalizedMode},
		want: []header{
			{"/cnb/buildpacks/acme_node/1.0", "", tar.TypeDir, 0o755, 0, 0, 0},
			{"/cnb/buildpacks/acme_node/1.0/bin", "", tar.TypeDir, 0o755, 0, 0, 0},
			{"/cnb/buildpacks/acme_node/1.0/bin/sh", "tool", tar.TypeSymlink, 0o755, 0, 0, 0}, // pack's mode for links
			{"/cnb/buildpacks/acme_node/1.0/bin/tool", "", tar.TypeReg, 0o755, 0, 0, 18},
			{"/cnb/buildpacks/acme_node/1.0/bin/tool2", "/cnb/buildpacks/acme_node/1.0/bin/tool", tar.TypeLink, 0o755, 0, 0, 0},
			{"/cnb/buildpacks/acme_node/1.0/lib", "", tar.TypeDir, 0o755, 0, 0, 0},
			{"/cnb/buildpacks/acme_node/1.0/lib/big.bin", "", tar.TypeReg, 0o644, 0, 0, 3 << 20},
			{"/cnb/buildpacks/acme_node/1.0/lib/data.txt", "", tar.TypeReg, 0o644, 0, 0, 5000},
			{"/cnb/buildpacks/acme_node/1.0/lib/empty", "", tar.TypeDir, 0o755, 0, 0, 0},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.TempDir = t.TempDir()
			l, err := LayerFromDir(context.Background(), dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, layerHeaders(t, l)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLayerParents checks CNB contract §3: the parents of a layer directory
// come first with their on-disk mode and owner.
func TestLayerParents(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "layers", "acme_node", "node")
	writeFile(t, filepath.Join(src, "bin", "node"), "node", 0o755)
	for p, m := range map[string]fs.FileMode{"layers": 0o775, "layers/acme_node": 0o750, "layers/acme_node/node": 0o755, "layers/acme_node/node/bin": 0o755} {
		if err := os.Chmod(filepath.Join(base, p), m); err != nil {
			t.Fatal(err)
		}
	}
	uid, gid := os.Getuid(), os.Getgid()
	if !testutil.Rootless() {
		uid, gid = 1234, 1235
		if err := os.Lchown(filepath.Join(base, "layers"), uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(filepath.Join(base, "layers", "acme_node"), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	w, err := NewLayerWriter(LayerOptions{Parents: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Tree(ctx, src, "/layers/acme_node/node", 1000, 1000); err != nil {
		t.Fatal(err)
	}
	// A second layer dir of the same buildpack shares the parents.
	if err := w.Tree(ctx, filepath.Join(src, "bin"), "/layers/acme_node/other", 1000, 1000); err != nil {
		t.Fatal(err)
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	want := []header{
		{"/layers", "", tar.TypeDir, 0o775, uid, gid, 0},
		{"/layers/acme_node", "", tar.TypeDir, 0o750, uid, gid, 0},
		{"/layers/acme_node/node", "", tar.TypeDir, 0o755, 1000, 1000, 0},
		{"/layers/acme_node/node/bin", "", tar.TypeDir, 0o755, 1000, 1000, 0},
		{"/layers/acme_node/node/bin/node", "", tar.TypeReg, 0o755, 1000, 1000, 4},
		{"/layers/acme_node/other", "", tar.TypeDir, 0o755, 1000, 1000, 0},
		{"/layers/acme_node/other/node", "", tar.TypeReg, 0o755, 1000, 1000, 4},
	}
	if diff := cmp.Diff(want, layerHeaders(t, l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
