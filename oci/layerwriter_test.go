package oci

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// launcherLayer builds a layer like the CNB launcher and process-types
// layers: root-owned entries added one by one.
func launcherLayer(t *testing.T, opts LayerOptions) v1.Layer {
	t.Helper()
	w, err := NewLayerWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	body := "#!/bin/sh\nexec \"$@\"\n"
	steps := []error{
		w.Dir("/cnb", fs.ModeDir|0o755, 0, 0),
		w.Dir("/cnb/lifecycle", fs.ModeDir|0o755, 0, 0),
		w.File("/cnb/lifecycle/launcher", 0o755, 0, 0, int64(len(body)), strings.NewReader(body)),
		w.Hardlink("/cnb/lifecycle/launcher2", "/cnb/lifecycle/launcher", 0o755, 0, 0),
		w.Dir("/cnb/process", fs.ModeDir|0o755, 0, 0),
		w.Symlink("/cnb/process/web", "/cnb/lifecycle/launcher", 0, 0),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLayerWriterImage appends written layers to an image, checks it with
// validate.Image, skopeo and umoci through an OCI layout, and unpacks it.
func TestLayerWriterImage(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	goldenTree(t, src, Epoch)
	tree, err := LayerFromDir(ctx, src, LayerOptions{Prefix: "/workspace", UID: 1000, GID: 1000, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		launcherLayer(t, LayerOptions{TempDir: t.TempDir()}), tree)
	if err != nil {
		t.Fatal(err)
	}
	img = withPlatform(t, mutate.ConfigMediaType(img, types.OCIConfigJSON))
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	ref := mustParse(t, "oci:"+filepath.Join(t.TempDir(), "layout")+":test")
	if _, err := Write(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, ref)

	dir := t.TempDir()
	if err := Unpack(ctx, img, dir, UnpackOptions{Rootless: testutil.Rootless()}); err != nil {
		t.Fatal(err)
	}
	got := listTree(t, dir)
	for _, want := range []string{
		"cnb/lifecycle/launcher -rwxr-xr-x #!/bin/sh\nexec \"$@\"\n",
		"cnb/lifecycle/launcher2 -rwxr-xr-x #!/bin/sh\nexec \"$@\"\n",
		"cnb/process/web -> /cnb/lifecycle/launcher",
		"workspace/bin/sh -> tool",
		"workspace/lib/empty/ rwx------",
	} {
		if !contains(got, want) {
			t.Errorf("unpacked image lacks %q; it holds:\n%s", want, strings.Join(got, "\n"))
		}
	}
	a, err := os.Stat(filepath.Join(dir, "workspace/bin/tool"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Stat(filepath.Join(dir, "workspace/bin/tool2"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Error("bin/tool2 is no longer a hard link of bin/tool")
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestLayerWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		add  func(*LayerWriter) error
		want error
	}{{
		name: "dotdot name",
		add:  func(w *LayerWriter) error { return w.Dir("/a/../../etc", fs.ModeDir|0o755, 0, 0) },
		want: ErrUnsafePath,
	}, {
		name: "root name",
		add:  func(w *LayerWriter) error { return w.Dir("/", fs.ModeDir|0o755, 0, 0) },
		want: ErrUnsupportedEntry,
	}, {
		name: "short file",
		add: func(w *LayerWriter) error {
			return w.File("f", 0o644, 0, 0, 10, strings.NewReader("short"))
		},
		want: nil, // any error
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			w, err := NewLayerWriter(LayerOptions{TempDir: tmp})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.add(w)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// The error sticks and the temp file goes away.
			if err := w.Dir("later", fs.ModeDir|0o755, 0, 0); err == nil {
				t.Error("a later entry succeeded after an error")
			}
			if _, err := w.Layer(); err == nil {
				t.Error("Layer succeeded after an error")
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("temp dir holds %d files after a failed layer", len(ents))
			}
			if err := w.Dir("after", fs.ModeDir|0o755, 0, 0); !errors.Is(err, ErrLayerFinished) {
				t.Errorf("after Layer: err = %v, want ErrLayerFinished", err)
			}
		})
	}
}

// TestLayerCompressionDeterministic writes the same multi-block layer with
// different parallelism: pgzip's output must not depend on it.
func TestLayerCompressionDeterministic(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "noise"), string(noise(3<<20)), 0o644)
	writeFile(t, filepath.Join(src, "text"), strings.Repeat("kiln builds images\n", 200000), 0o644)
	var digests []v1.Hash
	for _, procs := range []int{1, 2, 8} {
		prev := runtime.GOMAXPROCS(procs)
		l, err := LayerFromDir(context.Background(), src, LayerOptions{TempDir: t.TempDir()})
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		digests = append(digests, d)
	}
	if diff := cmp.Diff([]v1.Hash{digests[0], digests[0], digests[0]}, digests); diff != "" {
		t.Errorf("digests differ with GOMAXPROCS 1, 2, 8 (-want +got):\n%s", diff)
	}
}

func TestLayerMemo(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	goldenTree(t, src, Epoch)
	opts := LayerOptions{Store: s, UID: 1000, GID: 1001, Prefix: "/layers/acme_node/node"}
	first, err := LayerFromDir(ctx, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	blobs := func() []string {
		ents, err := os.ReadDir(filepath.Join(s.Dir(), "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	before := blobs()
	// Same content elsewhere with other mtimes: found in the memo, nothing
	// compressed again.
	src2 := t.TempDir()
	goldenTree(t, src2, Epoch.AddDate(1, 0, 0))
	second, err := LayerFromDir(ctx, src2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := second.(*storedLayer); !ok {
		t.Errorf("second layer is a %T, want one from the memo", second)
	}
	if diff := cmp.Diff(before, blobs()); diff != "" {
		t.Errorf("store blobs changed (-before +after):\n%s", diff)
	}
	for _, l := range []v1.Layer{first, second} {
		if err := validate.Layer(l); err != nil {
			t.Errorf("validating %T: %v", l, err)
		}
	}
	d1, _ := first.Digest()
	diffID, _ := first.DiffID()
	if d2, _ := second.Digest(); d1 != d2 || d1.String() != wantDigest {
		t.Errorf("digests %s and %s, want the golden one", d1, d2)
	}
	if _, ok := s.LayerByDiffID(diffID); !ok {
		t.Error("LayerByDiffID misses the layer just written")
	}
	if _, ok := s.LayerByDiffID(d1); ok {
		t.Error("LayerByDiffID finds a digest that is no diffID")
	}
	// A memo entry whose blob is gone is a miss.
	if err := os.Remove(filepath.Join(s.Dir(), "blobs", "sha256", d1.Hex)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.LayerByDiffID(diffID); ok {
		t.Error("LayerByDiffID finds a layer whose blob is gone")
	}
}
