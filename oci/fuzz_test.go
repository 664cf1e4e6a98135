package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// fuzzMaxSize keeps every fuzzed unpack small and fast, holes included.
const fuzzMaxSize = 1 << 20

// FuzzUnpack unpacks two layers, one onto the other, with options picked
// by flags, and checks what must hold for any input:
//   - nothing outside the target changes (a canary beside it keeps its
//     content and its single link; no new entry appears beside it);
//   - the unpack is deterministic: two fresh targets end the same, or fail
//     with the same error;
//   - it ends (a deadline far above what a 1 MiB cap allows);
//   - shared and rootless trees hold no setuid/setgid file and no device
//     node, and file content stays within MaxSize;
//   - a successful tree round-trips: LayerFromDir of it, unpacked again,
//     gives the same tree (types, permissions, content, link targets, hard
//     links).
//
// Seeds: the hostile corpus of TestUnpackHostile, GNU tar's sparse
// formats, the privileged layer and a crafted sparse bomb.
func FuzzUnpack(f *testing.F) {
	for _, c := range hostileCases() {
		var tars [][]byte
		for _, l := range c.layers("/fuzz-outside") {
			tars = append(tars, tarOf(f, l...))
		}
		tars = append(tars, nil)
		f.Add(tars[0], tars[1], byte(0))
	}
	for _, name := range []string{"pax-1.0", "pax-0.1", "pax-0.0", "gnu"} {
		b, err := os.ReadFile(filepath.Join("testdata", "sparse", name+".tar"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte(nil), byte(0))
	}
	for flags := byte(0); flags < 4; flags++ {
		f.Add(privilegedLayer(f), testutil.SparseTar(f, "bomb", 1<<30, 1<<20, "x"), flags)
	}
	locked := tdir("locked")
	locked.mode = 0
	f.Add(tarOf(f, locked, tfile("locked/f", "f")), tarOf(f, tfile("locked/g", "g"), tfile("locked/.wh.f", "")), byte(1))
	f.Fuzz(checkUnpack)
}

// FuzzUnpackEntries is FuzzUnpack on tars that are always well formed: the
// input is a program of entries (see entriesTar), so that mutations change
// names, types, modes, links and whiteouts rather than break checksums.
func FuzzUnpackEntries(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 1, 0o7, 0o55, 0, 3, 1, 0, 2},
		{2, 4, 3, 4, 0, 1, 2, 1, 0, 2, 4, 0, 0},
		{3, 0, 3, 1, 1, 2, 1, 0, 0xff, 0, 1, 0, 2, 5, 6, 5, 6},
		{1, 2, 0, 0, 3, 1, 8, 1, 2, 0, 6, 1, 0, 1, 7, 0x12, 0x34, 2, 1, 0},
	} {
		f.Add(seed, byte(0))
		f.Add(seed, byte(3))
	}
	f.Fuzz(func(t *testing.T, program []byte, flags byte) {
		lower, upper := entriesTar(t, program)
		checkUnpack(t, lower, upper, flags)
	})
}

// nameTokens are what entriesTar builds names and link targets from: few
// enough that entries meet (the same name, a parent, a link's target).
var nameTokens = []string{"a", "b", "/", "..", ".", ".wh.", ".wh..wh..opq", "c/", "/abs", "a/b"}

// entriesTar turns a program into two layers of entries. Each entry is a
// type byte, two mode bytes, a name (a count, then tokens), a link target
// (for links) and a body (for files: a count, then bytes); type 8 starts
// the upper layer. Entries archive/tar refuses are left out.
func entriesTar(t *testing.T, p []byte) (lower, upper []byte) {
	next := func() byte {
		if len(p) == 0 {
			return 0
		}
		b := p[0]
		p = p[1:]
		return b
	}
	text := func() string {
		n := int(next() % 6)
		var sb strings.Builder
		for range n {
			sb.WriteString(nameTokens[int(next())%len(nameTokens)])
		}
		return sb.String()
	}
	types := []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar, tar.TypeBlock, tar.TypeReg}
	var bufs [2]bytes.Buffer
	tws := [2]*tar.Writer{tar.NewWriter(&bufs[0]), tar.NewWriter(&bufs[1])}
	layer := 0
	for len(p) > 0 {
		op := next() % 9
		if op == 8 {
			layer = 1
			continue
		}
		hdr := &tar.Header{Typeflag: types[op], Mode: int64(next())<<4 | int64(next()), Name: text(), ModTime: testMtime, Format: tar.FormatPAX}
		var body []byte
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			hdr.Linkname = text()
		case tar.TypeChar, tar.TypeBlock:
			hdr.Devmajor, hdr.Devminor = 1, []int64{3, 5, 7, 8, 9}[next()%5] // null, zero, full, random, urandom
		case tar.TypeReg:
			body = make([]byte, next()%64)
			for i := range body {
				body[i] = next()
			}
			hdr.Size = int64(len(body))
		}
		if tws[layer].WriteHeader(hdr) != nil {
			continue
		}
		if _, err := tws[layer].Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, tw := range tws {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return bufs[0].Bytes(), bufs[1].Bytes()
}

// checkUnpack is the body of the unpack fuzz targets.
func checkUnpack(t *testing.T, lower, upper []byte, flags byte) {
	opts := UnpackOptions{Rootless: testutil.Rootless() || flags&1 != 0, Shared: flags&2 != 0, MaxSize: fuzzMaxSize}
	base := lockedTempDir(t)
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "canary"), "canary", 0o644)
	var trees []map[string]string
	var errs []string
	for i := range 2 {
		root := filepath.Join(base, fmt.Sprint("root", i))
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		err := fuzzUnpack(t, root, opts, lower, upper)
		if err != nil {
			errs = append(errs, strings.ReplaceAll(err.Error(), root, "ROOT"))
			continue
		}
		errs = append(errs, "")
		trees = append(trees, snapshotOpen(t, root))
	}
	checkCanary(t, base, outside, "root0", "root1")
	if errs[0] != errs[1] {
		t.Fatalf("not deterministic: errors %q and %q", errs[0], errs[1])
	}
	if len(trees) == 0 {
		return
	}
	if d := diffSnapshots(trees[0], trees[1]); d != "" {
		t.Fatalf("not deterministic: two unpacks differ:\n%s", d)
	}
	checkInvariants(t, trees[0], opts)

	// The round trip through LayerFromDir.
	root := filepath.Join(base, "root0")
	l, err := LayerFromDir(context.Background(), root, LayerOptions{TempDir: t.TempDir()})
	if errors.Is(err, fs.ErrPermission) && opts.Rootless {
		return // a 0000 directory an unprivileged user cannot read
	}
	if err != nil {
		t.Fatalf("LayerFromDir of an unpacked tree: %v", err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(base, "again")
	if err := os.Mkdir(again, 0o755); err != nil {
		t.Fatal(err)
	}
	err = UnpackLayer(context.Background(), rc, again, opts)
	rc.Close()
	if err != nil {
		t.Fatalf("unpacking LayerFromDir's layer of the tree: %v", err)
	}
	if d := diffSnapshots(trees[0], snapshotOpen(t, again)); d != "" {
		t.Fatalf("round trip through LayerFromDir changed the tree:\n%s", d)
	}
}

// fuzzUnpack unpacks lower then upper (when not empty) into root, failing
// the test when it does not end in time.
func fuzzUnpack(t *testing.T, root string, opts UnpackOptions, lower, upper []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := newUnpacker(root, opts)
	for _, b := range [][]byte{lower, upper} {
		if len(b) == 0 {
			continue
		}
		if err := u.unpackTar(ctx, bytes.NewReader(b)); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the unpack did not end in 30s")
			}
			return err
		}
	}
	return u.finish()
}

// checkCanary fails unless outside holds only its canary, intact and with
// one link, and base only outside and the roots.
func checkCanary(t *testing.T, base, outside string, roots ...string) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(outside, "canary"))
	if err != nil {
		t.Fatalf("the canary: %v", err)
	}
	if got := readFile(t, filepath.Join(outside, "canary")); got != "canary" || fi.Sys().(*syscall.Stat_t).Nlink != 1 || fi.Mode() != 0o644 {
		t.Fatalf("the canary changed: %q, %v, %d links", got, fi.Mode(), fi.Sys().(*syscall.Stat_t).Nlink)
	}
	ents, err := os.ReadDir(outside)
	if err != nil || len(ents) != 1 {
		t.Fatalf("outside holds %d entries (%v)", len(ents), err)
	}
	ents, err = os.ReadDir(base)
	if err != nil || len(ents) != len(roots)+1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("beside the roots: %v (%v)", names, err)
	}
}

// checkInvariants checks a tree's snapshot against what opts promise.
func checkInvariants(t *testing.T, snap map[string]string, opts UnpackOptions) {
	t.Helper()
	var total int64
	for p, d := range snap {
		var m fs.FileMode
		var size int64
		var rest string
		if _, err := fmt.Sscanf(d, "%d %d %s", &m, &size, &rest); err != nil {
			t.Fatalf("snapshot line %q: %v", d, err)
		}
		if opts.Rootless || opts.Shared {
			if m&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSetuid) != 0 || (m&fs.ModeSetgid != 0 && !m.IsDir()) {
				t.Fatalf("%s: %v in a %s tree", p, m, map[bool]string{true: "rootless", false: "shared"}[opts.Rootless])
			}
		}
		if m.IsRegular() && !strings.Contains(rest, "link") {
			total += size
		}
	}
	if total > opts.MaxSize {
		t.Fatalf("%d bytes of file content past the cap of %d", total, opts.MaxSize)
	}
}

// snapshotOpen describes every entry under dir: mode, size, then the
// content digest, link target or hard-link group. Directories an
// unprivileged user cannot read are opened for the walk and closed again.
func snapshotOpen(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	inodes := map[uint64]string{} // inode → first path, for hard links
	var walk func(rel string)
	walk = func(rel string) {
		p := filepath.Join(dir, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		size := fi.Size()
		if fi.IsDir() {
			size = 0 // the file system's business
		}
		d := fmt.Sprintf("%d %d ", uint32(fi.Mode()), size)
		switch {
		case fi.Mode().IsRegular():
			if first, ok := inodes[st.Ino]; ok {
				d += "link-to:" + first
				break
			}
			inodes[st.Ino] = rel
			withReadable(t, p, fi, func() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				d += fmt.Sprintf("sha256:%x", sha256.Sum256(b))
			})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			d += "->" + fmt.Sprintf("%q", target)
		case fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			d += fmt.Sprintf("dev:%d", st.Rdev)
		default:
			d += "-"
		}
		if rel != "." {
			snap[filepath.ToSlash(rel)] = d
		}
		if !fi.IsDir() {
			return
		}
		withReadable(t, p, fi, func() {
			ents, err := os.ReadDir(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				walk(filepath.Join(rel, e.Name()))
			}
		})
	}
	walk(".")
	return snap
}

// withReadable runs fn with p (a directory or file of ours) given owner
// permissions when it lacks them, restoring its mode after.
func withReadable(t *testing.T, p string, fi fs.FileInfo, fn func()) {
	t.Helper()
	perm := fi.Mode().Perm()
	need := fs.FileMode(0o400)
	if fi.IsDir() {
		need = 0o500
	}
	if perm&need == need || !testutil.Rootless() {
		fn()
		return
	}
	if err := os.Chmod(p, perm|need); err != nil {
		t.Fatal(err)
	}
	fn()
	if err := os.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky|fs.ModeSetuid)); err != nil {
		t.Fatal(err)
	}
}

// diffSnapshots lists the paths whose descriptions differ.
func diffSnapshots(a, b map[string]string) string {
	var out []string
	for p, d := range a {
		if b[p] != d {
			out = append(out, fmt.Sprintf("%s: %q vs %q", p, d, b[p]))
		}
	}
	for p, d := range b {
		if _, ok := a[p]; !ok {
			out = append(out, fmt.Sprintf("%s: absent vs %q", p, d))
		}
	}
	return strings.Join(out, "\n")
}

// FuzzParseReference checks that a parsed reference prints as a string
// that parses back to the same reference, and that its parts are sane.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"oci:out", "oci:out:app", "oci:/mnt/a:b/dir", "oci:dir:x:latest", "oci:out:a b", "oci:", "oci::x",
		"docker-archive:app.tar", "docker-archive:app.tar:app:1", "docker-archive:a:b/c.tar:n/m:t", "docker-archive:x:",
		"alpine", "index.docker.io/library/alpine:3", "localhost:5000/a/b@sha256:" + strings.Repeat("a", 64),
		"./out", "/abs/path", "out.tar", "registry.example/app:1.0", "UPPER/case", "a:b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidReference) {
				t.Fatalf("ParseReference(%q): error %v does not wrap ErrInvalidReference", s, err)
			}
			return
		}
		switch r.Kind {
		case KindLayout:
			if r.Path == "" || !tagPattern.MatchString(r.Tag) {
				t.Fatalf("ParseReference(%q) = %+v: empty path or bad tag", s, r)
			}
		case KindArchive:
			if r.Path == "" {
				t.Fatalf("ParseReference(%q) = %+v: empty path", s, r)
			}
		case KindRegistry:
			if r.Name == nil {
				t.Fatalf("ParseReference(%q): a registry reference without a name", s)
			}
			if _, err := name.ParseReference(r.Name.String()); err != nil {
				t.Fatalf("ParseReference(%q).Name = %q does not parse: %v", s, r.Name, err)
			}
		}
		back, err := ParseReference(r.String())
		if err != nil {
			t.Fatalf("ParseReference(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		if !sameReference(r, back) {
			t.Fatalf("ParseReference(%q) = %s, printed %q, parsed back as %s", s, describeRef(r), r.String(), describeRef(back))
		}
	})
}

func sameReference(a, b Reference) bool {
	return describeRef(a) == describeRef(b)
}

func describeRef(r Reference) string {
	n := "<nil>"
	if r.Name != nil {
		n = r.Name.String()
	}
	return fmt.Sprintf("{kind %d path %q tag %q name %q}", r.Kind, r.Path, r.Tag, n)
}
