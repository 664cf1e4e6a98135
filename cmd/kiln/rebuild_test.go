package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// runAsKilnEnv makes the test binary behave as kiln itself, so that a test
// can start separate kiln processes (two CI runners) from the binary the
// sandbox already knows how to re-execute.
const runAsKilnEnv = "KILN_TEST_RUN_AS_KILN"

func init() {
	if os.Getenv(runAsKilnEnv) == "1" {
		main() // exits, with kiln's own signal handling
	}
}

// kilnProcess runs kiln as a separate process in dir.
func kilnProcess(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runAsKilnEnv+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// imageDigest is the digest of the image at ref, checked with validate.
func imageDigest(t *testing.T, ref string) string {
	t.Helper()
	d, err := readImage(t, ref).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// build runs kiln build and fails the test on a non-zero exit.
func (e buildEnvDir) build(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.kiln(t, append([]string{"build"}, args...)...)
	if code != 0 {
		t.Fatalf("kiln build %v: exit %d\n%s\n%s", args, code, out, errOut)
	}
	return out
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestRebuildCacheDir(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/counter"}, "counter")
	cache := filepath.Join(e.dir, "cache")
	args := []string{"oci:out:app", "--builder", builder, "--path", e.app, "--cache-dir", cache}

	out := e.build(t, args...)
	wantLines(t, out, "===> ANALYZING\nPrevious image with name \"oci:out:app\" not found\n",
		"===> RESTORING\n===> BUILDING\n", "counter: 1\n", "kept: building\n",
		"Adding layer 'example/counter:kept'\n", "Adding cache layer 'example/counter:counter'\n")
	first := imageDigest(t, "oci:out:app")

	out = e.build(t, args...)
	if strings.Contains(out, "no SBOM") {
		t.Errorf("the SBOM of a restored layer was not restored:\n%s", out)
	}
	wantLines(t, out, "Restoring data for \"example/counter:counter\" from cache\n",
		"Restoring metadata for \"example/counter:counter\" from cache\n",
		"Restoring metadata for \"example/counter:kept\" from app image\n",
		"counter: 2\n", "kept: reusing\n", "Reusing layer 'example/counter:kept'\n",
		"Reusing 1/1 app layer(s)\n", "Reusing layer 'buildpacksio/lifecycle:launcher'\n")
	if got := imageDigest(t, "oci:out:app"); got != first {
		t.Errorf("an unchanged rebuild gave %s, the first build %s", got, first)
	}

	out = e.build(t, append(args, "--clear-cache")...)
	wantLines(t, out, "counter: 1\n")
	if strings.Contains(out, "Restoring data") {
		t.Errorf("--clear-cache restored data:\n%s", out)
	}
	out = e.build(t, args...)
	wantLines(t, out, "counter: 2\n")

	// The cache directory holds the cache image and nothing else.
	if n := countBlobs(t, cache); n != 4 {
		t.Errorf("the cache directory has %d blobs, want 4 (manifest, config, counter layer, SBOM layer)", n)
	}
	// The cached layer is also kept unpacked in the store, by diffID, for
	// the next build to move into place instead of unpacking its blob.
	c := &lifecycle.Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: cache, Tag: "cache"}}
	_, m, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.TrimPrefix(m.ForBuildpack("example/counter").Layers["counter"].SHA, "sha256:")
	if kept, _ := filepath.Glob(filepath.Join(e.store, filepath.FromSlash(storeTrees), "*", sha)); len(kept) != 1 {
		t.Errorf("the store keeps %d unpacked trees of the cached layer %s, want 1", len(kept), sha)
	}
}

func countBlobs(t *testing.T, layout string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(layout, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestRebuildDefaultCache: without cache flags the cache lives in the
// store, keyed by the output; an unchanged rebuild compresses nothing and
// gives the same image.
func TestRebuildDefaultCache(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/counter"}, "counter")
	args := []string{"oci:out:app", "--builder", builder, "--path", e.app}
	e.build(t, args...)
	first := imageDigest(t, "oci:out:app")
	out, _, code := e.kiln(t, append([]string{"-v", "build"}, args...)...)
	if code != 0 {
		t.Fatalf("rebuild: exit %d\n%s", code, out)
	}
	wantLines(t, out, "counter: 2\n", "Compressed 0 bytes of layer content\n")
	if got := imageDigest(t, "oci:out:app"); got != first {
		t.Errorf("an unchanged rebuild gave %s, the first build %s", got, first)
	}
	// A kept tree changed since the last build (here: at its top, which
	// its mark covers; the store is trusted below that, as its blobs are)
	// is not used: the cached blob is unpacked instead.
	counts, err := filepath.Glob(filepath.Join(e.store, "lifecycle", "trees", "*", "*", "count"))
	if err != nil || len(counts) != 1 {
		t.Fatalf("want one kept counter tree, have %v (%v)", counts, err)
	}
	if err := os.WriteFile(counts[0]+".new", []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(counts[0]+".new", counts[0]); err != nil {
		t.Fatal(err)
	}
	wantLines(t, e.build(t, args...), "counter: 3\n")

	// Another output has a cache of its own.
	out = e.build(t, "oci:out:other", "--builder", builder, "--path", e.app)
	wantLines(t, out, "counter: 1\n")

	// An app change rewrites the app layer only.
	if err := os.WriteFile(filepath.Join(e.app, "README"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.build(t, args...)
	wantLines(t, out, "Reusing layer 'example/counter:kept'\n", "Adding 1/1 app layer(s)\n",
		"Reusing layer 'buildpacksio/lifecycle:config'\n")
}

// TestRebuildSharedCacheImage: two kiln processes with stores of their own
// (two CI runners) share a cache image in a real registry.
func TestRebuildSharedCacheImage(t *testing.T) {
	e := newBuildEnv(t)
	reg := testutil.StartDockerRegistry(t)
	builder := writeBuilder(t, e.dir, []string{"example/counter"}, "counter")
	cacheImage := reg.Host + "/kiln/cache:app"
	for i, want := range []string{"counter: 1\n", "counter: 2\n"} {
		store := filepath.Join(e.dir, "runner"+string(rune('a'+i)))
		// The stack images come from the first store's layout (oci:stack).
		out, errOut, code := kilnProcess(t, e.dir, "--store", store, "--insecure-registry", reg.Host,
			"build", "oci:out-"+string(rune('a'+i))+":app", "--builder", builder, "--path", e.app, "--cache-image", cacheImage)
		if code != 0 {
			t.Fatalf("runner %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
		wantLines(t, out, want)
		if strings.Contains(out, "Warning: ignoring") || strings.Contains(out, "Warning: saving") {
			t.Errorf("runner %d warned:\n%s", i, out)
		}
	}
}

// TestRebuildRegistryOutput: the previous image is the output in a
// registry, read as it is there; kept layers are reused from it.
func TestRebuildRegistryOutput(t *testing.T) {
	e := newBuildEnv(t)
	reg := testutil.NewRegistry(t)
	builder := writeBuilder(t, e.dir, []string{"example/counter"}, "counter")
	ref := reg.Host + "/kiln/app:1"
	args := []string{"--insecure-registry", reg.Host, "build", ref, "--builder", builder, "--path", e.app}
	for i, want := range []string{"kept: building\n", "kept: reusing\n"} {
		out, errOut, code := e.kiln(t, args...)
		if code != 0 {
			t.Fatalf("build %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
		wantLines(t, out, want)
		if i == 1 {
			wantLines(t, out, "Restoring metadata for \"example/counter:kept\" from app image\n",
				"Reusing layer 'example/counter:kept'\n", "counter: 2\n")
		}
	}
}

// TestRebuildCorruptCache: a damaged cached blob, a missing one and a kept
// layer whose blob is gone each give a warning and a cold build of that
// layer, and the image a cold build gives.
func TestRebuildCorruptCache(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/counter"}, "counter")
	cache := filepath.Join(e.dir, "cache")
	args := []string{"oci:out:app", "--builder", builder, "--path", e.app, "--cache-dir", cache}
	e.build(t, args...)
	cold := imageDigest(t, "oci:out:app")

	// counterBlob is the cached counter layer's blob.
	counterBlob := func() string {
		t.Helper()
		c := &lifecycle.Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: cache, Tag: "cache"}}
		img, m, err := c.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		h, err := v1.NewHash(m.ForBuildpack("example/counter").Layers["counter"].SHA)
		if err != nil {
			t.Fatal(err)
		}
		l, err := img.LayerByDiffID(h)
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(cache, "blobs", "sha256", d.Hex)
	}
	for _, tc := range []struct {
		name   string
		damage func(p string) error
	}{
		{"damaged cached blob", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0xff
			return os.WriteFile(p, b, 0o644)
		}},
		{"missing cached blob", os.Remove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.damage(counterBlob()); err != nil {
				t.Fatal(err)
			}
			// As on a machine that only has the cache directory: the
			// store's unpacked trees would be used instead of the blob.
			if err := os.RemoveAll(filepath.Join(e.store, filepath.FromSlash(storeTrees))); err != nil {
				t.Fatal(err)
			}
			out := e.build(t, args...)
			// A damaged blob is found while restoring the layer; a
			// missing one already when reading the cache image.
			if !strings.Contains(out, "Warning: not restoring \"example/counter:counter\" from the cache") &&
				!strings.Contains(out, "Warning: ignoring the cache: ") {
				t.Errorf("no warning about the cache:\n%s", out)
			}
			wantLines(t, out, "counter: 1\n")
			if got := imageDigest(t, "oci:out:app"); got != cold {
				t.Errorf("image %s, a cold build gave %s", got, cold)
			}
			// The next build has a sound cache again.
			wantLines(t, e.build(t, args...), "counter: 2\n")
		})
	}

	t.Run("kept layer blob gone", func(t *testing.T) {
		// Remove the kept layer's blob from the previous image and from
		// the store: the buildpack is not told it can keep the layer.
		removeKeptLayer(t, e, "oci:out:app")
		out := e.build(t, args...)
		wantLines(t, out, "Warning: ignoring the previous image oci:out:app: ", "kept: building\n")
		if got := imageDigest(t, "oci:out:app"); got != cold {
			t.Errorf("image %s, a cold build gave %s", got, cold)
		}
	})
}

// removeKeptLayer deletes the blob of the image's example/counter:kept layer
// from the layout and from the store.
func removeKeptLayer(t *testing.T, e buildEnvDir, ref string) {
	t.Helper()
	r, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.Read(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range cf.History {
		if !strings.Contains(h.CreatedBy, "Layer: 'kept'") {
			continue
		}
		// History entries and layers line up: no empty layers here.
		d, err := layers[i].Digest()
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{r.Path, e.store} {
			if err := os.Remove(filepath.Join(dir, "blobs", "sha256", d.Hex)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	t.Fatal("the image has no kept layer")
}
