package debian

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Deb is what ReadDeb keeps of a package besides its files: the control
// paragraph as shipped (what dpkg would record in its status database) and
// the md5sums list when the package has one.
type Deb struct {
	Control []byte
	MD5Sums []byte
}

// ReadDeb reads a .deb from r: it keeps the control file and md5sums from
// control.tar and calls fn for every entry of data.tar, in archive order,
// with a reader of the entry's content. Names are cleaned to relative paths
// without a leading "./"; the root entry is skipped. Maintainer scripts are
// never looked at.
func ReadDeb(r io.Reader, fn func(hdr *tar.Header, content io.Reader) error) (*Deb, error) {
	ar, err := newArReader(r)
	if err != nil {
		return nil, err
	}
	deb := &Deb{}
	sawData := false
	for {
		name, member, err := ar.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case name == "debian-binary":
			b, _ := io.ReadAll(io.LimitReader(member, 64))
			if !strings.HasPrefix(string(b), "2.") {
				return nil, fmt.Errorf("unsupported package format %q: %w", strings.TrimSpace(string(b)), ErrNotDeb)
			}
		case strings.HasPrefix(name, "control.tar"):
			if err := readControl(deb, name, member); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, "data.tar"):
			if err := readData(name, member, fn); err != nil {
				return nil, err
			}
			sawData = true
		}
	}
	if deb.Control == nil || !sawData {
		return nil, fmt.Errorf("no control or data member: %w", ErrNotDeb)
	}
	return deb, nil
}

func readControl(deb *Deb, name string, r io.Reader) error {
	return walkTar(name, r, func(h *tar.Header, content io.Reader) error {
		var err error
		switch h.Name {
		case "control":
			deb.Control, err = io.ReadAll(io.LimitReader(content, 1<<20))
		case "md5sums":
			deb.MD5Sums, err = io.ReadAll(io.LimitReader(content, 16<<20))
		}
		return err
	})
}

func readData(name string, r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	return walkTar(name, r, fn)
}

// walkTar decompresses a member by its extension and walks its tar entries
// with cleaned relative names.
func walkTar(name string, r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	dr, closer, err := decompress(name, r)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	defer closer()
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		clean := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if clean == "" {
			continue
		}
		h.Name = clean
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

func decompress(name string, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch path.Ext(name) {
	case ".tar":
		return r, nop, nil
	case ".gz":
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return gz, func() { gz.Close() }, nil
	case ".xz":
		x, err := xz.NewReader(r)
		return x, nop, err
	case ".zst":
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return z, z.Close, nil
	case ".bz2":
		return bzip2.NewReader(r), nop, nil
	}
	return nil, nop, fmt.Errorf("unknown compression %q", path.Ext(name))
}

// ControlField returns the value of field in a control paragraph, or "".
func ControlField(control []byte, field string) string {
	var v string
	ReadParagraphs(bytes.NewReader(control), map[string]bool{field: true}, func(p Paragraph) error {
		if v == "" {
			v = p[field]
		}
		return nil
	})
	return v
}
