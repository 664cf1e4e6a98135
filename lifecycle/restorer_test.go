package lifecycle

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// cachedLayer writes a layer holding /layers/<bp>/<name>/file as a cache
// layer is made.
func cachedLayer(t *testing.T, bp, name, content string) v1.Layer {
	t.Helper()
	w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := "/layers/" + EscapeID(bp) + "/" + name
	for _, d := range []string{"/layers", "/layers/" + EscapeID(bp), dir} {
		if err := w.Dir(d, fs.ModeDir|0o755, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.File(dir+"/file", 0o644, 0, 0, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	l, err := w.Layer()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func diffIDString(t *testing.T, l v1.Layer) string {
	t.Helper()
	d, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// restoreCache writes a layout cache with the given layers and reads it
// back as the analyzer would.
func restoreCache(t *testing.T, m CacheMetadata, layers ...v1.Layer) (v1.Image, CacheMetadata) {
	t.Helper()
	c := &Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: filepath.Join(t.TempDir(), "cache"), Tag: "cache"}, Prune: true}
	if err := c.Write(context.Background(), m, layers); err != nil {
		t.Fatal(err)
	}
	img, got, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return img, got
}

// restoredFiles lists what the layers dir holds after a restore: files
// with their content, directories with a trailing slash.
func restoredFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestoreTable follows CNB contract §2.5's restore table, one layer
// name per row, for one buildpack.
func TestRestoreTable(t *testing.T) {
	const bp = "acme/node"
	both := cachedLayer(t, bp, "both", "both")
	cacheOnly := cachedLayer(t, bp, "cacheonly", "cache only")
	stale := cachedLayer(t, bp, "stale", "old")
	newer := cachedLayer(t, bp, "newer", "cache has it, image not")
	kept := cachedLayer(t, bp, "kept", "kept")
	data := map[string]any{"version": "1.2", "count": float64(3)}

	prev := &LifecycleMetadata{Buildpacks: []BuildpackLayers{{ID: bp, Version: "1", Store: &StoreMetadata{Data: map[string]any{"k": "v"}},
		Layers: map[string]LayerMetadata{
			"both":       {SHA: diffIDString(t, both), Data: data, Launch: true, Cache: true},
			"stale":      {SHA: "sha256:" + strings.Repeat("1", 64), Data: data, Launch: true, Cache: true},
			"uncached":   {SHA: "sha256:" + strings.Repeat("2", 64), Data: data, Launch: true, Cache: true},
			"kept":       {SHA: diffIDString(t, kept), Data: data, Launch: true},
			"launchonly": {SHA: "sha256:" + strings.Repeat("3", 64), Data: data, Launch: true, Build: true},
		}}}}
	cm := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: bp, Version: "1", Layers: map[string]LayerMetadata{
		"both":      {SHA: diffIDString(t, both), Data: map[string]any{"from": "cache"}, Launch: true, Cache: true},
		"cacheonly": {SHA: diffIDString(t, cacheOnly), Data: data, Cache: true},
		"stale":     {SHA: diffIDString(t, stale), Data: data, Launch: true, Cache: true},
		"newer":     {SHA: diffIDString(t, newer), Data: data, Launch: true, Cache: true},
	}}}}
	cacheImg, cm := restoreCache(t, cm, both, cacheOnly, stale, newer)
	previous := testPreviousImage(t, kept)

	metaOnly := "[metadata]\n  count = 3.0\n  version = \"1.2\"\n"
	for _, tc := range []struct {
		api  string
		want map[string]string
	}{
		{"0.13", map[string]string{
			"acme_node/":               "",
			"acme_node/store.toml":     "[metadata]\n  k = \"v\"\n",
			"acme_node/both.toml":      metaOnly, // the image's metadata, the cache's data
			"acme_node/both/":          "",
			"acme_node/both/file":      "both",
			"acme_node/cacheonly.toml": metaOnly,
			"acme_node/cacheonly/":     "",
			"acme_node/cacheonly/file": "cache only",
			"acme_node/kept.toml":      metaOnly, // no directory: reused by diffID at export
		}},
		{"0.14", map[string]string{
			"acme_node/":               "",
			"acme_node/store.toml":     "[metadata]\n  k = \"v\"\n",
			"acme_node/both.toml":      metaOnly,
			"acme_node/both/":          "",
			"acme_node/both/file":      "both",
			"acme_node/cacheonly.toml": metaOnly,
			"acme_node/cacheonly/":     "",
			"acme_node/cacheonly/file": "cache only",
			"acme_node/kept.toml":      metaOnly,
			"acme_node/newer.toml":     metaOnly, // ≥0.14: launch+cache from the cache alone
			"acme_node/newer/":         "",
			"acme_node/newer/file":     "cache has it, image not",
		}},
	} {
		t.Run(tc.api, func(t *testing.T) {
			layers := t.TempDir()
			var out bytes.Buffer
			r := &Restorer{
				Layers:      Dir{Host: layers, Container: "/layers"},
				Group:       Group{Group: []GroupEntry{{ID: bp, Version: "1"}, {ID: "acme/other", Version: "1"}}},
				Analysis:    Analysis{Previous: previous, Metadata: prev, Cache: cacheImg, CacheMetadata: cm},
				PlatformAPI: tc.api,
				Unpack:      oci.UnpackOptions{Rootless: os.Geteuid() != 0},
				Out:         &out,
			}
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Unusable) != 0 {
				t.Errorf("unusable layers: %v", res.Unusable)
			}
			if diff := cmp.Diff(tc.want, restoredFiles(t, layers)); diff != "" {
				t.Errorf("layers dir (-want +got):\n%s\noutput:\n%s", diff, out.String())
			}
			for _, line := range []string{
				"Restoring data for \"acme/node:both\" from cache\n",
				"Restoring metadata for \"acme/node:both\" from app image\n",
				"Restoring metadata for \"acme/node:cacheonly\" from cache\n",
				"Restoring metadata for \"acme/node:kept\" from app image\n",
			} {
				if !strings.Contains(out.String(), line) {
					t.Errorf("output lacks %q:\n%s", line, out.String())
				}
			}
		})
	}
}

// testPreviousImage is an image holding the given layers.
func testPreviousImage(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := cacheImage(CacheMetadata{}, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRestoreUnusable: a damaged cached blob and a kept layer the previous
// image lacks are left out with a warning; nothing fails.
func TestRestoreUnusable(t *testing.T) {
	const bp = "acme/node"
	good := cachedLayer(t, bp, "good", "good")
	bad := cachedLayer(t, bp, "bad", "bad")
	cm := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: bp, Layers: map[string]LayerMetadata{
		"good": {SHA: diffIDString(t, good), Cache: true},
		"bad":  {SHA: diffIDString(t, bad), Cache: true},
	}}}}
	c := &Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: filepath.Join(t.TempDir(), "cache"), Tag: "cache"}}
	ctx := context.Background()
	if err := c.Write(ctx, cm, []v1.Layer{good, bad}); err != nil {
		t.Fatal(err)
	}
	d, err := bad.Digest()
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(c.Ref.Path, "blobs", "sha256", d.Hex)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-12] ^= 0x55 // inside the gzip stream's end: the CRC or the data
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	img, m, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prev := &LifecycleMetadata{Buildpacks: []BuildpackLayers{{ID: bp, Layers: map[string]LayerMetadata{
		"gone": {SHA: "sha256:" + strings.Repeat("4", 64), Launch: true},
	}}}}
	layers := t.TempDir()
	var out bytes.Buffer
	r := &Restorer{
		Layers:   Dir{Host: layers, Container: "/layers"},
		Group:    Group{Group: []GroupEntry{{ID: bp}}},
		Analysis: Analysis{Previous: testPreviousImage(t), Metadata: prev, Cache: img, CacheMetadata: m},
		Unpack:   oci.UnpackOptions{Rootless: os.Geteuid() != 0},
		Out:      &out,
	}
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := restoredFiles(t, layers)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"acme_node/", "acme_node/good.toml", "acme_node/good/", "acme_node/good/file"}, names); diff != "" {
		t.Errorf("restored (-want +got):\n%s\n%s", diff, out.String())
	}
	for _, w := range []string{"Warning: not restoring \"acme/node:bad\" from the cache",
		"Warning: not restoring metadata for \"acme/node:gone\""} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if len(res.Unusable) != 1 {
		t.Fatalf("unusable: %v, want the bad layer", res.Unusable)
	}
	// Dropping it lets the next write store it again.
	if err := c.Drop(res.Unusable); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Errorf("the damaged blob is still there: %v", err)
	}
}
