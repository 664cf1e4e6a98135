package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tentry is one entry of a tar built in a test.
type tentry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func tfile(name, body string) tentry {
	return tentry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func tdir(name string) tentry { return tentry{name: name, typ: tar.TypeDir, mode: 0o755} }
func tsym(name, target string) tentry {
	return tentry{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func tlink(name, target string) tentry {
	return tentry{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}

var testMtime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// tarOf builds an uncompressed tar of entries, in order.
func tarOf(t testing.TB, entries ...tentry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: e.mode,
			Size: int64(len(e.body)), ModTime: testMtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unpackTars unpacks each tar as one layer into dir, as Unpack does.
func unpackTars(dir string, opts UnpackOptions, tars ...[]byte) error {
	u := newUnpacker(dir, opts)
	for _, b := range tars {
		if err := u.unpackTar(context.Background(), bytes.NewReader(b)); err != nil {
			return err
		}
	}
	return u.finish()
}

func writeFile(t testing.TB, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listTree returns "path type [content|target]" lines for everything
// under dir, sorted, for comparing trees.
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		switch {
		case fi.IsDir():
			out = append(out, rel+"/ "+fi.Mode().Perm().String()[1:])
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			out = append(out, rel+" "+fi.Mode().String()+" "+readFile(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imageOfTars returns an image whose layers are the given uncompressed
// tars, lowest first.
func imageOfTars(t testing.TB, tars ...[]byte) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, b := range tars {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
