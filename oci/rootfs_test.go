package oci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestStoreRootfs(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	goldenTree(t, src, Epoch)
	tree, err := LayerFromDir(ctx, src, LayerOptions{Store: s, Prefix: "/workspace"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, launcherLayer(t, LayerOptions{Store: s}), tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	opts := UnpackOptions{Rootless: testutil.Rootless()}

	// Concurrent callers get one tree, unpacked once, with no leftovers.
	const callers = 4
	dirs := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = s.Rootfs(ctx, img, opts)
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Fatalf("callers got %s and %s", dirs[0], dirs[i])
		}
	}
	if got := readFile(t, filepath.Join(dirs[0], "workspace/lib/data.txt")); got != strings.Repeat("data\n", 1000) {
		t.Errorf("unpacked data.txt = %q…", got[:10])
	}
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("left over: %s", e.Name())
		}
	}

	// A later call reuses the tree as it is.
	marker := filepath.Join(dirs[0], "marker")
	writeFile(t, marker, "m", 0o644)
	again, err := s.Rootfs(ctx, img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again != dirs[0] {
		t.Errorf("second call got %s, want %s", again, dirs[0])
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("tree was unpacked again: %v", err)
	}
}
