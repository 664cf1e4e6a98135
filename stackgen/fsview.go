package stackgen

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/stackgen/debian"
)

// fsView is what an image's layers add up to, as far as stackgen needs to
// know: the header of every path, and the content of a few small files,
// with whiteouts applied.
type fsView struct {
	entries map[string]*viewEntry
	layers  int // how many layers were read
}

type viewEntry struct {
	hdr   *tar.Header
	layer int
	data  []byte // content, for the files wanted by scanImage
}

// wantedFiles are the files whose content stackgen reads from a base.
var wantedFiles = map[string]bool{
	"etc/passwd": true, "etc/group": true, "etc/os-release": true, "usr/lib/os-release": true,
	dpkgStatus: true,
}

const (
	dpkgStatus   = "var/lib/dpkg/status"
	dpkgStatusD  = "var/lib/dpkg/status.d/"
	maxWantedLen = 64 << 20
)

// wanted reports whether scanImage keeps the content of name.
func wanted(name string) bool {
	return wantedFiles[name] || (strings.HasPrefix(name, dpkgStatusD) && !strings.Contains(name[len(dpkgStatusD):], "."))
}

// scanImage reads every layer of img in order.
func scanImage(ctx context.Context, img v1.Image) (*fsView, error) {
	v := &fsView{entries: map[string]*viewEntry{}}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading layers: %w", err)
	}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := v.addLayer(i, l); err != nil {
			d, _ := l.Digest()
			return nil, fmt.Errorf("reading layer %s: %w", d, err)
		}
	}
	v.layers = len(layers)
	return v, nil
}

func (v *fsView) addLayer(i int, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := cleanName(h.Name)
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case base == ".wh..wh..opq":
			v.remove(dir, i, false)
			continue
		case strings.HasPrefix(base, ".wh."):
			v.remove(path.Join(dir, strings.TrimPrefix(base, ".wh.")), i, true)
			continue
		}
		if old := v.entries[name]; old != nil && old.hdr.Typeflag == tar.TypeDir && h.Typeflag != tar.TypeDir {
			v.remove(name, i, false) // a file replaces a directory and what it held
		}
		e := &viewEntry{hdr: h, layer: i}
		if wanted(name) && h.Typeflag == tar.TypeReg && h.Size < maxWantedLen {
			if e.data, err = io.ReadAll(tr); err != nil {
				return err
			}
		}
		v.entries[name] = e
	}
}

// remove deletes what lower layers (below layer) hold under name, and name
// itself when self is set.
func (v *fsView) remove(name string, layer int, self bool) {
	prefix := name + "/"
	if name == "" {
		prefix = ""
	}
	for p, e := range v.entries {
		if e.layer >= layer {
			continue
		}
		if (self && p == name) || strings.HasPrefix(p, prefix) {
			delete(v.entries, p)
		}
	}
}

// lookup finds name, following symlinks in every component, as the kernel
// would inside the image.
func (v *fsView) lookup(name string) (string, *viewEntry) {
	p := cleanName(name)
	for hops := 0; hops < 40; hops++ {
		parts := strings.Split(p, "/")
		restart := false
		for i := range parts {
			cur := strings.Join(parts[:i+1], "/")
			e := v.entries[cur]
			if e == nil {
				return cur, nil
			}
			if e.hdr.Typeflag == tar.TypeSymlink {
				target := e.hdr.Linkname
				if !strings.HasPrefix(target, "/") {
					target = path.Join(path.Dir("/"+cur), target)
				}
				p = cleanName(path.Join(target, strings.Join(parts[i+1:], "/")))
				restart = true
				break
			}
		}
		if !restart {
			return p, v.entries[p]
		}
		if p == "" {
			return "", nil
		}
	}
	return p, nil
}

// readFile returns the content of a wanted file, following symlinks; ok is
// false when the image has no such regular file.
func (v *fsView) readFile(name string) (data []byte, hdr *tar.Header, ok bool) {
	_, e := v.lookup(name)
	if e == nil || e.hdr.Typeflag != tar.TypeReg {
		return nil, nil, false
	}
	return e.data, e.hdr, true
}

// isSymlink reports whether name itself (not what it points to) is a
// symlink.
func (v *fsView) isSymlink(name string) bool {
	e := v.entries[cleanName(name)]
	return e != nil && e.hdr.Typeflag == tar.TypeSymlink
}

// cleanName turns a tar name into a clean relative path; "" for the root.
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// installed lists the Debian packages the image records as installed, name
// to version: dpkg's status database and the per-package files of
// distroless images in status.d.
func (v *fsView) installed() map[string]string {
	out := map[string]string{}
	add := func(b []byte, needStatus bool) {
		debian.ReadParagraphs(bytes.NewReader(b), map[string]bool{"Package": true, "Version": true, "Status": true}, func(p debian.Paragraph) error {
			if needStatus && !strings.HasSuffix(p["Status"], " installed") {
				return nil
			}
			if p["Package"] != "" {
				out[p["Package"]] = p["Version"]
			}
			return nil
		})
	}
	if b, _, ok := v.readFile(dpkgStatus); ok {
		add(b, true)
	}
	for name, e := range v.entries {
		if strings.HasPrefix(name, dpkgStatusD) && e.data != nil {
			add(e.data, false)
		}
	}
	return out
}
