package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/oci"
)

// The CNB user of the export fixtures.
const (
	cnbUID = 1000
	cnbGID = 1001
)

// fixture is a finished build ready to export: a layers dir, an app dir
// and the BuildResult that describes them.
type fixture struct {
	layers, app string
	result      BuildResult
}

// put writes a file with an explicit mode (independent of the umask).
func put(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// mkdir creates dir and its missing parents, each 0755 whatever the umask.
func mkdir(t *testing.T, dir string) {
	t.Helper()
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return
	}
	mkdir(t, filepath.Dir(dir))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// newFixture lays out two buildpacks' layers, the SBOM, metadata.toml and
// an app with two slices.
func newFixture(t *testing.T) fixture {
	t.Helper()
	root := t.TempDir()
	f := fixture{layers: filepath.Join(root, "layers"), app: filepath.Join(root, "workspace")}
	mkdir(t, f.layers)
	mkdir(t, f.app)
	node := filepath.Join(f.layers, "acme_node")
	put(t, filepath.Join(node, "node", "bin", "node"), "#!/bin/sh\necho node\n", 0o755)
	put(t, filepath.Join(node, "node", "env", "NODE_HOME.default"), "/layers/acme_node/node", 0o644)
	put(t, filepath.Join(node, "node.toml"), "[types]\nlaunch = true\ncache = true\n[metadata]\nversion = \"18.1\"\n", 0o644)
	put(t, filepath.Join(node, "modules", "lib", "m.js"), "module.exports = 1\n", 0o640)
	put(t, filepath.Join(node, "modules.toml"), "[types]\nlaunch = true\n", 0o644)
	put(t, filepath.Join(node, "tools", "t"), "build only", 0o755)
	put(t, filepath.Join(node, "store.toml"), "[metadata]\nk = \"v\"\n", 0o644)
	put(t, filepath.Join(f.layers, "acme_web", "web", "Procfile"), "web: node index.js\n", 0o644)
	put(t, filepath.Join(f.layers, "sbom", "launch", "acme_node", "node", "sbom.cdx.json"), `{"bomFormat":"CycloneDX"}`, 0o644)
	put(t, filepath.Join(f.layers, "sbom", "build", "acme_node", "tools", "sbom.cdx.json"), `{}`, 0o644)

	put(t, filepath.Join(f.app, "index.js"), "console.log(1)\n", 0o644)
	put(t, filepath.Join(f.app, "public", "a.css"), "a{}", 0o644)
	put(t, filepath.Join(f.app, "public", "img", "b.png"), "PNG", 0o600)
	put(t, filepath.Join(f.app, "node_modules", "x", "y.js"), "y", 0o644)
	put(t, filepath.Join(f.app, "bin", "run"), "#!/bin/sh\n", 0o755)
	if err := os.Symlink("index.js", filepath.Join(f.app, "main.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(f.app, "bin", "run"), filepath.Join(f.app, "bin", "start")); err != nil {
		t.Fatal(err)
	}

	nodeBP := GroupEntry{ID: "acme/node", Version: "1.0.0", API: "0.10", Homepage: "https://acme.example/node"}
	webBP := GroupEntry{ID: "acme/web", Version: "2.0.0", API: "0.12"}
	bpDir := func(id string) Dir { return SameDir(filepath.Join(f.layers, EscapeID(id))) }
	f.result = BuildResult{
		Buildpacks: []BuildpackOutput{
			{GroupEntry: nodeBP, Store: map[string]any{"k": "v"}, Layers: []Layer{
				{Name: "modules", Dir: bpDir(nodeBP.ID).join("modules"), HasDir: true, Launch: true},
				{Name: "node", Dir: bpDir(nodeBP.ID).join("node"), HasDir: true, Launch: true, Cache: true,
					Metadata: map[string]any{"version": "18.1"}},
				{Name: "tools", Dir: bpDir(nodeBP.ID).join("tools"), HasDir: true, Build: true},
			}},
			{GroupEntry: webBP, Layers: []Layer{
				{Name: "web", Dir: bpDir(webBP.ID).join("web"), HasDir: true, Launch: true, Build: true},
			}},
		},
		Metadata: BuildMetadata{
			Buildpacks: []GroupEntry{nodeBP, webBP},
			Labels:     []Label{{Key: "org.example.app", Value: "demo"}, {Key: "io.buildpacks.stack.id", Value: "overridden"}},
			Processes: []Process{
				{Type: "web", Command: []string{"node", "index.js"}, Args: []string{"--port", "8080"}, Direct: true, BuildpackID: "acme/web"},
				{Type: "worker", Command: []string{"node"}, Args: []string{"worker.js"}, Direct: true, BuildpackID: "acme/web", WorkingDir: "/workspace/bin"},
			},
			Slices:             []Slice{{Paths: []string{"public/*"}}, {Paths: []string{"/workspace/node_modules", "missing/*"}}},
			DefaultProcessType: "web",
		},
	}
	if err := WriteBuildMetadata(filepath.Join(f.layers, "config", "metadata.toml"), f.result.Metadata, "0.13"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(f.layers, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// testRunImage is a small deterministic run image with OCI media types
// (docker: Docker v2 types).
func testRunImage(t testing.TB, docker bool) v1.Image {
	t.Helper()
	mt := types.OCILayer
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if docker {
		mt = types.DockerLayer
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.DockerManifestSchema2), types.DockerConfigJSON)
	}
	w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: t.TempDir(), MediaType: mt})
	if err != nil {
		t.Fatal(err)
	}
	osRelease := "ID=debian\nVERSION_ID=\"12\"\n"
	if err := errors.Join(
		w.Dir("etc", fs.ModeDir|0o755, 0, 0),
		w.File("etc/os-release", 0o644, 0, 0, int64(len(osRelease)), strings.NewReader(osRelease)),
	); err != nil {
		t.Fatal(err)
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	user := "1000:1001"
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	img, err := oci.Mutate(base, oci.Mutation{
		Labels:  map[string]string{"io.buildpacks.stack.id": "io.kiln.test", "io.buildpacks.rebasable": "true"},
		Env:     []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
		Cmd:     []string{"/bin/sh"},
		User:    &user,
		Layers:  []oci.Append{{Layer: l, History: v1.History{CreatedBy: "run image base"}}},
		Created: &created,
	})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// exporterFor returns an Exporter of f onto run with a store in a temp dir.
func exporterFor(t testing.TB, f fixture, run v1.Image, out io.Writer) *Exporter {
	t.Helper()
	store, err := oci.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Exporter{
		RunImage:        run,
		RunImageRef:     "registry.example/run@sha256:" + strings.Repeat("ab", 32),
		RunImageName:    "registry.example/run:12",
		RunImageMirrors: []string{"mirror.example/run:12"},
		Layers:          Dir{Host: f.layers, Container: "/layers"},
		App:             Dir{Host: f.app, Container: "/workspace"},
		UID:             cnbUID,
		GID:             cnbGID,
		PlatformAPI:     "0.13",
		Launcher:        []byte("#!launcher\x00binary"),
		LauncherInfo: LauncherMetadata{Version: "0.1.0", Source: LauncherSource{Git: GitMetadata{
			Repository: "github.com/kilnbuild/kiln", Commit: "0123456789abcdef"}}},
		Store: store,
		Out:   out,
	}
}

// entry is a tar entry as the tests compare it.
type entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Link     string
	Content  string
	Mtime    int64
	Uname    string
	Gname    string
}

// entries lists a layer's tar entries.
func entries(t *testing.T, l v1.Layer) []entry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, tr); err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Link: h.Linkname,
			Content: buf.String(), Mtime: h.ModTime.Unix(), Uname: h.Uname, Gname: h.Gname})
	}
	return out
}

// Entry constructors with the fixture's conventions (CNB owner, Epoch).
func cnbDirEntry(name string, mode int64) entry {
	return entry{Name: name, Type: tar.TypeDir, Mode: mode, UID: cnbUID, GID: cnbGID, Mtime: oci.Epoch.Unix()}
}

func cnbFileEntry(name string, mode int64, content string) entry {
	return entry{Name: name, Type: tar.TypeReg, Mode: mode, UID: cnbUID, GID: cnbGID, Content: content, Mtime: oci.Epoch.Unix()}
}

func rootDirEntry(name string) entry {
	return entry{Name: name, Type: tar.TypeDir, Mode: 0o755, Mtime: oci.Epoch.Unix()}
}

// export runs e on f and fails the test on error.
func export(t *testing.T, e *Exporter, f fixture) (v1.Image, ExportReport) {
	t.Helper()
	img, rep, err := e.Run(context.Background(), f.result)
	if err != nil {
		t.Fatal(err)
	}
	return img, rep
}
