package distribution

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// fixtureBuildpack describes a buildpack written by writeBuildpack.
type fixtureBuildpack struct {
	id, version string
	order       Order // composite when not empty
}

// writeBuildpack writes a buildpack directory into dir: buildpack.toml,
// and for a component bin/detect (0700), bin/build (0644: pack makes it
// executable anyway), a data file and a link.
func writeBuildpack(t *testing.T, dir string, bp fixtureBuildpack) string {
	t.Helper()
	desc := "api = \"0.10\"\n[buildpack]\nid = \"" + bp.id + "\"\nversion = \"" + bp.version + "\"\nname = \"Fixture\"\n"
	for _, e := range bp.order {
		desc += "[[order]]\n"
		for _, g := range e.Group {
			desc += "[[order.group]]\nid = \"" + g.ID + "\"\nversion = \"" + g.Version + "\"\n"
			if g.Optional {
				desc += "optional = true\n"
			}
		}
	}
	if len(bp.order) == 0 {
		desc += "[[targets]]\nos = \"linux\"\narch = \"amd64\"\n[[targets.distros]]\nname = \"debian\"\nversion = \"12\"\n"
		desc += "[[stacks]]\nid = \"*\"\n"
		for name, mode := range map[string]fs.FileMode{"bin/detect": 0o700, "bin/build": 0o644, "share/data.txt": 0o600} {
			testutil.WriteFile(t, filepath.Join(dir, name), "#!/bin/sh\necho "+bp.id+"\n")
			if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("data.txt", filepath.Join(dir, "share/link")); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WriteFile(t, filepath.Join(dir, DescriptorFile), desc)
	return dir
}

// wantLaidOut is the tree tree() reports for a laid-out fixture buildpack.
func wantLaidOut(bp fixtureBuildpack) map[string]string {
	content := "#!/bin/sh\necho " + bp.id + "\n"
	want := map[string]string{}
	if len(bp.order) == 0 {
		want["bin/"] = "-rwxr-xr-x"
		want["bin/detect"] = "-rwxr-xr-x " + content
		want["bin/build"] = "-rwxr-xr-x " + content
		want["share/"] = "-rwxr-xr-x"
		want["share/data.txt"] = "-rw-r--r-- " + content
		want["share/link -> data.txt"] = ""
	}
	return want
}

// checkLaidOut compares the laid-out buildpack's files, leaving
// buildpack.toml out of the comparison.
func checkLaidOut(t *testing.T, dst string, bp fixtureBuildpack) {
	t.Helper()
	got := testutil.Tree(t, filepath.Join(dst, EscapeID(bp.id), bp.version))
	if _, ok := got[DescriptorFile]; !ok {
		t.Errorf("%s@%s: no buildpack.toml", bp.id, bp.version)
	}
	delete(got, DescriptorFile)
	if diff := cmp.Diff(wantLaidOut(bp), got); diff != "" {
		t.Errorf("%s@%s laid out (-want +got):\n%s", bp.id, bp.version, diff)
	}
}

// tarEntry is one entry of a tar built by writeTar.
type tarEntry struct {
	name     string
	typeflag byte
	mode     int64
	body     string
	linkname string
}

func writeTar(t *testing.T, w io.Writer, entries []tarEntry) {
	t.Helper()
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: e.mode, Size: int64(len(e.body)),
			Linkname: e.linkname, Format: tar.FormatPAX}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirEntries lists dir as tar entries named prefix/<rel>, sorted, with the
// directories first written as they appear on disk.
func dirEntries(t *testing.T, dir, prefix string) []tarEntry {
	t.Helper()
	var entries []tarEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := path.Join(prefix, filepath.ToSlash(rel))
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			entries = append(entries, tarEntry{name: name + "/", typeflag: tar.TypeDir, mode: int64(fi.Mode().Perm())})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries = append(entries, tarEntry{name: name, typeflag: tar.TypeSymlink, mode: 0o777, linkname: target})
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entries = append(entries, tarEntry{name: name, typeflag: tar.TypeReg, mode: int64(fi.Mode().Perm()), body: string(b)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// writeTgz writes the buildpack directory dir as a .tgz with entries named
// prefix/<rel>.
func writeTgz(t *testing.T, file, dir, prefix string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	writeTar(t, zw, dirEntries(t, dir, prefix))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// bpLayerEntries lays buildpacks out as pack's buildpack layers do: the
// /cnb/buildpacks/<id> and /cnb/buildpacks/<id>/<version> directories first.
func bpLayerEntries(t *testing.T, dirs map[string]fixtureBuildpack) []tarEntry {
	var entries []tarEntry
	keys := make([]string, 0, len(dirs))
	for k := range dirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, dir := range keys {
		bp := dirs[dir]
		base := "/cnb/buildpacks/" + EscapeID(bp.id)
		entries = append(entries,
			tarEntry{name: base + "/", typeflag: tar.TypeDir, mode: 0o755},
			tarEntry{name: base + "/" + bp.version + "/", typeflag: tar.TypeDir, mode: 0o755})
		entries = append(entries, dirEntries(t, dir, base+"/"+bp.version)...)
	}
	return entries
}

func layerFromEntries(t *testing.T, entries []tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	writeTar(t, &buf, entries)
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// buildpackage builds a buildpackage image from groups of buildpack
// directories, one layer per group (a group of several is a flattened
// layer), with main as the io.buildpacks.buildpackage.metadata buildpack.
func buildpackage(t *testing.T, main fixtureBuildpack, groups ...map[string]fixtureBuildpack) v1.Image {
	t.Helper()
	img := empty.Image
	layers := LayersMetadata{}
	for _, g := range groups {
		l := layerFromEntries(t, bpLayerEntries(t, g))
		diffID, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
		for _, bp := range g {
			if layers[bp.id] == nil {
				layers[bp.id] = map[string]LayerInfo{}
			}
			layers[bp.id][bp.version] = LayerInfo{API: "0.10", Order: bp.order, LayerDiffID: diffID.String()}
		}
	}
	return withLabels(t, img, map[string]any{
		BuildpackageMetadataLabel: BuildpackageMetadata{ID: main.id, Version: main.version, Stacks: []Stack{{ID: "*"}}},
		BuildpackLayersLabel:      layers,
	})
}

func withLabels(t *testing.T, img v1.Image, labels map[string]any) v1.Image {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Config.Labels[k] = string(b)
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes img into a new OCI layout at dir, annotated with
// refName when not empty.
func writeLayout(t *testing.T, dir string, img v1.Image, refName string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
}

// writeCNB writes img as pack writes a .cnb: an uncompressed tar of an OCI
// layout with a root "/" entry and absolute names.
func writeCNB(t *testing.T, file string, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	writeLayout(t, dir, img, "")
	entries := append([]tarEntry{{name: "/", typeflag: tar.TypeDir, mode: 0o755}}, dirEntries(t, dir, "/")...)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, f, entries)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return file
}
