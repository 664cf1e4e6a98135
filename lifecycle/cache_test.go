package lifecycle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

func TestCacheLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	c := &Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: dir, Tag: "cache"}, Prune: true}

	img, m, err := c.Read(ctx)
	if err != nil || img != nil || len(m.Buildpacks) != 0 {
		t.Fatalf("a cache that does not exist: %v, %v, %v; want nothing and no error", img, m, err)
	}

	one := cachedLayer(t, "acme/node", "deps", "one")
	m1 := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: "acme/node", Version: "1", Layers: map[string]LayerMetadata{
		"deps": {SHA: diffIDString(t, one), Data: map[string]any{"n": float64(1)}, Cache: true}}}}}
	if err := c.Write(ctx, m1, []v1.Layer{one}); err != nil {
		t.Fatal(err)
	}
	img, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("the cache image is not valid: %v", err)
	}
	if diff := cmp.Diff(m1, got); diff != "" {
		t.Errorf("metadata round trip (-want +got):\n%s", diff)
	}
	blobsAfterOne := blobNames(t, dir)

	// A new write replaces the cache and prunes the old layer's blob.
	two := cachedLayer(t, "acme/node", "deps", "two")
	m2 := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: "acme/node", Version: "1", Layers: map[string]LayerMetadata{
		"deps": {SHA: diffIDString(t, two), Cache: true}}}}}
	if err := c.Write(ctx, m2, []v1.Layer{two}); err != nil {
		t.Fatal(err)
	}
	after := blobNames(t, dir)
	if len(after) != 3 {
		t.Errorf("blobs after the second write: %v, want manifest, config, layer", after)
	}
	oldDigest, err := one.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !blobsAfterOne[oldDigest.Hex] || after[oldDigest.Hex] {
		t.Errorf("the first layer's blob should be pruned: before %v, after %v", blobsAfterOne, after)
	}
}

func blobNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// TestCacheRegistry: a cache image in a registry, missing at first.
func TestCacheRegistry(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	ref, err := oci.ParseReference(reg.Host + "/kiln/cache:app")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cache{Ref: ref, Options: []oci.Option{oci.WithInsecureRegistries(reg.Host)}}
	if img, _, err := c.Read(ctx); err != nil || img != nil {
		t.Fatalf("a cache image that does not exist: %v, %v; want nothing and no error", img, err)
	}
	l := cachedLayer(t, "acme/node", "deps", "shared")
	m := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: "acme/node", Layers: map[string]LayerMetadata{
		"deps": {SHA: diffIDString(t, l), Cache: true}}}}}
	if err := c.Write(ctx, m, []v1.Layer{l}); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("metadata round trip (-want +got):\n%s", diff)
	}
}

func TestCacheTrees(t *testing.T) {
	root := t.TempDir()
	layers := Dir{Host: filepath.Join(root, "layers"), Container: "/layers"}
	c := &Cache{Trees: filepath.Join(root, "trees")}
	sha := "sha256:ab12cd34"
	m := CacheMetadata{Buildpacks: []BuildpackLayers{{ID: "acme/node", Layers: map[string]LayerMetadata{"deps": {SHA: sha, Cache: true}}}}}
	put(t, filepath.Join(layers.Host, "acme_node", "deps", "lib", "x"), "x", 0o644)
	if err := c.KeepTrees(layers, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(layers.Host, "acme_node", "deps")); !os.IsNotExist(err) {
		t.Fatalf("the layer dir was not moved: %v", err)
	}
	dst := filepath.Join(root, "restored")
	rootDir := openTestTree(t, root)
	if !takeTree(c.Trees, sha, rootDir, "restored", nil) {
		t.Fatal("the kept tree was not taken")
	}
	if got := readFile(t, filepath.Join(dst, "lib", "x")); got != "x" {
		t.Errorf("restored content %q", got)
	}
	if takeTree(c.Trees, sha, rootDir, "again", nil) {
		t.Error("a tree was taken twice")
	}

	// Kept again, then its top changed, or another directory put in its
	// place: not taken, and discarded.
	var discarded []string
	c.Discard = func(p string) error {
		discarded = append(discarded, filepath.Base(p))
		return os.Rename(p, filepath.Join(root, "trash-"+filepath.Base(p)))
	}
	for _, change := range []func(tree string) error{
		func(tree string) error { return os.WriteFile(filepath.Join(tree, "new"), nil, 0o644) },
		func(tree string) error {
			if err := os.Rename(tree, tree+".old"); err != nil {
				return err
			}
			return os.Rename(tree+".old", tree) // same inode, new ctime
		},
		func(tree string) error {
			if err := os.RemoveAll(tree); err != nil {
				return err
			}
			return os.MkdirAll(filepath.Join(tree, "lib"), 0o755)
		},
	} {
		put(t, filepath.Join(layers.Host, "acme_node", "deps", "lib", "x"), "x", 0o644)
		if err := c.KeepTrees(layers, m); err != nil {
			t.Fatal(err)
		}
		if err := change(filepath.Join(c.Trees, "ab12cd34")); err != nil {
			t.Fatal(err)
		}
		if takeTree(c.Trees, sha, rootDir, "touched", c.Discard) {
			t.Error("a tree changed since it was kept was taken")
		}
		if _, err := os.Stat(filepath.Join(c.Trees, "ab12cd34")); !os.IsNotExist(err) {
			t.Errorf("the changed tree is still kept: %v", err)
		}
		os.RemoveAll(filepath.Join(root, "trash-ab12cd34"))
	}
	if len(discarded) != 3 {
		t.Errorf("changed trees were discarded %d times through Cache.Discard, want 3", len(discarded))
	}

	// Trees the metadata no longer lists are discarded.
	put(t, filepath.Join(c.Trees, "0000", "f"), "old", 0o644)
	if err := c.KeepTrees(layers, CacheMetadata{}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(c.Trees); len(entries) != 0 {
		t.Errorf("trees left after pruning: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(root, "trash-0000", "f")); err != nil {
		t.Errorf("a pruned tree did not go through Cache.Discard: %v", err)
	}
}
