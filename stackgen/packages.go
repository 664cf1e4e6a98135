package stackgen

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/atomicfile"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

// aliasedDirs are the top-level directories that a merged /usr turns into
// symlinks into /usr.
var aliasedDirs = map[string]bool{"bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true, "libx32": true, "libo32": true}

// packageLayer lays the files of pkgs out in one layer, as dpkg would unpack
// them but without running any maintainer script: every entry owned by root,
// mtimes set to the creation time, each package's control paragraph in
// /var/lib/dpkg/status.d/NAME (and its md5sums in NAME.md5sums) where
// scanners look for them in distroless images, and the CA bundle that
// ca-certificates' postinst would have generated. With mergedUsr, files
// shipped under /bin, /sbin and /lib* go under /usr and those directories
// become symlinks.
//
// The layer is remembered under a key made of the packages' hashes and the
// layout options, so that making the same stack again reuses it.
func (o *options) packageLayer(ctx context.Context, image string, pkgs []debian.Locked, mergedUsr bool) (v1.Layer, error) {
	key := packageLayerKey(pkgs, mergedUsr, o.created)
	memo := filepath.Join(o.store.Dir(), "debian", "layers", key)
	if b, err := os.ReadFile(memo); err == nil {
		if h, err := v1.NewHash(strings.TrimSpace(string(b))); err == nil {
			if l, ok := o.store.LayerByDiffID(h); ok {
				return l, nil
			}
		}
	}
	l, err := o.writePackageLayer(ctx, image, pkgs, mergedUsr)
	if err != nil {
		return nil, err
	}
	if d, err := l.DiffID(); err == nil {
		// A lost memo only costs the work again.
		if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
			_ = atomicfile.WriteFile(memo, []byte(d.String()+"\n"), 0o644)
		}
	}
	return l, nil
}

// packageLayerKey names a package layer by everything that decides its
// content: the packages' hashes in order, the /usr layout, the mtime, and
// the version of the layout rules (bump it when they change).
func packageLayerKey(pkgs []debian.Locked, mergedUsr bool, created time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "kiln-package-layer-v1 merged=%t created=%d\n", mergedUsr, created.Unix())
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s %s\n", p.Name, p.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (o *options) writePackageLayer(ctx context.Context, image string, pkgs []debian.Locked, mergedUsr bool) (v1.Layer, error) {
	pool, err := o.pool()
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(o.store.Dir(), ".tmp-stack-")
	if err != nil {
		return nil, fmt.Errorf("laying out packages: %w", err)
	}
	defer os.RemoveAll(stage)
	u := &unpacker{root: stage, modes: map[string]fs.FileMode{}, mergedUsr: mergedUsr, aliases: map[string]bool{}}
	var total int64
	for _, l := range pkgs {
		total += l.Size
	}
	for i, l := range pkgs {
		p := l.Package()
		if o.progress != nil {
			o.progress(Progress{Image: image, Step: "fetching package", Name: p.String(), Index: i + 1, Count: len(pkgs), Size: l.Size})
		}
		file, err := pool.Fetch(ctx, p.DownloadURL(), p.SHA256, p.Size)
		if err != nil {
			return nil, err // names the URL, hence the package
		}
		if err := u.deb(file, p.Name); err != nil {
			return nil, fmt.Errorf("unpacking package %s: %w", p, err)
		}
	}
	if err := u.finish(); err != nil {
		return nil, fmt.Errorf("laying out packages: %w", err)
	}
	if o.progress != nil {
		o.progress(Progress{Image: image, Step: "laid out packages", Count: len(pkgs), Size: total})
	}
	o.report(image, "writing layer", "packages")
	return oci.LayerFromDir(ctx, stage, oci.LayerOptions{Store: o.store, ModTime: o.created, Mode: u.mode})
}

// unpacker writes package contents into a staging directory. On disk every
// directory is 0755 and every file 0644 or 0755 so that the tree stays
// writable without root; the modes the packages ask for are kept in modes
// and given to the layer writer.
type unpacker struct {
	root      string
	modes     map[string]fs.FileMode // entry name → mode recorded in the layer
	mergedUsr bool
	aliases   map[string]bool // aliased top-level directories packages used
	debs      []string
}

func (u *unpacker) mode(name string, m fs.FileMode) fs.FileMode {
	if r, ok := u.modes[name]; ok {
		return r
	}
	if m.IsDir() {
		return fs.ModeDir | 0o755
	}
	return m
}

// rename maps a package path to its place in the image.
func (u *unpacker) rename(name string) string {
	if !u.mergedUsr {
		return name
	}
	top, _, _ := strings.Cut(name, "/")
	if aliasedDirs[top] {
		u.aliases[top] = true
		return "usr/" + name
	}
	return name
}

func (u *unpacker) deb(file, pkg string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	deb, err := debian.ReadDeb(f, u.entry)
	if err != nil {
		return err
	}
	u.debs = append(u.debs, pkg)
	dir := "var/lib/dpkg/status.d"
	if err := u.write(path.Join(dir, pkg), 0o644, strings.NewReader(string(deb.Control))); err != nil {
		return err
	}
	if deb.MD5Sums != nil {
		return u.write(path.Join(dir, pkg+".md5sums"), 0o644, strings.NewReader(string(deb.MD5Sums)))
	}
	return nil
}

// entry unpacks one data.tar entry.
func (u *unpacker) entry(h *tar.Header, r io.Reader) error {
	if u.mergedUsr && aliasedDirs[h.Name] {
		u.aliases[h.Name] = true
		return nil // the directory, or a package's own alias symlink: finish makes the link
	}
	name := u.rename(h.Name)
	mode := h.FileInfo().Mode()
	switch h.Typeflag {
	case tar.TypeDir:
		if err := u.mkdir(name); err != nil {
			return err
		}
		u.modes[name] = mode
		return nil
	case tar.TypeReg, tar.TypeRegA:
		return u.write(name, mode, r)
	case tar.TypeSymlink:
		dst, err := u.prepare(name)
		if err != nil {
			return err
		}
		delete(u.modes, name)
		return os.Symlink(h.Linkname, dst)
	case tar.TypeLink:
		dst, err := u.prepare(name)
		if err != nil {
			return err
		}
		src, err := securejoin.SecureJoin(u.root, u.rename(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")))
		if err != nil {
			return err
		}
		u.modes[name] = mode
		return os.Link(src, dst)
	}
	return nil // device nodes and FIFOs have no place in an image layer
}

// prepare makes the parent of name and removes what name holds, returning
// the path on disk; the last component is not resolved, so a symlink there
// is replaced rather than followed.
func (u *unpacker) prepare(name string) (string, error) {
	dir, base := path.Split(name)
	parent, err := securejoin.SecureJoin(u.root, dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(parent, base)
	if fi, err := os.Lstat(dst); err == nil && !fi.IsDir() {
		if err := os.Remove(dst); err != nil {
			return "", err
		}
	}
	return dst, nil
}

func (u *unpacker) mkdir(name string) error {
	dst, err := securejoin.SecureJoin(u.root, name)
	if err != nil {
		return err
	}
	return os.MkdirAll(dst, 0o755)
}

func (u *unpacker) write(name string, mode fs.FileMode, r io.Reader) error {
	dst, err := u.prepare(name)
	if err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	u.modes[name] = mode
	return f.Close()
}

// finish adds what dpkg and maintainer scripts would have: the /usr alias
// symlinks and the CA bundle.
func (u *unpacker) finish() error {
	if u.mergedUsr {
		for _, d := range []string{"bin", "sbin", "lib"} {
			u.aliases[d] = true
		}
		for d := range u.aliases {
			if err := u.mkdir("usr/" + d); err != nil {
				return err
			}
			if err := os.Symlink("usr/"+d, filepath.Join(u.root, d)); err != nil {
				return err
			}
		}
	}
	return u.caBundle()
}

// caBundle writes /etc/ssl/certs/ca-certificates.crt and the per-certificate
// .pem links the way update-ca-certificates does (certificates in sorted
// order, each ending in a newline), when ca-certificates is installed. The
// OpenSSL hash links are not made; OpenSSL and Python find the bundle.
func (u *unpacker) caBundle() error {
	if !contains(u.debs, "ca-certificates") {
		return nil
	}
	base, err := securejoin.SecureJoin(u.root, "usr/share/ca-certificates")
	if err != nil {
		return err
	}
	var certs []string
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".crt") {
			rel, _ := filepath.Rel(base, p)
			certs = append(certs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("collecting CA certificates: %w", err)
	}
	sort.Strings(certs)
	var bundle, conf strings.Builder
	for _, c := range certs {
		b, err := os.ReadFile(filepath.Join(base, c))
		if err != nil {
			return err
		}
		bundle.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			bundle.WriteByte('\n')
		}
		conf.WriteString(c + "\n")
		link, err := u.prepare("etc/ssl/certs/" + strings.TrimSuffix(path.Base(c), ".crt") + ".pem")
		if err != nil {
			return err
		}
		if err := os.Symlink("/usr/share/ca-certificates/"+c, link); err != nil {
			return err
		}
	}
	if err := u.write("etc/ssl/certs/ca-certificates.crt", 0o644, strings.NewReader(bundle.String())); err != nil {
		return err
	}
	return u.write("etc/ca-certificates.conf", 0o644, strings.NewReader(conf.String()))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
