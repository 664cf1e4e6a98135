// Package debtest builds Debian packages and signed apt repositories in
// tests, so that stackgen's package code runs against real files without the
// network.
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ulikunitz/xz"
)

// File is an entry of a package's data.tar: a directory (Dir), a symlink
// (Link), a hard link (Hard) or else a regular file with Content.
type File struct {
	Name    string // "usr/bin/hello"
	Mode    int64  // permission bits
	Content string
	Link    string // symlink target when set
	Hard    string // hard link target when set
	Dir     bool
	UID     int
}

// Deb describes a package to build.
type Deb struct {
	Name, Version, Arch string
	Depends, PreDepends string
	Provides            string
	Files               []File
}

// Control is the package's control paragraph.
func (d Deb) Control() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <t@example.invalid>\n", d.Name, d.Version, d.Arch)
	if d.PreDepends != "" {
		fmt.Fprintf(&b, "Pre-Depends: %s\n", d.PreDepends)
	}
	if d.Depends != "" {
		fmt.Fprintf(&b, "Depends: %s\n", d.Depends)
	}
	if d.Provides != "" {
		fmt.Fprintf(&b, "Provides: %s\n", d.Provides)
	}
	fmt.Fprintf(&b, "Description: test package %s\n two lines\n", d.Name)
	return b.String()
}

// Build returns the .deb bytes: debian-binary, control.tar.gz, data.tar.xz.
func (d Deb) Build(t testing.TB) []byte {
	t.Helper()
	ctl := tarOf(t, []File{{Name: "./control", Mode: 0o644, Content: d.Control()}, {Name: "./postinst", Mode: 0o755, Content: "#!/bin/sh\nexit 1\n"}})
	var cgz bytes.Buffer
	gz := gzip.NewWriter(&cgz)
	gz.Write(ctl)
	gz.Close()
	files := append([]File{{Name: "./", Dir: true, Mode: 0o755}}, d.Files...)
	data := tarOf(t, files)
	var dxz bytes.Buffer
	xw, err := xz.NewWriter(&dxz)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(data)
	xw.Close()
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		data []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", cgz.Bytes()}, {"data.tar.xz", dxz.Bytes()}} {
		fmt.Fprintf(&out, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		out.Write(m.data)
		if len(m.data)%2 == 1 {
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func tarOf(t testing.TB, files []File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: f.Mode, Uid: f.UID, ModTime: time.Unix(1700000000, 0)}
		switch {
		case f.Dir:
			h.Typeflag = tar.TypeDir
		case f.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		case f.Hard != "":
			h.Typeflag, h.Linkname = tar.TypeLink, f.Hard
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.Content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Repo is an apt repository written to a directory by WriteRepo.
type Repo struct {
	Dir     string // the repository root; its URI is "file:" + Dir
	Keyring string // path of the armored public key that signs InRelease
	Suite   string
}

// URI is the repository's file: URI.
func (r Repo) URI() string { return "file:" + r.Dir }

// WriteRepo writes debs as an apt repository under dir with suite "stable",
// component "main", architecture arch, and an InRelease signed by a fresh key
// whose public half is written next to the repository.
func WriteRepo(t testing.TB, dir, arch string, debs []Deb) Repo {
	t.Helper()
	var index strings.Builder
	sort.Slice(debs, func(i, j int) bool { return debs[i].Name < debs[j].Name })
	for _, d := range debs {
		b := d.Build(t)
		rel := fmt.Sprintf("pool/main/%s_%s_%s.deb", d.Name, d.Version, d.Arch)
		must(t, os.MkdirAll(filepath.Join(dir, "pool", "main"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, rel), b, 0o644))
		sum := sha256.Sum256(b)
		ctl := strings.TrimSuffix(d.Control(), "\n")
		fmt.Fprintf(&index, "%s\nFilename: %s\nSize: %d\nSHA256: %s\n\n", ctl, rel, len(b), hex.EncodeToString(sum[:]))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(index.String()))
	zw.Close()
	comp := filepath.Join(dir, "dists", "stable", "main", "binary-"+arch)
	must(t, os.MkdirAll(comp, 0o755))
	must(t, os.WriteFile(filepath.Join(comp, "Packages.gz"), gz.Bytes(), 0o644))
	gsum := sha256.Sum256(gz.Bytes())
	release := fmt.Sprintf("Suite: stable\nCodename: stable\nArchitectures: %s\nComponents: main\nSHA256:\n %s %d main/binary-%s/Packages.gz\n",
		arch, hex.EncodeToString(gsum[:]), gz.Len(), arch)

	ent, err := openpgp.NewEntity("kiln test", "", "test@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	must(t, err)
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, ent.PrivateKey, nil)
	must(t, err)
	w.Write([]byte(release))
	must(t, w.Close())
	must(t, os.WriteFile(filepath.Join(dir, "dists", "stable", "InRelease"), signed.Bytes(), 0o644))

	var pub bytes.Buffer
	aw, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	must(t, err)
	must(t, ent.Serialize(aw))
	must(t, aw.Close())
	key := filepath.Join(filepath.Dir(filepath.Clean(dir)), filepath.Base(dir)+"-key.asc")
	must(t, os.WriteFile(key, pub.Bytes(), 0o644))
	return Repo{Dir: dir, Keyring: key, Suite: "stable"}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
